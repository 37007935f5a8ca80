"""Cluster policy of the core image: every task runs on the queue of the team whose directory holds its DAG.

airstack renders ``AIRSTACK_QUEUE_BY_DAG_DIRECTORY`` (absolute DAG directory -> queue). A team's worker service
consumes only its queue and mounts only its directory, so a DAG cannot send work to another team's workers.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import PurePosixPath
from typing import Any


def queue_for(fileloc: str, queues: dict[str, str]) -> str | None:
    """The queue of the deepest configured directory that holds ``fileloc``."""
    path = PurePosixPath(fileloc)
    holders = [PurePosixPath(d) for d in queues if path.is_relative_to(PurePosixPath(d))]
    return queues[str(max(holders, key=lambda d: len(d.parts)))] if holders else None


def task_policy(task: Any) -> None:
    queues = json.loads(os.environ.get("AIRSTACK_QUEUE_BY_DAG_DIRECTORY") or "{}")
    dag = getattr(task, "dag", None)
    queue = queue_for(getattr(dag, "fileloc", "") or "", queues)
    if queue is not None:
        task.queue = queue


def without_client_telemetry() -> None:
    """Airflow's DogStatsD client reports on itself every 10 s (about 11 ``datadog.dogstatsd.client.*`` metrics per
    process, past ``metrics_allow_list``), and the CloudWatch agent would publish each as a custom metric billed
    by the month. Airflow builds the client with no way to turn that off, so its default is turned off here, in
    the module every Airflow process imports at start."""
    try:
        from datadog.dogstatsd.base import DogStatsd
    except ImportError:  # no metrics client, nothing to quieten
        return
    original = DogStatsd.__init__
    if getattr(original, "airstack_quiet", False):
        return

    @functools.wraps(original)
    def quiet_init(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("disable_telemetry", True)
        original(self, *args, **kwargs)

    quiet_init.airstack_quiet = True  # type: ignore[attr-defined]
    DogStatsd.__init__ = quiet_init  # type: ignore[method-assign]


without_client_telemetry()
