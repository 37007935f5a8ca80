"""The stack's CloudWatch dashboard: a row per tier, every widget about a resource the stack has. Pure: the body
is built from plain names (inside an ``apply`` of the monitoring tier) and tested directly."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from components import airflow_metrics, thresholds
from components.alarms import REJECTED_METRIC
from components.config import StackConfig
from components.watched import Watched

WIDTH = 24
HEIGHT = 6


class _Layout:
    def __init__(self) -> None:
        self.widgets: list[dict[str, Any]] = []
        self.y = 0

    def row(self, title: str, note: str, widgets: Sequence[dict[str, Any]]) -> None:
        """A header line, then the row's widgets side by side (wrapping at the dashboard's width)."""
        self.widgets.append({"type": "text", "x": 0, "y": self.y, "width": WIDTH, "height": 1,
                             "properties": {"markdown": f"## {title} · {note}"}})  # fmt: skip
        self.y += 1
        x, width = 0, max(6, WIDTH // max(1, min(len(widgets), 4)))
        for widget in widgets:
            if x + width > WIDTH:
                x, self.y = 0, self.y + HEIGHT
            self.widgets.append({**widget, "x": x, "y": self.y, "width": width, "height": HEIGHT})
            x += width
        self.y += HEIGHT


def _graph(title: str, region: str, metrics: list[list[Any]], stat: str = "Maximum", period: int = 60,
           **extra: Any) -> dict[str, Any]:  # fmt: skip
    return {
        "type": "metric",
        "properties": {"title": title, "region": region, "view": "timeSeries", "stat": stat, "period": period,
                       "metrics": metrics, **extra},
    }  # fmt: skip


def _line(namespace: str, name: str, dimensions: dict[str, Any], **options: Any) -> list[Any]:
    line: list[Any] = [namespace, name]
    for key, value in dimensions.items():
        line += [key, value]
    return [*line, options] if options else line


def dashboard_body(config: StackConfig, watched: Watched) -> dict[str, Any]:
    region, layout = config.aws_region, _Layout()
    balancer = {"LoadBalancer": watched.load_balancer}
    layout.row("Ingress", "the load balancer in front of the api-server", [
        _graph("Requests and server errors", region, [
            _line("AWS/ApplicationELB", "RequestCount", balancer, label="requests"),
            _line("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", balancer, label="5xx from the load balancer"),
            _line("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", balancer, label="5xx from the api-server"),
        ], stat="Sum"),
        _graph("api-server targets", region, [
            _line("AWS/ApplicationELB", name, {"TargetGroup": watched.target_group, **balancer}, label=label)
            for name, label in (("HealthyHostCount", "healthy"), ("UnHealthyHostCount", "unhealthy"))
        ]),
        _graph("Response time (p90)", region, [
            _line("AWS/ApplicationELB", "TargetResponseTime", balancer, stat="p90", label="api-server")
        ]),
    ])  # fmt: skip
    cluster = {"ClusterName": watched.cluster}
    layout.row("Compute", "core services: running against desired tasks", [
        _graph(service, region, [
            _line("ECS/ContainerInsights", "DesiredTaskCount", {**cluster, "ServiceName": service}, label="desired"),
            _line("ECS/ContainerInsights", "RunningTaskCount", {**cluster, "ServiceName": service}, label="running"),
        ])
        for service in watched.core_services
    ])  # fmt: skip
    if thresholds.airflow_metrics(config):
        layout.row("Airflow", "its own StatsD metrics, through the CloudWatch agent in each task",
                   _airflow_widgets(config, watched))  # fmt: skip
    queued = [team for team in watched.teams if team.queue_name is not None]
    layout.row("Teams", "per queue: tasks waiting (visible) and running (in flight), workers", [
        _graph(f"{team.team}: tasks and workers", region, [
            *(() if team.queue_name is None else (
                _line("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": team.queue_name},
                      label="waiting"),
                _line("AWS/SQS", "ApproximateNumberOfMessagesNotVisible", {"QueueName": team.queue_name},
                      label="running"),
            )),
            _line("ECS/ContainerInsights", "DesiredTaskCount", {**cluster, "ServiceName": team.service},
                  label="workers desired", yAxis="right"),
            _line("ECS/ContainerInsights", "RunningTaskCount", {**cluster, "ServiceName": team.service},
                  label="workers running", yAxis="right"),
        ])
        for team in watched.teams
    ] + ([
        _graph("Oldest message (s)", region, [
            _line("AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": team.queue_name}, label=team.queue)
            for team in queued
        ]),
        _graph("Dead letters", region, [
            _line("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": team.dead_letter_name},
                  label=team.queue)
            for team in queued
        ]),
    ] if queued else []))  # fmt: skip
    if watched.db_instance is not None:
        db = {"DBInstanceIdentifier": watched.db_instance}
        layout.row("Metastore", "RDS PostgreSQL", [
            _graph("CPU (%)", region, [_line("AWS/RDS", "CPUUtilization", db)], stat="Average"),
            _graph("Connections", region, [_line("AWS/RDS", "DatabaseConnections", db)]),
            _graph("Free storage (bytes)", region, [_line("AWS/RDS", "FreeStorageSpace", db)], stat="Minimum"),
            _graph("Freeable memory (bytes)", region, [_line("AWS/RDS", "FreeableMemory", db)], stat="Minimum"),
        ])  # fmt: skip
    else:
        layout.widgets.append({"type": "text", "x": 0, "y": layout.y, "width": WIDTH, "height": 2, "properties": {
            "markdown": "## Metastore · none yet: a standby restores its database when it is activated "
                        "(`dr.active: true`, see docs/disaster-recovery.md)"}})  # fmt: skip
        layout.y += 2
    fs = {"FileSystemId": watched.file_system}
    storage = [
        _graph("I/O limit used (%)", region, [_line("AWS/EFS", "PercentIOLimit", fs)]),
        _graph("Clients and throughput", region, [
            _line("AWS/EFS", "ClientConnections", fs, stat="Sum", label="clients"),
            _line("AWS/EFS", "MeteredIOBytes", fs, stat="Sum", label="bytes", yAxis="right"),
        ]),
    ]  # fmt: skip
    if watched.replica_file_system is not None:
        storage.append(_graph("DR copy: time since last sync (s)", region, [
            _line("AWS/EFS", "TimeSinceLastSync",
                  {**fs, "DestinationFileSystemId": watched.replica_file_system})
        ]))  # fmt: skip
    for copy in watched.bucket_copies:
        storage.append(_graph(f"{copy.purpose} bucket: DR replication", region, [
            _line("AWS/S3", name, {"SourceBucket": copy.source, "DestinationBucket": copy.destination,
                                   "RuleId": copy.rule_id}, label=label)
            for name, label in (("ReplicationLatency", "latency (s)"),
                                ("OperationsPendingReplication", "pending"),
                                ("OperationsFailedReplication", "failed"))
        ]))  # fmt: skip
    layout.row("DAG storage and replication", "EFS (elastic throughput: no burst credits)", storage)
    function = {"FunctionName": watched.function}
    layout.row("Delivery", "the DAG deployment function", [
        _graph("Invocations and errors", region, [
            _line("AWS/Lambda", "Invocations", function),
            _line("AWS/Lambda", "Errors", function),
        ], stat="Sum"),
        _graph("Releases rejected", region, [_line(watched.dag_sync_namespace, REJECTED_METRIC, {})], stat="Sum"),
        _graph("Events that failed every attempt", region, [
            _line("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": watched.failure_queue})
        ]),
    ])  # fmt: skip
    return {"start": "-PT6H", "periodOverride": "inherit", "widgets": layout.widgets}


def _airflow_widgets(config: StackConfig, watched: Watched) -> list[dict[str, Any]]:
    region, namespace = config.aws_region, airflow_metrics.namespace(config.stack)

    def line(name: str, service: str, kind: airflow_metrics.MetricType, queue: str | None = None,
             **options: Any) -> list[Any]:  # fmt: skip
        return _line(namespace, airflow_metrics.metric_name(name), airflow_metrics.dimensions(service, kind, queue),
                     **options)  # fmt: skip

    return [
        _graph("Heartbeats", region, [
            line("scheduler_heartbeat", "scheduler", "counter", label="scheduler"),
            line("triggerer_heartbeat", "triggerer", "counter", label="triggerer"),
            line("dag_processor_heartbeat", "dag-processor", "counter", label="dag-processor"),
        ], stat="Sum"),
        _graph("Executor", region, [
            line(f"executor.{name}", "scheduler", "gauge", label=name)
            for name in ("queued_tasks", "running_tasks", "open_slots")
        ]),
        _graph("Task failures per queue", region, [
            line("ti_failures", team.service, "counter", team.queue, label=team.queue) for team in watched.teams
        ] + [line("ti_failures", "scheduler", "counter", label="found by the scheduler")], stat="Sum"),
        _graph("Task successes per queue", region, [
            line("ti_successes", team.service, "counter", team.queue, label=team.queue) for team in watched.teams
        ], stat="Sum"),
        _graph("DAG import errors", region, [line("dag_processing.import_errors", "dag-processor", "gauge")]),
    ]  # fmt: skip
