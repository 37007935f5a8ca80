"""The core image's Python: the Celery SQS config and the cluster policy that routes tasks to team queues."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

from airstack.stackfile import read_stack_file
from components.airflow_settings import QUEUE_BY_DIRECTORY_ENV, QUEUES_ENV, command, render
from tests.conftest import sample_endpoints

IMAGE = Path(__file__).resolve().parent.parent / "image"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, IMAGE / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CONFIG = read_stack_file("prod").load()
ENDPOINTS = sample_endpoints(CONFIG)
ML = next(t for t in CONFIG.teams if t.name == "ml")


def test_worker_celery_config_has_only_its_queue_and_no_remote_control() -> None:
    env = render(CONFIG, "worker", ENDPOINTS, ML).environment
    # Airflow's own parse of the section, had it run before the providers' configuration was loaded:
    default = {"broker_transport_options": {"visibility_timeout": 86400}, "task_acks_late": True}
    config = load("airstack_celery_config").build(default, env)
    assert config["broker_transport_options"] == {
        "visibility_timeout": 9000,
        "region": "eu-west-1",
        "predefined_queues": {"ml": {"url": "https://sqs/ml"}},
    }
    assert config["worker_enable_remote_control"] is False
    assert config["task_acks_late"] is True
    assert config["imports"] == ("airstack_worker_signals",), "each worker connects the scale-in protection hook"


def test_celery_config_refuses_a_missing_visibility_or_queue_map() -> None:
    module = load("airstack_celery_config")
    with pytest.raises(RuntimeError, match="VISIBILITY_TIMEOUT must be a number of seconds, not ''"):
        module.build({"broker_transport_options": {"visibility_timeout": 86400}}, {QUEUES_ENV: json.dumps({"ml": "u"})})
    with pytest.raises(RuntimeError, match="must map each Celery queue"):
        module.build({"broker_transport_options": {}}, {module.VISIBILITY_ENV: "60"})


def test_celery_config_is_built_from_airflows_defaults_on_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = ModuleType("airflow.providers.celery.executors.default_celery")
    provider.DEFAULT_CELERY_CONFIG = {"broker_transport_options": {"visibility_timeout": 86400}}  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "airflow.providers.celery.executors.default_celery", provider)
    monkeypatch.setenv(QUEUES_ENV, json.dumps({"analytics": "https://sqs/analytics"}))
    monkeypatch.setenv("AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT", "36000")
    config = load("airstack_celery_config").CELERY_CONFIG
    assert config["broker_transport_options"]["predefined_queues"] == {"analytics": {"url": "https://sqs/analytics"}}
    assert config["broker_transport_options"]["visibility_timeout"] == 36000


def test_cluster_policy_routes_each_task_to_its_teams_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    env = render(CONFIG, "dag-processor", ENDPOINTS).environment
    monkeypatch.setenv(QUEUE_BY_DIRECTORY_ENV, env[QUEUE_BY_DIRECTORY_ENV])
    policy = load("airflow_local_settings")
    task = SimpleNamespace(queue="analytics", dag=SimpleNamespace(fileloc="/opt/airflow/dags/ml/sub/train.py"))
    policy.task_policy(task)
    assert task.queue == "ml"  # a DAG cannot borrow another team's workers
    outside = SimpleNamespace(queue="default", dag=SimpleNamespace(fileloc="/tmp/elsewhere.py"))
    policy.task_policy(outside)
    assert outside.queue == "default"


def test_every_image_file_a_rendered_command_runs_is_copied_into_the_image() -> None:
    """A container command naming a file the image lacks fails only at deploy time (the migration step did)."""
    dockerfile = (IMAGE / "Dockerfile").read_text()
    copied = {
        word
        for line in dockerfile.replace("\\\n", " ").splitlines()
        if line.startswith("COPY")
        for word in line.split()
    }
    roles = ("api-server", "scheduler", "dag-processor", "triggerer", "db-migrate", "wait-for-migrations")
    commands = [command(r) for r in roles] + [command("worker", ML)]
    named = {Path(w).name for c in commands for w in c if w.startswith("/opt/airflow/config/")}
    assert named, "the migration step runs a script of the image"
    for name in named:
        assert name in copied, f"the image does not copy {name}, which a container runs"
        assert (IMAGE / name).is_file()
