"""What an estimate assumes about usage that no resource input says: traffic, log volume, stored data.

One place, with the reason for each default, so every line item can quote the number it used and a reader can
disagree with a number rather than with a formula.
"""

from __future__ import annotations

from dataclasses import dataclass

HOURS_PER_MONTH = 730.0


@dataclass(frozen=True)
class Usage:
    nat_gb: float = 20.0
    """GB a month through the NAT gateways: AWS APIs without an endpoint, task egress. S3 uses the free gateway."""
    endpoint_gb: float = 10.0
    """GB a month through all interface endpoints together (container logs, image manifests, API calls)."""
    alb_lcu: float = 1.0
    """Average load balancer capacity units; a quiet UI uses less, so this errs high."""
    logs_gb_per_task_month: float = 1.0
    """Container log GB ingested per task running a whole month (scales with task-hours)."""
    s3_gb: float = 50.0
    """Remote task logs and data together, across the stack's buckets."""
    s3_new_gb: float = 10.0
    """New objects written a month across the buckets (task logs, data): what S3 replication copies."""
    s3_put_thousands: float = 100.0
    s3_get_thousands: float = 1000.0
    flow_logs_gb: float = 5.0
    """VPC flow log records a month (every connection of every task, compressed): a quiet VPC writes less."""
    waf_million_requests: float = 2.0
    """Requests a month through the web ACL (the UI and the REST API)."""
    image_gb: float = 15.0
    """Core images kept in the repository (about 1.5 GB each, compressed, for both architectures)."""
    image_pushed_gb: float = 3.0
    """New image layers pushed a month (about two releases): what ECR replication copies."""
    pull_through_cache_gb: float = 0.2
    """Images cached by a pull-through cache rule (the CloudWatch agent from ECR Public, compressed)."""
    efs_gb: float = 1.0
    """DAG files per file system."""
    efs_read_gb: float = 10.0
    """DAG files read a month per file system (the dag-processor re-reads; the NFS client caches most)."""
    efs_write_gb: float = 1.0
    db_used_fraction: float = 0.5
    """Share of the database's allocated storage holding data (backups are the size of the data, not the volume)."""
    db_daily_change: float = 0.05
    """Share of the data that changes a day: each day of retention keeps that much in incremental backups."""
    task_runs_per_month: float = 30_000.0
    """Airflow task runs a month; each is sent, received and deleted on SQS (3 requests)."""
    sqs_poll_seconds: float = 11.0
    """An idle Celery worker's receive cycle on SQS: kombu's 10 s long poll plus its 1 s polling interval."""
    secrets_calls: float = 10_000.0
    kms_requests: float = 10_000.0
    container_insights_cluster_metrics: int = 10
    container_insights_service_metrics: int = 5
    """Container Insights metrics per service published even with no task running (task counts)."""
    container_insights_task_metrics: int = 15
    """Further metrics per service (CPU, memory, network, storage; service and task-family dimensions) published
    while its tasks run. Both counts are approximations of what ECS publishes."""
    mwaa_metadb_gb: float = 10.0


DEFAULT_USAGE = Usage()
