"""Airflow's metrics to CloudWatch: the settings each process gets, the agent beside it, and what a real Airflow sends.

The last tests run tests/airflow/metrics_probe.py under the test Airflow (AIRSTACK_AIRFLOW_PYTHON) with a role's
rendered environment, pointed at a UDP socket standing in for the CloudWatch agent's StatsD listener. Airflow's
DogStatsD client is the ``datadog`` package, which the core image must install: where the test Airflow lacks it,
those tests are skipped and say so.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from airstack.stackfile import read_stack_file
from components import airflow_metrics
from components.airflow_settings import render
from components.task_definitions import container_definition, task_containers
from tests.conftest import containers, env_of, of_type, planned, sample_endpoints

CONFIG = read_stack_file("prod").load()
ENDPOINTS = sample_endpoints(CONFIG)
ML = next(t for t in CONFIG.teams if t.name == "ml")
AIRFLOW_PYTHON = os.environ.get("AIRSTACK_AIRFLOW_PYTHON")
PROBE = Path(__file__).parent / "airflow" / "metrics_probe.py"
IMAGE = Path(__file__).resolve().parent.parent / "image"


def test_each_long_running_airflow_process_sends_dogstatsd_tagged_with_its_service() -> None:
    for role, team, tags in (
        ("scheduler", None, "Service:scheduler"),
        ("dag-processor", None, "Service:dag-processor"),
        ("triggerer", None, "Service:triggerer"),
        ("worker", ML, "Service:worker-ml,Queue:ml"),
    ):
        env = render(CONFIG, role, ENDPOINTS, team).environment
        assert env["AIRFLOW__METRICS__STATSD_DATADOG_ENABLED"] == "True"
        assert (env["AIRFLOW__METRICS__STATSD_HOST"], env["AIRFLOW__METRICS__STATSD_PORT"]) == ("127.0.0.1", "8125")
        assert env["AIRFLOW__METRICS__STATSD_PREFIX"] == "airflow"
        assert env["AIRFLOW__METRICS__STATSD_DATADOG_TAGS"] == tags
        assert env["AIRFLOW__METRICS__LEGACY_NAMES_ON"] == "False"
        assert "dag_id" in env["AIRFLOW__METRICS__STATSD_DISABLED_TAGS"].split(",")
    for role in ("api-server", "db-migrate", "wait-for-migrations"):
        assert not any(k.startswith("AIRFLOW__METRICS__") for k in render(CONFIG, role, ENDPOINTS).environment)


def test_the_agent_sits_beside_airflow_with_its_config_and_never_stops_the_task() -> None:
    names = {
        role: [c.name for c in task_containers(CONFIG, role, ENDPOINTS, "lg", ML if role == "worker" else None)]
        for role in ("api-server", "scheduler", "dag-processor", "triggerer", "worker")
    }
    assert names["api-server"] == ["wait-for-migrations", "api-server"]
    assert all(n[-1] == "cloudwatch-agent" for r, n in names.items() if r != "api-server")
    [agent] = [
        container_definition(c, {})
        for c in task_containers(CONFIG, "worker", ENDPOINTS, "lg", ML)
        if c.name == "cloudwatch-agent"
    ]
    assert agent["essential"] is False, "Airflow runs on without it; the missing heartbeat is alarmed"
    # ECR Public's image, pulled through the stack's own cache (private subnets reach ECR, not ECR Public).
    assert CONFIG.monitoring.agent_image.startswith("public.ecr.aws/")
    assert agent["image"] == CONFIG.monitoring.agent_image.replace(
        "public.ecr.aws/", f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/{CONFIG.stack}-public/"
    )
    assert "user" not in agent, "the agent image's own user"
    assert "command" not in agent, "the agent image's own entry point"
    assert agent["memory"] == 256
    assert agent["logConfiguration"]["options"]["awslogs-stream-prefix"] == "cloudwatch-agent"
    config = json.loads(env_of(agent)["CW_CONFIG_CONTENT"])
    assert config == airflow_metrics.agent_config("prod", "eu-west-1")
    statsd = config["metrics"]["metrics_collected"]["statsd"]
    assert statsd["service_address"] == "127.0.0.1:8125"
    assert statsd["metric_separator"] == "_"
    assert config["metrics"]["namespace"] == "airstack/prod/airflow"
    assert config["agent"]["omit_hostname"] is True, "no metric per task"


def test_the_planned_task_definitions_carry_the_agent_and_pass_the_pack() -> None:
    run = planned("prod")
    for task in of_type(run, "aws:ecs/taskDefinition:TaskDefinition"):
        names = [c["name"] for c in containers(task)]
        assert ("cloudwatch-agent" in names) is ("api-server" not in task.name), task.name


def test_metric_names_and_dimensions_as_the_agent_publishes_them() -> None:
    assert airflow_metrics.metric_name("scheduler_heartbeat") == "airflow_scheduler_heartbeat"
    assert airflow_metrics.metric_name("executor.queued_tasks") == "airflow_executor_queued_tasks"
    assert airflow_metrics.dimensions("worker-ml", "counter", "ml") == {
        "Service": "worker-ml",
        "metric_type": "counter",
        "Queue": "ml",
    }


# ------------------------------------------------------------------------------------------- real Airflow


def _has_airflow() -> bool:
    return bool(AIRFLOW_PYTHON)


def _env(rendered: dict[str, str]) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "PYTHONPATH")}
    return {**keep, **rendered}


needs_datadog = pytest.mark.skipif(
    not _has_airflow(), reason="needs AIRSTACK_AIRFLOW_PYTHON (the core image's Airflow, datadog included)"
)


def test_the_image_installs_airflows_dogstatsd_client() -> None:
    """Without the datadog package Airflow sends no metric at all, and the heartbeat alarm fires."""
    lock = (Path(__file__).resolve().parent.parent / "image" / "requirements.lock").read_text()
    assert re.search(r"^datadog==", lock, re.M)


def received(kind: str, role: str, tmp_path: Path) -> list[str]:
    """The StatsD lines a real Airflow process with ``role``'s rendered settings sends to the agent's port."""
    team = ML if role == "worker" else None
    rendered = render(CONFIG, role, ENDPOINTS, team).environment  # type: ignore[arg-type]
    metrics = {k: v for k, v in rendered.items() if k.startswith("AIRFLOW__METRICS__")}
    # The image's $AIRFLOW_HOME/config, which Airflow puts on sys.path: its local settings load at start.
    (tmp_path / "config").mkdir()
    shutil.copy(IMAGE / "airflow_local_settings.py", tmp_path / "config")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as agent:
        agent.bind(("127.0.0.1", 0))
        agent.settimeout(5)
        port = agent.getsockname()[1]
        env = _env({**metrics, "AIRFLOW__METRICS__STATSD_PORT": str(port), "AIRFLOW_HOME": str(tmp_path)})
        done = subprocess.run([str(AIRFLOW_PYTHON), str(PROBE), kind], env=env, capture_output=True, text=True,
                              timeout=120, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        assert done.stdout.strip().endswith("SafeDogStatsdLogger"), done.stdout + done.stderr[-2000:]
        lines: list[str] = []
        agent.settimeout(1)
        try:
            while True:
                lines += agent.recv(65536).decode().splitlines()
        except TimeoutError:
            pass
    return lines


@needs_datadog
def test_a_real_scheduler_sends_what_the_alarms_and_the_dashboard_read(tmp_path: Path) -> None:
    lines = received("scheduler", "scheduler", tmp_path)
    assert "airflow.scheduler_heartbeat:1|c|#Service:scheduler" in lines
    assert "airflow.ti_failures:1|c|#Service:scheduler" in lines, "per-task tags dropped"
    assert "airflow.executor.queued_tasks:3|g|#Service:scheduler" in lines, "no executor class, no legacy name"
    assert not [line for line in lines if line.startswith("airflow.ti.queued")], "per-task gauges are not sent"
    assert not [line for line in lines if not line.startswith("airflow.")], "the client's own telemetry is off"


@needs_datadog
def test_a_real_worker_tags_its_task_failures_with_its_queue(tmp_path: Path) -> None:
    lines = received("worker", "worker", tmp_path)
    assert "airflow.ti_failures:1|c|#Service:worker-ml,Queue:ml" in lines
    assert not [line for line in lines if not line.startswith("airflow.")], "the client's own telemetry is off"
