"""Container definitions, built by pure functions."""

from __future__ import annotations

from airstack.stackfile import read_stack_file
from components.airflow_settings import SECRET_NAMES, Endpoints
from components.task_definitions import STOP_TIMEOUT_SECONDS, container_definition, task_containers

CONFIG = read_stack_file("prod").load()
ENDPOINTS = Endpoints(
    "logs", {t.queue_name: f"https://sqs/{t.queue_name}" for t in CONFIG.teams}, "http://x/", "p", "data"
)
ARNS = {name: f"arn:secret:{name}" for name in SECRET_NAMES}


def test_scheduler_task_migrates_the_database_first() -> None:
    migrate, scheduler = [container_definition(c, ARNS) for c in task_containers(CONFIG, "scheduler", ENDPOINTS, "lg")]
    assert migrate["name"] == "db-migrate"
    assert migrate["essential"] is False
    assert migrate["command"] == ["python", "/opt/airflow/config/airstack_db_init.py"]
    environment = {e["name"]: e["value"] for e in migrate["environment"]}
    assert environment["AIRSTACK_DB_INSTANCE"] == "airstack-prod-metastore"
    assert environment["CONNECTION_CHECK_MAX_COUNT"] == "0", "the role it connects as does not exist yet"
    secrets = {s["name"]: s["valueFrom"] for s in migrate["secrets"]}
    assert secrets["AIRSTACK_ADMIN_PASSWORD"] == "arn:secret:admin-password"
    assert secrets["AIRSTACK_CELERY_DATABASE_URL"] == "arn:secret:celery-result-backend"
    assert migrate["mountPoints"] == []
    assert scheduler["dependsOn"] == [{"containerName": "db-migrate", "condition": "SUCCESS"}]
    assert scheduler["command"] == ["scheduler"]
    assert "SchedulerJob" in scheduler["healthCheck"]["command"][1]


def test_other_database_users_wait_for_the_migration() -> None:
    for role in ("api-server", "dag-processor", "triggerer"):
        wait, main = [container_definition(c, ARNS) for c in task_containers(CONFIG, role, ENDPOINTS, "lg")]
        assert (wait["name"], wait["essential"]) == ("wait-for-migrations", False)
        assert wait["command"][:2] == ["bash", "-c"]
        assert "airflow db check-migrations" in wait["command"][2]
        assert [s["name"] for s in wait["secrets"]] == ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        assert main["dependsOn"] == [{"containerName": "wait-for-migrations", "condition": "SUCCESS"}]
    ml = next(t for t in CONFIG.teams if t.name == "ml")
    assert [c.name for c in task_containers(CONFIG, "worker", ENDPOINTS, "lg", ml)] == ["worker"]


def test_worker_container_mounts_only_its_team_read_only_and_stops_gracefully() -> None:
    ml = next(t for t in CONFIG.teams if t.name == "ml")
    [worker] = [container_definition(c, ARNS) for c in task_containers(CONFIG, "worker", ENDPOINTS, "lg", ml)]
    assert worker["mountPoints"] == [
        {"sourceVolume": "dags-ml", "containerPath": "/opt/airflow/dags/ml", "readOnly": True}
    ]
    assert worker["stopTimeout"] == STOP_TIMEOUT_SECONDS == 120
    assert worker["portMappings"][0]["containerPort"] == 8793
    assert worker["logConfiguration"]["options"]["awslogs-group"] == "lg"
    assert all(s["valueFrom"].startswith("arn:secret:") for s in worker["secrets"])


def test_api_server_has_no_dags_and_publishes_the_execution_api_port() -> None:
    [_, api] = [container_definition(c, ARNS) for c in task_containers(CONFIG, "api-server", ENDPOINTS, "lg")]
    assert api["mountPoints"] == []
    assert api["portMappings"] == [{"containerPort": 8080, "protocol": "tcp", "name": "api", "appProtocol": "http"}]
