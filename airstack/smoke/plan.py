"""What the smoke runs, read from a planned stack (the real program under mocks). Pure: no processes here.

Everything comes from the resources themselves (task definitions, services, queues, buckets, secrets, access
points, alarms), never from airstack's naming conventions, so the smoke runs whatever the program renders. The
model it reads them into is ``airstack.smoke.model`` (its names are importable from here too).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from airstack.offline import ProgramRun, Resource
from airstack.smoke.model import (
    ECS_DEFAULT_STOP_TIMEOUT,
    MOTO_DEFAULT_ACCOUNT,
    ClientAlias,
    Container,
    DatabaseInstance,
    Function,
    Mount,
    PlanError,
    PortMapping,
    Queue,
    Secret,
    SecretRef,
    SmokePlan,
    Task,
    split_value_from,
)
from airstack.smoke.sidecars import AIRFLOW, SidecarError, agent_listener, sidecar_kind, watched_metrics

__all__ = [
    "ECS_DEFAULT_STOP_TIMEOUT",
    "MOTO_DEFAULT_ACCOUNT",
    "ClientAlias",
    "Container",
    "DatabaseInstance",
    "Function",
    "Mount",
    "PlanError",
    "PortMapping",
    "Queue",
    "Secret",
    "SecretRef",
    "SmokePlan",
    "Task",
    "replicas",
    "smoke_plan",
    "split_value_from",
]

TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
SERVICE = "aws:ecs/service:Service"
QUEUE = "aws:sqs/queue:Queue"
BUCKET = "aws:s3/bucket:Bucket"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
ACCESS_POINT = "aws:efs/accessPoint:AccessPoint"
DB_INSTANCE = "aws:rds/instance:Instance"
FUNCTION = "aws:lambda/function:Function"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"

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
        image=str(definition.get("image") or ""),
        kind=sidecar_kind(str(definition.get("image") or "")) or AIRFLOW,
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


def replicas(primary: ProgramRun, region: str) -> tuple[Secret, ...]:
    """The secrets ``primary`` replicates into ``region`` (``replicas``), as they are there: same name and value,
    the ARN in that region. A standby's containers read these; the standby's own program creates none of them."""
    found = []
    for secret, resource in zip(_secrets(primary), primary.by_type(SECRET), strict=True):
        regions = {str(r.get("region")) for r in resource.inputs.get("replicas") or [] if isinstance(r, Mapping)}
        if region not in regions:
            continue
        parts = secret.arn.split(":")
        arn = ":".join([*parts[:3], region, *parts[4:]]) if secret.arn.startswith("arn:") else secret.name
        found.append(Secret(secret.name, arn, secret.value, replica_of=secret.arn))
    return tuple(found)


def _airflow_image(containers: Sequence[Container]) -> str:
    """The one image the stack's Airflow containers run; PlanError naming any container whose image is neither
    it nor a sidecar the smoke stands in for."""
    others = [c for c in containers if c.runs_airflow]
    configured = sorted({c.image for c in others if any(k.startswith("AIRFLOW__") for k in c.environment)})
    if len(configured) > 1:
        raise PlanError(
            f"the stack's Airflow containers run {len(configured)} images ({', '.join(configured)}): the smoke runs "
            "one, built from image/"
        )
    image = configured[0] if configured else (others[0].image if others else "")
    for c in others:
        if c.image != image:
            raise PlanError(
                f"{c.key}: image {c.image or '(none)'} has no stand-in in the smoke, which runs the stack's Airflow "
                f"image ({image}) from image/ and stands in for the CloudWatch agent only"
            )
    for c in containers:
        if not c.runs_airflow:
            try:
                agent_listener(c.key, c.environment)
            except SidecarError as error:
                raise PlanError(str(error)) from None
    return image


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


def smoke_plan(run: ProgramRun, primary: ProgramRun | None = None) -> SmokePlan:
    """The tasks, queues, buckets and secrets of a planned stack; PlanError for what has no stand-in.

    ``primary``: for a standby, its primary planned, whose secrets replicated into this region the standby's
    containers read.
    """
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
    image = _airflow_image([c for t in tasks for c in t.containers])
    own = _secrets(run)
    replicated = replicas(primary, region) if primary is not None else ()
    return SmokePlan(
        stack=run.stack,
        region=region,
        account=account,
        tasks=tuple(tasks),
        queues=tuple(_queue(q, region, account) for q in run.by_type(QUEUE)),
        buckets=tuple(str(_value(b, "bucket") or _value(b, "id")) for b in run.by_type(BUCKET)),
        secrets=own + tuple(r for r in replicated if r.name not in {s.name for s in own}),
        databases=tuple(_database(d) for d in run.by_type(DB_INSTANCE)),
        functions=_functions(run, roots),
        airflow_image=image,
        watched=tuple(
            m for a in run.by_type(METRIC_ALARM) for m in watched_metrics(str(_value(a, "name") or a.name), a.inputs)
        ),
    )
