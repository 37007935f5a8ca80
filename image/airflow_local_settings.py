"""Cluster policy of the core image: every task runs on the queue of the team whose directory holds its DAG.

airstack renders ``AIRSTACK_QUEUE_BY_DAG_DIRECTORY`` (absolute DAG directory -> queue). A team's worker service
consumes only its queue and mounts only its directory, so a DAG cannot send work to another team's workers.
"""

from __future__ import annotations

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
