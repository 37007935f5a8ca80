"""What airstack renders, loaded by a real Airflow 3 (with the Celery, Amazon and FAB providers and kombu's SQS).

CI builds that interpreter from tests/airflow/requirements.txt and sets AIRSTACK_AIRFLOW_PYTHON; without it these
tests are skipped. They run tests/airflow/probe.py under it: airstack and Airflow do not share a venv.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from airstack.stackfile import read_stack_file
from components.airflow_settings import QUEUE_BY_DIRECTORY_ENV, Endpoints, render
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
)
SECRET_STAND_INS = {  # the values the Secrets tier stores, with stand-in inputs
    "AIRFLOW__CELERY__RESULT_BACKEND": celery_result_backend("localhost", 5432, "stand-in"),
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sql_alchemy_conn("localhost", 5432, "stand-in"),
    "AIRFLOW__CORE__FERNET_KEY": "dGhpcyBpcyBhIDMyIGJ5dGUgc3RhbmQtaW4ga2V5ISE=",
    "AIRFLOW__API_AUTH__JWT_SECRET": "stand-in-jwt-secret",
}


def probe(tmp_path: Path, request: dict[str, Any]) -> dict[str, Any]:
    home = tmp_path / "airflow-home"
    (home / "config").mkdir(parents=True, exist_ok=True)
    # As the image does it: $AIRFLOW_HOME/config is on Airflow's path and holds the cluster policy.
    shutil.copy(IMAGE / "airflow_local_settings.py", home / "config")
    done = subprocess.run(
        [str(AIRFLOW_PYTHON), str(HERE / "airflow" / "probe.py")],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": os.environ.get("PATH", ""), "AIRFLOW_HOME": str(home), "HOME": str(tmp_path)},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def env_of(role: str, team: str | None = None) -> dict[str, str]:
    chosen = next((t for t in CONFIG.teams if t.name == team), None)
    return {**render(CONFIG, role, ENDPOINTS, chosen).environment, **SECRET_STAND_INS}  # type: ignore[arg-type]


def test_every_rendered_option_exists_in_airflow(tmp_path: Path) -> None:
    names: dict[str, str] = {}
    for role in ("api-server", "scheduler", "dag-processor", "triggerer", "db-migrate"):
        names.update(env_of(role))
    names.update(env_of("worker", "ml"))
    assert probe(tmp_path, {"check": "options", "env": names}) == {"unknown": []}


def test_a_worker_polls_only_its_queue_with_its_own_visibility_timeout(tmp_path: Path) -> None:
    result = probe(tmp_path, {"check": "worker-celery", "env": env_of("worker", "ml"), "imageDir": str(IMAGE)})
    assert result["airflowAlone"] == {"visibility_timeout": 86400}, "the trap the image's config module closes"
    assert result["channelVisibility"] == CONFIG.visibility_timeout(next(t for t in CONFIG.teams if t.name == "ml"))
    assert result["channelRegion"] == "eu-west-1"
    assert result["channelQueues"] == ["ml"]
    assert result["remoteControl"] is False
    assert result["concurrency"] == 4


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
