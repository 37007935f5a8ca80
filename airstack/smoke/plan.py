"""What the smoke runs, read from a planned stack (the real program under mocks). Pure: no processes here.

Everything comes from the resources themselves (task definitions, services, queues, buckets, secrets, access
points), never from airstack's naming conventions, so the smoke runs whatever the program renders.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airstack.offline import ProgramRun, Resource

TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
SERVICE = "aws:ecs/service:Service"
QUEUE = "aws:sqs/queue:Queue"
BUCKET = "aws:s3/bucket:Bucket"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
ACCESS_POINT = "aws:efs/accessPoint:AccessPoint"
DB_INSTANCE = "aws:rds/instance:Instance"
FUNCTION = "aws:lambda/function:Function"
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

    @property
    def key(self) -> str:
        return f"{self.task}/{self.name}"


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

    @property
    def containers(self) -> list[Container]:
        return [c for t in self.tasks for c in t.containers]

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


# ------------------------------------------------------------------------------------------ from a plan


def _number(value: Any, default: int | None = None) -> int | None:
    return default if value is None else int(float(value))


def _value(resource: Resource, key: str) -> Any:
    """An output if the provider computed one, else the input."""
    return resource.outputs.get(key, resource.inputs.get(key))


def _access_point_roots(run: ProgramRun) -> dict[str, str]:
    roots = {}
    for ap in run.by_type(ACCESS_POINT):
        root = (ap.inputs.get("rootDirectory") or {}).get("path") or "/"
        fs = ap.inputs.get("fileSystemId", "")
        for key in {ap.outputs.get("id"), ap.outputs.get("arn")} - {None}:
            roots[str(key)] = f"efs/{fs}{root}"
    return roots


def _volumes(task_definition: Resource, service: str, roots: Mapping[str, str]) -> dict[str, str]:
    """Task definition volume name -> storage key: an EFS access point is shared, anything else is the task's."""
    keys = {}
    for volume in task_definition.inputs.get("volumes") or []:
        efs = volume.get("efsVolumeConfiguration")
        name = volume["name"]
        if efs:
            ap = (efs.get("authorizationConfig") or {}).get("accessPointId")
            root = efs.get("rootDirectory") or "/"
            keys[name] = (
                roots.get(ap, f"efs/{efs.get('fileSystemId')}/{ap}") if ap else f"efs/{efs['fileSystemId']}{root}"
            )
        else:
            keys[name] = f"task/{service}/{name}"
    return keys


def _container(definition: Mapping[str, Any], service: str, volumes: Mapping[str, str]) -> Container:
    name = definition["name"]
    for unsupported in ("environmentFiles", "entryPoint"):
        if definition.get(unsupported):
            raise PlanError(f"{service}/{name}: `{unsupported}` has no stand-in in the smoke")
    mounts = []
    for mount in definition.get("mountPoints") or []:
        if mount["sourceVolume"] not in volumes:
            raise PlanError(f"{service}/{name}: mounts volume {mount['sourceVolume']!r}, which its task lacks")
        mounts.append(Mount(mount["containerPath"], volumes[mount["sourceVolume"]], bool(mount.get("readOnly"))))
    return Container(
        task=service,
        name=name,
        command=tuple(definition.get("command") or ()),
        environment={e["name"]: str(e["value"]) for e in definition.get("environment") or []},
        secrets=tuple(SecretRef(s["name"], s["valueFrom"]) for s in definition.get("secrets") or []),
        essential=bool(definition.get("essential", True)),
        depends_on=tuple((d["containerName"], d["condition"]) for d in definition.get("dependsOn") or []),
        ports=tuple(PortMapping(int(p["containerPort"]), p.get("name")) for p in definition.get("portMappings") or []),
        mounts=tuple(mounts),
        stop_timeout=_number(definition.get("stopTimeout"), ECS_DEFAULT_STOP_TIMEOUT) or ECS_DEFAULT_STOP_TIMEOUT,
    )


def _task_definition_of(service: Resource, definitions: Sequence[Resource]) -> Resource:
    ref = str(service.inputs.get("taskDefinition", ""))
    for definition in definitions:
        family = definition.inputs.get("family")
        if ref in (definition.outputs.get("arn"), definition.outputs.get("id"), family):
            return definition
        if family and (ref.endswith(f"task-definition/{family}") or re.search(rf"[/:]?{re.escape(family)}:\d+$", ref)):
            return definition
    raise PlanError(f"service {service.inputs.get('name', service.name)}: task definition {ref!r} is not in the plan")


def _aliases(service: Resource) -> tuple[ClientAlias, ...]:
    config = service.inputs.get("serviceConnectConfiguration") or {}
    aliases = []
    for entry in config.get("services") or []:
        for alias in entry.get("clientAlias") or []:
            dns_name = alias.get("dnsName") or entry.get("discoveryName") or entry["portName"]
            aliases.append(ClientAlias(dns_name, int(float(alias["port"])), entry["portName"]))
    return tuple(aliases)


def _account(run: ProgramRun) -> str:
    for resource in run.resources:
        arn = str(resource.outputs.get("arn") or "")
        parts = arn.split(":")
        if arn.startswith("arn:") and len(parts) > 4 and parts[4].isdigit():
            return parts[4]
    return MOTO_DEFAULT_ACCOUNT


QUEUE_ATTRIBUTES = {
    # Pulumi input -> SQS attribute
    "visibilityTimeoutSeconds": "VisibilityTimeout",
    "messageRetentionSeconds": "MessageRetentionPeriod",
    "receiveWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
    "delaySeconds": "DelaySeconds",
    "maxMessageSize": "MaximumMessageSize",
}


def _queue(resource: Resource, region: str, account: str) -> Queue:
    name = str(_value(resource, "name") or resource.name)
    redrive = resource.inputs.get("redrivePolicy")
    policy = json.loads(redrive) if isinstance(redrive, str) and redrive else (redrive or {})
    attributes = {
        attribute: str(_number(resource.inputs[key]))
        for key, attribute in QUEUE_ATTRIBUTES.items()
        if resource.inputs.get(key) is not None
    }
    if policy:
        attributes["RedrivePolicy"] = json.dumps(policy)
    if resource.inputs.get("fifoQueue"):
        attributes["FifoQueue"] = "true"
    return Queue(
        name=name,
        url=str(resource.outputs.get("url") or f"https://sqs.{region}.amazonaws.com/{account}/{name}"),
        arn=str(resource.outputs.get("arn") or f"arn:aws:sqs:{region}:{account}:{name}"),
        visibility_timeout=_number(resource.inputs.get("visibilityTimeoutSeconds")),
        dead_letter_arn=policy.get("deadLetterTargetArn"),
        max_receive_count=_number(policy.get("maxReceiveCount")),
        attributes=attributes,
    )


def _secrets(run: ProgramRun) -> tuple[Secret, ...]:
    values: dict[str, str] = {}
    for version in run.by_type(SECRET_VERSION):
        if isinstance(version.inputs.get("secretString"), str):
            values[str(version.inputs.get("secretId"))] = version.inputs["secretString"]
    secrets = []
    for resource in run.by_type(SECRET):
        name = str(_value(resource, "name") or resource.name)
        arn = str(resource.outputs.get("arn") or resource.outputs.get("id") or name)
        refs = (arn, str(resource.outputs.get("id")), name)
        secrets.append(Secret(name, arn, next((values[r] for r in refs if r in values), None)))
    return tuple(secrets)


def _database(resource: Resource) -> DatabaseInstance:
    return DatabaseInstance(
        identifier=str(_value(resource, "identifier") or resource.name),
        db_name=str(resource.inputs["dbName"]) if resource.inputs.get("dbName") else None,
        # RDS's default master user name when the program names none.
        master_username=str(resource.inputs.get("username") or "postgres"),
        engine_version=str(resource.inputs.get("engineVersion", "")),
        address=str(resource.outputs["address"]) if resource.outputs.get("address") else None,
        port=_number(resource.inputs.get("port")),
    )


def _functions(run: ProgramRun, roots: Mapping[str, str]) -> tuple[Function, ...]:
    functions = []
    for resource in run.by_type(FUNCTION):
        mount = resource.inputs.get("fileSystemConfig") or {}
        functions.append(
            Function(
                name=str(_value(resource, "name") or resource.name),
                handler=str(resource.inputs.get("handler") or ""),
                environment={
                    k: str(v) for k, v in ((resource.inputs.get("environment") or {}).get("variables") or {}).items()
                },
                volume=roots.get(str(mount.get("arn"))) if mount else None,
            )
        )
    return tuple(functions)


def smoke_plan(run: ProgramRun) -> SmokePlan:
    """The tasks, queues, buckets and secrets of a planned stack; PlanError for what has no stand-in."""
    region = run.region
    account = _account(run)
    roots = _access_point_roots(run)
    definitions = run.by_type(TASK_DEFINITION)
    tasks = []
    for service in run.by_type(SERVICE):
        definition = _task_definition_of(service, definitions)
        name = str(service.inputs.get("name") or service.name)
        volumes = _volumes(definition, name, roots)
        raw = definition.inputs.get("containerDefinitions")
        containers = json.loads(raw) if isinstance(raw, str) else raw
        if not isinstance(containers, list):
            raise PlanError(f"service {name}: its container definitions are not known at plan time")
        tasks.append(
            Task(
                service=name,
                family=str(definition.inputs.get("family") or definition.name),
                desired_count=_number(service.inputs.get("desiredCount"), 1) or 0,
                containers=tuple(_container(c, name, volumes) for c in containers),
                aliases=_aliases(service),
            )
        )
    if not tasks:
        raise PlanError(f"stack {run.stack} has no ECS service to run")
    return SmokePlan(
        stack=run.stack,
        region=region,
        account=account,
        tasks=tuple(tasks),
        queues=tuple(_queue(q, region, account) for q in run.by_type(QUEUE)),
        buckets=tuple(str(_value(b, "bucket") or _value(b, "id")) for b in run.by_type(BUCKET)),
        secrets=_secrets(run),
        databases=tuple(_database(d) for d in run.by_type(DB_INSTANCE)),
        functions=_functions(run, roots),
    )
