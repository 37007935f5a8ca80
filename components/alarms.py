"""The alarms that mean Airflow needs a human, as pure data from the config and what the tiers report.

Every alarm here is sent to the stack's alert topic (and its recovery too); the scaling alarms of the compute tier
are not here: they act on scaling policies. Thresholds come from ``components.thresholds``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from components import airflow_metrics, thresholds
from components.config import StackConfig
from components.metric_math import MetricQuery, expression, metric
from components.watched import Watched

Comparison = Literal[
    "GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold"
]
FIVE_MINUTES = 300
REJECTED_METRIC = "ReleasesRejected"
"""The DAG deployment function's rejections, counted from its log (``{ $.status = "rejected" }``)."""


@dataclass(frozen=True)
class AlarmSpec:
    key: str
    """Unique in a stack: the alarm's name is ``airstack-<stack>-<key>``."""
    description: str
    queries: list[MetricQuery]
    threshold: float
    comparison: Comparison = "GreaterThanOrEqualToThreshold"
    periods: int = 1
    """Evaluation periods; every one of them must breach."""
    missing: Literal["breaching", "notBreaching", "ignore", "missing"] = "notBreaching"
    tier: str = field(default="")


def _one(query: MetricQuery) -> list[MetricQuery]:
    """An alarm on one metric: the metric is its value."""
    return [replace(query, returned=True)]


def alarm_specs(config: StackConfig, watched: Watched) -> list[AlarmSpec]:
    return [
        *_queue_alarms(config, watched),
        *_compute_alarms(config, watched),
        *_ingress_alarms(config, watched),
        *_database_alarms(config, watched),
        *_storage_alarms(config, watched),
        *_delivery_alarms(watched),
    ]


def _queue_alarms(config: StackConfig, watched: Watched) -> list[AlarmSpec]:
    wait = thresholds.queue_wait_minutes(config)
    found = []
    for team in watched.teams:
        if team.queue_name is None:
            continue  # not an SQS queue (a Redis broker's list): the broker tier alarms on Redis itself
        by_team = {t.name: t for t in config.teams}[team.team]
        queue = {"QueueName": team.queue_name}
        found += [
            AlarmSpec(
                f"{team.queue}-waiting",
                f"tasks of the {team.queue} queue have waited {wait} minutes for a worker: its workers are at their "
                "maximum, or cannot start",
                _one(metric("q", "AWS/SQS", "ApproximateNumberOfMessagesVisible", queue, stat="Minimum")),
                threshold=1,
                periods=wait,
                tier="broker",
            ),
            AlarmSpec(
                f"{team.queue}-depth",
                f"more than {thresholds.queue_depth(config, by_team) - 1} tasks wait in the {team.queue} queue",
                _one(metric("q", "AWS/SQS", "ApproximateNumberOfMessagesVisible", queue, period=FIVE_MINUTES)),
                threshold=thresholds.queue_depth(config, by_team),
                tier="broker",
            ),
            AlarmSpec(
                f"{team.queue}-oldest-message",
                f"a message of the {team.queue} queue is older than the team's longest task plus {wait} minutes: a "
                "task waited, or outlived its bound and keeps its message",
                _one(metric("q", "AWS/SQS", "ApproximateAgeOfOldestMessage", queue, period=FIVE_MINUTES)),
                threshold=thresholds.oldest_message_seconds(config, by_team),
                tier="broker",
            ),
            AlarmSpec(
                f"{team.queue}-dead-letters",
                f"tasks of the {team.queue} queue were dead-lettered: a task keeps killing its worker",
                _one(
                    metric(
                        "q",
                        "AWS/SQS",
                        "ApproximateNumberOfMessagesVisible",
                        {"QueueName": team.dead_letter_name},
                        period=FIVE_MINUTES,
                    )
                ),
                threshold=1,
                tier="broker",
            ),
        ]
    return found


def _ecs(watched: Watched, service: str, name: str, query_id: str) -> MetricQuery:
    dims = {"ClusterName": watched.cluster, "ServiceName": service}
    return metric(query_id, "ECS/ContainerInsights", name, dims)


def _compute_alarms(config: StackConfig, watched: Watched) -> list[AlarmSpec]:
    minutes = thresholds.service_down_minutes(config)
    found = [
        AlarmSpec(
            f"{service}-below-desired",
            f"the {service} service has run fewer tasks than desired for {minutes} minutes",
            [
                _ecs(watched, service, "DesiredTaskCount", "desired"),
                _ecs(watched, service, "RunningTaskCount", "running"),
                expression("missing", "FILL(desired, 0) - FILL(running, 0)", "tasks missing"),
            ],
            threshold=1,
            periods=minutes,
            tier="compute",
        )
        for service in watched.core_services
    ]
    if thresholds.airflow_metrics(config) and config.services_running:
        beats = airflow_metrics.metric_name("scheduler_heartbeat")
        minutes = thresholds.heartbeat_minutes(config)
        found.append(
            AlarmSpec(
                "scheduler-heartbeat",
                f"no scheduler heartbeat for {minutes} minutes while the scheduler should run: the scheduler is "
                "stuck, or its metrics do not arrive (missing data counts)",
                [
                    metric(
                        "beats",
                        airflow_metrics.namespace(config.stack),
                        beats,
                        airflow_metrics.dimensions("scheduler", "counter"),
                        stat="Sum",
                    ),
                    _ecs(watched, "scheduler", "DesiredTaskCount", "desired"),
                    # Hibernation (and a standby) set the scheduler's desired count to zero: no heartbeat is due.
                    expression("heartbeats", "IF(desired > 0, FILL(beats, 0), 1)", "heartbeats while it should run"),
                ],
                threshold=1,
                comparison="LessThanThreshold",
                periods=minutes,
                missing="breaching",
                tier="airflow",
            )
        )
    return found


def _ingress_alarms(config: StackConfig, watched: Watched) -> list[AlarmSpec]:
    balancer = {"LoadBalancer": watched.load_balancer}
    targets = {"TargetGroup": watched.target_group, "LoadBalancer": watched.load_balancer}
    minutes = config.monitoring.unhealthy_target_minutes
    return [
        AlarmSpec(
            "alb-5xx",
            f"{thresholds.alb_5xx(config)} or more server errors in five minutes from the load balancer or the "
            "api-server",
            [
                metric("elb", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", balancer, "Sum", FIVE_MINUTES),
                metric("target", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", balancer, "Sum", FIVE_MINUTES),
                expression("errors", "FILL(elb, 0) + FILL(target, 0)", "5xx answers"),
            ],
            threshold=thresholds.alb_5xx(config),
            tier="ingress",
        ),
        AlarmSpec(
            "unhealthy-targets",
            f"an api-server task has failed the load balancer's health check for {minutes} minutes",
            _one(metric("q", "AWS/ApplicationELB", "UnHealthyHostCount", targets)),
            threshold=1,
            periods=minutes,
            tier="ingress",
        ),
    ]


def _database_alarms(config: StackConfig, watched: Watched) -> list[AlarmSpec]:
    if watched.db_instance is None:
        return []
    db = {"DBInstanceIdentifier": watched.db_instance}
    monitoring = config.monitoring
    free = thresholds.db_free_storage_bytes(config)
    found = [
        AlarmSpec(
            "db-cpu",
            f"the metastore's CPU has been above {monitoring.db_cpu_percent}% for 15 minutes",
            _one(metric("q", "AWS/RDS", "CPUUtilization", db, "Average", FIVE_MINUTES)),
            threshold=monitoring.db_cpu_percent,
            comparison="GreaterThanThreshold",
            periods=3,
            tier="metastore",
        ),
        AlarmSpec(
            "db-free-storage",
            f"the metastore has under {free // thresholds.GIB} GB of free storage",
            _one(metric("q", "AWS/RDS", "FreeStorageSpace", db, "Minimum", FIVE_MINUTES)),
            threshold=free,
            comparison="LessThanThreshold",
            tier="metastore",
        ),
    ]
    connections = thresholds.db_connections(config)
    if connections is not None:
        found.append(
            AlarmSpec(
                "db-connections",
                f"the metastore has {connections} or more connections, near its limit: new Airflow processes "
                "would fail to connect",
                _one(metric("q", "AWS/RDS", "DatabaseConnections", db, "Maximum", FIVE_MINUTES)),
                threshold=connections,
                periods=2,
                tier="metastore",
            )
        )
    return found


def _storage_alarms(config: StackConfig, watched: Watched) -> list[AlarmSpec]:
    monitoring = config.monitoring
    found = [
        AlarmSpec(
            "dags-io-limit",
            f"the DAG file system has used {monitoring.efs_io_limit_percent}% of its I/O limit for 15 minutes",
            _one(
                metric("q", "AWS/EFS", "PercentIOLimit", {"FileSystemId": watched.file_system}, "Maximum", FIVE_MINUTES)
            ),
            threshold=monitoring.efs_io_limit_percent,
            periods=3,
            tier="dags",
        )
    ]
    if watched.replica_file_system is not None:
        lag = monitoring.replication_lag_minutes
        found.append(
            AlarmSpec(
                "dags-replication-lag",
                f"the DAG file system's DR copy is more than {lag} minutes behind",
                _one(
                    metric(
                        "q",
                        "AWS/EFS",
                        "TimeSinceLastSync",
                        {"FileSystemId": watched.file_system, "DestinationFileSystemId": watched.replica_file_system},
                        "Maximum",
                        FIVE_MINUTES,
                    )
                ),
                threshold=lag * 60,
                comparison="GreaterThanThreshold",
                tier="dags",
            )
        )
    for copy in watched.bucket_copies:
        found.append(
            AlarmSpec(
                f"{copy.purpose}-replication-failed",
                f"objects of the {copy.purpose} bucket failed to replicate to the DR region",
                _one(
                    metric(
                        "q",
                        "AWS/S3",
                        "OperationsFailedReplication",
                        {"SourceBucket": copy.source, "DestinationBucket": copy.destination, "RuleId": copy.rule_id},
                        "Sum",
                        FIVE_MINUTES,
                    )
                ),
                threshold=1,
                tier="buckets",
            )
        )
    return found


def _delivery_alarms(watched: Watched) -> list[AlarmSpec]:
    return [
        AlarmSpec(
            "dag-sync-errors",
            "the DAG deployment function failed (Lambda retries it; the event lands in its failure queue after that)",
            _one(metric("q", "AWS/Lambda", "Errors", {"FunctionName": watched.function}, "Sum", FIVE_MINUTES)),
            threshold=1,
            tier="delivery",
        ),
        AlarmSpec(
            "dag-sync-rejections",
            "a DAG release was rejected (its log line says why); the team's previous release stays live",
            _one(metric("q", watched.dag_sync_namespace, REJECTED_METRIC, {}, "Sum", FIVE_MINUTES)),
            threshold=1,
            tier="delivery",
        ),
        AlarmSpec(
            "dag-sync-failures",
            "a DAG release event could not be handled after Lambda's retries: it waits in the failure queue",
            _one(
                metric(
                    "q",
                    "AWS/SQS",
                    "ApproximateNumberOfMessagesVisible",
                    {"QueueName": watched.failure_queue},
                    period=FIVE_MINUTES,
                )
            ),
            threshold=1,
            tier="delivery",
        ),
    ]
