"""Airflow's own metrics in CloudWatch: StatsD from each Airflow process to a CloudWatch agent in the same task.

Airflow sends DogStatsD (``[metrics] statsd_datadog_enabled``): StatsD lines with ``#tag:value`` tags, the tag
format the CloudWatch agent documents and turns into dimensions. Each task's agent listens on 127.0.0.1:8125
(containers of an awsvpc task share its network namespace) and publishes to ``airstack/<stack>/airflow``.

What reaches CloudWatch, and its dimensions:

- Every process tags its metrics with ``Service`` (its ECS service: ``scheduler``, ``worker-<team>``, ...), and
  a team's workers add ``Queue``: task failures and successes per queue.
- Airflow's per-task tags (dag_id, task_id, run_id, ...) are dropped: each distinct dimension set is a billed
  custom metric. So are the per-task gauges (``ti.queued``, ``ti.running``): without their dag and task they
  would overwrite each other. A team's queued and running tasks per queue are its SQS queue's visible and
  in-flight messages (Celery acknowledges a task when it ends), which the dashboard shows beside these.
- The agent adds ``metric_type`` (counter, gauge, timing) and, configured with ``metric_separator`` ``_``, names
  a metric ``airflow_<name with dots as underscores>`` (``airflow.scheduler_heartbeat`` becomes
  ``airflow_scheduler_heartbeat``). Counters arrive summed per ``metrics_collection_interval``.

The image needs the ``datadog`` package (Airflow's DogStatsD client); without it Airflow logs that it could not
configure StatsD and sends nothing, which the missing-heartbeat alarm then reports. Pure: no Pulumi here.
"""

from __future__ import annotations

import json
from typing import Any, Literal

AGENT_CONTAINER = "cloudwatch-agent"
AGENT_CONFIG_ENV = "CW_CONFIG_CONTENT"
"""The agent's ECS image reads its JSON configuration from this variable."""
STATSD_HOST = "127.0.0.1"
STATSD_PORT = 8125
PREFIX = "airflow"
METRIC_ROLES = ("scheduler", "dag-processor", "triggerer", "worker")
"""The Airflow processes whose tasks carry an agent (the api-server's metrics are the load balancer's)."""
COLLECTION_SECONDS = 10
AGGREGATION_SECONDS = 60
AGENT_MEMORY_MIB = 256
"""A hard limit for the agent inside the Airflow task, so that it can never starve Airflow of memory."""

ALLOWED = (
    "scheduler_heartbeat",
    "triggerer_heartbeat",
    "dag_processor_heartbeat",
    "ti_failures",
    "ti_successes",
    "executor.open_slots",
    "executor.queued_tasks",
    "executor.running_tasks",
    "scheduler.tasks.starving",
    "scheduler.dagruns.running",
    "dag_processing.import_errors",
)
"""Airflow's metrics_allow_list (prefixes): what the dashboard and the alarms use, and nothing else."""
DROPPED_TAGS = (
    "dag_id", "task_id", "run_id", "job_id", "operator_name", "try_number", "map_index", "file_path",
    "dag_file", "pool_name", "state", "status", "executor_class_name", "team_name",
)  # fmt: skip
"""Airflow's tags that would make a metric per DAG, task, run or file (statsd_disabled_tags)."""

MetricType = Literal["counter", "gauge", "timing"]


def namespace(stack: str) -> str:
    return f"airstack/{stack}/airflow"


def metric_name(airflow_name: str) -> str:
    """The CloudWatch name of an Airflow metric as the agent publishes it."""
    return f"{PREFIX}.{airflow_name}".replace(".", "_")


def dimensions(service: str, metric_type: MetricType, queue: str | None = None) -> dict[str, str]:
    """The dimensions an Airflow metric of ``service`` arrives with (``queue`` for a team's workers)."""
    found = {"Service": service, "metric_type": metric_type}
    if queue is not None:
        found["Queue"] = queue
    return found


def statsd_environment(service: str, queue: str | None) -> dict[str, str]:
    """``[metrics]`` settings of one Airflow process: DogStatsD to the task's agent, tagged with its service."""
    tags = [f"Service:{service}"] + ([f"Queue:{queue}"] if queue is not None else [])
    return {
        "AIRFLOW__METRICS__STATSD_ON": "True",
        "AIRFLOW__METRICS__STATSD_DATADOG_ENABLED": "True",
        "AIRFLOW__METRICS__STATSD_HOST": STATSD_HOST,
        "AIRFLOW__METRICS__STATSD_PORT": str(STATSD_PORT),
        "AIRFLOW__METRICS__STATSD_PREFIX": PREFIX,
        "AIRFLOW__METRICS__STATSD_DATADOG_TAGS": ",".join(tags),
        "AIRFLOW__METRICS__STATSD_DATADOG_METRICS_TAGS": "True",
        "AIRFLOW__METRICS__STATSD_DISABLED_TAGS": ",".join(DROPPED_TAGS),
        "AIRFLOW__METRICS__METRICS_ALLOW_LIST": ",".join(ALLOWED),
        # Airflow 3.2+ also sends each metric under its old name, with the dag, task or executor in the name.
        "AIRFLOW__METRICS__LEGACY_NAMES_ON": "False",
    }


def agent_config(stack: str, region: str) -> dict[str, Any]:
    """The CloudWatch agent's configuration: a StatsD listener and nothing else (no host dimension per task)."""
    return {
        "agent": {"region": region, "omit_hostname": True, "metrics_collection_interval": AGGREGATION_SECONDS},
        "metrics": {
            "namespace": namespace(stack),
            "metrics_collected": {
                "statsd": {
                    "service_address": f"{STATSD_HOST}:{STATSD_PORT}",
                    "metrics_collection_interval": COLLECTION_SECONDS,
                    "metrics_aggregation_interval": AGGREGATION_SECONDS,
                    "metric_separator": "_",
                }
            },
        },
    }


def agent_environment(stack: str, region: str) -> dict[str, str]:
    return {AGENT_CONFIG_ENV: json.dumps(agent_config(stack, region), sort_keys=True, separators=(",", ":"))}
