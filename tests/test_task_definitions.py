"""Container definitions, built by pure functions."""

from __future__ import annotations

import json

import pytest

from airstack.stackfile import read_stack_file
from components.airflow_settings import SECRET_NAMES
from components.task_definitions import (
    EXEMPT_LABEL,
    STOP_TIMEOUT_SECONDS,
    container_definition,
    scratch_volumes,
    task_containers,
)
from tests.conftest import STACKS, of_type, planned, sample_endpoints

CONFIG = read_stack_file("prod").load()
ENDPOINTS = sample_endpoints(CONFIG)
ARNS = {name: f"arn:secret:{name}" for name in SECRET_NAMES}


def scratch(container: str) -> list[dict[str, object]]:
    """The writable task storage of an Airflow container: its temporary files and $AIRFLOW_HOME/logs."""
    return [
        {"sourceVolume": f"{container}-tmp", "containerPath": "/tmp", "readOnly": False},
        {"sourceVolume": f"{container}-logs", "containerPath": "/opt/airflow/logs", "readOnly": False},
    ]


def test_scheduler_task_migrates_the_database_first() -> None:
    migrate, scheduler, _agent = [
        container_definition(c, ARNS) for c in task_containers(CONFIG, "scheduler", ENDPOINTS, "lg")
    ]
    assert migrate["name"] == "db-migrate"
    assert migrate["essential"] is False
    assert migrate["command"] == ["python", "/opt/airflow/config/airstack_db_init.py"]
    environment = {e["name"]: e["value"] for e in migrate["environment"]}
    assert environment["AIRSTACK_DB_INSTANCE"] == "airstack-prod-metastore"
    assert environment["CONNECTION_CHECK_MAX_COUNT"] == "0", "the role it connects as does not exist yet"
    secrets = {s["name"]: s["valueFrom"] for s in migrate["secrets"]}
    assert secrets["AIRSTACK_ADMIN_PASSWORD"] == "arn:secret:admin-password"
    assert secrets["AIRSTACK_CELERY_DATABASE_URL"] == "arn:secret:celery-result-backend"
    assert migrate["mountPoints"] == scratch("db-migrate")
    assert scheduler["dependsOn"] == [{"containerName": "db-migrate", "condition": "SUCCESS"}]
    assert scheduler["command"] == ["scheduler"]
    assert "SchedulerJob" in scheduler["healthCheck"]["command"][1]


def test_other_database_users_wait_for_the_migration() -> None:
    for role in ("api-server", "dag-processor", "triggerer"):
        wait, main, *_agent = [container_definition(c, ARNS) for c in task_containers(CONFIG, role, ENDPOINTS, "lg")]
        assert (wait["name"], wait["essential"]) == ("wait-for-migrations", False)
        assert wait["command"][:2] == ["bash", "-c"]
        assert "airflow db check-migrations" in wait["command"][2]
        assert [s["name"] for s in wait["secrets"]] == ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        assert main["dependsOn"] == [{"containerName": "wait-for-migrations", "condition": "SUCCESS"}]
    ml = next(t for t in CONFIG.teams if t.name == "ml")
    assert [c.name for c in task_containers(CONFIG, "worker", ENDPOINTS, "lg", ml)] == ["worker", "cloudwatch-agent"]


def test_worker_container_mounts_only_its_team_read_only_and_stops_gracefully() -> None:
    ml = next(t for t in CONFIG.teams if t.name == "ml")
    [worker, _agent] = [container_definition(c, ARNS) for c in task_containers(CONFIG, "worker", ENDPOINTS, "lg", ml)]
    assert worker["mountPoints"] == [
        {"sourceVolume": "dags-ml", "containerPath": "/opt/airflow/dags/ml", "readOnly": True},
        *scratch("worker"),
    ]
    assert worker["stopTimeout"] == STOP_TIMEOUT_SECONDS == 120
    assert worker["portMappings"][0]["containerPort"] == 8793
    assert worker["logConfiguration"]["options"]["awslogs-group"] == "lg"
    assert all(s["valueFrom"].startswith("arn:secret:") for s in worker["secrets"])


def test_api_server_has_no_dags_and_publishes_the_execution_api_port() -> None:
    [_, api] = [container_definition(c, ARNS) for c in task_containers(CONFIG, "api-server", ENDPOINTS, "lg")]
    assert api["mountPoints"] == scratch("api-server")
    assert api["portMappings"] == [{"containerPort": 8080, "protocol": "tcp", "name": "api", "appProtocol": "http"}]


def test_every_airflow_container_is_read_only_with_its_own_task_storage() -> None:
    ml = next(t for t in CONFIG.teams if t.name == "ml")
    for role in ("api-server", "scheduler", "dag-processor", "triggerer", "worker"):
        specs = task_containers(CONFIG, role, ENDPOINTS, "lg", ml if role == "worker" else None)
        definitions = [container_definition(c, ARNS) for c in specs]
        airflow = [d for d in definitions if d["name"] != "cloudwatch-agent"]
        for definition in airflow:
            assert definition["readonlyRootFilesystem"] is True
            writable = [m for m in definition["mountPoints"] if not m["readOnly"]]
            assert writable == scratch(definition["name"])
        # The task definition declares exactly the volumes its containers mount for writing, each once.
        mounted = [m["sourceVolume"] for d in airflow for m in d["mountPoints"] if not m["readOnly"]]
        assert scratch_volumes(role) == mounted
        assert len(set(mounted)) == len(mounted)


def test_the_cloudwatch_agent_keeps_a_writable_root_and_says_why() -> None:
    definitions = [container_definition(c, ARNS) for c in task_containers(CONFIG, "scheduler", ENDPOINTS, "lg")]
    [agent] = [d for d in definitions if d["name"] == "cloudwatch-agent"]
    assert agent["readonlyRootFilesystem"] is False
    assert agent["mountPoints"] == []
    policy, _, reason = agent["dockerLabels"][EXEMPT_LABEL].partition(":")
    assert policy == "ecs-readonly-root-filesystem"
    assert "/opt/aws/amazon-cloudwatch-agent" in reason


@pytest.mark.parametrize("stack", STACKS)
def test_each_task_declares_every_volume_its_containers_mount_and_scratch_is_task_storage(stack: str) -> None:
    for definition in of_type(planned(stack), "aws:ecs/taskDefinition:TaskDefinition"):
        volumes = {v["name"]: v for v in definition.inputs.get("volumes") or []}
        for container in json.loads(definition.inputs["containerDefinitions"]):
            for mount in container["mountPoints"]:
                volume = volumes[mount["sourceVolume"]]
                if mount["readOnly"]:
                    assert "efsVolumeConfiguration" in volume, "DAGs come from EFS, read-only"
                else:  # a bind mount with no host: fresh, empty storage of this task, gone with it
                    assert volume == {"name": mount["sourceVolume"]}
