"""A Celery app configured as the core image configures Airflow's (airstack_celery_config.build), with a
filesystem broker and one task that runs until the test releases it.

Run under the test Airflow's interpreter by tests/test_task_protection.py: the worker is
``celery -A protection_app worker``; ``python protection_app.py NAME`` sends a task. Kept free of airstack imports.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import airstack_celery_config
from celery import Celery

BROKER = os.environ["PROTECTION_TEST_BROKER"]
CONTROL = Path(os.environ["PROTECTION_TEST_CONTROL"])
BASE = {
    "broker_url": "filesystem://",
    "broker_transport_options": {"data_folder_in": BROKER, "data_folder_out": BROKER, "control_folder": BROKER},
    "task_acks_late": True,
    "worker_prefetch_multiplier": 1,
}
app = Celery("protection", config_source=airstack_celery_config.build(BASE, os.environ))


@app.task(name="hold")
def hold(name: str) -> None:
    (CONTROL / f"started-{name}").touch()
    while not (CONTROL / f"release-{name}").exists():
        time.sleep(0.02)
    (CONTROL / f"done-{name}").touch()


if __name__ == "__main__":
    hold.apply_async(args=[sys.argv[1]], queue="ml")
