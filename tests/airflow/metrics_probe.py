"""Run under the test Airflow: send metrics the way Airflow's own processes do, with the environment given.

Argument: ``scheduler`` (Airflow's stats, as the scheduler initialises them) or ``worker`` (the Task SDK's, as the
task runner does). Each process sends a heartbeat-like counter, a task failure with its per-task tags, an
executor gauge and a per-task gauge; what reaches the agent is the test's to judge.
"""

from __future__ import annotations

import sys


def main(kind: str) -> None:
    if kind == "scheduler":
        from airflow._shared.observability.metrics import stats
        from airflow.configuration import conf
        from airflow.observability.metrics import stats_utils
    else:
        from airflow.sdk._shared.observability.metrics import stats  # type: ignore[no-redef]
        from airflow.sdk.configuration import conf  # type: ignore[no-redef]
        from airflow.sdk.observability.metrics import stats_utils  # type: ignore[no-redef]
    stats.initialize(
        factory=stats_utils.get_stats_factory(), export_legacy_names=conf.getboolean("metrics", "legacy_names_on")
    )
    stats.incr("scheduler_heartbeat", 1, 1)
    stats.incr("ti_failures", tags={"dag_id": "etl", "task_id": "load"})
    stats.gauge("executor.queued_tasks", 3, tags={"status": "queued", "executor_class_name": "CeleryExecutor"})
    stats.gauge("ti.queued", 2, tags={"queue": "ml", "dag_id": "etl", "task_id": "load"})
    backend = stats._get_backend()
    client = getattr(backend, "dogstatsd", None)
    if client is not None:
        # As if the client's 10 s had passed: one more metric sends its own telemetry too, unless it is off.
        client._last_flush_time = 0
        stats.incr("scheduler_heartbeat", 1, 1)
        client.flush()
    print(type(backend).__name__)


if __name__ == "__main__":
    main(sys.argv[1])
