"""Pure builders for the ECS container definitions of each Airflow role."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.airflow_settings import (
    API_PORT,
    DAGS_ROOT,
    TRIGGERER_LOG_PORT,
    WORKER_LOG_PORT,
    ContainerSettings,
    Endpoints,
    Role,
    command,
    render,
)
from components.config import StackConfig, Team

STOP_TIMEOUT_SECONDS = 120
"""Fargate's maximum: a Celery worker gets this long to finish or hand back its tasks on scale-in."""

_JOB_TYPE: dict[str, str] = {
    "scheduler": "SchedulerJob",
    "triggerer": "TriggererJob",
    "dag-processor": "DagProcessorJob",
}
_PORTS: dict[str, tuple[int, str]] = {
    "api-server": (API_PORT, "api"),
    "worker": (WORKER_LOG_PORT, "logs"),
    "triggerer": (TRIGGERER_LOG_PORT, "logs"),
}


@dataclass(frozen=True)
class DagMount:
    volume: str
    directory: str


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    role: Role
    image: str
    command: Sequence[str]
    settings: ContainerSettings
    log_group: str
    region: str
    mounts: Sequence[DagMount] = ()
    essential: bool = True
    depends_on_success: Sequence[str] = ()


WAITS_FOR_MIGRATIONS: tuple[Role, ...] = ("api-server", "dag-processor", "triggerer")


def mounts_dags(role: Role) -> bool:
    """Only the dag-processor and the workers read DAG files; Airflow 3's other roles use serialized DAGs."""
    return role in ("worker", "dag-processor")


def task_containers(
    config: StackConfig, role: Role, endpoints: Endpoints, log_group: str, team: Team | None = None
) -> list[ContainerSpec]:
    """The containers of one role's task. The scheduler's task migrates the database first."""
    teams = (team,) if team else config.teams
    mounts = [DagMount(f"dags-{t.name}", t.directory) for t in teams] if mounts_dags(role) else []

    def container(container_role: Role, **kwargs: Any) -> ContainerSpec:
        return ContainerSpec(
            name=container_role,
            role=container_role,
            image=config.image.uri,
            command=command(container_role, team),
            settings=render(config, container_role, endpoints, team),
            log_group=log_group,
            region=config.aws_region,
            mounts=mounts if container_role == role else [],
            **kwargs,
        )

    if role == "scheduler":
        # Migrations finish before the scheduler starts, as Helm's migrateDatabaseJob does it.
        return [container("db-migrate", essential=False), container("scheduler", depends_on_success=("db-migrate",))]
    if role in WAITS_FOR_MIGRATIONS:
        # And every other role that uses the database waits for them, as Helm's wait-for-migrations does.
        return [
            container("wait-for-migrations", essential=False),
            container(role, depends_on_success=("wait-for-migrations",)),
        ]
    return [container(role)]


def container_definition(spec: ContainerSpec, secret_refs: Mapping[str, str]) -> dict[str, Any]:
    """One container; ``secret_refs`` maps secret keys to their ARNs, and every secret is passed by reference."""
    definition: dict[str, Any] = {
        "name": spec.name,
        "image": spec.image,
        "essential": spec.essential,
        "command": list(spec.command),
        "user": "50000:0",
        "environment": [{"name": k, "value": v} for k, v in sorted(spec.settings.environment.items())],
        "secrets": [
            {"name": var, "valueFrom": secret_refs[secret]} for var, secret in sorted(spec.settings.secrets.items())
        ],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": spec.log_group,
                "awslogs-region": spec.region,
                "awslogs-stream-prefix": spec.name,
            },
        },
        "mountPoints": [
            {"sourceVolume": m.volume, "containerPath": f"{DAGS_ROOT}/{m.directory}", "readOnly": True}
            for m in spec.mounts
        ],
    }
    if spec.role in _PORTS:
        port, port_name = _PORTS[spec.role]
        definition["portMappings"] = [
            {"containerPort": port, "protocol": "tcp", "name": port_name, "appProtocol": "http"}
        ]
    if spec.role in _JOB_TYPE:
        definition["healthCheck"] = {
            "command": ["CMD-SHELL", f"airflow jobs check --job-type {_JOB_TYPE[spec.role]} --local || exit 1"],
            "interval": 60,
            "timeout": 30,
            "retries": 3,
            "startPeriod": 120,
        }
    if spec.role == "worker":
        definition["stopTimeout"] = STOP_TIMEOUT_SECONDS
    if spec.depends_on_success:
        definition["dependsOn"] = [{"containerName": c, "condition": "SUCCESS"} for c in spec.depends_on_success]
    return definition
