"""Analytics: daily event counts per source, written once per day to the data bucket.

What this example shows (and the DAG tests check):
- Nothing happens at parse time: the module only imports ``airflow.sdk`` and defines the DAG. Provider
  hooks are imported, and Variables and Connections read, inside the tasks, when they run on a worker.
- Idempotent and deterministic: a run's output depends only on its data interval, and goes to one key per
  day that a re-run overwrites (``replace=True``), so retries and backfills never duplicate data.
- Configuration comes from the platform: the ``data_bucket`` and ``data_prefix`` Variables (rendered on the
  team's workers as ``AIRFLOW_VAR_DATA_BUCKET`` and ``AIRFLOW_VAR_DATA_PREFIX``, ``teams/analytics/``, the
  only prefix the team's role may write) and the ``aws_default`` Connection; no credentials in code.
- The work runs on the analytics workers: the core image's cluster policy sends every task of a DAG in
  this directory to the team's queue, so the DAG sets no queue of its own.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import Variable, dag, get_current_context, task

SOURCES = ("web", "app", "api")


def partition_day() -> str:
    """The day a run is about: its data interval, or, for a manual run without one, when it was triggered."""
    context = get_current_context()
    when = context.get("data_interval_start") or context["dag_run"].run_after
    return when.date().isoformat()


@dag(
    dag_id="analytics_events_daily",
    schedule="@daily",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30), "execution_timeout": timedelta(minutes=5)},
    tags=["analytics", "example"],
)
def analytics_events_daily() -> None:
    @task
    def extract() -> list[dict[str, Any]]:
        """Stands in for a query against the source system: the same day always gives the same rows."""
        day = partition_day()
        seed = datetime.fromisoformat(day).toordinal()
        return [{"day": day, "source": s, "events": seed * (i + 7) % 1000} for i, s in enumerate(SOURCES)]

    @task
    def load(rows: list[dict[str, Any]]) -> str:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        bucket = Variable.get("data_bucket")
        key = f"{Variable.get('data_prefix')}events_daily/day={partition_day()}/events.json"
        S3Hook(aws_conn_id="aws_default").load_string(
            json.dumps(rows, sort_keys=True), key=key, bucket_name=bucket, replace=True
        )
        return f"s3://{bucket}/{key}"

    load(extract())


analytics_events_daily()
