"""AWS's documented rules that neither botocore nor moto enforce, as pure checks for the replay (``tests.replay``).

botocore validates types, required members and minimum lengths; the service model also carries maximum lengths,
ranges, enums and patterns, which only the service enforces (``model_problems``). moto accepts much that AWS refuses:
identity policies with a principal, trust policies without one, unknown actions, SQS attributes out of range, rule
descriptions with characters EC2 rejects. Each check returns messages; an empty list means accepted.
"""

from __future__ import annotations

import functools
import json
import re
import zoneinfo
from collections.abc import Iterator
from typing import Any

from tests.replay.policies import arn_problems

# ------------------------------------------------------------------------------------------ service model


def model_problems(operation: Any, params: dict[str, Any]) -> list[str]:
    """Maximum lengths, numeric ranges, enums and patterns of the model, which botocore leaves to the service."""
    if operation.input_shape is None:
        return []
    return list(_walk(operation.input_shape, params, ""))


def _walk(shape: Any, value: Any, path: str) -> Iterator[str]:  # noqa: PLR0912
    """``shape`` is a botocore ``Shape`` (untyped: its members are cached properties)."""
    meta: dict[str, Any] = shape.metadata
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = shape.members
        for key, item in value.items():
            if key in members:
                yield from _walk(members[key], item, f"{path}.{key}" if path else key)
        return
    if kind == "list" and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            yield f"{path}: {len(value)} items, at most {meta['max']}"
        for n, item in enumerate(value):
            yield from _walk(shape.member, item, f"{path}[{n}]")
        return
    if kind == "map" and isinstance(value, dict):
        if "max" in meta and len(value) > meta["max"]:
            yield f"{path}: {len(value)} entries, at most {meta['max']}"
        for key, item in value.items():
            yield from _walk(shape.key, key, f"{path} key {key!r}")
            yield from _walk(shape.value, item, f"{path}[{key!r}]")
        return
    if kind == "string" and isinstance(value, str):
        if "max" in meta and len(value) > meta["max"]:
            yield f"{path}: {len(value)} characters, at most {meta['max']}"
        if shape.enum and value not in shape.enum:
            yield f"{path}: {value!r} is not one of {', '.join(shape.enum)}"
        # Smithy patterns are not anchored: a search, as the model defines it.
        if "pattern" in meta and not _pattern(meta["pattern"]).search(value):
            yield f"{path}: {_shorten(value)!r} does not match {meta['pattern']}"
        return
    if kind in ("integer", "long", "double", "float") and isinstance(value, int | float):
        if "min" in meta and value < meta["min"]:
            yield f"{path}: {value} is below the minimum {meta['min']}"
        if "max" in meta and value > meta["max"]:
            yield f"{path}: {value} is above the maximum {meta['max']}"


@functools.cache
def _pattern(java: str) -> Any:
    """A model pattern (Java regex) compiled for Python: UTF-16 surrogate ranges and \\p{...} classes translated."""
    translated = java.replace("\\uD800\\uDC00-\\uDBFF\\uDFFF", "\\U00010000-\\U0010FFFF").replace("\\w-_", "\\w\\-_")
    try:
        return re.compile(translated)
    except re.error:
        # Unicode property classes (\p{L}) need the `regex` module, which moto[server] brings (via cfn-lint).
        import regex

        return regex.compile(translated)


def _shorten(value: str) -> str:
    return value if len(value) <= 80 else value[:77] + "..."


# ------------------------------------------------------------------------------------------------ tags

_TAG_CHARS = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*"


def tag_problems(tags: dict[str, str] | None) -> list[str]:
    """The tag rules every service shares: 50 per resource, key 1-128, value 0-256, no `aws:` prefix, charset."""
    problems: list[str] = []
    tags = tags or {}
    if len(tags) > 50:
        problems.append(f"{len(tags)} tags, at most 50 per resource")
    for key, value in tags.items():
        if not 1 <= len(key) <= 128:
            problems.append(f"tag key {key!r}: 1 to 128 characters")
        if len(str(value)) > 256:
            problems.append(f"tag {key!r}: value of {len(str(value))} characters, at most 256")
        if key.lower().startswith("aws:"):
            problems.append(f"tag key {key!r}: the aws: prefix is reserved")
        for text in (key, str(value)):
            if not _pattern(f"^{_TAG_CHARS}$").match(text):
                problems.append(f"tag {key!r}: {text!r} has characters outside letters, digits, spaces and _.:/=+-@")
    return problems


# --------------------------------------------------------------------------------------------------- EC2

# EC2's message: "Valid descriptions are strings less than 256 characters from the following set:
# a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*" (security groups in a VPC and their rules).
_EC2_DESCRIPTION = re.compile(r"[a-zA-Z0-9. _\-:/()#,@\[\]+=&;{}!$*]{0,255}")


def ec2_description_problems(description: str | None, what: str) -> list[str]:
    if description is None or _EC2_DESCRIPTION.fullmatch(description):
        return []
    bad = sorted({c for c in description if not _EC2_DESCRIPTION.fullmatch(c)})
    return [
        f"{what} {description!r}: EC2 accepts only a-zA-Z0-9. _-:/()#,@[]+=&;{{}}!$* (at most 255); "
        f"not {' '.join(repr(c) for c in bad) or 'this length'}"
    ]


# --------------------------------------------------------------------------------------------------- SQS

_SQS_RANGES = {
    "VisibilityTimeout": (0, 43200),
    "MessageRetentionPeriod": (60, 1209600),
    "ReceiveMessageWaitTimeSeconds": (0, 20),
    "DelaySeconds": (0, 900),
    "MaximumMessageSize": (1024, 262144),
    "KmsDataKeyReusePeriodSeconds": (60, 86400),
}


def sqs_problems(name: str, attributes: dict[str, str]) -> list[str]:
    problems: list[str] = []
    fifo = attributes.get("FifoQueue") == "true"
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,75}(\.fifo)?" if fifo else r"[A-Za-z0-9_-]{1,80}", name):
        problems.append(f"queue name {name!r}: 1-80 letters, digits, - and _ (a FIFO queue ends in .fifo)")
    for key, (low, high) in _SQS_RANGES.items():
        if key in attributes and not low <= int(attributes[key]) <= high:
            problems.append(f"{key} {attributes[key]}: SQS allows {low} to {high}")
    if attributes.get("SqsManagedSseEnabled") == "true" and "KmsMasterKeyId" in attributes:
        problems.append("SqsManagedSseEnabled and KmsMasterKeyId exclude each other")
    if "RedrivePolicy" in attributes:
        redrive = json.loads(attributes["RedrivePolicy"])
        if set(redrive) != {"deadLetterTargetArn", "maxReceiveCount"}:
            problems.append(f"RedrivePolicy has {sorted(redrive)}, not deadLetterTargetArn and maxReceiveCount")
        if not 1 <= int(redrive.get("maxReceiveCount", 0)) <= 1000:
            problems.append(f"maxReceiveCount {redrive.get('maxReceiveCount')}: 1 to 1000")
        problems += arn_problems(redrive.get("deadLetterTargetArn"), "deadLetterTargetArn")
    return problems


# ---------------------------------------------------------------------------------------------- schedules


def schedule_problems(schedule: str, timezone: str | None) -> list[str]:
    """Application Auto Scaling's at(...), rate(...) and six-field cron(...) expressions and IANA time zones."""
    problems: list[str] = []
    if timezone is not None and timezone not in zoneinfo.available_timezones():
        problems.append(f"time zone {timezone!r} is not an IANA time zone")
    if re.fullmatch(r"at\(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\)", schedule):
        return problems
    if re.fullmatch(r"rate\(([1-9]\d*) (minute|minutes|hour|hours|day|days)\)", schedule):
        rate = re.fullmatch(r"rate\((\d+) (\w+)\)", schedule)
        if rate and (rate[1] == "1") != (not rate[2].endswith("s")):
            problems.append(f"{schedule!r}: rate(1 unit) is singular, larger values plural")
        return problems
    cron = re.fullmatch(r"cron\((.*)\)", schedule)
    if cron is None:
        return [*problems, f"{schedule!r} is not at(...), rate(...) or cron(...)"]
    fields = cron[1].split(" ")
    if len(fields) != 6:
        return [*problems, f"{schedule!r}: cron has six fields (minutes hours day-of-month month day-of-week year)"]
    minute, hour, dom, month, dow, year = fields
    patterns = {
        "minutes": (minute, r"[0-5]?\d"), "hours": (hour, r"(1?\d|2[0-3])"), "day-of-month": (dom, r"([12]?\d|3[01])W?|L"),
        "month": (month, r"(1[0-2]|[1-9]|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)"),
        "day-of-week": (dow, r"([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)(#[1-5]|L)?"), "year": (year, r"(19[7-9]\d|2[01]\d\d)"),
    }  # fmt: skip
    for label, (text, atom) in patterns.items():
        item = rf"(\*|{atom}(-{atom})?)(/\d+)?"
        if text != "?" and not re.fullmatch(rf"{item}(,{item})*", text):
            problems.append(f"{schedule!r}: {label} field {text!r} is not valid")
    if (dom == "?") == (dow == "?"):
        problems.append(f"{schedule!r}: exactly one of day-of-month and day-of-week must be '?'")
    return problems


LOG_RETENTION_DAYS = frozenset({1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                                2557, 2922, 3288, 3653})  # fmt: skip


# --------------------------------------------------------------------------------------------------- ECS

_ECS_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
# Fargate's task sizes: CPU units -> allowed memory (MiB).
FARGATE_SIZES = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
    8192: tuple(range(16384, 61441, 4096)),
    16384: tuple(range(32768, 122881, 8192)),
}
TASK_DEFINITION_MAX_BYTES = 64 * 1024


def task_definition_problems(params: dict[str, Any], region: str) -> list[str]:  # noqa: PLR0912
    """ECS's documented rules for a RegisterTaskDefinition request that botocore and moto do not check."""
    problems: list[str] = []
    size = len(json.dumps(params, separators=(",", ":")).encode())
    if size > TASK_DEFINITION_MAX_BYTES:
        problems.append(f"the task definition is {size} bytes, ECS accepts at most {TASK_DEFINITION_MAX_BYTES}")
    if not _ECS_NAME.fullmatch(params.get("family", "")):
        problems.append(f"family {params.get('family')!r}: up to 255 letters, digits, - and _")
    containers: list[dict[str, Any]] = params.get("containerDefinitions", [])
    names = [c.get("name", "") for c in containers]
    by_name = {c.get("name"): c for c in containers}
    volumes = {v.get("name"): v for v in params.get("volumes", [])}
    fargate = "FARGATE" in params.get("requiresCompatibilities", [])
    if len(set(names)) != len(names):
        problems.append(f"container names repeat: {names}")
    if not any(c.get("essential", True) for c in containers):
        problems.append("no container is essential")
    port_names = [p["name"] for c in containers for p in c.get("portMappings", []) if "name" in p]
    if len(set(port_names)) != len(port_names):
        problems.append(f"port mapping names repeat across containers: {port_names}")
    if fargate:
        problems += _fargate_problems(params, containers)
    for c in containers:
        where = f"container {c.get('name')!r}"
        if not _ECS_NAME.fullmatch(c.get("name", "")):
            problems.append(f"{where}: a name has up to 255 letters, digits, - and _")
        for dep in c.get("dependsOn", []):
            target = by_name.get(dep.get("containerName"))
            condition = dep.get("condition")
            if target is None or target is c:
                problems.append(f"{where}: dependsOn {dep.get('containerName')!r} is not another container")
            elif condition in ("SUCCESS", "COMPLETE") and target.get("essential", True):
                problems.append(f"{where}: dependsOn {condition} of {target['name']!r}, which is essential")
            elif condition == "HEALTHY" and "healthCheck" not in target:
                problems.append(f"{where}: dependsOn HEALTHY of {target['name']!r}, which has no health check")
        for secret in c.get("secrets", []):
            value = secret.get("valueFrom", "")
            if value.startswith("arn:") and not re.match(r"arn:[a-z-]+:(secretsmanager|ssm):", value):
                problems.append(f"{where}: secret {secret.get('name')} valueFrom {value!r} is not a Secrets "
                                "Manager secret or SSM parameter")  # fmt: skip
            elif value.startswith("arn:"):
                problems += [f"{where}: secret {secret.get('name')}: {p}" for p in arn_problems(value, "valueFrom")]
            elif not re.fullmatch(r"[A-Za-z0-9_.\-/]+", value):
                problems.append(f"{where}: secret {secret.get('name')} valueFrom {value!r} is neither an ARN nor "
                                "an SSM parameter name")  # fmt: skip
        for mount in c.get("mountPoints", []):
            if mount.get("sourceVolume") not in volumes:
                problems.append(f"{where}: mount point of unknown volume {mount.get('sourceVolume')!r}")
        for mapping in c.get("portMappings", []):
            if params.get("networkMode") == "awsvpc" and mapping.get("hostPort", mapping.get("containerPort")) != \
                    mapping.get("containerPort"):  # fmt: skip
                problems.append(f"{where}: with awsvpc, hostPort equals containerPort")
        log = c.get("logConfiguration") or {}
        if log.get("logDriver") == "awslogs":
            options = log.get("options", {})
            if "awslogs-group" not in options:
                problems.append(f"{where}: awslogs needs awslogs-group")
            if options.get("awslogs-region") not in (None, region):
                problems.append(f"{where}: awslogs-region {options.get('awslogs-region')} is not the task's {region}")
            if fargate and "awslogs-stream-prefix" not in options:
                problems.append(f"{where}: on Fargate, awslogs needs awslogs-stream-prefix")
    for volume in volumes.values():
        efs = volume.get("efsVolumeConfiguration")
        if efs is None:
            continue
        auth = efs.get("authorizationConfig") or {}
        if (auth.get("iam") == "ENABLED" or auth.get("accessPointId")) and efs.get("transitEncryption") != "ENABLED":
            problems.append(f"volume {volume['name']!r}: IAM authorization and access points need transit encryption")
        if auth.get("accessPointId") and efs.get("rootDirectory", "/") != "/":
            problems.append(f"volume {volume['name']!r}: with an access point, rootDirectory is omitted or '/'")
    return problems


def _fargate_problems(params: dict[str, Any], containers: list[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    if params.get("networkMode") != "awsvpc":
        problems.append(f"Fargate needs networkMode awsvpc, not {params.get('networkMode')!r}")
    try:
        cpu, memory = int(params["cpu"]), int(params["memory"])
    except (KeyError, ValueError):
        return [*problems, "Fargate needs task-level cpu and memory"]
    if memory not in FARGATE_SIZES.get(cpu, ()):
        problems.append(f"cpu {cpu} with memory {memory} is not a Fargate task size")
    if sum(int(c.get("cpu", 0)) for c in containers) > cpu:
        problems.append("the containers' cpu exceeds the task's")
    if sum(int(c.get("memoryReservation", c.get("memory", 0))) for c in containers) > memory:
        problems.append("the containers' memory exceeds the task's")
    for c in containers:
        if int(c.get("stopTimeout", 0)) > 120:
            problems.append(f"container {c.get('name')!r}: stopTimeout {c['stopTimeout']}, Fargate allows 120")
        for key in ("links", "privileged", "hostname", "devices", "dockerSecurityOptions"):
            if c.get(key):
                problems.append(f"container {c.get('name')!r}: Fargate does not support {key}")
    return problems
