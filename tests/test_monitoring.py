"""The monitoring tier of each real stack: its alarms, their thresholds and topic, and a dashboard about what exists."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airstack.offline import ProgramRun, Resource
from airstack.stackfile import read_stack_file
from components import airflow_metrics, recovery, thresholds
from components.airflow_metrics import AGENT_CONTAINER
from components.config import ConfigError
from components.watched import arn_suffix
from tests.conftest import STACKS, containers, of_type, planned, stack_file_with, stack_values
from tests.iam_eval import Request, allowed

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
MONITORING = "airstack:monitoring:Monitoring"


def monitoring_alarms(run: ProgramRun) -> dict[str, Resource]:
    """The monitoring tier's alarms by key (``airstack-<stack>-<key>``)."""
    prefix = f"airstack-{run.stack}-"
    return {
        a.inputs["name"].removeprefix(prefix): a
        for a in of_type(run, ALARM)
        if a.parent is not None and MONITORING in a.parent
    }


def queries(alarm: Resource) -> dict[str, dict[str, Any]]:
    return {q["id"]: q for q in alarm.inputs["metricQueries"]}


def returned(alarm: Resource) -> dict[str, Any]:
    [query] = [q for q in alarm.inputs["metricQueries"] if q.get("returnData")]
    return query


# ---------------------------------------------------------------------------------------------- alarms


@pytest.mark.parametrize("stack", STACKS)
def test_every_monitoring_alarm_tells_the_alert_topic_and_scaling_alarms_act_on_policies(stack: str) -> None:
    run = planned(stack)
    [topic] = of_type(run, "aws:sns/topic:Topic")
    ours = monitoring_alarms(run)
    assert ours
    for key, alarm in ours.items():
        assert alarm.inputs["alarmActions"] == [topic.outputs["arn"]], key
        assert alarm.inputs["okActions"] == [topic.outputs["arn"]], key
        assert len([q for q in alarm.inputs["metricQueries"] if q.get("returnData")]) == 1, key
    policies = {p.outputs["arn"] for p in of_type(run, "aws:appautoscaling/policy:Policy")}
    for alarm in of_type(run, ALARM):
        if alarm not in ours.values():
            assert set(alarm.inputs["alarmActions"]) <= policies, alarm.name


@pytest.mark.parametrize("stack", STACKS)
def test_each_team_queue_is_alarmed_with_its_own_thresholds(stack: str) -> None:
    run, config = planned(stack), read_stack_file(stack).load()
    alarms = monitoring_alarms(run)
    queues = {q.inputs["name"]: q for q in of_type(run, "aws:sqs/queue:Queue")}
    wait = 10 if config.protected else 30
    for team in config.teams:
        name = f"airstack-{stack}-{team.queue_name}"
        waiting, depth = alarms[f"{team.queue_name}-waiting"], alarms[f"{team.queue_name}-depth"]
        oldest, dead = alarms[f"{team.queue_name}-oldest-message"], alarms[f"{team.queue_name}-dead-letters"]
        for alarm, queue in ((waiting, name), (depth, name), (oldest, name), (dead, f"{name}-dlq")):
            assert returned(alarm)["metric"]["dimensions"] == {"QueueName": queue}
            assert queue in queues
        assert (waiting.inputs["evaluationPeriods"], waiting.inputs["threshold"]) == (wait, 1)
        assert returned(waiting)["metric"]["stat"] == "Minimum", "waiting all along, not once in the minute"
        assert depth.inputs["threshold"] == 2 * team.workers.max * team.concurrency
        # Celery acknowledges a task when it ends: the oldest message may be as old as the longest task.
        assert oldest.inputs["threshold"] == team.longest_task_seconds + 60 * wait
        assert returned(oldest)["metric"]["metricName"] == "ApproximateAgeOfOldestMessage"
        assert dead.inputs["threshold"] == 1


@pytest.mark.parametrize("stack", STACKS)
def test_core_services_alarm_when_they_run_fewer_tasks_than_desired(stack: str) -> None:
    run, config = planned(stack), read_stack_file(stack).load()
    alarms = monitoring_alarms(run)
    [cluster] = of_type(run, "aws:ecs/cluster:Cluster")
    for service in ("api-server", "scheduler", "dag-processor", "triggerer"):
        alarm = alarms[f"{service}-below-desired"]
        q = queries(alarm)
        for metric in ("desired", "running"):
            assert q[metric]["metric"]["namespace"] == "ECS/ContainerInsights"
            assert q[metric]["metric"]["dimensions"] == {
                "ClusterName": cluster.outputs["name"],
                "ServiceName": service,
            }
        assert q["missing"]["expression"] == "FILL(desired, 0) - FILL(running, 0)"
        assert alarm.inputs["evaluationPeriods"] == (5 if config.protected else 10)


def test_the_scheduler_heartbeat_alarm_counts_missing_data_and_expects_no_beat_while_hibernating() -> None:
    alarm = monitoring_alarms(planned("dev"))["scheduler-heartbeat"]
    q = queries(alarm)
    assert alarm.inputs["treatMissingData"] == "breaching"
    assert (alarm.inputs["comparisonOperator"], alarm.inputs["threshold"]) == ("LessThanThreshold", 1)
    assert q["beats"]["metric"] | {"period": 60} == {
        "namespace": "airstack/dev/airflow",
        "metricName": "airflow_scheduler_heartbeat",
        "dimensions": {"Service": "scheduler", "metric_type": "counter"},
        "stat": "Sum",
        "period": 60,
    }
    # Hibernation puts the scheduler's desired count at zero at night: then no heartbeat is due.
    assert q["heartbeats"]["expression"] == "IF(desired > 0, FILL(beats, 0), 1)"
    assert q["desired"]["metric"]["dimensions"]["ServiceName"] == "scheduler"
    assert "scheduler-heartbeat" in monitoring_alarms(planned("prod"))
    assert "scheduler-heartbeat" not in monitoring_alarms(planned("dr")), "a standby's scheduler is not running"


def test_load_balancer_database_file_system_and_delivery_alarms_in_prod() -> None:
    run = planned("prod")
    alarms = monitoring_alarms(run)
    [alb] = of_type(run, "aws:lb/loadBalancer:LoadBalancer")
    [group] = of_type(run, "aws:lb/targetGroup:TargetGroup")
    balancer = arn_suffix(alb.outputs["arn"], "loadbalancer/")
    assert balancer.startswith("app/")
    five = queries(alarms["alb-5xx"])
    assert {five["elb"]["metric"]["metricName"], five["target"]["metric"]["metricName"]} == {
        "HTTPCode_ELB_5XX_Count",
        "HTTPCode_Target_5XX_Count",
    }
    assert five["elb"]["metric"]["dimensions"] == {"LoadBalancer": balancer}
    assert alarms["alb-5xx"].inputs["threshold"] == 10
    assert returned(alarms["unhealthy-targets"])["metric"]["dimensions"] == {
        "TargetGroup": arn_suffix(group.outputs["arn"], "targetgroup/"),
        "LoadBalancer": balancer,
    }
    db = {"DBInstanceIdentifier": "airstack-prod-metastore"}
    assert returned(alarms["db-cpu"])["metric"]["dimensions"] == db
    assert alarms["db-cpu"].inputs["threshold"] == 80
    assert alarms["db-free-storage"].inputs["threshold"] == 5 * 1024**3, "a tenth of the 50 GB allocated"
    # db.t4g.medium: (4 GiB - 256 MiB) / 9531392 = 422 connections by default; the alarm at 80%.
    assert alarms["db-connections"].inputs["threshold"] == 337
    [fs] = of_type(run, "aws:efs/fileSystem:FileSystem")
    assert returned(alarms["dags-io-limit"])["metric"]["dimensions"] == {"FileSystemId": fs.id}
    assert returned(alarms["dags-io-limit"])["metric"]["metricName"] == "PercentIOLimit"
    [function] = of_type(run, "aws:lambda/function:Function")
    assert returned(alarms["dag-sync-errors"])["metric"]["dimensions"] == {"FunctionName": function.outputs["name"]}
    [failures] = [q for q in of_type(run, "aws:sqs/queue:Queue") if q.inputs["name"].endswith("dag-sync-failures")]
    assert returned(alarms["dag-sync-failures"])["metric"]["dimensions"] == {"QueueName": failures.inputs["name"]}


def test_release_rejections_are_counted_from_the_deployment_functions_log() -> None:
    run = planned("prod")
    [metric_filter] = of_type(run, "aws:cloudwatch/logMetricFilter:LogMetricFilter")
    [function] = of_type(run, "aws:lambda/function:Function")
    namespace = function.inputs["environment"]["variables"]["AIRSTACK_METRICS_NAMESPACE"]
    assert namespace == "airstack/prod/dag-sync", "stacks share an account: one namespace each"
    assert metric_filter.inputs["logGroupName"] == f"/aws/lambda/{function.inputs['name']}"
    assert metric_filter.inputs["pattern"] == '{ $.status = "rejected" }'
    transformation = metric_filter.inputs["metricTransformation"]
    assert (transformation["namespace"], transformation["name"]) == (namespace, "ReleasesRejected")
    alarm = monitoring_alarms(run)["dag-sync-rejections"]
    assert returned(alarm)["metric"]["namespace"] == namespace
    assert metric_filter.urn in alarm.dependencies


def test_a_standby_without_a_database_has_no_database_alarms() -> None:
    keys = set(monitoring_alarms(planned("dr")))
    assert not {k for k in keys if k.startswith("db-")}
    assert {"alb-5xx", "dags-io-limit", "analytics-waiting"} <= keys


def test_thresholds_come_from_the_monitoring_section(run_with) -> None:
    def tighten(values: dict[str, Any]) -> None:
        values["airstack:monitoring"] = {
            "queueWaitMinutes": 3,
            "queueDepth": 7,
            "albServerErrors": 2,
            "dbConnections": 40,
            "dbFreeStorageGb": 9,
            "serviceDownMinutes": 2,
            "heartbeatMinutes": 4,
            "efsIoLimitPercent": 75,
        }

    alarms = monitoring_alarms(run_with("dev", tighten))
    assert alarms["analytics-waiting"].inputs["evaluationPeriods"] == 3
    assert alarms["ml-depth"].inputs["threshold"] == 7
    assert alarms["alb-5xx"].inputs["threshold"] == 2
    assert alarms["db-connections"].inputs["threshold"] == 40
    assert alarms["db-free-storage"].inputs["threshold"] == 9 * 1024**3
    assert alarms["scheduler-below-desired"].inputs["evaluationPeriods"] == 2
    assert alarms["scheduler-heartbeat"].inputs["evaluationPeriods"] == 4
    assert alarms["dags-io-limit"].inputs["threshold"] == 75


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"queueWaitMinutes": 0}, "airstack:monitoring.queueWaitMinutes = 0: must be at least 1"),
        ({"dbCpuPercent": 120}, "airstack:monitoring.dbCpuPercent = 120: must be at most 100"),
        ({"agentImage": "amazon/cloudwatch-agent"}, "pin the agent image with a tag or digest"),
        ({"heartbeatMinute": 3}, "unknown key (did you mean heartbeatMinutes?)"),
    ],
)
def test_a_bad_monitoring_section_is_refused_with_the_key(section: dict[str, Any], message: str) -> None:
    values = stack_values("dev")
    values["airstack:monitoring"] = section
    with pytest.raises(ConfigError) as error:
        stack_file_with("dev", values).load()
    assert message in str(error.value)


def test_airflow_metrics_need_a_way_out_of_the_network() -> None:
    values = stack_values("dev")
    values["airstack:network"] |= {"natStrategy": "none", "interfaceEndpoints": ["ecr.api", "ecr.dkr", "logs",
                                   "secretsmanager", "sqs", "sts"]}  # fmt: skip
    config = stack_file_with("dev", values).load()
    assert thresholds.airflow_metrics(config) is False, "off by default without a NAT gateway"
    values["airstack:monitoring"] = {"airflowMetrics": True}
    with pytest.raises(
        ConfigError,
        match=r"the CloudWatch agent cannot reach CloudWatch's API; add monitoring to network\.interfaceEndpoints",
    ):
        stack_file_with("dev", values).load()
    values["airstack:network"]["interfaceEndpoints"].append("monitoring")
    assert thresholds.airflow_metrics(stack_file_with("dev", values).load()), "the endpoint is a way out"


def test_restricted_egress_reaches_cloudwatch_only_through_its_endpoint() -> None:
    values = stack_values("prod")
    values["airstack:network"]["interfaceEndpoints"].remove("monitoring")
    assert thresholds.airflow_metrics(stack_file_with("prod", values).load()) is False
    values["airstack:monitoring"] = {**values.get("airstack:monitoring", {}), "airflowMetrics": True}
    with pytest.raises(ConfigError, match=r"egress is restricted, so the CloudWatch agent cannot reach"):
        stack_file_with("prod", values).load()


@pytest.mark.parametrize("stack", STACKS)
def test_the_agent_is_pulled_through_the_stacks_own_registry(stack: str) -> None:
    """Restricted egress reaches no public registry: ECR Public comes through the stack's pull-through cache."""
    run = planned(stack)
    config = read_stack_file(stack).load()
    [rule] = of_type(run, "aws:ecr/pullThroughCacheRule:PullThroughCacheRule")
    prefix = f"{stack}-public"
    assert (rule.inputs["ecrRepositoryPrefix"], rule.inputs["upstreamRegistryUrl"]) == (prefix, "public.ecr.aws")
    registry = f"111122223333.dkr.ecr.{config.aws_region}.amazonaws.com"
    for task in of_type(run, "aws:ecs/taskDefinition:TaskDefinition"):
        agents = [c for c in containers(task) if c["name"] == AGENT_CONTAINER]
        for agent in agents:
            assert agent["image"].startswith(f"{registry}/{prefix}/cloudwatch-agent/cloudwatch-agent:")
            assert rule.urn in task.dependencies, "the cache exists before a task pulls through it"
        if agents:
            execution = next(
                r for r in of_type(run, "aws:iam/role:Role") if r.outputs["arn"] == task.inputs["executionRoleArn"]
            )
            identity = [
                p.inputs["policy"]
                for p in of_type(run, "aws:iam/rolePolicy:RolePolicy")
                if p.inputs["role"] == execution.id
            ]
            repository = (
                f"arn:aws:ecr:{config.aws_region}:111122223333:repository/{prefix}/cloudwatch-agent/cloudwatch-agent"
            )
            assert allowed(Request("ecr:BatchImportUpstreamImage", repository), identity)
            assert not allowed(Request("ecr:BatchImportUpstreamImage", repository.replace(prefix, "other")), identity)


def test_default_connection_limits_of_instance_classes() -> None:
    assert thresholds.default_max_connections("db.t4g.micro") == 84
    assert thresholds.default_max_connections("db.r6g.large") == 1774
    assert thresholds.default_max_connections("db.m7i.48xlarge") == 5000
    assert thresholds.default_max_connections("db.z9.large") is None


# ------------------------------------------------------------------------------------------- dashboard


def metric_lines(body: dict[str, Any]) -> list[list[Any]]:
    lines = []
    for widget in body["widgets"]:
        if widget["type"] == "metric":
            lines += [line for line in widget["properties"]["metrics"] if isinstance(line[0], str)]
    return lines


def dimensions_of(line: list[Any]) -> dict[str, Any]:
    values = [v for v in line[2:] if not isinstance(v, dict)]
    return dict(zip(values[::2], values[1::2], strict=True))


def what_exists(run: ProgramRun) -> dict[str, set[str]]:
    """Each dimension's allowed values: the names of the plan's resources, as CloudWatch names them."""
    config = read_stack_file(run.stack).load()
    queues = of_type(run, "aws:sqs/queue:Queue")
    services = {s.inputs["name"] for s in of_type(run, "aws:ecs/service:Service")}
    buckets = {b.outputs["bucket"] for b in of_type(run, "aws:s3/bucket:Bucket")}
    # A primary's rules name its standby's buckets, which the standby's own plan creates.
    standby = planned(config.dr.standby_stack) if config.dr.standby_stack else None
    standby_buckets = {b.outputs["bucket"] for b in of_type(standby, "aws:s3/bucket:Bucket")} if standby else set()
    standby_fs = {f.id for f in of_type(standby, "aws:efs/fileSystem:FileSystem")} if standby else set()
    return {
        "QueueName": {q.inputs["name"] for q in queues},
        "Queue": {t.queue_name for t in config.teams},
        "ServiceName": services,
        "Service": services,
        "ClusterName": {c.outputs["name"] for c in of_type(run, "aws:ecs/cluster:Cluster")},
        "LoadBalancer": {
            arn_suffix(lb.outputs["arn"], "loadbalancer/") for lb in of_type(run, "aws:lb/loadBalancer:LoadBalancer")
        },
        "TargetGroup": {
            arn_suffix(tg.outputs["arn"], "targetgroup/") for tg in of_type(run, "aws:lb/targetGroup:TargetGroup")
        },
        "DBInstanceIdentifier": {d.outputs["identifier"] for d in of_type(run, "aws:rds/instance:Instance")},
        "FileSystemId": {f.id for f in of_type(run, "aws:efs/fileSystem:FileSystem")},
        "DestinationFileSystemId": standby_fs,
        "FunctionName": {f.outputs["name"] for f in of_type(run, "aws:lambda/function:Function")},
        "SourceBucket": buckets,
        "DestinationBucket": standby_buckets,
        "RuleId": {
            r["id"]
            for c in of_type(run, "aws:s3/bucketReplicationConfig:BucketReplicationConfig")
            for r in c.inputs["rules"]
        },
        "metric_type": {"counter", "gauge"},
    }


@pytest.mark.parametrize("stack", STACKS)
def test_every_dashboard_widget_is_about_a_resource_of_the_plan(stack: str) -> None:
    run = planned(stack)
    [dashboard] = of_type(run, "aws:cloudwatch/dashboard:Dashboard")
    assert dashboard.inputs["dashboardName"] == f"airstack-{stack}"
    body = json.loads(dashboard.inputs["dashboardBody"])
    allowed = what_exists(run)
    lines = metric_lines(body)
    assert lines
    seen: set[str] = set()
    for line in lines:
        for key, value in dimensions_of(line).items():
            assert key in allowed, f"{line[1]}: dimension {key} names nothing this test knows"
            assert value in allowed[key], f"{line[1]}: {key}={value} is not a resource of {stack}'s plan"
            seen.add(key)
    assert {"QueueName", "ServiceName", "ClusterName", "LoadBalancer", "TargetGroup", "FileSystemId",
            "FunctionName"} <= seen  # fmt: skip
    config = read_stack_file(stack).load()
    assert ("DBInstanceIdentifier" in seen) is recovery.has_database(config)
    assert ("DestinationFileSystemId" in seen) is recovery.replicates_dags(config)
    assert ("Queue" in seen) is thresholds.airflow_metrics(config)


@pytest.mark.parametrize("stack", STACKS)
def test_the_dashboard_has_a_row_per_tier_and_the_airflow_row_reads_what_the_agent_publishes(stack: str) -> None:
    [dashboard] = of_type(planned(stack), "aws:cloudwatch/dashboard:Dashboard")
    body = json.loads(dashboard.inputs["dashboardBody"])
    headers = [w["properties"]["markdown"].split(" · ")[0] for w in body["widgets"] if w["type"] == "text"]
    assert headers == ["## Ingress", "## Compute", "## Airflow", "## Teams", "## Metastore",
                       "## DAG storage and replication", "## Delivery"]  # fmt: skip
    namespace = airflow_metrics.namespace(stack)
    airflow = [line for line in metric_lines(body) if line[0] == namespace]
    assert {line[1] for line in airflow} >= {"airflow_scheduler_heartbeat", "airflow_ti_failures"}
    config = read_stack_file(stack).load()
    per_queue = {dimensions_of(line).get("Queue") for line in airflow if line[1] == "airflow_ti_failures"}
    assert per_queue - {None} == {t.queue_name for t in config.teams}
    # Widgets sit on the grid without overlapping.
    cells = set()
    for widget in body["widgets"]:
        for x in range(widget["x"], widget["x"] + widget["width"]):
            for y in range(widget["y"], widget["y"] + widget["height"]):
                assert (x, y) not in cells
                cells.add((x, y))
        assert widget["x"] + widget["width"] <= 24
