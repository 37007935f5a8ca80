"""``broker.type: redis``: what a stack file may say about its ElastiCache broker, and exactly what it is told."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airstack.stackfile import read_stack_file
from components.airflow_settings import task_protection_minutes
from components.config import ConfigError, StackConfig, load_stack_config
from components.config.broker import (
    ECS_MAX_PROTECTION_MINUTES,
    NODE_TYPES,
    longest_redis_task_that_fits,
    protection_minutes,
)
from tests.conftest import stack_values

REDIS_STACK = Path(__file__).parent / "stacks" / "Pulumi.redis.yaml"


def redis_values(stack: str = "dev", **redis: Any) -> dict[str, Any]:
    """A real stack's config on a Redis broker (every team with a worker always running)."""
    values = stack_values(stack)
    values["airstack:broker"] = {"type": "redis", "visibilityMarginPercent": 25, **({"redis": redis} if redis else {})}
    for team in values["airstack:teams"]:
        team["workers"] = {"min": 1, "max": 2}
    return values


def load(stack: str, values: dict[str, Any]) -> StackConfig:
    return load_stack_config(values, stack=stack, source=f"Pulumi.{stack}.yaml")


def problems(stack: str, values: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(stack, values)
    return [p.render() for p in caught.value.problems]


# ------------------------------------------------------------------------------------------------ accepted


def test_the_redis_fixture_stack_is_valid_and_runs_a_task_longer_than_sqs_allows() -> None:
    config = read_stack_file(str(REDIS_STACK)).load()
    assert config.broker.type == "redis"
    assert config.broker.redis is not None
    assert (config.broker.redis.engine, config.broker.redis.version) == ("valkey", "8.1")
    analytics = next(t for t in config.teams if t.name == "analytics")
    assert config.visibility_timeout(analytics) == 90_000, "above the 43200 s SQS allows"


def test_defaults_are_valkey_and_follow_the_stacks_availability() -> None:
    dev = load("dev", redis_values("dev")).broker.redis
    assert dev is not None
    assert (dev.engine, dev.version, dev.node_type, dev.multi_az, dev.replicas, dev.nodes) == (
        "valkey", "8.1", "cache.t4g.small", False, 0, 1,
    )  # fmt: skip
    assert dev.parameter_family == "valkey8"
    prod = load("prod", redis_values("prod")).broker.redis
    assert prod is not None
    assert (prod.multi_az, prod.replicas, prod.nodes) == (True, 1, 2)
    acc = redis_values("acc")
    acc["airstack:metastore"]["multiAz"] = True
    assert load("acc", acc).broker.redis.multi_az is True, "an HA metastore makes an HA broker"  # type: ignore[union-attr]


def test_redis_oss_and_explicit_settings() -> None:
    redis = load("dev", redis_values(engine="redis", engineVersion="6.2", nodeType="cache.r7g.large", replicas=2))
    assert redis.broker.redis is not None
    assert (redis.broker.redis.parameter_family, redis.broker.redis.nodes) == ("redis6.x", 3)


def test_a_team_may_run_for_a_day_on_redis_but_not_on_sqs() -> None:
    values = redis_values()
    values["airstack:teams"][0]["longestTask"] = "30h"
    assert load("dev", values).max_visibility_timeout == 135_000
    values["airstack:broker"]["type"] = "sqs"
    values["airstack:teams"][0]["workers"] = {"min": 0, "max": 2}
    values["airstack:teams"][1]["workers"] = {"min": 0, "max": 2}
    [message] = problems("dev", values)
    assert message.startswith("airstack:teams[0].longestTask = 30h: with a 25% visibility margin this queue needs")


# ------------------------------------------------------------------------------------------------ refused


def test_beyond_the_48_hours_of_scale_in_protection_ecs_grants() -> None:
    values = redis_values()
    values["airstack:teams"][0]["longestTask"] = "40h"
    assert problems("dev", values) == [
        "airstack:teams[0].longestTask = 40h: with a 25% visibility margin this team's workers need a scale-in "
        "protection of 3001 minutes while the task runs, above the 2880 (48 h) ECS grants: split the task so each "
        "part ends within 38h23m12s, or lower broker.visibilityMarginPercent"
    ]


@pytest.mark.parametrize("margin", [10, 25, 200])
def test_the_longest_task_that_fits_is_exactly_at_the_limit(margin: int) -> None:
    from components.sizing import visibility_timeout_seconds

    fits = longest_redis_task_that_fits(margin)
    assert task_protection_minutes(visibility_timeout_seconds(fits, margin)) <= ECS_MAX_PROTECTION_MINUTES
    assert task_protection_minutes(visibility_timeout_seconds(fits + 60, margin)) > ECS_MAX_PROTECTION_MINUTES
    assert protection_minutes(12_345) == task_protection_minutes(12_345), "one formula, as the image gets it"


def test_redis_settings_on_an_sqs_stack_are_refused() -> None:
    values = stack_values("dev")
    values["airstack:broker"]["redis"] = {"engine": "valkey"}
    assert problems("dev", values) == [
        'airstack:broker.redis = {"engine": "valkey"}: is read only with broker.type redis (this stack\'s broker is '
        "sqs): remove it"
    ]


@pytest.mark.parametrize(
    ("redis", "message"),
    [
        ({"nodeType": "cache.t4g.huge"}, "airstack:broker.redis.nodeType = cache.t4g.huge: cache.t4g comes in "
         "micro, small, medium"),
        ({"nodeType": "db.t4g.small"}, "airstack:broker.redis.nodeType = db.t4g.small: not a current-generation "
         "ElastiCache node type; families: cache.t3, cache.t4g, cache.m5, cache.m6g, cache.m7g, cache.r5, "
         "cache.r6g, cache.r7g"),
        ({"engine": "memcached"}, "airstack:broker.redis.engine = memcached: must be one of 'valkey' or 'redis'"),
        ({"engine": "redis", "engineVersion": "8.1"}, 'airstack:broker.redis.engineVersion = 8.1: write a redis '
         'version in quotes, one of "6.2", "7.0", "7.1"'),
        ({"engineVersion": 8.1}, "airstack:broker.redis.engineVersion = 8.1: must be text; YAML read 8.1 as a "
         "number: put it in quotes"),
        ({"multiAz": True, "replicas": 0}, "airstack:broker.redis.replicas = 0: Multi-AZ fails over to a replica in "
         "another Availability Zone: use at least 1"),
        ({"replicas": 6}, "airstack:broker.redis.replicas = 6: must be at most 5"),
        ({"multiAz": "yes"}, "airstack:broker.redis.multiAz = yes: must be true or false, written without quotes, "
         'not the text "yes"'),
        ({"nodetype": "cache.t4g.small"}, "airstack:broker.redis.nodetype = cache.t4g.small: unknown key (did you "
         "mean nodeType?); check the spelling against Pulumi.dev.yaml and DESIGN.md §3"),
    ],
)  # fmt: skip
def test_bad_redis_settings_say_what_is_allowed(redis: dict[str, Any], message: str) -> None:
    values = redis_values(**redis)
    assert problems("dev", values) == [message]


def test_the_valkey_versions_are_listed_in_order() -> None:
    [message] = problems("dev", redis_values(engineVersion="9.9"))
    assert message == (
        'airstack:broker.redis.engineVersion = 9.9: write a valkey version in quotes, one of "7.2", "8.0", "8.1", "8.2"'
    )


@pytest.mark.parametrize("stack", ["prod", "dr"])
def test_a_protected_broker_is_multi_az(stack: str) -> None:
    assert problems(stack, redis_values(stack, multiAz=False)) == [
        f"airstack:broker.redis.multiAz = false: a {stack} broker is Multi-AZ with automatic failover, like its "
        "metastore: a lost node would otherwise stop every task from being scheduled; set it to true or leave it out"
    ]


def test_workers_that_cannot_scale_on_the_queue_run_at_least_one_task() -> None:
    values = redis_values()
    values["airstack:teams"][1]["workers"] = {"min": 0, "max": 1}
    assert problems("dev", values) == [
        'airstack:teams[1].workers = {"min": 0, "max": 1}: with broker.type redis a team\'s workers do not scale on '
        "their queue's length (ElastiCache publishes no metric per Celery queue), so they run workers.min tasks: "
        "set min to at least 1"
    ]


def test_a_stack_name_too_long_for_the_replication_group() -> None:
    stack = "analytics-platform-stag-x"
    assert problems(stack, redis_values()) == [
        f"stack name = {stack}: the ElastiCache replication group airstack-{stack}-broker would be 41 characters, "
        "above the 40 AWS allows: use a stack name of at most 24 characters (with broker.type redis)"
    ]
    assert not [p for p in _problems_or_none(stack, stack_values("dev")) if "replication group" in p]


def _problems_or_none(stack: str, values: dict[str, Any]) -> list[str]:
    try:
        load(stack, values)
    except ConfigError as error:
        return [p.render() for p in error.problems]
    return []


def test_the_node_types_are_current_generation_only() -> None:
    assert {"cache.t4g.micro", "cache.r7g.16xlarge", "cache.m5.24xlarge"} <= NODE_TYPES
    assert not {t for t in NODE_TYPES if t.split(".")[1] in ("t2", "m4", "r4", "t1", "m3")}


# ------------------------------------------------------------------------------------------- property based

_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-10, 10)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.sampled_from(["valkey", "redis", "8.1", "6.2", "cache.t4g.small", "cache.r7g.large", "sqs"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
_KEYS = st.sampled_from(["engine", "engineVersion", "nodeType", "multiAz", "replicas"]) | st.text(max_size=10)
BASE = {stack: redis_values(stack) for stack in ("dev", "prod")}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stack=st.sampled_from(["dev", "prod"]),
    kind=st.sampled_from(["redis", "sqs", "rabbitmq"]) | _JSON,
    section=st.dictionaries(_KEYS, _JSON, max_size=5) | _JSON,
    longest=st.sampled_from(["1h", "11h", "20h", "47h", "60h"]),
)
def test_any_broker_section_is_a_config_or_a_clear_error(stack: str, kind: Any, section: Any, longest: str) -> None:
    values = copy.deepcopy(BASE[stack])
    values["airstack:broker"] = {"type": kind, "redis": section}
    values["airstack:teams"][0]["longestTask"] = longest
    try:
        config = load(stack, values)
    except ConfigError as error:
        assert error.problems
        assert all(p.key.startswith(("airstack:broker", "airstack:teams")) for p in error.problems), error
        return
    if config.broker.type == "sqs":
        assert section is None
        assert config.broker.redis is None
        return
    redis = config.broker.redis
    assert redis is not None
    assert redis.nodes == 1 + (redis.replicas or 0) <= 6
    assert not redis.multi_az or redis.replicas
    assert stack != "prod" or redis.multi_az
