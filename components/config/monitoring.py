"""``airstack:monitoring``: when an alarm tells the on-call, and whether Airflow's own metrics reach CloudWatch.

Every threshold has a default per environment (prod and dr page sooner than dev and acc); a key set in the stack
file wins. Thresholds that depend on the rest of the stack (a team's queue depth, the database's connection limit)
are derived in ``components.thresholds``, which also fills in the defaults, unless given here.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from components.config._base import Bool, Int, Str, _Model
from components.config.aws import repository_problem

AGENT_IMAGE = "public.ecr.aws/cloudwatch-agent/cloudwatch-agent:1.300062.0b1304"
"""The CloudWatch agent that receives Airflow's StatsD metrics in each Airflow task (a pinned release)."""


class Monitoring(_Model):
    queue_wait_minutes: Int | None = Field(default=None, ge=1, le=720)
    """Tasks waited this long for a worker (visible in the team's queue all along): alarm. Default 10 in prod and
    dr, 30 elsewhere. Also how long the oldest message may outlive the team's longest task."""
    queue_depth: Int | None = Field(default=None, ge=1, le=1_000_000)
    """Tasks waiting in one team's queue; default per team: twice what its workers run at their maximum."""
    service_down_minutes: Int | None = Field(default=None, ge=1, le=60)
    """A core service runs fewer tasks than desired for this long; default 5 in prod and dr, 10 elsewhere."""
    heartbeat_minutes: Int | None = Field(default=None, ge=2, le=60)
    """No scheduler heartbeat for this long while the scheduler should run; default 5 in prod and dr, 10 elsewhere."""
    alb_server_errors: Int | None = Field(default=None, ge=1, le=1_000_000)
    """5xx answers (load balancer's and targets') in five minutes; default 10 in prod and dr, 50 elsewhere."""
    unhealthy_target_minutes: Int = Field(default=5, ge=1, le=60)
    db_cpu_percent: Int = Field(default=80, ge=1, le=100)
    db_free_storage_gb: Int | None = Field(default=None, ge=1, le=65_536)
    """Default: a tenth of the allocated storage, at least 2 GB."""
    db_connections_percent: Int = Field(default=80, ge=1, le=100)
    """Of the instance class's default max_connections (RDS: LEAST(memory/9531392, 5000))."""
    db_connections: Int | None = Field(default=None, ge=1, le=5000)
    """An absolute connection count instead of ``dbConnectionsPercent`` (e.g. with a custom max_connections)."""
    efs_io_limit_percent: Int = Field(default=90, ge=1, le=100)
    """EFS PercentIOLimit (the General Purpose mode's I/O limit; burst credits do not apply to elastic
    throughput)."""
    replication_lag_minutes: Int = Field(default=60, ge=5, le=1440)
    """A primary's DAG file system last synced to its DR copy longer ago than this: alarm."""
    airflow_metrics: Bool | None = None
    """Airflow's StatsD metrics to CloudWatch through a CloudWatch agent in each Airflow task (not the
    api-server's). Default: on, unless the network has no NAT gateway to fetch the agent or reach CloudWatch."""
    agent_image: Str = AGENT_IMAGE

    @field_validator("agent_image")
    @classmethod
    def _image(cls, value: str) -> str:
        if ":" not in value.rsplit("/", 1)[-1] and "@" not in value:
            raise ValueError("pin the agent image with a tag or digest (repository:tag)")
        repository = value.split("@", 1)[0].rsplit(":", 1)[0]
        problem = repository_problem(repository)
        if problem:
            raise ValueError(problem)
        return value
