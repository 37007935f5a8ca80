"""Reading resource properties the way both the Pulumi engine and the offline runner present them.

The pack is self-contained (the Pulumi CLI installs only ``requirements.txt`` next to it), so nothing here
imports the program's own modules; the shared contract is resource properties and tags.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import PolicyResource

SQS_MAX_VISIBILITY_SECONDS = 43_200
CELERY_DEFAULT_VISIBILITY_SECONDS = 86_400
VISIBILITY_ENV = "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT"
TASK_TIMEOUT_ENV = "AIRFLOW__CORE__DEFAULT_TASK_EXECUTION_TIMEOUT"
QUEUES_ENV = "AIRSTACK_CELERY_PREDEFINED_QUEUES"
LONGEST_TASK_TAG = "airstack:longest-task-seconds"
ROLE_TAG = "airstack:role"

QUEUE = "aws:sqs/queue:Queue"
BUCKET = "aws:s3/bucket:Bucket"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
DB_INSTANCE = "aws:rds/instance:Instance"
FILE_SYSTEM = "aws:efs/fileSystem:FileSystem"


def tags_of(props: Mapping[str, Any]) -> dict[str, str]:
    tags = props.get("tags")
    return dict(tags) if isinstance(tags, Mapping) else {}


def as_json(value: Any) -> Any:
    """Policy documents and container definitions arrive as JSON text or as already-parsed values."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return None
    return value


def containers(props: Mapping[str, Any]) -> list[dict[str, Any]]:
    parsed = as_json(props.get("containerDefinitions"))
    return [c for c in parsed if isinstance(c, dict)] if isinstance(parsed, list) else []


def environment(container: Mapping[str, Any]) -> dict[str, str]:
    return {
        str(e.get("name")): str(e.get("value", ""))
        for e in container.get("environment") or []
        if isinstance(e, Mapping) and e.get("name")
    }


def is_airflow(container: Mapping[str, Any]) -> bool:
    env = environment(container)
    return any(k.startswith("AIRFLOW__") for k in env) or "airflow" in str(container.get("image", "")).lower()


def is_celery_on_sqs(env: Mapping[str, str]) -> bool:
    return env.get("AIRFLOW__CELERY__BROKER_URL", "").startswith("sqs")


def as_int(value: Any) -> int | None:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _identities(resource: PolicyResource) -> set[str]:
    props = resource.props
    keys = ("id", "arn", "bucket", "name", "url")
    return {str(props[k]) for k in keys if isinstance(props.get(k), str | int) and props.get(k) != ""}


def refers_to(resource: PolicyResource, prop: str, target: PolicyResource) -> bool:
    """Whether ``resource.<prop>`` points at ``target``: by dependency (preview) or by value (offline, up)."""
    deps = resource.property_dependencies.get(prop) or []
    if any(d.urn == target.urn for d in deps):
        return True
    value = resource.props.get(prop)
    return isinstance(value, str) and value in _identities(target)


def related(resources: Iterable[PolicyResource], typ: str, prop: str, target: PolicyResource) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type == typ and refers_to(r, prop, target)]


def statements(document: Any) -> list[dict[str, Any]]:
    parsed = as_json(document)
    if not isinstance(parsed, Mapping):
        return []
    found = parsed.get("Statement", [])
    found = [found] if isinstance(found, Mapping) else found
    return [s for s in found if isinstance(s, dict)]


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]
