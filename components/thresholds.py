"""The alarm thresholds of a stack: ``airstack:monitoring`` where set, else defaults per environment or derived
from the rest of the config (a team's workers, the database's size). Pure: no Pulumi here."""

from __future__ import annotations

import math

from components import naming
from components.config import PROTECTED_ENVIRONMENTS, StackConfig, Team

GIB = 1024**3
RDS_CONNECTION_BYTES = 9_531_392
"""RDS for PostgreSQL's default max_connections is LEAST({DBInstanceClassMemory/9531392}, 5000)."""
RDS_MAX_CONNECTIONS = 5000
RDS_RESERVED_BYTES = 256 * 1024**2
"""DBInstanceClassMemory is the class's memory less what the OS and RDS keep (about this much on small classes:
db.t4g.micro allows about 87 connections, not 112)."""

_BURSTABLE_GIB = {"micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32}
_LARGE_GIB = {"m": 8, "r": 16, "x2g": 32, "x2iedn": 64, "x2idn": 32}
"""Memory of a family's ``large`` size (``x2*`` start bigger; the multiplier below still holds)."""
_SIZE_FACTOR = {"large": 1, "xlarge": 2, "2xlarge": 4, "4xlarge": 8, "8xlarge": 16, "12xlarge": 24, "16xlarge": 32,
                "24xlarge": 48, "32xlarge": 64, "48xlarge": 96}  # fmt: skip


def _protected(config: StackConfig) -> bool:
    return config.environment in PROTECTED_ENVIRONMENTS


def _default(value: int | None, config: StackConfig, protected: int, other: int) -> int:
    if value is not None:
        return value
    return protected if _protected(config) else other


def queue_wait_minutes(config: StackConfig) -> int:
    return _default(config.monitoring.queue_wait_minutes, config, 10, 30)


def service_down_minutes(config: StackConfig) -> int:
    return _default(config.monitoring.service_down_minutes, config, 5, 10)


def heartbeat_minutes(config: StackConfig) -> int:
    return _default(config.monitoring.heartbeat_minutes, config, 5, 10)


def alb_5xx(config: StackConfig) -> int:
    return _default(config.monitoring.alb_server_errors, config, 10, 50)


def queue_depth(config: StackConfig, team: Team) -> int:
    """Tasks waiting in a team's queue: twice what the team's workers run at once at their maximum."""
    configured = config.monitoring.queue_depth
    return configured if configured is not None else 2 * team.workers.max * team.concurrency


def oldest_message_seconds(config: StackConfig, team: Team) -> int:
    """Celery acknowledges a task's message when the task ends, so the oldest message of a busy queue is as old as
    its longest running task: the alarm is a message older than the team's longest task plus the wait allowed."""
    return team.longest_task_seconds + 60 * queue_wait_minutes(config)


def db_free_storage_bytes(config: StackConfig) -> int:
    configured = config.monitoring.db_free_storage_gb
    gigabytes = configured if configured is not None else max(2, config.metastore.allocated_storage_gb // 10)
    return gigabytes * GIB


def instance_memory_bytes(instance_class: str) -> int | None:
    """The nominal memory of an RDS instance class, or None for a class this table does not know."""
    _, family, size = [*instance_class.split("."), "", ""][:3]
    if family in ("t3", "t4g"):
        gib = _BURSTABLE_GIB.get(size)
        return gib * GIB if gib else None
    base = _LARGE_GIB.get(family) or _LARGE_GIB.get(family[:1]) if family else None
    factor = _SIZE_FACTOR.get(size)
    return base * factor * GIB if base and factor else None


def default_max_connections(instance_class: str) -> int | None:
    memory = instance_memory_bytes(instance_class)
    if memory is None:
        return None
    return min((memory - RDS_RESERVED_BYTES) // RDS_CONNECTION_BYTES, RDS_MAX_CONNECTIONS)


def db_connections(config: StackConfig) -> int | None:
    """Connections that raise the alarm; None when neither configured nor derivable (no alarm)."""
    monitoring = config.monitoring
    if monitoring.db_connections is not None:
        return monitoring.db_connections
    limit = default_max_connections(config.metastore.instance_class)
    return None if limit is None else max(1, math.floor(limit * monitoring.db_connections_percent / 100))


def airflow_metrics(config: StackConfig) -> bool:
    """Airflow's StatsD metrics reach CloudWatch (the agent in each Airflow task needs a way out)."""
    configured = config.monitoring.airflow_metrics
    return configured if configured is not None else config.network.reaches_cloudwatch_metrics


def pulls_public_images(config: StackConfig) -> bool:
    """The stack runs an ECR Public image (the CloudWatch agent), pulled through its own registry's cache."""
    return airflow_metrics(config) and config.monitoring.agent_image.startswith(f"{naming.PUBLIC_ECR}/")
