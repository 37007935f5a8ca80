"""Reporting: a daily summary, built after a grace period for late data and sent to a webhook if one is set.

What this example shows (and the DAG tests check):
- Waiting is light work and does not hold a worker slot: the grace period is a deferrable sensor
  (``DateTimeSensorAsync``), so the task hands its wait to the triggerer and resumes when it is over.
  Only the short build and delivery run on the reporting workers (every task of this directory goes to
  the team's queue by the core image's cluster policy; the DAG sets no queue of its own).
- The secret lives in the secrets backend: the ``reporting_webhook`` Connection (Secrets Manager
  ``airstack/<stack>/connections/reporting_webhook``) is read when the task runs; without one the report is
  only logged, so the DAG runs anywhere (it needs no Variable, bucket or network: the smoke run's DAG).
- Nothing happens at parse time, the report depends only on the run's day (deterministic), and delivering
  the same report twice is harmless (the webhook receives the run's id to de-duplicate on).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.providers.standard.sensors.date_time import DateTimeSensorAsync
from airflow.sdk import Connection, dag, get_current_context, task

log = logging.getLogger(__name__)


@dag(
    dag_id="reporting_daily_summary",
    schedule="0 6 * * *",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=15), "execution_timeout": timedelta(minutes=5)},
    tags=["reporting", "example"],
)
def reporting_daily_summary() -> None:
    # Late data gets until a fixed moment after the run's time; a re-run or backfill past it does not wait.
    # Seconds here so that a smoke run finishes quickly; a real grace period would be minutes or hours.
    grace_period = DateTimeSensorAsync(
        task_id="grace_period_for_late_data",
        target_time="{{ dag_run.run_after + macros.timedelta(seconds=5) }}",
        timeout=timedelta(minutes=2).total_seconds(),
    )

    @task
    def build() -> dict[str, Any]:
        context = get_current_context()
        when = context.get("data_interval_start") or context["dag_run"].run_after
        day = when.date()
        figures = {"orders": day.toordinal() % 997, "refunds": day.toordinal() % 31}
        return {"report": "daily-summary", "day": day.isoformat(), "run_id": context["run_id"], **figures}

    @task
    def deliver(report: dict[str, Any]) -> str:
        from airflow.exceptions import AirflowNotFoundException

        try:
            Connection.get("reporting_webhook")
        except AirflowNotFoundException:
            log.info("no reporting_webhook connection; the report is %s", report)
            return "logged"
        from airflow.providers.http.hooks.http import HttpHook

        HttpHook(method="POST", http_conn_id="reporting_webhook").run(
            json=report, headers={"Idempotency-Key": report["run_id"]}
        )
        return "sent"

    report = build()
    grace_period >> report
    deliver(report)


reporting_daily_summary()
