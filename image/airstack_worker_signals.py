"""The core image's hooks into each Celery worker: today, ECS task scale-in protection.

Celery imports this module in the worker's main process before its pool forks, because airstack_celery_config
lists it in Celery's ``imports``; the scheduler, which shares that config, never imports it.
"""

from __future__ import annotations

from airstack_task_protection import install

TASK_PROTECTION = install()
