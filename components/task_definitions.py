"""Pure builders for the ECS container definitions of each Airflow role."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from components.airflow_metrics import AGENT_CONTAINER, AGENT_MEMORY_MIB, METRIC_ROLES, agent_environment
from components.airflow_settings import (
    AIRFLOW_HOME,
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


@dataclass(frozen=True)
class Scratch:
    """A path a container writes to under a read-only root: task storage (a Fargate bind mount with no host)."""

    volume: str
    container_path: str


ContainerRole = Role | Literal["cloudwatch-agent"]
AIRFLOW_USER = "50000:0"
AIRFLOW_WRITABLE: dict[str, str] = {"tmp": "/tmp", "logs": f"{AIRFLOW_HOME}/logs"}
"""Where an Airflow process writes (label -> path), found by running each role under a read-only root
(tests/test_readonly_root.py): temporary files (Python's tempfile, the workers' task-protection counter) and
$AIRFLOW_HOME/logs (each component's own logs, a task's log before it is uploaded to S3). The image declares
both as VOLUMEs owned by the airflow user, so that ECS fills each fresh volume with the image's directory and
its owner (an empty bind mount is root's, mode 0755: not writable by user 50000)."""
AGENT_READ_ONLY_EXEMPTION = (
    "ecs-readonly-root-filesystem: the CloudWatch agent writes its translated TOML, env-config.json and pid file "
    "under /opt/aws/amazon-cloudwatch-agent, which its image ships and does not support read-only "
    "(aws/amazon-cloudwatch-agent#276)"
)
"""The agent keeps a writable root: covering /opt/aws/amazon-cloudwatch-agent/etc with an empty volume would
hide the files its image ships there, and nothing upstream says which paths suffice. It holds no secret and runs
no DAG code."""
EXEMPT_LABEL = "airstack:exempt"


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
    scratch: Sequence[Scratch] = ()
    read_only_root: bool = True
    labels: Mapping[str, str] | None = None


WAITS_FOR_MIGRATIONS: tuple[Role, ...] = ("api-server", "dag-processor", "triggerer")
_RUNS_FIRST: dict[Role, Role] = {
    # Migrations finish before the scheduler starts, as Helm's migrateDatabaseJob does it,
    "scheduler": "db-migrate",
    # and every other role that uses the database waits for them, as Helm's wait-for-migrations does.
    **dict.fromkeys(WAITS_FOR_MIGRATIONS, "wait-for-migrations"),
}
"""The essential-false container that must succeed before a role's own container starts."""


def airflow_containers(role: Role) -> tuple[Role, ...]:
    """The Airflow containers of a role's task, in start order (its CloudWatch agent aside)."""
    first = _RUNS_FIRST.get(role)
    return (first, role) if first else (role,)


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
            scratch=airflow_scratch(container_role),
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

    first = _RUNS_FIRST.get(role)
    if first is None:
        found = [container(role)]
    else:
        found = [container(first, essential=False), container(role, depends_on_success=(first,))]
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
        read_only_root=False,
        labels={EXEMPT_LABEL: AGENT_READ_ONLY_EXEMPTION},
    )


def airflow_scratch(container: str) -> tuple[Scratch, ...]:
    """One task-storage volume per writable path of an Airflow container (named ``<container>-<label>``).

    A volume per container, not per task: ECS fills a bind mount from the VOLUME of the image that mounts it,
    and no container sees another's temporary files.
    """
    return tuple(Scratch(f"{container}-{label}", path) for label, path in AIRFLOW_WRITABLE.items())


def scratch_volumes(role: Role) -> list[str]:
    """The task-storage volumes of a role's task definition, in order: what its containers' scratch mounts name."""
    return [s.volume for container in airflow_containers(role) for s in airflow_scratch(container)]


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
            *(
                {"sourceVolume": m.volume, "containerPath": f"{DAGS_ROOT}/{m.directory}", "readOnly": True}
                for m in spec.mounts
            ),
            *({"sourceVolume": s.volume, "containerPath": s.container_path, "readOnly": False} for s in spec.scratch),
        ],
        "readonlyRootFilesystem": spec.read_only_root,
        **({"dockerLabels": dict(spec.labels)} if spec.labels else {}),
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
