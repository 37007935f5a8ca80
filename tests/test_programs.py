"""Real-world-shaped programs, planned as a new user would plan them, with their exact results.

Each program in ``tests/programs/`` is planned once per module, as after ``pulumi up`` and as the first
``pulumi preview`` of a new stack, with the pack in this process (the same servicer the engine would query).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from airstack.cli import main
from airstack.planning import Plan, PlanFailure, PlanOptions, plan_stacks
from airstack.program_env import find_uv
from airstack.stackfile import PROJECT_ROOT

PROGRAMS = Path(__file__).parent / "programs"
M = "mandatory"
FIRST_PREVIEW_UNKNOWN_CONTAINERS = frozenset(
    {"airflow-task-timeout-bounded", "ecs-no-plaintext-secrets", "remote-logging-enabled",
     "sqs-visibility-covers-longest-task", "airflow-workers-least-secrets", "ecs-readonly-root-filesystem"}
)  # fmt: skip
"""Rules that read container definitions, which these programs compute from resources that do not exist yet."""


@dataclass(frozen=True)
class Expected:
    violations: list[tuple[str, str, str]]
    """(policy, resource name, level) after ``up``, sorted."""
    preview: list[tuple[str, str, str]] | None = None
    """On a first preview, when it differs: what cannot be known yet is not judged."""
    skipped_on_preview: frozenset[str] = frozenset()
    exempted: list[tuple[str, str, str]] = field(default_factory=list)
    """(policy, resource name, reason)."""
    options: dict[str, Any] = field(default_factory=dict)


WEBSITE_REASON = "public website, content is public by design"
WORDPRESS_BASELINE = [
    ("alb-access-logs", "wordpress", M), ("rds-managed-master-password", "wordpress", M),
    ("rds-monitoring-and-logs", "wordpress", M), ("web-acl-on-internet-facing", "wordpress", "advisory"),
]  # fmt: skip
EXPECTED: dict[str, Expected] = {
    "resource_as_id": Expected([("vpc-flow-logs", "vpc", M)]),
    "lookups": Expected([("vpc-flow-logs", "shared", M)], skipped_on_preview=frozenset({"s3-public-access-blocked"}),
                        options={"lookups": PROGRAMS / "lookups" / "lookups.yaml"}),
    "awsx_subnets": Expected([("alb-access-logs", "api", M), ("rds-monitoring-and-logs", "db", M),
                              ("web-acl-on-internet-facing", "api", "advisory")]),
    "website": Expected(
        [("s3-logs-lifecycle", "access-logs", M)],
        exempted=[("s3-public-access-blocked", "site", WEBSITE_REASON)] * 2,
    ),
    "aurora": Expected(
        [("rds-backups", "aurora", M), ("rds-deletion-protection", "aurora", M), ("rds-multi-az", "aurora", M),
         ("rds-not-public", "aurora-writer", M), ("secrets-not-in-code", "aurora", M)],
        options={"policy_config": PROJECT_ROOT / "policies" / "prod.json"},
    ),
    "ecr_policy": Expected([("resource-policies-not-public", "tools", M)],
                           options={"config": (("organizationId", "o-a1b2c3d4e5"),)}),
    "default_tags": Expected([("required-tags", "orders-replica", M), ("sqs-dead-letter-queue", "orders", M)]),
    "wordpress": Expected(
        [("alb-https-only", "http", M), ("ecs-no-plaintext-secrets", "wordpress", M),
         ("ecs-private-networking", "wordpress", M), ("rds-encrypted", "wordpress", M), ("sg-no-open-ingress", "web", M),
         ("sg-no-open-ingress", "web", M), ("ecs-readonly-root-filesystem", "wordpress", M), *WORDPRESS_BASELINE],
        preview=[("alb-https-only", "http", M), ("ecs-private-networking", "wordpress", M),
                 ("rds-encrypted", "wordpress", M), ("sg-no-open-ingress", "web", M), ("sg-no-open-ingress", "web", M),
                 *WORDPRESS_BASELINE],
        skipped_on_preview=FIRST_PREVIEW_UNKNOWN_CONTAINERS,
        options={"lookups": PROGRAMS / "wordpress" / "lookups.yaml"},
    ),
    "celery_redis": Expected(
        [("airflow-task-timeout-bounded", "worker", M), ("elasticache-encrypted-and-authenticated", "broker", M),
         ("lb-internet-listeners-web-only", "redis", M), ("sqs-visibility-covers-longest-task", "worker", M),
         ("ecs-readonly-root-filesystem", "worker", M)],
        preview=[("elasticache-encrypted-and-authenticated", "broker", M), ("lb-internet-listeners-web-only", "redis", M)],
        skipped_on_preview=FIRST_PREVIEW_UNKNOWN_CONTAINERS,
    ),
    "main_subdir": Expected(
        [("required-tags", "orders", M), ("required-tags", "orders-test", M), ("sqs-dead-letter-queue", "orders-test", M)]
    ),
}  # fmt: skip


def _plan(name: str, preview: bool, **options: Any) -> Plan | PlanFailure:
    [result] = plan_stacks(
        [str(PROGRAMS / name / "Pulumi.test.yaml")],
        PlanOptions(program_dir=PROGRAMS / name, preview=preview, **options),
    )
    return result


@pytest.fixture(scope="module")
def plans() -> dict[tuple[str, bool], Plan]:
    planned = {}
    for name, expected in EXPECTED.items():
        for preview in (False, True):
            result = _plan(name, preview, **expected.options)
            assert isinstance(result, Plan), f"{name}: {result}"
            planned[name, preview] = result
    return planned


def _found(plan: Plan) -> list[tuple[str, str, str]]:
    return sorted((v.policy, v.urn.rsplit("::", 1)[-1], v.level) for v in plan.violations)


@pytest.mark.parametrize("name", EXPECTED)
def test_each_program_gets_exactly_its_results(name: str, plans: dict[tuple[str, bool], Plan]) -> None:
    expected = EXPECTED[name]
    up, preview = plans[name, False], plans[name, True]
    assert _found(up) == sorted(expected.violations)
    assert up.skipped == [], "after up every value is known"
    assert _found(preview) == sorted(expected.preview if expected.preview is not None else expected.violations)
    assert {s.policy for s in preview.skipped} == expected.skipped_on_preview
    exempted = sorted((e.policy, e.urn.rsplit("::", 1)[-1], e.reason) for e in up.exempted)
    assert exempted == sorted(expected.exempted)
    assert up.exit_code == (1 if any(level == M for *_, level in expected.violations) else 0)


def test_every_violation_says_why_and_how_to_fix_it(plans: dict[tuple[str, bool], Plan]) -> None:
    violations = [v for (_, preview), plan in plans.items() if not preview for v in plan.violations]
    assert len({v.policy for v in violations}) >= 12
    for violation in violations:
        assert len(violation.description) > 60, violation.policy
        assert len(violation.fix) > 40, violation.policy
        assert violation.urn.rsplit("::", 1)[-1] in violation.message, "the message names its resource"


def test_messages_speak_of_any_program_not_of_airflow_internals(plans: dict[tuple[str, bool], Plan]) -> None:
    for name in ("wordpress", "aurora", "website", "ecr_policy"):
        for violation in plans[name, False].violations:
            text = f"{violation.message} {violation.description} {violation.fix}".lower()
            for word in ("airflow", "metastore", "dag", "celery"):
                assert word not in text, f"{name}: {violation.policy} talks about {word}: {violation.message}"


def test_the_awsx_vpc_and_its_subnet_ids_are_used_as_programs_use_them(plans: dict[tuple[str, bool], Plan]) -> None:
    plan = plans["awsx_subnets", False]
    [vpc] = plan.not_expanded
    assert vpc.type == "awsx:ec2:Vpc"
    assert [s["type"] for s in vpc.inputs["subnetSpecs"]] == ["Public", "Private", "Isolated"]
    assert len(plan.run.outputs["privateSubnets"]) == len(plan.run.outputs["isolatedSubnets"]) == 3
    [subnet_group] = plan.run.by_type("aws:rds/subnetGroup:SubnetGroup")
    assert subnet_group.inputs["subnetIds"] == plan.run.outputs["isolatedSubnets"]
    preview = plans["awsx_subnets", True]
    [group] = preview.run.by_type("aws:rds/subnetGroup:SubnetGroup")
    assert group.property_dependencies["subnetIds"] == [vpc.urn], "on a preview the dependency relates them"


# ------------------------------------------------------------------------------------------------- lookups


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def program(name: str, *extra: str, stack: str = "test") -> list[str]:
    return ["plan", "--program", str(PROGRAMS / name), str(PROGRAMS / name / f"Pulumi.{stack}.yaml"), *extra]


def test_lookups_are_computed_or_answered_from_the_file(plans: dict[tuple[str, bool], Plan]) -> None:
    outputs = plans["lookups", False].run.outputs
    assert outputs["zones"] == ["eu-central-1a", "eu-central-1b", "eu-central-1c"]
    assert outputs["zoneId"] == "Z0EXAMPLE123"
    assert outputs["subnets"] == ["subnet-01", "subnet-02"]
    assert outputs["sharedCidr"] == "10.40.0.0/16", "a resource read with .get, from the lookups file"
    assert outputs["assume"] == {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "ecs-tasks.amazonaws.com"}}]}  # fmt: skip
    run = plans["lookups", False].run
    [policy] = run.by_type("aws:s3/bucketPolicy:BucketPolicy")
    [bucket] = run.by_type("aws:s3/bucket:Bucket")
    document = json.loads(policy.inputs["policy"])
    assert document["Statement"][0]["Action"] == ["s3:ListBucket", "s3:GetObject"], "reverse-sorted, as the provider"
    assert document["Statement"][0]["Resource"] == [f"{bucket.outputs['arn']}/*", bucket.outputs["arn"]]
    assert document["Statement"][1]["Principal"] == "*"
    assert bucket.inputs["bucket"] == "artifacts-111122223333-eu-central-1", "caller identity and region agree"
    [group] = run.by_type("aws:ec2/securityGroup:SecurityGroup")
    assert group.inputs["vpcId"] == "vpc-0a1b2c3d4e5f", "a stack reference's output, from the lookups file"


def test_an_unanswered_lookup_names_the_programs_line_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, *program("lookups", "--json"))
    assert code == 2
    main_py = PROGRAMS / "lookups" / "__main__.py"
    assert f"unanswered lookup `aws:route53/getZone:getZone` at {main_py}:15; answer it in the lookups file" in err
    assert f"unanswered lookup `pulumi:pulumi:StackReference` at {main_py}:14; answer it in the lookups file" in err
    assert '    args: {"name": "example.com"}' in err, "an entry to paste into the lookups file"
    error = json.loads(out)["error"]
    assert error["kind"] == "lookup"
    assert "getZone" in error["message"]


def test_a_malformed_lookups_file_is_invalid_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "lookups.yaml"
    bad.write_text("lookups:\n  - token: getZone\n    result: {}\n")
    code, out, err = run_cli(capsys, *program("lookups", "--json", "--lookups", str(bad)))
    assert code == 2
    assert "lookups[0]: token must be a lookup token such as aws:route53/getZone:getZone" in err
    assert json.loads(out)["error"]["kind"] == "lookups"


# ------------------------------------------------------------------------------------------ program errors


def test_a_program_error_shows_the_programs_own_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, *program("program_error", "--json"))
    assert code == 2
    assert f"IndexError: list index out of range (at {PROGRAMS / 'program_error' / '__main__.py'}:11)" in err
    assert json.loads(out)["error"] == {"kind": "program", "message": err.strip()}


def test_a_duplicate_urn_names_both_lines(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, *program("duplicate_urn"))
    main_py = PROGRAMS / "duplicate_urn" / "__main__.py"
    assert code == 2
    assert f"registered twice under the same parent: at {main_py}:5 and at {main_py}:6)" in err


def test_a_missing_package_is_named_with_what_to_do(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, *program("missing_module"))
    assert code == 2
    assert "the program imports pulumi_datadog, which is not installed" in err
    assert f"(at {PROGRAMS / 'missing_module' / '__main__.py'}:4)" in err
    assert "requirements.txt or pyproject.toml" in err
    assert "--with PACKAGE" in err


def test_main_in_a_subfolder_project_defaults_and_config_overrides(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, *program("main_subdir", "--json", "--config", "encrypted=false",
                                            "--config", "aws:region=eu-west-3"))  # fmt: skip
    assert code == 1
    document = json.loads(out)
    assert document["outputs"] == {"queue": "orders-test", "region": "eu-west-3"}
    [log_group] = [r for r in document["resources"] if r["type"] == "aws:cloudwatch/logGroup:LogGroup"]
    assert log_group["inputs"]["retentionInDays"] == 14, "Pulumi.yaml's project default"
    assert ("sqs-encrypted", "orders-test") in {(v["policy"], v["name"]) for v in _named(document["violations"])}


def _named(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**v, "name": v["urn"].rsplit("::", 1)[-1]} for v in violations]


def test_a_config_key_without_a_namespace_is_the_projects_as_the_cli_reads_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The Pulumi CLI namespaces a bare stack-file key with the project's name (stackConfigNamespacedWithProject)."""
    code, out, err = run_cli(capsys, *program("main_subdir", "--json", stack="bare"))
    assert code in (0, 1), err
    [queue] = [r for r in json.loads(out)["resources"] if r["type"] == "aws:sqs/queue:Queue" and "dlq" not in r["name"]]
    assert queue["inputs"]["name"].startswith("orders")


def test_a_key_under_another_project_name_is_pointed_out(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, *program("main_subdir", stack="renamed"))
    assert code == 2
    assert "Missing required configuration variable 'shop:queueName'" in err
    assert "the stack file sets store:queueName, but this project is named 'shop'" in err


def test_with_belongs_to_another_program(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "plan", "dev", "--with", "requests")
    assert code == 2
    assert "--with adds packages for another program: use it with --program" in err


def test_a_bad_config_argument_is_invalid_input(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, *program("main_subdir", "--config", "encrypted"))
    assert code == 2
    assert "--config 'encrypted': write it as key=value" in err


# --------------------------------------------------------------------------------- selection, exemptions


def test_only_and_skip_select_policies(capsys: pytest.CaptureFixture[str]) -> None:
    lookups = str(PROGRAMS / "wordpress" / "lookups.yaml")
    _, out, _ = run_cli(
        capsys, *program("wordpress", "--json", "--lookups", lookups, "--only", "rds-encrypted,alb-https-only")
    )
    document = json.loads(out)
    assert sorted(v["policy"] for v in document["violations"]) == ["alb-https-only", "rds-encrypted"]
    assert sorted(document["policies"]["enabled"]) == ["alb-https-only", "rds-encrypted"]
    _, out, _ = run_cli(capsys, *program("wordpress", "--json", "--lookups", lookups, "--skip", "sg-no-open-ingress",
                                         "--skip", "alb-https-only"))  # fmt: skip
    policies = {v["policy"] for v in json.loads(out)["violations"]}
    assert policies == {
        "ecs-no-plaintext-secrets",
        "ecs-private-networking",
        "rds-encrypted",
        "ecs-readonly-root-filesystem",
    } | {policy for policy, _, _ in WORDPRESS_BASELINE}


def test_an_unknown_policy_in_only_is_invalid_input(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, *program("resource_as_id", "--only", "rds-encrypt"))
    assert code == 2
    assert "--only: unknown policy rds-encrypt (the pack has " in err


def test_an_exemption_without_a_reason_is_invalid_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    copy = tmp_path / "website"
    shutil.copytree(PROGRAMS / "website", copy)
    main_py = copy / "__main__.py"
    main_py.write_text(main_py.read_text().replace(": public website, content is public by design", ""))
    code, out, err = run_cli(capsys, "plan", "--program", str(copy), str(copy / "Pulumi.test.yaml"), "--json")
    assert code == 2
    assert "the airstack:exempt tag exempts s3-public-access-blocked without a reason" in err
    assert json.loads(out)["error"]["kind"] == "exemption"


def test_exempted_findings_are_in_the_json_and_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run_cli(capsys, *program("website", "--json"))
    exempted = json.loads(out)["exempted"]
    assert [(e["policy"], e["level"], e["reason"]) for e in exempted] == [
        ("s3-public-access-blocked", M, WEBSITE_REASON)
    ] * 2
    assert any("site-public-read allows everyone s3:GetObject" in e["message"] for e in exempted)
    _, table, _ = run_cli(capsys, *program("website"))
    assert "Exempted (intentional exceptions, with their reasons)" in table
    assert "How to fix:" in table


# -------------------------------------------------------------------------------------------------- CI


def test_ci_formats_carry_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run_cli(capsys, *program("ecr_policy", "--format", "sarif", "--config", "organizationId=o-1"))
    [rule] = json.loads(out)["runs"][0]["tool"]["driver"]["rules"]
    assert rule["id"] == "resource-policies-not-public"
    assert "aws:PrincipalOrgID" in rule["help"]["text"]
    _, out, _ = run_cli(capsys, *program("ecr_policy", "--format", "github", "--config", "organizationId=o-1"))
    assert out.startswith("::error file=")
    assert "resource-policies-not-public" in out


def test_another_programs_plan_has_no_cost(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run_cli(capsys, *program("default_tags", "--json"))
    document = json.loads(out)
    assert document["cost"] is None
    assert "not estimated for another program" in document["costNote"]
    _, table, _ = run_cli(capsys, *program("default_tags"))
    assert "Monthly estimate" not in table
    assert "Cost: not estimated" in table


def test_exit_codes_are_documented_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["plan", "--help"])
    text = capsys.readouterr().out
    for line in ("0  clean", "1  a mandatory policy violation", "2  the input cannot be planned",
                 "3  airstack itself could not run"):  # fmt: skip
        assert line in text


def test_airstack_that_cannot_run_exits_3(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run_cli(capsys, *program("resource_as_id", "--json", "--pack-python", str(tmp_path / "no-python")))
    assert code == 3
    assert json.loads(out)["error"]["kind"] == "pack"
    assert "airstack could not run the policy pack" in err


def test_an_internal_error_exits_3_not_1(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("a bug in airstack")

    monkeypatch.setattr("airstack.cli.plan_stacks", broken)
    code, _, err = run_cli(capsys, *program("awsx_subnets"))
    assert code == 3
    assert "RuntimeError: a bug in airstack" in err
    assert "airstack could not run: an internal error" in err


# ------------------------------------------------------------------------------------ own requirements


def _uv_available() -> bool:
    try:
        find_uv()
    except Exception:  # noqa: BLE001
        return False
    return True


@pytest.mark.skipif(not _uv_available(), reason="uv builds program environments; it is not installed here")
def test_a_program_is_planned_with_its_own_requirements(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A package only the program's requirements.txt brings is installed into a cached environment, from uv's
    cache (offline), and the program is planned there; the second plan reuses the environment."""
    cache = tmp_path_factory.mktemp("program-envs")
    env = {**os.environ, "UV_OFFLINE": "1", "AIRSTACK_CACHE_DIR": str(cache)}
    env.pop("AIRSTACK_PROGRAM_ENV", None)
    command = [sys.executable, "-m", "airstack.cli", *program("own_requirements", "--json")]
    for _ in range(2):
        result = subprocess.run(command, capture_output=True, text=True, env=env, check=False, cwd=PROJECT_ROOT,
                                timeout=600)  # fmt: skip
        assert result.returncode == 1, result.stderr
        assert "planning it in a cached environment" in result.stderr
        document = json.loads(result.stdout)
        assert [(v["policy"], v["urn"].rsplit("::", 1)[-1]) for v in document["violations"]] == [
            ("log-retention-set", "tickets-audit")
        ]
        [tickets, _] = [r for r in document["resources"] if r["type"] == "aws:cloudwatch/logGroup:LogGroup"]
        assert tickets["inputs"]["tags"]["CostCenter"] == "cc-77", "the program's own package ran"
    assert len([p for p in cache.iterdir() if p.is_dir()]) == 1, "the second plan reused the environment"
