"""What a platform engineer sees for a bad stack file: every problem at once, exact and actionable."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airstack.offline import ProgramError, run_program
from airstack.stackfile import read_stack_file
from components.config import ConfigError, load_stack_config
from tests.conftest import STACKS, stack_file_with, stack_values


def problems(stack: str, values: dict[str, Any], secret_keys: tuple[str, ...] = ()) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_stack_config(values, stack=stack, source=f"Pulumi.{stack}.yaml", secret_keys=secret_keys)
    return [p.render() for p in caught.value.problems]


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_file_is_valid(stack: str) -> None:
    config = read_stack_file(stack).load()
    assert config.environment == stack
    assert {t.name for t in config.teams} >= {"analytics", "ml"}


def test_derived_values_come_from_longest_task_and_margin() -> None:
    config = read_stack_file("prod").load()
    analytics = next(t for t in config.teams if t.name == "analytics")
    assert analytics.longest_task_seconds == 8 * 3600
    assert config.visibility_timeout(analytics) == 36000  # 8 h + 25 %
    assert config.max_visibility_timeout == 36000
    assert config.max_task_seconds == 8 * 3600


def test_unknown_keys_are_named_with_their_path() -> None:
    values = stack_values("dev")
    values["airstack:netwrok"] = {"cidr": "10.0.0.0/16"}
    values["airstack:network"]["natStrategyy"] = "single"
    assert problems("dev", values) == [
        "airstack:network.natStrategyy = single: unknown key (did you mean natStrategy?); check the spelling against "
        "Pulumi.dev.yaml and DESIGN.md §3",
        'airstack:netwrok = {"cidr": "10.0.0.0/16"}: unknown key (did you mean network?); check the spelling against '
        "Pulumi.dev.yaml and DESIGN.md §3",
    ]


def test_invalid_fargate_pair_says_what_fits() -> None:
    values = stack_values("dev")
    values["airstack:components"]["scheduler"] = {"cpu": 256, "memory": 4096}
    values["airstack:components"]["worker"] = {"cpu": 3000, "memory": 4096}
    assert problems("dev", values) == [
        'airstack:components.scheduler = {"cpu": 256, "memory": 4096}: cpu 256 / memory 4096 is not a Fargate '
        "size; with cpu 256, memory must be one of 512, 1024, 2048",
        'airstack:components.worker = {"cpu": 3000, "memory": 4096}: cpu 3000 / memory 4096 is not a Fargate size; '
        "cpu must be one of 256, 512, 1024, 2048, 4096, 8192, 16384",
    ]


def test_duplicate_team_and_queue_names() -> None:
    values = stack_values("dev")
    values["airstack:teams"].append({"name": "analytics", "longestTask": "1h"})
    values["airstack:teams"].append({"name": "finance", "queue": "ml", "longestTask": "1h"})
    [message] = problems("dev", values)
    assert message.startswith("airstack:teams = ")
    assert message.endswith(
        ": team name analytics is used by more than one team; queue analytics, ml is used by more than one team; "
        "DAG directory analytics is used by more than one team"
    )


def test_longest_task_beyond_sqs_limit_says_what_to_do() -> None:
    values = stack_values("dev")
    values["airstack:teams"][0]["longestTask"] = "10h"
    assert problems("dev", values) == [
        "airstack:teams[0].longestTask = 10h: with a 25% visibility margin this queue needs a visibility timeout of "
        "45000 s, above SQS's limit of 43200 s; split the task so each part ends within 9h36m, lower "
        "broker.visibilityMarginPercent, or set broker.type: redis (an ElastiCache broker, which has no such limit)"
    ]


def test_margin_is_taken_from_the_same_file() -> None:
    values = stack_values("dev")
    values["airstack:broker"]["visibilityMarginPercent"] = 10
    values["airstack:teams"][0]["longestTask"] = "10h"
    assert load_stack_config(values, stack="dev", source="Pulumi.dev.yaml").max_visibility_timeout == 39600


def test_worker_min_above_max() -> None:
    values = stack_values("dev")
    values["airstack:teams"][1]["workers"] = {"min": 3, "max": 1}
    assert problems("dev", values) == ['airstack:teams[1].workers = {"min": 3, "max": 1}: min 3 is above max 1']


@pytest.mark.parametrize(
    ("cidr", "reason"),
    [
        ("10.20.0.0/33", "not an IPv4 CIDR block like 10.20.0.0/16 ('33' is not a valid netmask)"),
        ("10.20.0.1/16", "not an IPv4 CIDR block like 10.20.0.0/16 (10.20.0.1/16 has host bits set)"),
        ("10.20.0.0/26", "the VPC needs a /16 to /22 block to fit public, private and isolated subnets"),
    ],
)
def test_bad_cidr(cidr: str, reason: str) -> None:
    values = stack_values("dev")
    values["airstack:network"]["cidr"] = cidr
    assert problems("dev", values) == [f"airstack:network.cidr = {cidr}: {reason}"]


def test_retention_that_cloudwatch_rejects() -> None:
    values = stack_values("dev")
    values["airstack:logs"]["retentionDays"] = 10
    [message] = problems("dev", values)
    assert message == (
        "airstack:logs.retentionDays = 10: CloudWatch Logs accepts only 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, "
        "365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653 days"
    )


@pytest.mark.parametrize("stack", ["prod", "dr"])
def test_protected_stacks_need_multi_az_and_deletion_protection(stack: str) -> None:
    values = stack_values(stack)
    values["airstack:metastore"].update(multiAz=False, deletionProtection=False, backupRetentionDays=1)
    assert problems(stack, values) == [
        f"airstack:metastore.multiAz = false: a {stack} metastore must have this set to true",
        f"airstack:metastore.backupRetentionDays = 1: a {stack} metastore keeps backups for 7 to 35 days",
        f"airstack:metastore.deletionProtection = false: a {stack} metastore must have this set to true",
    ]


def test_plain_text_secret_is_rejected_and_not_echoed() -> None:
    values = stack_values("prod")
    values["airstack:alerting"]["webhookUrl"] = "https://hooks.example.com/T000/B000/very-secret-token"
    [message] = problems("prod", values)
    assert "very-secret-token" not in message
    assert message == (
        "airstack:alerting.webhookUrl = (plain text, not shown): a secret must not be stored in plain text; run "
        "`pulumi config set --secret --path 'airstack:alerting.webhookUrl' <value>`"
    )
    load_stack_config(values, stack="prod", source="Pulumi.prod.yaml", secret_keys=["airstack:alerting"])


def test_every_problem_is_reported_at_once_in_one_message() -> None:
    values = stack_values("prod")
    values["airstack:logs"]["retentionDays"] = 10
    values["airstack:network"]["cidr"] = "10.0.0.0/8"
    values["airstack:teams"][0]["workers"] = {"min": 9, "max": 1}
    values["airstack:image"]["tag"] = "latest"
    del values["airstack:ingress"]
    with pytest.raises(ConfigError) as caught:
        load_stack_config(values, stack="prod", source="Pulumi.prod.yaml")
    text = str(caught.value)
    assert text.splitlines()[0] == "Pulumi.prod.yaml is not a valid airstack stack configuration (5 problems):"
    assert "airstack:ingress = (missing): required" in text
    assert "airstack:image.tag = latest: a prod stack runs a pinned image tag, not latest" in text


def test_a_secure_value_in_the_stack_file_is_marked_secret(tmp_path: Any) -> None:
    text = (
        read_stack_file("dev")
        .path.read_text()
        .replace(
            "  airstack:alerting:\n    emails: [data-platform-dev@example.com]",
            "  airstack:alerting:\n    emails: [data-platform-dev@example.com]\n    webhookUrl:\n      secure: v1:abc==",
        )
    )
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(text)
    stack_file = read_stack_file(str(path))
    assert "airstack:alerting" in stack_file.secret_keys
    assert stack_file.load().alerting.webhook_url is not None


def test_the_program_refuses_a_bad_config_before_creating_anything() -> None:
    values = stack_values("dev")
    values["airstack:logs"]["retentionDays"] = 10
    with pytest.raises(ProgramError) as caught:
        run_program(stack_file_with("dev", values))
    assert caught.value.resources_registered == 0
    assert str(caught.value).startswith("Pulumi.dev.yaml is not a valid airstack stack configuration (1 problem):")
    assert "Traceback" not in str(caught.value)


# ------------------------------------------------------------------------------------------- property based

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _paths(v, (*prefix, i))
    return found


def _break(values: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    for _ in range(data.draw(st.integers(1, 3))):
        paths = _paths(values)
        if not paths:
            break
        path = data.draw(st.sampled_from(paths))
        target = values
        for part in path[:-1]:
            target = target[part]
        if data.draw(st.booleans()) and isinstance(target, dict):
            target.pop(path[-1], None)
        else:
            target[path[-1]] = data.draw(_JSON)
    return values


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), stack=st.sampled_from(STACKS))
def test_broken_configs_never_raise_anything_but_config_error(data: st.DataObject, stack: str) -> None:
    values = _break(stack_values(stack), data)
    try:
        load_stack_config(values, stack=stack, source=f"Pulumi.{stack}.yaml")
    except ConfigError as error:
        assert error.problems
        assert str(error).startswith(f"Pulumi.{stack}.yaml is not a valid airstack stack configuration")
        for problem in error.problems:
            assert problem.key.startswith(("airstack:", "aws:region"))
        json.dumps(str(error))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_broken_config_never_gives_a_partial_plan(data: st.DataObject) -> None:
    values = _break(stack_values("dev"), data)
    try:
        load_stack_config(values, stack="dev", source="Pulumi.dev.yaml")
    except ConfigError as error:
        with pytest.raises(ProgramError) as caught:
            run_program(stack_file_with("dev", values))
        assert caught.value.resources_registered == 0
        assert str(caught.value) == str(error)


def test_an_omitted_section_gets_the_environments_checks_too() -> None:
    values = stack_values("prod")
    del values["airstack:metastore"]
    assert problems("prod", values) == [
        "airstack:metastore.multiAz = (missing): a prod metastore must have this set to true",
        "airstack:metastore.deletionProtection = (missing): a prod metastore must have this set to true",
    ]
    values = stack_values("dev")
    del values["airstack:metastore"], values["airstack:schedule"], values["airstack:logs"]
    config = load_stack_config(values, stack="dev", source="Pulumi.dev.yaml")
    assert (config.metastore.multi_az, config.schedule.hibernate, config.logs.retention_days) == (False, False, 30)


def test_an_unknown_key_is_shown_as_written() -> None:
    values = stack_values("dev")
    values["airstack:network"]["nat_gateway_count"] = 2
    [message] = problems("dev", values)
    assert message.startswith("airstack:network.nat_gateway_count = 2: unknown key")


def test_derived_settings_the_components_read() -> None:
    dev, prod = read_stack_file("dev").load(), read_stack_file("prod").load()
    assert (dev.wait_for_steady_state, prod.wait_for_steady_state) == (False, True)
    assert (dev.partition, dev.metastore.engine_version, dev.metastore.engine_major) == ("aws", "16", "16")
    assert dev.metastore.auto_minor_version_upgrade
    assert not dev.ingress.creates_certificate
    values = stack_values("dev")
    values["airstack:deployment"] = {"waitForSteadyState": True}
    values["airstack:metastore"].update(engineVersion="16.6", autoMinorVersionUpgrade=False)
    values["airstack:ingress"] = {"hostedZoneId": "Z0123456789ABCDEFGHIJ", "domain": "airflow.example.com"}
    config = load_stack_config(values, stack="dev", source="Pulumi.dev.yaml")
    assert (config.wait_for_steady_state, config.metastore.engine_major) == (True, "16")
    assert config.ingress.creates_certificate
    assert config.ingress.certificate_arn is None


def test_snake_case_keys_are_unknown_not_a_second_spelling() -> None:
    values = stack_values("dev")
    values["airstack:network"]["az_count"] = 3
    values["airstack:stack"] = "prod"
    assert problems("dev", values) == [
        "airstack:stack = prod: unknown key; the stack name is set elsewhere",
        "airstack:network.az_count = 3: unknown key (did you mean azCount?); check the spelling against "
        "Pulumi.dev.yaml and DESIGN.md §3",
    ]
