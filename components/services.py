"""Which ECS services a stack runs, and how each is sized and counted. Pure: no Pulumi here."""

from __future__ import annotations

from dataclasses import dataclass

from components.airflow_settings import Role
from components.config import ServiceSize, StackConfig, Team, WorkerSize

SECURITY_GROUP_OF: dict[Role, str] = {
    "api-server": "api-server",
    "scheduler": "core",
    "dag-processor": "core",
    "triggerer": "core",
    "worker": "workers",
}
"""The security group of each role's tasks (``core`` holds the scheduler, dag-processor and triggerer)."""


@dataclass(frozen=True)
class ServiceSpec:
    service: str
    """The ECS service name: the role, or ``worker-<team>``."""
    role: Role
    size: ServiceSize | WorkerSize
    count: int
    """Tasks while running: the configured count, or for a team's workers their minimum."""
    team: Team | None = None

    @property
    def spot(self) -> bool:
        return isinstance(self.size, WorkerSize) and self.size.spot


def service_specs(config: StackConfig) -> list[ServiceSpec]:
    """The four core services, then one worker service per team, in a stable order."""
    components = config.components
    core: tuple[tuple[Role, ServiceSize], ...] = (
        ("api-server", components.api_server),
        ("scheduler", components.scheduler),
        ("dag-processor", components.dag_processor),
        ("triggerer", components.triggerer),
    )
    specs = [ServiceSpec(role, role, size, size.count) for role, size in core]
    specs += [ServiceSpec(f"worker-{t.name}", "worker", config.worker_size(t), t.workers.min, t) for t in config.teams]
    return specs
