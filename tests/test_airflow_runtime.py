"""What airstack renders, loaded by a real Airflow 3 (with the Celery, Amazon and FAB providers and kombu's SQS).

CI builds that interpreter from tests/airflow/requirements.txt (the core image's lock) and sets
AIRSTACK_AIRFLOW_PYTHON; without it these tests are skipped. They run tests/airflow/probe.py under it: airstack and
Airflow do not share a venv. Each probe is one container: one role's rendered environment, with a stand-in for
exactly the secrets render() gives that role, and its own AIRFLOW_HOME.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from airstack.stackfile import read_stack_file
from components.airflow_settings import QUEUE_BY_DIRECTORY_ENV, SECRET_NAMES, Endpoints, Role, render
from components.secrets import celery_result_backend, sql_alchemy_conn

AIRFLOW_PYTHON = os.environ.get("AIRSTACK_AIRFLOW_PYTHON")
pytestmark = pytest.mark.skipif(not AIRFLOW_PYTHON, reason="needs AIRSTACK_AIRFLOW_PYTHON (a real Airflow 3)")
HERE = Path(__file__).parent
IMAGE = HERE.parent / "image"
CONFIG = read_stack_file("prod").load()
ENDPOINTS = Endpoints(
    logs_bucket="airstack-prod-logs",
    queue_urls={t.queue_name: f"https://sqs.eu-west-1.amazonaws.com/111122223333/{t.queue_name}" for t in CONFIG.teams},
    execution_api_url="http://api-server:8080/execution/",
    secrets_prefix="airstack/prod",
    data_bucket="airstack-prod-data",
)
STAND_INS = {  # what the Secrets tier stores under each secret name, with stand-in inputs
    "sql-alchemy-conn": sql_alchemy_conn("localhost", 5432, "stand-in"),
    "celery-result-backend": celery_result_backend("localhost", 5432, "stand-in"),
    "fernet-key": "dGhpcyBpcyBhIDMyIGJ5dGUgc3RhbmQtaW4ga2V5ISE=",
    "jwt-signing-key": "stand-in-jwt-secret",
    "api-secret-key": "stand-in-api-secret-key",
    "admin-password": "stand-in-admin-password",
}


def home_of(tmp_path: Path, role: str) -> Path:
    """The role's own AIRFLOW_HOME, as each container has its own file system."""
    home = tmp_path / f"home-{role}"
    (home / "config").mkdir(parents=True, exist_ok=True)
    # As the image does it: $AIRFLOW_HOME/config is on Airflow's path and holds the cluster policy.
    shutil.copy(IMAGE / "airflow_local_settings.py", home / "config")
    return home


def run_env(tmp_path: Path, role: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "AIRFLOW_HOME": str(home_of(tmp_path, role)), "HOME": str(tmp_path)}


def probe(tmp_path: Path, request: dict[str, Any], role: str = "any") -> dict[str, Any]:
    done = subprocess.run(
        [str(AIRFLOW_PYTHON), str(HERE / "airflow" / "probe.py")],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=False,
        env=run_env(tmp_path, role),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def env_of(role: Role, team: str | None = None) -> dict[str, str]:
    """A container's environment: what render() sets, and a stand-in for each secret ECS would inject."""
    chosen = next((t for t in CONFIG.teams if t.name == team), None)
    settings = render(CONFIG, role, ENDPOINTS, chosen)
    return {**settings.environment, **{variable: STAND_INS[name] for variable, name in settings.secrets.items()}}


def test_every_secret_has_a_stand_in() -> None:
    assert set(SECRET_NAMES) <= set(STAND_INS)


def test_every_rendered_option_exists_in_airflow(tmp_path: Path) -> None:
    names: dict[str, str] = {}
    roles: tuple[Role, ...] = ("api-server", "scheduler", "dag-processor", "triggerer", "db-migrate")
    for role in roles:
        names.update(env_of(role))
    names.update(env_of("worker", "ml"))
    assert probe(tmp_path, {"check": "options", "env": names}) == {"unknown": []}


def test_a_worker_polls_only_its_queue_with_its_own_visibility_timeout(tmp_path: Path) -> None:
    result = probe(tmp_path, {"check": "worker-celery", "env": env_of("worker", "ml"), "imageDir": str(IMAGE)})
    visibility = CONFIG.visibility_timeout(next(t for t in CONFIG.teams if t.name == "ml"))
    # Airflow 3.1 ignored the variable this early and used 86400 s; since 3.3 it reads it (the image's config
    # module still sets it explicitly, and stops a process that lacks it).
    assert result["airflowAlone"]["visibility_timeout"] == visibility
    assert result["channelVisibility"] == visibility
    assert result["channelRegion"] == "eu-west-1"
    assert result["channelQueues"] == ["ml"]
    assert result["remoteControl"] is False
    assert result["concurrency"] == 4
    assert "airstack_worker_signals" in result["imports"], "the worker connects the scale-in protection hook"


def test_bundles_connection_backends_and_timeout_load(tmp_path: Path) -> None:
    env = env_of("dag-processor")
    dags = tmp_path / "dags"
    bundles = json.loads(env["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"])
    for bundle in bundles:  # the same list, pointed at local directories
        bundle["kwargs"]["path"] = str(dags / bundle["name"])
    env["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"] = json.dumps(bundles)
    result = probe(tmp_path, {"check": "settings", "env": env})
    assert result["bundles"] == {t.name: str(dags / t.directory) for t in CONFIG.teams}
    assert result["awsDefault"] == {"region_name": "eu-west-1"}
    assert result["imports"] == ["get_host_ip_address", "FabAuthManager", "SecretsManagerBackend"]
    assert result["secretsPrefixes"] == ["airstack/prod/connections", "airstack/prod/variables"]
    assert result["taskTimeout"] == 8 * 3600


def test_the_cluster_policy_keeps_each_dag_on_its_teams_queue(tmp_path: Path) -> None:
    env = env_of("dag-processor")
    dags = tmp_path / "dags"
    queues = {str(dags / Path(d).name): q for d, q in json.loads(env[QUEUE_BY_DIRECTORY_ENV]).items()}
    env[QUEUE_BY_DIRECTORY_ENV] = json.dumps(queues)
    (dags / "ml").mkdir(parents=True)
    (dags / "ml" / "train.py").write_text(
        "from datetime import datetime\n"
        "from airflow.sdk import DAG\n"
        "from airflow.providers.standard.operators.empty import EmptyOperator\n"
        "with DAG('train', start_date=datetime(2026, 1, 1), schedule=None):\n"
        "    EmptyOperator(task_id='borrow', queue='analytics')\n"
        "    EmptyOperator(task_id='own')\n"
    )
    result = probe(tmp_path, {"check": "cluster-policy", "env": env, "dags": str(dags)})
    assert result["errors"] == {}
    assert result["queues"] == {"train.borrow": "ml", "train.own": "ml"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(("role", "team"), [("worker", "ml"), ("triggerer", None)])
def test_the_api_server_can_read_live_logs_from(tmp_path: Path, role: Role, team: str | None) -> None:
    """The UI shows a running task's log by fetching it from the worker's (or triggerer's) log server with a
    token signed with [api] secret_key: both containers must have the same one."""
    port, relative = free_port(), "dag_id=train/run_id=r1/task_id=fit/attempt=1.log"
    request = {"check": "serve-logs", "env": env_of(role, team), "port": port, "logs": {relative: "epoch 1 of 8\n"}}
    server = subprocess.Popen(
        [str(AIRFLOW_PYTHON), str(HERE / "airflow" / "probe.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=run_env(tmp_path, role),
        text=True,
    )
    try:
        assert server.stdin is not None
        server.stdin.write(json.dumps(request))
        server.stdin.close()
        deadline = time.monotonic() + 60
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            assert server.poll() is None, server.stderr.read()[-3000:] if server.stderr else ""
            assert time.monotonic() < deadline, "the log server did not start"
            time.sleep(0.1)
        url = f"http://127.0.0.1:{port}/log/{relative}"
        fetched = probe(tmp_path, {"check": "fetch-log", "env": env_of("api-server"), "url": url, "path": relative})
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert fetched == {"status": 200, "text": "epoch 1 of 8\n"}, f"the {role} refused the api-server's token"


def test_the_api_server_accepts_the_task_tokens_the_scheduler_signs(tmp_path: Path) -> None:
    signed = probe(tmp_path, {"check": "sign-task-token", "env": env_of("scheduler")}, "scheduler")
    checked = probe(tmp_path, {"check": "validate-task-token", "env": env_of("api-server"), **signed}, "api-server")
    assert checked == {"sub": "0193d6a4-task-instance"}
