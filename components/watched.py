"""What the monitoring tier watches: the names and dimensions of a stack's resources, as the tiers report them.

Values are plain strings in tests and inside an ``apply`` (the dashboard's body), or Pulumi outputs when an alarm
is declared (an alarm's dimensions may wait for the resource). Pure: no Pulumi here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TeamQueue:
    team: str
    queue: str
    """The Celery queue (what a worker's ``Queue`` dimension says)."""
    service: str
    """The team's worker service (``worker-<team>``)."""
    queue_name: Any
    """The SQS queue's name; None on a Redis broker."""
    dead_letter_name: Any
    concurrency: int
    max_workers: int


@dataclass(frozen=True)
class BucketCopy:
    purpose: str
    source: Any
    destination: Any
    rule_id: str


@dataclass(frozen=True)
class Watched:
    cluster: Any
    core_services: tuple[str, ...]
    teams: tuple[TeamQueue, ...]
    load_balancer: Any
    """The load balancer's ARN suffix (``app/<name>/<id>``), its CloudWatch dimension."""
    target_group: Any
    """The target group's ARN suffix (``targetgroup/<name>/<id>``)."""
    db_instance: str | None
    """The metastore's identifier; None while a standby has no database."""
    file_system: Any
    function: Any
    """The DAG deployment function's name."""
    failure_queue: Any
    dag_sync_namespace: str
    """Where the function's EMF metrics and the rejections filtered from its log go."""
    replica_file_system: str | None = None
    """A primary's DR copy of its DAG file system (EFS replication's destination)."""
    bucket_copies: tuple[BucketCopy, ...] = ()


def arn_suffix(arn: str, marker: str) -> str:
    """The part of an Elastic Load Balancing ARN that CloudWatch names it by: after ``loadbalancer/`` (``app/...``)
    or from ``targetgroup/`` on."""
    if marker == "loadbalancer/":
        return arn.split(marker, 1)[1]
    return marker + arn.split(marker, 1)[1]
