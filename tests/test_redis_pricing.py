"""A Redis broker's nodes in the monthly estimate: per node-hour, all month, in the stack's region's prices."""

from __future__ import annotations

import pytest

from airstack.offline import run_program
from airstack.pricing import HOURS_PER_MONTH, PriceTable, estimate, estimate_stack, regions
from airstack.stackfile import read_stack_file
from components.config.broker import DEFAULT_VERSIONS, RedisBroker
from tests.test_pricing import resource, run
from tests.test_redis_config import REDIS_STACK

GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"


def cache_lines(est: object) -> list[object]:
    return [i for i in est.items if i.item.startswith("ElastiCache")]  # type: ignore[attr-defined]


def test_a_replication_group_is_priced_per_node_all_month() -> None:
    group = resource(GROUP, "broker", replicationGroupId="b", engine="valkey", nodeType="cache.t4g.small",
                     numCacheClusters=2, multiAzEnabled=True)  # fmt: skip
    [line] = cache_lines(estimate(run(group, region="us-east-1"), hours_on=100))
    assert line.item == "ElastiCache Valkey b cache.t4g.small x2 Multi-AZ"  # type: ignore[attr-defined]
    assert line.monthly_usd == pytest.approx(2 * 0.0256 * HOURS_PER_MONTH)  # type: ignore[attr-defined]
    assert line.assumption.startswith("1 primary + 1 replica, always on")  # type: ignore[attr-defined]


def test_redis_oss_is_the_default_engine_and_shards_multiply_nodes() -> None:
    group = resource(GROUP, "cache", nodeType="cache.r7g.large", numNodeGroups=2, replicasPerNodeGroup=1)
    [line] = cache_lines(estimate(run(group, region="us-east-1")))
    assert line.item == "ElastiCache Redis OSS cache cache.r7g.large x4"  # type: ignore[attr-defined]
    assert line.monthly_usd == pytest.approx(4 * 0.219 * HOURS_PER_MONTH)  # type: ignore[attr-defined]


def test_an_unpriced_or_unknown_node_type_says_so() -> None:
    unpriced = resource(GROUP, "big", engine="valkey", nodeType="cache.r7g.16xlarge")
    unknown = resource(GROUP, "later", engine="valkey")
    lines = cache_lines(estimate(run(unpriced, unknown)))
    assert [(i.monthly_usd, i.assumption) for i in lines] == [  # type: ignore[attr-defined]
        (0.0, "no price for valkey cache.r7g.16xlarge in airstack/pricing/prices/eu-west-1.json: add it there"),
        (0.0, "node type unknown before deployment: not priced"),
    ]


@pytest.mark.parametrize("region", regions())
@pytest.mark.parametrize("engine", ["valkey", "redis"])
def test_the_default_and_small_node_types_are_priced_everywhere(region: str, engine: str) -> None:
    table = PriceTable.for_region(region)
    default = RedisBroker().node_type
    for node in (default, "cache.t4g.micro", "cache.t4g.medium", "cache.m7g.large", "cache.r7g.large"):
        assert table.has(f"elasticache.{engine}.{node}.hour"), (region, node)
    assert DEFAULT_VERSIONS[engine]
    valkey, redis = (table.usd(f"elasticache.{e}.{default}.hour") for e in ("valkey", "redis"))
    assert valkey == pytest.approx(redis * 0.8), "Valkey nodes cost 20% less"


def test_the_redis_stack_prices_its_broker_and_no_broker_queue() -> None:
    stack_file = read_stack_file(str(REDIS_STACK))
    est = estimate_stack(run_program(stack_file), stack_file.load())
    [line] = cache_lines(est)
    assert line.item == "ElastiCache Valkey airstack-redis-broker cache.t4g.micro x1"  # type: ignore[attr-defined]
    assert line.monthly_usd == pytest.approx(0.01408 * HOURS_PER_MONTH)  # type: ignore[attr-defined]
    assert line.category == "messaging", "part of what managed Airflow would replace"  # type: ignore[attr-defined]
    [sqs] = [i for i in est.items if i.item.startswith("SQS")]
    assert sqs.item == "SQS (1 dead-letter, no broker queue)"
    assert sqs.monthly_usd == 0
    cited = {p.key: p for p in est.sources}
    assert cited["elasticache.valkey.cache.t4g.micro.hour"].as_of == "2026-11-27"
