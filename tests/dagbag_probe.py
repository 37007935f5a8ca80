"""Runs under a real Airflow 3 interpreter: imports DAG directories the way the dag-processor does.

Usage: ``python tests/dagbag_probe.py DIR...``; prints one JSON object per directory (``dir``, ``errors``
file -> message, ``dags`` dag_id -> task id -> its operator and whether it defers) and exits 1 when
any directory has an import error or no DAG. Used by tests/test_dags.py and by the DAG workflow. Kept free
of airstack imports: airstack's venv and Airflow's do not share packages.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from typing import Any


def probe(directory: str) -> dict[str, Any]:
    # Runs in Airflow's venv; DagBag moved to dag_processing in Airflow 3.2.
    from airflow.dag_processing.dagbag import DagBag  # pyright: ignore[reportMissingImports]

    bag = DagBag(dag_folder=directory, safe_mode=False)
    return {
        "dir": directory,
        "errors": {os.path.relpath(f, directory): e.strip().splitlines()[-1] for f, e in bag.import_errors.items()},
        "dags": {
            dag_id: {task.task_id: {"operator": type(task).__name__, "defers": _defers(task)} for task in dag.tasks}
            for dag_id, dag in sorted(bag.dags.items())
        },
    }


def _defers(task: Any) -> bool:
    """Whether the task hands its wait to the triggerer: a deferrable operator or a trigger-started one."""
    return bool(getattr(task, "deferrable", False)) or getattr(task, "start_trigger_args", None) is not None


def main(directories: list[str]) -> int:
    # A throw-away home: parsing needs no database, and must not pick up a developer's airflow.cfg.
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-home-"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    results = [probe(os.path.abspath(d)) for d in directories]
    for result in results:
        print(json.dumps(result, sort_keys=True))
    return 0 if all(r["dags"] and not r["errors"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
