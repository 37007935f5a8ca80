"""The replay of the operations and DR resources can fail: each of its rules refuses a broken document or setting
of the dashboard, the metric filter, the ECR pull-through cache, creation templates and replication, and EFS and
S3 replication; the IAM catalogue still refuses an unknown action; the DB groups still report an unused group."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import planned
from tests.test_replay import broken, edit_json, first_statement, problems, replayed

Change = Callable[[dict[str, Any]], None]


def widget(n: int, change: Callable[[dict[str, Any]], None]) -> Change:
    return edit_json("dashboardBody", lambda body: change(body["widgets"][n]))


def metric_rule(change: Callable[[dict[str, Any]], None]) -> Change:
    return lambda i: change(i["rules"][0])


BROKEN = [
    # (stack, resource, change, the rule that refuses it, a fragment of its message)
    ("dev", "monitoring-dashboard", widget(1, lambda w: w.update(x=20, width=8)), "dashboard", "passes the grid's"),
    ("dev", "monitoring-dashboard", widget(1, lambda w: w["properties"]["metrics"][0].insert(2, "LoadBalancer")),
     "dashboard", "[namespace, name, (dimension, value)*]"),
    ("dev", "monitoring-dashboard", widget(1, lambda w: w["properties"].update(stat="Avg")), "dashboard",
     "is not a CloudWatch statistic"),
    ("dev", "monitoring-dashboard", widget(0, lambda w: w.update(type="markdown")), "dashboard", "type 'markdown'"),
    ("dev", "monitoring-dashboard", lambda i: i.update(dashboardName="airstack dev"), "dashboard", "1 to 255 letters"),
    ("dev", "monitoring-dag-sync-rejections-filter", lambda i: i.update(pattern='{ $.status = "rejected" '),
     "metric-filter", "is not { $.selector op value"),
    ("dev", "monitoring-dag-sync-rejections-filter", lambda i: i.update(pattern='{ status = "rejected" }'),
     "metric-filter", "is not { $.selector op value"),
    ("dev", "monitoring-dag-sync-rejections-filter", lambda i: i["metricTransformation"].update(value="$count"),
     "metric-filter", "names no field of the space-delimited pattern"),
    ("dev", "monitoring-dag-sync-rejections-filter", lambda i: i["metricTransformation"].update(name="Releases:Rejected"),
     "metric-filter", "none of : * $"),
    ("dev", "monitoring-dag-sync-rejections-filter", lambda i: i.update(logGroupName="/aws/lambda/airstack-dev-other"),
     "metric-filter", "is not created before the filter"),
    ("dev", "delivery-public-cache", lambda i: i.update(ecrRepositoryPrefix="d"), "ecr-pull-through-cache", "2 to 30"),
    ("dev", "delivery-public-cache", lambda i: i.update(upstreamRegistryUrl="https://public.ecr.aws"),
     "ecr-pull-through-cache", "without scheme or path"),
    ("dev", "delivery-public-cache", lambda i: i.update(upstreamRegistryUrl="registry-1.docker.io"),
     "ecr-pull-through-cache", "needs a credentialArn"),
    ("dev", "delivery-public-cache-template", lambda i: i.update(prefix="Dev-Public"), "ecr-template",
     "repository name parts"),
    ("dev", "delivery-public-cache-template", lambda i: i.update(appliedFors=[]), "ecr-template", "one or more of"),
    ("dev", "delivery-public-cache-template", edit_json("lifecyclePolicy", lambda p: p["rules"][0]["selection"].update(
        countUnit="days")), "ecr-template", "imageCountMoreThan takes no countUnit"),
    ("dev", "delivery-public-cache-template", lambda i: i.update(resourceTags={"Stack": "dev"}), "ecr-template",
     "needs a customRoleArn"),
    ("prod", "delivery-image-replication", lambda i: i["replicationConfiguration"]["rules"][0]["destinations"][0].update(
        region="eu-west-1"), "ecr-replication", "is this registry itself"),
    ("prod", "delivery-image-replication", lambda i: i["replicationConfiguration"]["rules"][0]["repositoryFilters"][0]
     .update(filter="Airstack/*"), "ecr-replication", "PREFIX_MATCH of a repository name prefix"),
    ("prod", "dr-dags", lambda i: i["destination"].update(region="eu-central-9"), "efs-replication",
     "is not an AWS region"),
    ("prod", "dr-dags", lambda i: i["destination"].update(fileSystemId="efs-1"), "efs-replication",
     "is not a file system ID"),
    ("prod", "dr-data", metric_rule(lambda r: r["destination"]["replicationTime"]["time"].update(minutes=10)),
     "s3-replication", "Replication Time Control's time is 15 minutes"),
    ("prod", "dr-data", metric_rule(lambda r: r["destination"].pop("metrics")), "s3-replication",
     "needs replication metrics enabled"),
    ("prod", "dr-data", metric_rule(lambda r: r["filter"].update(tag={"key": "team", "value": "ml"})),
     "s3-replication", "exactly one of Prefix, Tag and And"),
    ("prod", "dr-data", metric_rule(lambda r: r.pop("deleteMarkerReplication")), "s3-replication",
     "needs Priority and DeleteMarkerReplication"),
    ("prod", "dr-data", lambda i: i["rules"].append(dict(i["rules"][0])), "s3-replication", "rule IDs repeat"),
    ("prod", "dr-data", metric_rule(lambda r: r["destination"].update(bucket="arn:aws:s3:::" + "x")), "s3-replication",
     "is not a bucket ARN"),
    ("prod", "dr-s3-policy", edit_json("policy", first_statement(lambda s: s.update(Action="s3:ReplicateObjects"))),
     "identity-policy", "s3 has no such action"),
]  # fmt: skip


@pytest.mark.parametrize(("stack", "name", "change", "rule", "fragment"), BROKEN,
                         ids=[f"{b[1]}-{b[3]}-{n}" for n, b in enumerate(BROKEN)])  # fmt: skip
def test_a_broken_operations_resource_is_refused(stack: str, name: str, change: Change, rule: str,
                                                 fragment: str) -> None:  # fmt: skip
    found = broken(stack, name, change)
    assert any(f" {rule}: " in p and fragment in p for p in found), "\n".join(found) or "nothing refused"


def _drop(action: str) -> Change:
    def edit(policy: dict[str, Any]) -> None:
        for st in policy["Statement"]:
            st["Action"] = [a for a in st["Action"] if a != action] or ["s3:ListBucket"]

    return edit_json("policy", edit)


def _suspend(inputs: dict[str, Any]) -> None:
    inputs["versioningConfiguration"]["status"] = "Suspended"


def _dashboard_metric(inputs: dict[str, Any]) -> None:
    body = json.loads(inputs["dashboardBody"])
    for w in body["widgets"]:
        for metric in (w.get("properties") or {}).get("metrics", []):
            if metric[:2] == ["airstack/dev/dag-sync", "ReleasesRejected"]:
                metric[1] = "ReleasesRejectd"
    inputs["dashboardBody"] = json.dumps(body)


BROKEN_TOGETHER = [
    # (stack, resource, change, what else is replayed, the rule that refuses it, a fragment of its message)
    ("prod", "dr-s3-role", edit_json("assumeRolePolicy", first_statement(lambda s: s.update(
        Principal={"Service": "ecs-tasks.amazonaws.com"}))), ["dr-data"], "s3-replication",
     "does not let s3.amazonaws.com assume it"),
    ("prod", "dr-s3-policy", _drop("s3:ReplicateObject"), ["dr-data"], "s3-replication", "may not s3:ReplicateObject"),
    ("prod", "dr-s3-policy", _drop("s3:ReplicateDelete"), ["dr-data"], "s3-replication", "may not s3:ReplicateDelete"),
    ("prod", "dr-s3-policy", _drop("s3:GetObjectVersionForReplication"), ["dr-data"], "s3-replication",
     "may not s3:GetObjectVersionForReplication"),
    ("prod", "buckets-data-versioning", _suspend, ["dr-data"], "s3-replication", "is not versioned"),
    ("dev", "monitoring-dashboard", _dashboard_metric, ["monitoring-dag-sync-rejections-filter"], "metric-source",
     "publish only ['ReleasesRejected']"),
    ("dev", "monitoring-dag-sync-rejections-filter", lambda i: i["metricTransformation"].update(name="Rejected"),
     ["monitoring-dashboard"], "metric-source", "ReleasesRejected in eu-west-1"),
    ("dev", "monitoring-dashboard", edit_json("dashboardBody", lambda b: b["widgets"][1]["properties"]["metrics"][0]
     .__setitem__(3, "app/ingress-alb-nosuch/0123456789abcdef")), ["monitoring-dag-sync-rejections-filter"],
     "metric-source", "LoadBalancer app/ingress-alb-nosuch/0123456789abcdef does not exist"),
    ("dev", "monitoring-dashboard", lambda i: i.update(dashboardBody=i["dashboardBody"].replace(
        "airstack-dev-dag-sync-failures", "airstack-dev-dag-sync-failure")), ["monitoring-dag-sync-rejections-filter"],
     "metric-source", "QueueName airstack-dev-dag-sync-failure does not exist"),
    ("dev", "monitoring-analytics-dead-letters", lambda i: i["metricQueries"][0]["metric"].update(
        dimensions={"QueueName": "airstack-dev-nosuch"}),
     ["monitoring-dag-sync-rejections-filter"], "metric-source", "QueueName airstack-dev-nosuch does not exist"),
]  # fmt: skip


@pytest.mark.parametrize(("stack", "name", "change", "also", "rule", "fragment"), BROKEN_TOGETHER,
                         ids=[f"{b[1]}-{b[4]}-{n}" for n, b in enumerate(BROKEN_TOGETHER)])  # fmt: skip
def test_what_a_replication_or_dashboard_needs_is_refused(stack: str, name: str, change: Change, also: list[str],
                                                          rule: str, fragment: str) -> None:  # fmt: skip
    found = broken(stack, name, change, *also)
    assert any(f" {rule}: " in p and fragment in p for p in found), "\n".join(found) or "nothing refused"


def _secrets(stack: str) -> list[str]:
    return [r.name for r in planned(stack).resources if r.type == "aws:secretsmanager/secret:Secret"]


def test_an_execution_role_that_cannot_fill_the_pull_through_cache_is_refused() -> None:
    """The CloudWatch agent's image comes through the stack's cache of ECR Public: the first pull imports it."""
    narrowed = edit_json("policy", lambda d: d.update(Statement=d["Statement"][:1]))
    found = broken("dev", "iam-worker-analytics-execution-secrets", narrowed, "compute-worker-analytics-task-definition",
                   "delivery-public-cache", *_secrets("dev"))  # fmt: skip
    assert any(" ecs-execution-role: " in p and "may not ecr:BatchImportUpstreamImage" in p for p in found), found
    assert any("may not ecr:CreateRepository" in p for p in found), found


def test_a_standby_service_that_starts_tasks_needs_its_secrets() -> None:
    """dr's tasks read secrets that exist only once it is activated: at zero they start nothing, at one they fail."""
    assert not [p for p in replayed("dr").problems if p.rule == "ecs-secrets"]
    found = broken("dr", "compute-worker-analytics", lambda i: i.update(desiredCount=1),
                   "compute-worker-analytics-task-definition")  # fmt: skip
    assert any(" ecs-secrets: " in p and "does not resolve to a secret" in p for p in found), found


def test_a_db_group_no_instance_uses_is_reported_where_the_stack_has_an_instance() -> None:
    """Without instances (a pilot-light standby) the groups wait for the restore; with one, an unused group is
    configuration that does not apply."""
    assert not [p for p in problems(replayed("dr")) if p.rule in ("rds-network", "rds-parameters")]
    found = broken("dev", "metastore-db", lambda i: i.update(parameterGroupName=None), "metastore-parameters")
    assert any(" rds-parameters: " in p and "no DB instance uses it" in p for p in found), found
