"""The rendered Airflow settings: pure functions of the config, tested without Pulumi."""

from __future__ import annotations

import json

import pytest

from airstack.stackfile import read_stack_file
from components.airflow_settings import (
    CORE_ROLES,
    QUEUES_ENV,
    SECRET_NAMES,
    TASK_TIMEOUT_ENV,
    VISIBILITY_ENV,
    Endpoints,
    command,
    render,
    secret_names,
)
from components.config import StackConfig
from components.sizing import (
    fargate_memory_choices,
    is_valid_fargate_size,
    longest_task_that_fits,
    parse_duration,
    subnet_masks,
    visibility_timeout_seconds,
)


@pytest.fixture(scope="module")
def prod() -> StackConfig:
    return read_stack_file("prod").load()


@pytest.fixture(scope="module")
def endpoints(prod: StackConfig) -> Endpoints:
    return Endpoints(
        logs_bucket="logs-bucket",
        queue_urls={t.queue_name: f"https://sqs/{t.queue_name}" for t in prod.teams},
        execution_api_url="http://api-server:8080/execution/",
        secrets_prefix="airstack/prod",
        data_bucket="data-bucket",
    )


def team(config: StackConfig, name: str):
    return next(t for t in config.teams if t.name == name)


def test_durations_and_visibility_arithmetic() -> None:
    assert parse_duration("8h") == 28800
    assert parse_duration("2h30m") == 9000
    assert parse_duration("90s") == 90
    for bad in ("", "8", "h", "0m", "8x"):
        with pytest.raises(ValueError, match=r"duration|longer than zero"):
            parse_duration(bad)
    assert visibility_timeout_seconds(28800, 25) == 36000
    assert longest_task_that_fits(25) == 34560  # 9h36m
    assert visibility_timeout_seconds(longest_task_that_fits(25), 25) <= 43200


def test_fargate_sizes() -> None:
    assert is_valid_fargate_size(256, 512)
    assert is_valid_fargate_size(4096, 30720)
    assert not is_valid_fargate_size(256, 4096)
    assert not is_valid_fargate_size(512, 1536)
    assert fargate_memory_choices(1024) == "with cpu 1024, memory must be 2048-8192 in steps of 1024"


def test_subnet_masks_leave_room_for_every_tier() -> None:
    assert subnet_masks(16, 2) == {"private": 18, "public": 20, "isolated": 20}
    assert subnet_masks(16, 3) == {"private": 19, "public": 21, "isolated": 21}
    assert subnet_masks(22, 3) == {"private": 25, "public": 27, "isolated": 27}


def test_worker_talks_only_to_its_queue_with_its_visibility(prod: StackConfig, endpoints: Endpoints) -> None:
    ml = team(prod, "ml")
    env = render(prod, "worker", endpoints, ml).environment
    assert env[VISIBILITY_ENV] == str(prod.visibility_timeout(ml)) == "9000"
    assert env[TASK_TIMEOUT_ENV] == "7200"
    assert json.loads(env[QUEUES_ENV]) == {"ml": "https://sqs/ml"}
    assert json.loads(env["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"]) == [
        {
            "name": "ml",
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {"path": "/opt/airflow/dags/ml/current"},
        }
    ]
    assert env["AIRFLOW__CELERY__WORKER_CONCURRENCY"] == "4"
    assert env["DUMB_INIT_SETSID"] == "0"
    assert command("worker", ml) == ["celery", "worker", "--queues", "ml", "--concurrency", "4"]


def test_scheduler_covers_every_queue(prod: StackConfig, endpoints: Endpoints) -> None:
    env = render(prod, "scheduler", endpoints).environment
    assert env[VISIBILITY_ENV] == "36000"  # the 8 h analytics queue
    assert env[TASK_TIMEOUT_ENV] == str(8 * 3600)
    assert set(json.loads(env[QUEUES_ENV])) == {"analytics", "ml", "reporting"}
    assert len(json.loads(env["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"])) == 3


@pytest.mark.parametrize("role", [*CORE_ROLES, "worker", "db-migrate"])
def test_every_role_is_celery_on_sqs_with_remote_logs_and_no_secret_values(
    prod: StackConfig, endpoints: Endpoints, role: str
) -> None:
    settings = render(prod, role, endpoints, team(prod, "analytics") if role == "worker" else None)  # type: ignore[arg-type]
    env = settings.environment
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "sqs://"
    assert env["AIRFLOW__CELERY__WORKER_ENABLE_REMOTE_CONTROL"] == "False"
    assert env["AIRFLOW__LOGGING__REMOTE_LOGGING"] == "True"
    assert env["AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER"] == "s3://logs-bucket/task-logs"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://api-server:8080/execution/"
    assert env["AIRFLOW__LOGGING__LOG_FILENAME_TEMPLATE"].startswith("{{ ti.queue }}/")
    assert set(settings.secrets.values()) <= set(SECRET_NAMES)
    assert not set(settings.secrets) & set(env)
    for name in ("SQL_ALCHEMY_CONN", "FERNET_KEY", "JWT_SECRET", "RESULT_BACKEND", "PASSWORD"):
        assert not any(name in key for key in env), f"{name} must come from secrets, not environment"


def test_workers_get_only_celerys_database_and_the_log_server_key(prod: StackConfig, endpoints: Endpoints) -> None:
    """No metadata database, no Fernet key, no JWT signing key: a team's DAG cannot reach other teams' data."""
    settings = render(prod, "worker", endpoints, team(prod, "ml"))
    assert settings.secrets == {
        "AIRFLOW__CELERY__RESULT_BACKEND": "celery-result-backend",
        "AIRFLOW__API__SECRET_KEY": "api-secret-key",
    }
    assert secret_names("worker") == {"celery-result-backend", "api-secret-key"}
    assert secret_names("scheduler") >= {"admin-password", "sql-alchemy-conn"}  # its task migrates first


def test_every_role_has_one_jwt_issuer_and_the_log_servers_their_key(prod: StackConfig, endpoints: Endpoints) -> None:
    roles = [(r, None) for r in ("api-server", "scheduler", "dag-processor", "triggerer", "db-migrate")]
    for role, member in [*roles, ("worker", team(prod, "ml"))]:
        assert render(prod, role, endpoints, member).environment["AIRFLOW__API_AUTH__JWT_ISSUER"] == "airstack-prod"
    for role, member in (("triggerer", None), ("worker", team(prod, "ml")), ("api-server", None)):
        assert render(prod, role, endpoints, member).secrets["AIRFLOW__API__SECRET_KEY"] == "api-secret-key"


def test_worker_needs_a_team_and_only_a_worker_has_one(prod: StackConfig, endpoints: Endpoints) -> None:
    with pytest.raises(ValueError, match="a worker needs its team"):
        render(prod, "worker", endpoints)
    with pytest.raises(ValueError, match="a worker needs its team"):
        render(prod, "scheduler", endpoints, team(prod, "ml"))


def test_a_workers_dags_are_told_the_data_prefix_its_role_may_write(prod: StackConfig, endpoints: Endpoints) -> None:
    ml = render(prod, "worker", endpoints, team(prod, "ml")).environment
    assert ml["AIRFLOW_VAR_DATA_BUCKET"] == "data-bucket"
    assert ml["AIRFLOW_VAR_DATA_PREFIX"] == "teams/ml/"
    assert ml["CONNECTION_CHECK_MAX_COUNT"] == "0", "a worker has no metadata database to wait for"
    scheduler = render(prod, "scheduler", endpoints).environment
    assert "AIRFLOW_VAR_DATA_PREFIX" not in scheduler
    assert "CONNECTION_CHECK_MAX_COUNT" not in scheduler
