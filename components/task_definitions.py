"""Pure builders for the ECS container definitions of each Airflow role."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from components.airflow_metrics import AGENT_CONTAINER, AGENT_MEMORY_MIB, METRIC_ROLES, agent_environment
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
from components.naming import pulled_image
from components.thresholds import airflow_metrics

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


ContainerRole = Role | Literal["cloudwatch-agent"]
AIRFLOW_USER = "50000:0"


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    role: ContainerRole
    image: str
    command: Sequence[str]
    settings: ContainerSettings
    log_group: str
    region: str
    mounts: Sequence[DagMount] = ()
    essential: bool = True
    depends_on_success: Sequence[str] = ()
    user: str | None = AIRFLOW_USER
    """None: the image's own user (the CloudWatch agent's)."""
    memory_mib: int | None = None
    """A hard memory limit inside the task's; None: the container may use all of it."""


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
        found = [container("db-migrate", essential=False), container("scheduler", depends_on_success=("db-migrate",))]
    elif role in WAITS_FOR_MIGRATIONS:
        # And every other role that uses the database waits for them, as Helm's wait-for-migrations does.
        found = [
            container("wait-for-migrations", essential=False),
            container(role, depends_on_success=("wait-for-migrations",)),
        ]
    else:
        found = [container(role)]
    if role in METRIC_ROLES and airflow_metrics(config):
        found.append(metrics_agent(config, log_group, endpoints.registry))
    return found


def metrics_agent(config: StackConfig, log_group: str, registry: str) -> ContainerSpec:
    """The CloudWatch agent beside an Airflow process: its StatsD metrics into CloudWatch.

    Not essential: Airflow runs on without it, and the alarm on the scheduler's missing heartbeat reports the loss.
    """
    return ContainerSpec(
        name=AGENT_CONTAINER,
        role=AGENT_CONTAINER,
        image=pulled_image(config.monitoring.agent_image, config.stack, registry),
        command=(),
        settings=ContainerSettings(environment=agent_environment(config.stack, config.aws_region)),
        log_group=log_group,
        region=config.aws_region,
        essential=False,
        user=None,
        memory_mib=AGENT_MEMORY_MIB,
    )


def container_definition(spec: ContainerSpec, secret_refs: Mapping[str, str]) -> dict[str, Any]:
    """One container; ``secret_refs`` maps secret keys to their ARNs, and every secret is passed by reference."""
    definition: dict[str, Any] = {
        "name": spec.name,
        "image": spec.image,
        "essential": spec.essential,
        **({"command": list(spec.command)} if spec.command else {}),
        **({"user": spec.user} if spec.user else {}),
        **({"memory": spec.memory_mib} if spec.memory_mib else {}),
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
