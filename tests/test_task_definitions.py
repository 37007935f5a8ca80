"""Container definitions and least-privilege grants, built by pure functions."""

from __future__ import annotations

import pytest

from airstack.stackfile import read_stack_file
from components.airflow_settings import Endpoints
from components.task_definitions import (
    STOP_TIMEOUT_SECONDS,
    GrantTargets,
    container_definition,
    task_containers,
    task_role_statements,
)

CONFIG = read_stack_file("prod").load()
ENDPOINTS = Endpoints("logs", {t.queue_name: f"https://sqs/{t.queue_name}" for t in CONFIG.teams}, "http://x/", "p")
ARNS = {name: f"arn:secret:{name}" for name in ("sql-alchemy-conn", "celery-result-backend", "fernet-key",
                                                 "jwt-secret", "api-secret-key", "admin-password")}  # fmt: skip
TARGETS = GrantTargets(
    logs_bucket_arn="arn:aws:s3:::logs",
    data_bucket_arn="arn:aws:s3:::data",
    queue_arns={q: f"arn:aws:sqs:r:1:{q}" for q in ("analytics", "ml", "reporting")},
    file_system_arn="arn:fs",
    access_point_arns={t: f"arn:ap/{t}" for t in ("analytics", "ml", "reporting")},
    secrets_arn_prefix="arn:aws:secretsmanager:r:1:secret:airstack/prod",
)


def test_scheduler_task_migrates_the_database_first() -> None:
    migrate, scheduler = [container_definition(c, ARNS) for c in task_containers(CONFIG, "scheduler", ENDPOINTS, "lg")]
    assert migrate["name"] == "db-migrate"
    assert migrate["essential"] is False
    assert {"name": "_AIRFLOW_DB_MIGRATE", "value": "true"} in migrate["environment"]
    assert {"name": "_AIRFLOW_WWW_USER_PASSWORD", "valueFrom": "arn:secret:admin-password"} in migrate["secrets"]
    assert scheduler["dependsOn"] == [{"containerName": "db-migrate", "condition": "SUCCESS"}]
    assert scheduler["command"] == ["scheduler"]
    assert "SchedulerJob" in scheduler["healthCheck"]["command"][1]


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
    [api] = [container_definition(c, ARNS) for c in task_containers(CONFIG, "api-server", ENDPOINTS, "lg")]
    assert api["mountPoints"] == []
    assert api["portMappings"] == [{"containerPort": 8080, "protocol": "tcp", "name": "api", "appProtocol": "http"}]


def _actions(statements: list[dict]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for s in statements:
        for action in s["Action"]:
            found.setdefault(action, []).extend(s["Resource"])
    return found


def test_a_worker_reads_its_own_queue_mounts_its_own_dags_writes_its_own_logs() -> None:
    grants = _actions(task_role_statements("worker", TARGETS, "ml", "ml"))
    assert grants["sqs:ReceiveMessage"] == ["arn:aws:sqs:r:1:ml"]
    assert grants["s3:PutObject"] == ["arn:aws:s3:::logs/task-logs/ml/*", "arn:aws:s3:::data/teams/ml/*"]
    assert "elasticfilesystem:ClientWrite" not in grants
    efs = next(
        s for s in task_role_statements("worker", TARGETS, "ml", "ml") if "elasticfilesystem:ClientMount" in s["Action"]
    )
    assert efs["Condition"] == {"StringEquals": {"elasticfilesystem:AccessPointArn": ["arn:ap/ml"]}}


@pytest.mark.parametrize("role", ["api-server", "scheduler", "dag-processor", "triggerer"])
def test_core_roles_never_consume_queues_or_write_dags(role: str) -> None:
    grants = _actions(task_role_statements(role, TARGETS, None, None))  # type: ignore[arg-type]
    assert "sqs:ReceiveMessage" not in grants
    assert "elasticfilesystem:ClientWrite" not in grants
    assert all(r != "*" for resources in grants.values() for r in resources)


def test_scheduler_sends_to_every_queue_and_api_server_only_reads_logs() -> None:
    scheduler = _actions(task_role_statements("scheduler", TARGETS, None, None))
    assert sorted(scheduler["sqs:SendMessage"]) == sorted(TARGETS.queue_arns.values())
    api = _actions(task_role_statements("api-server", TARGETS, None, None))
    assert api["s3:GetObject"] == ["arn:aws:s3:::logs/task-logs/*"]
    assert "s3:PutObject" not in api


def test_a_prefix_grant_covers_exactly_that_prefix() -> None:
    from components.buckets import prefix_statements

    objects, listing = prefix_statements("arn:aws:s3:::logs", "task-logs/ml/", "write")
    assert objects == {
        "Effect": "Allow",
        "Action": ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
        "Resource": ["arn:aws:s3:::logs/task-logs/ml/*"],
    }
    assert listing["Resource"] == ["arn:aws:s3:::logs"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["task-logs/ml/*"]}}
    [read, _] = prefix_statements("arn:aws:s3:::logs", "task-logs/", "read")
    assert read["Action"] == ["s3:GetObject"]
