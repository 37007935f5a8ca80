"""The smoke's stand-in for a task's network address: each smoke task has its own loopback address.

Selected with ``AIRFLOW__CORE__HOSTNAME_CALLABLE=airstack_smoke_address.task_address`` in place of the rendered
``airflow.utils.net.get_host_ip_address``, which would return the one address of the machine for every task.
Runs in the Airflow venv (this directory is on its PYTHONPATH): no airstack imports.
"""

from __future__ import annotations

import os


def task_address() -> str:
    return os.environ["AIRSTACK_SMOKE_TASK_ADDRESS"]
