"""What the smoke runs: tasks, containers, queues, secrets and the rest, as read from a planned stack. Pure.

``airstack.smoke.plan.smoke_plan`` reads them from the resources of a planned stack.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from airstack.smoke.sidecars import AIRFLOW, WatchedMetric

MOTO_DEFAULT_ACCOUNT = "123456789012"
ECS_DEFAULT_STOP_TIMEOUT = 30
"""Seconds ECS waits between SIGTERM and SIGKILL when a container definition sets no ``stopTimeout``."""


class PlanError(Exception):
    """The plan asks for something the smoke cannot stand in for; the message says what."""


@dataclass(frozen=True)
class SecretRef:
    variable: str
    value_from: str


@dataclass(frozen=True)
class PortMapping:
    container_port: int
    name: str | None = None


@dataclass(frozen=True)
class Mount:
    container_path: str
    volume: str
    """Key of the storage behind it, shared by every task that mounts the same EFS access point."""
    read_only: bool = False


@dataclass(frozen=True)
class Container:
    task: str
    """The service this container's task belongs to."""
    name: str
    command: tuple[str, ...]
    environment: Mapping[str, str]
    secrets: tuple[SecretRef, ...] = ()
    essential: bool = True
    depends_on: tuple[tuple[str, str], ...] = ()
    """(container name, condition: START | COMPLETE | SUCCESS | HEALTHY)."""
    ports: tuple[PortMapping, ...] = ()
    mounts: tuple[Mount, ...] = ()
    stop_timeout: int = ECS_DEFAULT_STOP_TIMEOUT
    image: str = ""
    kind: str = AIRFLOW
    """``airflow`` (the stack's Airflow image) or the sidecar its image is (``sidecars.sidecar_kind``)."""

    @property
    def key(self) -> str:
        return f"{self.task}/{self.name}"

    @property
    def runs_airflow(self) -> bool:
        return self.kind == AIRFLOW


@dataclass(frozen=True)
class ClientAlias:
    """A Service Connect name other tasks use to reach one of this service's ports."""

    dns_name: str
    port: int
    port_name: str


@dataclass(frozen=True)
class Task:
    service: str
    family: str
    desired_count: int
    containers: tuple[Container, ...]
    aliases: tuple[ClientAlias, ...] = ()


@dataclass(frozen=True)
class Queue:
    name: str
    url: str
    arn: str
    visibility_timeout: int | None
    dead_letter_arn: str | None = None
    max_receive_count: int | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)
    """SQS attributes the queue is created with (its redrive policy included)."""


@dataclass(frozen=True)
class Secret:
    name: str
    arn: str
    value: str | None
    """What the program stores (its shape tells the stand-in what to generate); None when it stores nothing."""
    replica_of: str | None = None
    """For a secret another stack (the primary) replicates into this one's region: the primary's secret ARN."""


@dataclass(frozen=True)
class Function:
    """A Lambda function of the stack, as far as the smoke runs one (the DAG deployment function)."""

    name: str
    handler: str
    environment: Mapping[str, str]
    volume: str | None = None
    """Mount key of the EFS access point it mounts (as for containers), if any."""


@dataclass(frozen=True)
class DatabaseInstance:
    """An RDS instance of the stack, as far as the local server stands in for it."""

    identifier: str
    db_name: str | None
    """The database RDS creates with the instance (owned by the master user)."""
    master_username: str
    engine_version: str
    address: str | None = None
    port: int | None = None


@dataclass(frozen=True)
class SmokePlan:
    stack: str
    region: str
    account: str
    tasks: tuple[Task, ...]
    queues: tuple[Queue, ...]
    buckets: tuple[str, ...]
    secrets: tuple[Secret, ...]
    databases: tuple[DatabaseInstance, ...] = field(default_factory=tuple)
    functions: tuple[Function, ...] = field(default_factory=tuple)
    airflow_image: str = ""
    """The image of every container that runs Airflow (the smoke runs it from image/)."""
    watched: tuple[WatchedMetric, ...] = ()
    """The metrics the stack's alarms watch."""

    @property
    def containers(self) -> list[Container]:
        return [c for t in self.tasks for c in t.containers]

    @property
    def airflow_containers(self) -> list[Container]:
        return [c for c in self.containers if c.runs_airflow]

    @property
    def sidecars(self) -> list[Container]:
        return [c for c in self.containers if not c.runs_airflow]

    @property
    def database_engine_versions(self) -> tuple[str, ...]:
        return tuple(d.engine_version for d in self.databases)

    def master_login(self, container: Container) -> DatabaseInstance | None:
        """The RDS instance whose master login this container fetches itself, if any.

        Only the migration step may use the master login, and it is told which instance to ask RDS about
        (``DescribeDBInstances`` -> the managed secret): a container whose environment names an instance of the
        stack by its identifier is that step. Nothing else in a container definition holds a bare identifier.
        """
        named = set(container.environment.values())
        return next((d for d in self.databases if d.identifier in named), None)

    def master_login_containers(self) -> list[Container]:
        return [c for c in self.containers if self.master_login(c) is not None]

    def queue_by_arn(self, arn: str) -> Queue | None:
        return next((q for q in self.queues if q.arn == arn), None)

    def dead_letter_queues(self) -> list[Queue]:
        targets = {q.dead_letter_arn for q in self.queues if q.dead_letter_arn}
        return [q for q in self.queues if q.arn in targets]

    def secret_for(self, value_from: str) -> tuple[Secret, str | None]:
        """The secret an ECS ``valueFrom`` names, and the JSON key it selects (if any)."""
        base, json_key = split_value_from(value_from)
        for secret in self.secrets:
            if _names_secret(base, secret):
                return secret, json_key
        if ":ssm:" in value_from or value_from.startswith("/"):
            raise PlanError(f"{value_from}: SSM parameters have no stand-in in the smoke yet")
        known = ", ".join(s.name for s in self.secrets) or "none"
        raise PlanError(f"valueFrom {value_from} names no Secrets Manager secret of the stack (secrets: {known})")


_ARN_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")


def split_value_from(value_from: str) -> tuple[str, str | None]:
    """``arn:...:secret:<name>[:json-key[:version-stage[:version-id]]]`` -> (secret ARN, json key)."""
    if not value_from.startswith("arn:"):
        return value_from, None
    parts = value_from.split(":")
    base = ":".join(parts[:7])
    extra = parts[7:]
    if len(extra) >= 2 and (extra[1] or (len(extra) > 2 and extra[2])):
        raise PlanError(f"{value_from}: version stages and ids have no stand-in in the smoke")
    return base, (extra[0] or None) if extra else None


def _names_secret(base: str, secret: Secret) -> bool:
    if base in (secret.arn, secret.name):
        return True
    if not base.startswith("arn:"):
        return False
    name = base.split(":", 6)[6] if base.count(":") >= 6 else ""
    # A partial ARN (no random suffix), or a full ARN whose suffix differs from the one the mocks invented.
    return name == secret.name or (_ARN_SUFFIX.search(name) is not None and _ARN_SUFFIX.sub("", name) == secret.name)
