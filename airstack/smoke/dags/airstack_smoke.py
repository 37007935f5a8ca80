# pyright: reportMissingImports=false
# (it runs under Airflow's venv, not airstack's)
"""The smoke's own DAG, deployed with every team's DAGs (``airstack_smoke_<team>``).

Its tasks cover what the smoke checks: a plain task, one asking for another team's queue (the image's cluster
policy must keep it on its own), one that logs for a while (its log must be readable through the API while
it runs), and one that defers (the triggerer must complete it). The deployer fills in the team, another
team's queue and how long the live-log task runs.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from airflow.providers.standard.operators.python import PythonOperator
from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger
from airflow.sdk import DAG, BaseOperator

TEAM = "__AIRSTACK_SMOKE_TEAM__"
OTHER_QUEUE = "__AIRSTACK_SMOKE_OTHER_QUEUE__"
LIVE_SECONDS = int("__AIRSTACK_SMOKE_LIVE_SECONDS__")


def hello() -> None:
    print(f"airstack-smoke: hello from {TEAM}")


def borrow() -> None:
    print(f"airstack-smoke: {TEAM} asked for the queue {OTHER_QUEUE!r}")


def live() -> None:
    print("airstack-smoke: live log begins", flush=True)
    for second in range(LIVE_SECONDS):
        print(f"airstack-smoke: still running ({second + 1}/{LIVE_SECONDS})", flush=True)
        time.sleep(1)
    print("airstack-smoke: live log ends")


class Deferring(BaseOperator):
    """Defers to the triggerer for a few seconds, then finishes on a worker."""

    def execute(self, context: Any) -> None:
        print("airstack-smoke: deferring to the triggerer")
        self.defer(trigger=TimeDeltaTrigger(timedelta(seconds=5)), method_name="resume")

    def resume(self, context: Any, event: Any = None) -> None:
        print(f"airstack-smoke: resumed after the triggerer ({event!r})")


with DAG(
    f"airstack_smoke_{TEAM}", start_date=datetime(2026, 1, 1), schedule=None, catchup=False, tags=["airstack-smoke"]
):
    PythonOperator(task_id="hello", python_callable=hello)
    PythonOperator(task_id="cross_queue", python_callable=borrow, **({"queue": OTHER_QUEUE} if OTHER_QUEUE else {}))
    PythonOperator(task_id="live_log", python_callable=live)
    Deferring(task_id="deferred")
