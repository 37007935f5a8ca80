"""Reading resource properties the way the Pulumi engine hands them to a policy pack.

The analyzer gives rules ``pulumi_policy`` proxies — a ``Mapping`` for objects and a ``Sequence`` for lists,
never ``dict``/``list`` — whose items raise ``UnknownValueError`` when the value is not known yet (on a
preview, before the resource that computes it exists); numbers arrive as floats. Rules therefore test for
``Mapping``/``Sequence``, read what may be unknown with ``peek`` (which answers ``UNKNOWN`` instead of
raising), relate resources by their property dependencies (known on a preview) rather than by IDs and ARNs
(not known until ``up``), and let a value that really decides the outcome raise, so that the engine reports
"can't run during preview" instead of a wrong verdict.

The pack is self-contained (the Pulumi CLI installs only ``requirements.txt`` next to it), so nothing here
imports the program's own modules; the shared contract is resource properties and tags.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource
from pulumi_policy.proxy import UnknownValueError

SQS_MAX_VISIBILITY_SECONDS = 43_200
CELERY_DEFAULT_VISIBILITY_SECONDS = 86_400
VISIBILITY_ENV = "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT"
TASK_TIMEOUT_ENV = "AIRFLOW__CORE__DEFAULT_TASK_EXECUTION_TIMEOUT"
QUEUES_ENV = "AIRSTACK_CELERY_PREDEFINED_QUEUES"
LONGEST_TASK_TAG = "airstack:longest-task-seconds"
ROLE_TAG = "airstack:role"

QUEUE = "aws:sqs/queue:Queue"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
BUCKETS = (BUCKET, BUCKET_V2)
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
DB_INSTANCE = "aws:rds/instance:Instance"
DB_CLUSTER = "aws:rds/cluster:Cluster"
DB_CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
FILE_SYSTEM = "aws:efs/fileSystem:FileSystem"
SERVICE = "aws:ecs/service:Service"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
LOAD_BALANCER = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LISTENER = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
EC2_INSTANCE = "aws:ec2/instance:Instance"
SUBNET = "aws:ec2/subnet:Subnet"
BROKER_URL_ENV = "AIRFLOW__CELERY__BROKER_URL"
BROKER_KIND_ENV = "AIRSTACK_CELERY_BROKER"
"""airstack's word for the broker's kind (``redis``) where its URL is an ECS secret, whose value no rule sees."""
TRANSPORT_OPTIONS_PREFIX = "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__"

_SENTINELS = frozenset(
    {
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
        "030794c1-ac77-496b-92df-f27374a8bd58",
        "e48ece36-62e2-4504-bad9-02848725956a",
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
    }
)


class _Unknown:
    """A value the engine does not know yet."""

    def __repr__(self) -> str:
        return "<unknown>"

    def __bool__(self) -> bool:
        return True  # an unknown value is set; it is only not known


UNKNOWN: Any = _Unknown()


def is_unknown(value: Any) -> bool:
    return value is UNKNOWN or (isinstance(value, str) and value in _SENTINELS)


def peek(props: Any, key: Any, default: Any = None) -> Any:
    """``props[key]``; ``UNKNOWN`` if it is not known yet; ``default`` if it is absent or props is no mapping."""
    if not isinstance(props, Mapping):
        return default
    try:
        value = props[key]
    except KeyError:
        return default
    except UnknownValueError:
        return UNKNOWN
    return UNKNOWN if is_unknown(value) else value


def is_sequence(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def items(value: Any) -> list[Any]:
    """A list's elements (unknown ones as ``UNKNOWN``); a single value as a one-element list; None as []."""
    if value is None:
        return []
    if is_unknown(value):
        return [UNKNOWN]
    if not is_sequence(value):
        return [value]
    found = []
    for index in range(len(value)):
        try:
            element = value[index]
        except UnknownValueError:
            element = UNKNOWN
        found.append(UNKNOWN if is_unknown(element) else element)
    return found


def plain(value: Any) -> Any:
    """Proxies and nested proxies as plain dicts and lists; unknown values as ``UNKNOWN``."""
    if isinstance(value, Mapping):
        return {str(k): plain(peek(value, k)) for k in value}
    if is_sequence(value):
        return [plain(v) for v in items(value)]
    return UNKNOWN if is_unknown(value) else value


def tags_of(props: Any) -> dict[str, Any]:
    tags = peek(props, "tags")
    return plain(tags) if isinstance(tags, Mapping) else {}


def as_json(value: Any) -> Any:
    """Policy documents and container definitions arrive as JSON text or as already-parsed values."""
    if is_unknown(value):
        return UNKNOWN
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return None
    return plain(value)


def containers(props: Any) -> list[dict[str, Any]]:
    """A task definition's container definitions; reading them on a preview raises if they are not known."""
    raw = props["containerDefinitions"] if isinstance(props, Mapping) and "containerDefinitions" in props else None
    parsed = as_json(raw)
    return [c for c in parsed if isinstance(c, dict)] if isinstance(parsed, list) else []


def environment(container: Mapping[str, Any]) -> dict[str, str]:
    return {
        str(e.get("name")): str(e.get("value", ""))
        for e in items(container.get("environment"))
        if isinstance(e, Mapping) and e.get("name")
    }


def is_airflow(container: Mapping[str, Any]) -> bool:
    env = environment(container)
    return any(k.startswith("AIRFLOW__") for k in env) or "airflow" in str(container.get("image", "")).lower()


def is_celery_on_sqs(env: Mapping[str, str]) -> bool:
    return celery_broker(env) == "sqs"


def celery_broker(env: Mapping[str, str], secret_names: Iterable[str] = ()) -> str | None:
    """``sqs`` or ``redis`` (brokers whose messages come back after a visibility timeout), ``other`` for Celery
    on a broker of unknown kind (its URL passed as a secret, no kind said), None for a process without Celery."""
    url = env.get(BROKER_URL_ENV, "") or env.get(BROKER_KIND_ENV, "")
    if url.startswith("sqs"):
        return "sqs"
    if url.startswith(("redis://", "rediss://", "sentinel://")) or url == "redis":
        return "redis"
    names = set(env) | set(secret_names)
    celery = (
        bool(url)
        or "Celery" in env.get("AIRFLOW__CORE__EXECUTOR", "")
        or any(n.startswith((BROKER_URL_ENV, TRANSPORT_OPTIONS_PREFIX)) for n in names)
    )
    return "other" if celery else None


def secret_names(container: Mapping[str, Any]) -> list[str]:
    """Names of a container's ECS secrets (values by reference: their values are not in the definition)."""
    return [str(s.get("name")) for s in items(container.get("secrets")) if isinstance(s, Mapping) and s.get("name")]


def as_int(value: Any) -> int | None:
    if is_unknown(value) or isinstance(value, bool):
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def depends_on(resource: PolicyResource, prop: str, target: PolicyResource) -> bool:
    """``resource.<prop>`` was computed from ``target`` (a property dependency: known on a preview too)."""
    return any(d.urn == target.urn for d in resource.property_dependencies.get(prop) or [])


def _identities(resource: PolicyResource) -> set[str]:
    values = (peek(resource.props, k) for k in ("id", "arn", "bucket", "name", "url"))
    return {str(v) for v in values if isinstance(v, str | int) and v != "" and not is_unknown(v)}


def refers_to(resource: PolicyResource, prop: str, target: PolicyResource) -> bool:
    """Whether ``resource.<prop>`` points at ``target``: by dependency, or by value when both are known."""
    if depends_on(resource, prop, target):
        return True
    value = peek(resource.props, prop)
    return isinstance(value, str) and not is_unknown(value) and value in _identities(target)


def related(resources: Iterable[PolicyResource], typ: str, prop: str, target: PolicyResource) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type == typ and refers_to(r, prop, target)]


def refers_to_any(resource: PolicyResource, prop: str, target: PolicyResource) -> bool:
    """Whether ``resource.<prop>`` (a list, or an object holding lists) names ``target``: by dependency, or by
    one of its identities appearing anywhere in the value once known."""
    if depends_on(resource, prop, target):
        return True
    identities = _identities(target)
    return bool(identities) and bool(identities & set(_strings_in(plain(peek(resource.props, prop)))))


def _strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings_in(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings_in(v)]
    return []


def statements(document: Any) -> list[dict[str, Any]]:
    parsed = as_json(document)
    if not isinstance(parsed, dict):
        return []
    found = parsed.get("Statement", [])
    found = [found] if isinstance(found, dict) else found
    return [s for s in found if isinstance(s, dict)] if isinstance(found, list) else []


RESTRICTING_CONDITION_KEYS = frozenset(
    k.lower()
    for k in (
        "aws:SourceArn", "aws:SourceAccount", "aws:SourceOwner", "aws:SourceOrgID", "aws:SourceOrgPaths",
        "aws:PrincipalOrgID", "aws:PrincipalOrgPaths", "aws:PrincipalAccount", "aws:PrincipalArn",
        "aws:PrincipalServiceName", "aws:SourceVpc", "aws:SourceVpce", "aws:SourceIp", "aws:VpcSourceIp",
        "aws:userid", "aws:username", "kms:CallerAccount", "kms:ViaService", "lambda:FunctionArn",
    )
)  # fmt: skip
"""Condition keys that narrow *who* may act; ``aws:SecureTransport`` and the like do not."""


def everyone_allowed(statement: dict[str, Any]) -> bool:
    """An ``Allow`` for any principal (``*``, ``{"AWS": "*"}``) that no condition narrows to known callers."""
    if statement.get("Effect") != "Allow":
        return False
    principal = statement.get("Principal")
    if principal == "*":
        anyone = True
    elif isinstance(principal, dict):
        anyone = any("*" in as_list(v) for v in principal.values())
    else:
        anyone = False
    if not anyone:
        return False
    condition = statement.get("Condition")
    keys = {str(k).lower() for op in (condition or {}).values() if isinstance(op, dict) for k in op}
    return not keys & RESTRICTING_CONDITION_KEYS


def as_list(value: Any) -> list[Any]:
    """A plain value or list as a list (a JSON policy's ``"Action": "s3:*"`` or ``["s3:*"]``)."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    if is_sequence(value):
        return items(value)
    return [value]
