"""Copies in other regions, Airflow's custom metrics, alarms and dashboards: hand-computed runs and real stacks."""

from __future__ import annotations

import json

import pytest

from airstack.offline import Resource
from airstack.pricing import estimate, estimate_stack
from airstack.pricing.model import CostEstimate
from airstack.stackfile import read_stack_file
from components.airflow_metrics import AGENT_CONFIG_ENV, AGENT_CONTAINER, agent_config, statsd_environment
from tests.conftest import planned
from tests.test_pricing import SERVICE, TASK, resource, run

SECRET = "aws:secretsmanager/secret:Secret"
S3_REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
ECR_REPLICATION = "aws:ecr/replicationConfiguration:ReplicationConfiguration"
EFS_REPLICATION = "aws:efs/replicationConfiguration:ReplicationConfiguration"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"


def line(est: CostEstimate, start: str) -> float:
    found = [i for i in est.items if i.item.startswith(start)]
    assert len(found) == 1, [i.item for i in est.items]
    return found[0].monthly_usd


def lines(est: CostEstimate, start: str) -> list[str]:
    return [i.item for i in est.items if i.item.startswith(start)]


# ------------------------------------------------------------------------------------------ secret replicas


def test_each_secret_replica_is_a_secret_month_in_its_region() -> None:
    est = estimate(
        run(
            resource(SECRET, "a", name="a", replicas=[{"region": "eu-central-1"}, {"region": "us-east-1"}]),
            resource(SECRET, "b", name="b", replicas=[{"region": "eu-central-1"}]),
            resource(SECRET, "c", name="c"),
        )
    )
    assert line(est, "Secrets Manager replicas x2 (eu-central-1)") == pytest.approx(0.80)
    assert line(est, "Secrets Manager replicas x1 (us-east-1)") == pytest.approx(0.40)
    assert line(est, "Secrets Manager x3") == pytest.approx(3 * 0.40 + 0.05)  # the primaries, as before
    assert ("eu-central-1", "secretsmanager.secretMonth") in {(p.region, p.key) for p in est.sources}
    assert not lines(estimate(run(resource(SECRET, "c", name="c"))), "Secrets Manager replicas")


# ------------------------------------------------------------------------------------------ S3 replication


def s3_rule(destination: str, timed: bool) -> dict[str, object]:
    rule: dict[str, object] = {"id": "r", "status": "Enabled", "destination": {"bucket": destination}}
    if timed:
        rule["destination"] = {
            "bucket": destination,
            "replicationTime": {"status": "Enabled", "time": {"minutes": 15}},
            "metrics": {"status": "Enabled", "eventThreshold": {"minutes": 15}},
        }
    return rule


def s3_run(destination: str, timed: bool, *extra: Resource) -> CostEstimate:
    return estimate(
        run(
            resource("aws:s3/bucket:Bucket", "src", bucket="src-eu-west-1"),
            resource("aws:s3/bucket:Bucket", "other", bucket="other-eu-west-1"),
            *extra,
            resource(S3_REPLICATION, "dr-data", bucket="src-eu-west-1", rules=[s3_rule(destination, timed)]),
        )
    )


def test_s3_replication_prices_the_copy_its_transfer_rtc_and_metrics() -> None:
    # 50 GB stored and 10 GB new a month over the run's 2 buckets: 25 GB and 5 GB for this one
    #   stored in eu-central-1: 25 * 0.0245 = 0.6125; transfer from eu-west-1: 5 * 0.02 = 0.10
    #   Replication Time Control: 5 * 0.015 = 0.075; 4 replication metrics * 0.30 = 1.20
    timed = s3_run("arn:aws:s3:::dst-111122223333-eu-central-1", timed=True)
    # The copies' storage is the destination bucket's (priced by the stack that declares it), not the copy's.
    assert line(timed, "S3 replication dr-data → eu-central-1") == pytest.approx(0.10 + 0.075 + 1.20)
    plain = s3_run("arn:aws:s3:::dst-111122223333-eu-central-1", timed=False)
    assert "Replication Time Control" not in next(i for i in plain.items if i.item.startswith("S3 rep")).assumption
    assert line(plain, "S3 replication dr-data → eu-central-1") == pytest.approx(0.10)
    assert "s3.rtc.gb" not in {p.key for p in plain.sources}


def test_s3_replication_within_the_region_has_no_transfer() -> None:
    # the destination is a bucket of this run, so its region is the run's: nothing crosses a region
    est = s3_run("arn:aws:s3:::other-eu-west-1", timed=False)
    assert line(est, "S3 replication dr-data → eu-west-1") == 0, "no transfer, and the copies are the bucket's"


def test_buckets_without_replication_have_no_replication_line() -> None:
    est = estimate(run(resource("aws:s3/bucket:Bucket", "src", bucket="src")))
    assert not lines(est, "S3 replication")


# ------------------------------------------------------------------------------------------ ECR and EFS


def ecr_replication(*prefixes: str) -> Resource:
    return resource(
        ECR_REPLICATION,
        "image-replication",
        replicationConfiguration={
            "rules": [
                {
                    "repositoryFilters": [{"filterType": "PREFIX_MATCH", "filter": p} for p in prefixes],
                    "destinations": [{"region": "eu-central-1", "registryId": "111122223333"}],
                }
            ]
        },
    )


def test_ecr_replication_prices_each_matching_repository_in_the_destination() -> None:
    repositories = [
        resource("aws:ecr/repository:Repository", "core", name="airstack/airflow-core"),
        resource("aws:ecr/repository:Repository", "tools", name="tools/ci"),
    ]
    # 1 repository matches: 15 GB kept * 0.10 in eu-central-1 + 3 GB pushed * 0.02 sent from eu-west-1
    est = estimate(run(*repositories, ecr_replication("airstack/")))
    assert line(est, "ECR replication → eu-central-1 x1") == pytest.approx(1.50 + 0.06)
    everything = estimate(run(*repositories, ecr_replication()))  # no filter: every repository
    assert line(everything, "ECR replication → eu-central-1 x2") == pytest.approx(2 * 1.56)
    assert not lines(estimate(run(*repositories)), "ECR replication")


def test_efs_replication_prices_the_destination_and_the_transfer() -> None:
    replication = resource(
        EFS_REPLICATION, "dr-dags", sourceFileSystemId="fs-1", destination={"region": "eu-central-1"}
    )
    fs = resource("aws:efs/fileSystem:FileSystem", "fs")
    # 1 GB of DAG files * 0.36 in eu-central-1 + 1 GB written a month * 0.02 sent from eu-west-1
    est = estimate(run(fs, replication))
    assert line(est, "EFS replication dr-dags → eu-central-1") == pytest.approx(0.36 + 0.02)
    assert ("eu-central-1", "efs.standard.gbMonth") in {(p.region, p.key) for p in est.sources}
    assert not lines(estimate(run(fs)), "EFS replication")


def test_a_pull_through_cache_stores_the_cached_agent_image() -> None:
    rule = resource(
        "aws:ecr/pullThroughCacheRule:PullThroughCacheRule",
        "cache",
        upstreamRegistryUrl="public.ecr.aws",
        ecrRepositoryPrefix="dev-public",
    )
    assert line(estimate(run(rule)), "ECR pull-through cache x1") == pytest.approx(0.2 * 0.10)
    assert not lines(estimate(run()), "ECR pull-through cache")


# ------------------------------------------------------------------------------------------ Airflow metrics


def airflow_task(
    role: str, service: str, queue: str | None, agent: bool = True, count: int = 1, hostname: bool = False
) -> list[Resource]:
    """A service whose task runs one Airflow process and the agent, configured as the program configures them."""
    env = statsd_environment(service, queue)
    containers: list[dict[str, object]] = [
        {"name": role, "environment": [{"name": k, "value": v} for k, v in env.items()]}
    ]
    if agent:
        config = agent_config("t", "eu-west-1")
        config["agent"]["omit_hostname"] = not hostname
        agent_env = [{"name": AGENT_CONFIG_ENV, "value": json.dumps(config)}]
        containers.append({"name": AGENT_CONTAINER, "environment": agent_env})
    task = resource(TASK, f"{service}-td", cpu="256", memory="512", containerDefinitions=json.dumps(containers))
    svc = resource(SERVICE, service, name=service, taskDefinition=f"arn:{service}-td", desiredCount=count)
    return [task, svc]


def test_each_process_publishes_its_allowed_metrics_under_its_own_dimensions() -> None:
    # scheduler: its heartbeat, 3 executor gauges, starving tasks, running dag runs = 6 metrics
    # each worker service: task failures and successes under its Service and Queue = 2 metrics each
    est = estimate(
        run(
            *airflow_task("scheduler", "scheduler", None),
            *airflow_task("worker", "worker-a", "a"),
            *airflow_task("worker", "worker-b", "b"),
        ),
        hours_on=365,
    )
    assert lines(est, "Airflow metrics") == ["Airflow metrics (10 custom)"]
    assert line(est, "Airflow metrics") == pytest.approx(10 * 0.30 * 0.5)


def test_metrics_of_services_scaled_to_zero_count_only_at_their_maximum() -> None:
    est = estimate(
        run(*airflow_task("scheduler", "scheduler", None), *airflow_task("worker", "worker-a", "a", count=0)),
        hours_on=730,
    )
    item = next(i for i in est.items if i.item.startswith("Airflow metrics"))
    assert item.monthly_usd == pytest.approx(6 * 0.30)
    assert item.max_monthly_usd == pytest.approx(8 * 0.30)
    assert "2 only while a service scaled to zero runs" in item.assumption


def test_an_agent_that_keeps_host_names_publishes_a_set_per_task() -> None:
    est = estimate(run(*airflow_task("scheduler", "scheduler", None, count=2, hostname=True)), hours_on=730)
    assert lines(est, "Airflow metrics") == ["Airflow metrics (12 custom)"]
    assert line(est, "Airflow metrics") == pytest.approx(12 * 0.30)


def test_without_an_agent_nothing_is_published() -> None:
    est = estimate(run(*airflow_task("scheduler", "scheduler", None, agent=False)))
    assert not lines(est, "Airflow metrics")


# ------------------------------------------------------------------------------------------ alarms, dashboards


def test_high_resolution_alarms_and_dashboards_beyond_the_free_three() -> None:
    alarms = [
        resource(ALARM, "standard", metricName="m", period=60),
        resource(
            ALARM,
            "math",
            metricQueries=[
                {"id": "a", "metric": {"metricName": "x", "period": 60}},
                {"id": "b", "metric": {"metricName": "y", "period": 300}},
                {"id": "e", "expression": "a + b", "returnData": True},  # an expression is not a metric
            ],
        ),
        resource(ALARM, "fast", metricName="m", period=10),
    ]
    dashboards = [resource(DASHBOARD, f"d{n}", dashboardName=f"d{n}") for n in range(4)]
    # 3 standard alarm metrics * 0.10 + 1 high-resolution * 0.30 + 1 dashboard beyond 3 free * 3.00
    est = estimate(run(*alarms, *dashboards))
    assert line(est, "CloudWatch alarms x3, dashboards x4") == pytest.approx(0.30 + 0.30 + 3.00)
    assert line(estimate(run(*alarms, *dashboards[:3])), "CloudWatch alarms") == pytest.approx(0.60)


# ------------------------------------------------------------------------------------------ real stacks


@pytest.fixture(scope="module")
def stacks() -> dict[str, CostEstimate]:
    return {s: estimate_stack(planned(s), read_stack_file(s).load()) for s in ("dev", "prod", "dr")}


def test_prod_prices_what_it_copies_to_its_standby_region(stacks: dict[str, CostEstimate]) -> None:
    prod = stacks["prod"]
    assert line(prod, "Secrets Manager replicas x4 (eu-central-1)") == pytest.approx(1.60)
    # 50/3 GB * 0.0245 + 10/3 GB * (0.02 + 0.015 RTC) + 4 metrics * 0.30, for each of the logs and data buckets
    # 10 GB new a month over 3 buckets, copied with RTC: (0.02 + 0.015) * 10 / 3, and 4 replication metrics.
    assert line(prod, "S3 replication dr-logs → eu-central-1") == pytest.approx(0.35 / 3 + 1.20)
    assert line(prod, "S3 replication dr-data → eu-central-1") == pytest.approx(0.35 / 3 + 1.20)
    assert line(prod, "ECR replication → eu-central-1 x1") == pytest.approx(1.56)
    # Into dr's own file system (priced by dr): the transfer of 1 GB written a month.
    assert line(prod, "EFS replication dr-dags → eu-central-1") == pytest.approx(0.02)
    # 6 scheduler + 2 dag-processor + 1 triggerer + 2 per worker service (3) = 15; ml's workers scale from zero
    assert lines(prod, "Airflow metrics") == ["Airflow metrics (15 custom)"]
    assert line(prod, "Airflow metrics") == pytest.approx(13 * 0.30)


def test_stacks_without_replication_have_none_of_its_lines(stacks: dict[str, CostEstimate]) -> None:
    for stack in ("dev", "dr"):
        items = [i.item for i in stacks[stack].items]
        assert not [i for i in items if "replica" in i.lower()], items
        assert line(stacks[stack], "ECR pull-through cache x1") == pytest.approx(0.02)
    assert line(stacks["dr"], "Airflow metrics") == 0  # the pilot light runs no Airflow process
