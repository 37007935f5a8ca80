"""Cluster policy of the core image: every task runs on the queue of the team whose directory holds its DAG.

airstack renders ``AIRSTACK_QUEUE_BY_DAG_DIRECTORY`` (DAG directory -> queue). A team's worker service consumes
only its queue and mounts only its directory, so a DAG cannot send work to another team's workers.
"""

from __future__ import annotations

import json
import os
from pathlib import PurePosixPath
from typing import Any

DAGS_ROOT = PurePosixPath("/opt/airflow/dags")


def queue_for(fileloc: str, queues: dict[str, str]) -> str | None:
    path = PurePosixPath(fileloc)
    if not path.is_relative_to(DAGS_ROOT) or path == DAGS_ROOT:
        return None
    return queues.get(path.relative_to(DAGS_ROOT).parts[0])


def task_policy(task: Any) -> None:
    queues = json.loads(os.environ.get("AIRSTACK_QUEUE_BY_DAG_DIRECTORY") or "{}")
    dag = getattr(task, "dag", None)
    queue = queue_for(getattr(dag, "fileloc", "") or "", queues)
    if queue is not None:
        task.queue = queue
