"""Celery settings the core image adds to Airflow's: SQS predefined queues, no remote control, no events.

On a Redis broker (``AIRSTACK_CELERY_BROKER=redis``; its URL, with the AUTH token, is an ECS secret) there are no
predefined queues or region: only the visibility timeout, which kombu's Redis transport also enforces.

Selected with ``AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS=airstack_celery_config.CELERY_CONFIG``. The queue URLs come
from ``AIRSTACK_CELERY_PREDEFINED_QUEUES`` (queue name -> URL), rendered per process by airstack, so workers
need no sqs:ListQueues or sqs:CreateQueue.

The visibility timeout and region are taken from their ``AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__*`` variables
here, not from Airflow's parsed config: without the variable Airflow silently uses 86400 s, which SQS rejects and
which would redeliver every long task (Airflow 3.1 even ignored the variable when ``default_celery`` was imported
before the providers' configuration was loaded; 3.3 reads it). A missing value stops the process instead.

Each worker also imports ``airstack_worker_signals`` (Celery's ``imports``), which connects the image's worker
hooks (scale-in protection); only workers import Celery's ``imports``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

QUEUES_ENV = "AIRSTACK_CELERY_PREDEFINED_QUEUES"
VISIBILITY_ENV = "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT"
REGION_ENV = "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__REGION"
BROKER_KIND_ENV = "AIRSTACK_CELERY_BROKER"
WORKER_HOOKS = "airstack_worker_signals"


def build(default: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """Airflow's default Celery config with the broker settings airstack needs (SQS, or Redis)."""
    redis = environ.get(BROKER_KIND_ENV) == "redis"
    queues = {} if redis else json.loads(environ.get(QUEUES_ENV) or "{}")
    if not redis and (not isinstance(queues, dict) or not queues):
        raise RuntimeError(f"{QUEUES_ENV} must map each Celery queue to its SQS URL")
    visibility = environ.get(VISIBILITY_ENV, "")
    if not visibility.isdigit() or int(visibility) <= 0:
        raise RuntimeError(f"{VISIBILITY_ENV} must be a number of seconds, not {visibility!r}")
    options = dict(default.get("broker_transport_options") or {})
    options["visibility_timeout"] = int(visibility)
    if environ.get(REGION_ENV) and not redis:
        options["region"] = environ[REGION_ENV]
    if not redis:
        options["predefined_queues"] = {name: {"url": url} for name, url in sorted(queues.items())}
    imports = tuple(default.get("imports") or ())
    return {
        **default,
        "imports": imports if WORKER_HOOKS in imports else (*imports, WORKER_HOOKS),
        "broker_transport_options": options,
        # SQS supports neither remote control nor events (and so no Flower).
        "worker_enable_remote_control": False,
        "worker_send_task_events": False,
        "task_send_sent_event": False,
    }


def __getattr__(name: str) -> Any:
    # Built on first use, so that importing this module needs no Airflow (tests) and reads the live env.
    if name != "CELERY_CONFIG":
        raise AttributeError(name)
    from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

    return build(DEFAULT_CELERY_CONFIG, os.environ)
