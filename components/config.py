"""The stack configuration model: everything that differs between dev, acc, prod and dr.

``load_stack_config`` validates the ``airstack:*`` and ``aws:region`` keys of one stack and either returns a
``StackConfig`` or raises ``ConfigError`` whose message lists every problem (file, key path, value, what is
allowed). It is called by ``__main__.py`` before any resource exists and by the CLI's ``validate``.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from components.sizing import (
    CLOUDWATCH_RETENTION_DAYS,
    SQS_MAX_VISIBILITY_SECONDS,
    fargate_memory_choices,
    format_duration,
    is_valid_fargate_size,
    longest_task_that_fits,
    parse_duration,
    visibility_timeout_seconds,
)

NAMESPACE = "airstack"
Environment = Literal["dev", "acc", "prod", "dr"]
PROTECTED_ENVIRONMENTS = ("prod", "dr")
"""Environments whose stateful data must survive mistakes: Multi-AZ, deletion protection, protect."""


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True, validate_default=True
    )


def _environment(info: ValidationInfo) -> str | None:
    return (info.context or {}).get("environment")


def _cidr(value: str) -> str:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"not an IPv4 CIDR block like 10.20.0.0/16 ({exc})") from None
    return str(network)


Cidr = Annotated[str, AfterValidator(_cidr)]


def _name(value: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9-]{0,30}[a-z0-9]", value):
        raise ValueError("use 2-32 lowercase letters, digits and hyphens, starting with a letter")
    return value


Name = Annotated[str, AfterValidator(_name)]


def _duration(value: str) -> str:
    parse_duration(value)
    return value


Duration = Annotated[str, AfterValidator(_duration)]

# ---------------------------------------------------------------------------------------------- network

INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "sqs", "sts", "kms", "elasticfilesystem")
NAT_FREE_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "sqs", "sts")
"""What private subnets need to reach when they have no NAT gateway."""


class Network(_Model):
    cidr: Cidr
    az_count: int = Field(default=2, ge=2, le=3)
    nat_strategy: Literal["none", "single", "onePerAz"] = "single"
    interface_endpoints: tuple[Literal[INTERFACE_ENDPOINTS], ...] = ()  # type: ignore[valid-type]

    @field_validator("cidr")
    @classmethod
    def _cidr_size(cls, value: str) -> str:
        prefix = ipaddress.IPv4Network(value).prefixlen
        if not 16 <= prefix <= 22:
            raise ValueError("the VPC needs a /16 to /22 block to fit public, private and isolated subnets")
        return value

    @model_validator(mode="after")
    def _nat_free_needs_endpoints(self) -> Network:
        missing = [e for e in NAT_FREE_ENDPOINTS if e not in self.interface_endpoints]
        if self.nat_strategy == "none" and missing:
            raise ValueError(
                "natStrategy none leaves private subnets without internet access; add interface endpoints "
                + ", ".join(missing)
            )
        return self


# -------------------------------------------------------------------------------------------- metastore


class Metastore(_Model):
    instance_class: Annotated[str, Field(pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$")] = "db.t4g.micro"
    allocated_storage_gb: int = Field(default=20, ge=20, le=65536)
    max_allocated_storage_gb: int | None = Field(default=None, le=65536)
    multi_az: bool = False
    backup_retention_days: int = Field(default=7, ge=1, le=35)
    deletion_protection: bool = False
    engine_version: Annotated[str, Field(pattern=r"^1[6-7](\.\d+)?$")] = "16.6"
    performance_insights: bool = False

    @field_validator("multi_az", "deletion_protection")
    @classmethod
    def _required_in_protected_envs(cls, value: bool, info: ValidationInfo) -> bool:
        env = _environment(info)
        if env in PROTECTED_ENVIRONMENTS and not value:
            raise ValueError(f"a {env} metastore must have this set to true")
        return value

    @field_validator("backup_retention_days")
    @classmethod
    def _retention_in_protected_envs(cls, value: int, info: ValidationInfo) -> int:
        env = _environment(info)
        if env in PROTECTED_ENVIRONMENTS and value < 7:
            raise ValueError(f"a {env} metastore keeps backups for 7 to 35 days")
        return value

    @model_validator(mode="after")
    def _autoscaling_above_allocated(self) -> Metastore:
        if self.max_allocated_storage_gb is not None and self.max_allocated_storage_gb < self.allocated_storage_gb:
            raise ValueError("maxAllocatedStorageGb must be at least allocatedStorageGb")
        return self


# ----------------------------------------------------------------------------------------------- broker


class Broker(_Model):
    type: Literal["sqs"] = "sqs"
    visibility_margin_percent: int = Field(default=25, ge=10, le=200)


class Image(_Model):
    repository: Annotated[str, Field(min_length=1)]
    tag: Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]

    @field_validator("tag")
    @classmethod
    def _pinned_outside_dev(cls, value: str, info: ValidationInfo) -> str:
        env = _environment(info)
        if value == "latest" and env not in (None, "dev"):
            raise ValueError(f"a {env} stack runs a pinned image tag, not latest")
        return value

    @property
    def uri(self) -> str:
        return f"{self.repository}:{self.tag}"


# ---------------------------------------------------------------------------------------------- compute

Architecture = Literal["ARM64", "X86_64"]


class _FargateSize(_Model):
    cpu: int
    memory: int
    architecture: Architecture = "ARM64"

    @model_validator(mode="after")
    def _valid_pair(self) -> _FargateSize:
        if not is_valid_fargate_size(self.cpu, self.memory):
            raise ValueError(
                f"cpu {self.cpu} / memory {self.memory} is not a Fargate size; {fargate_memory_choices(self.cpu)}"
            )
        return self


class ServiceSize(_FargateSize):
    count: int = Field(default=1, ge=0, le=10)


class WorkerSize(_FargateSize):
    spot: bool = False


class Components(_Model):
    api_server: ServiceSize
    scheduler: ServiceSize
    dag_processor: ServiceSize
    triggerer: ServiceSize
    worker: WorkerSize


# ------------------------------------------------------------------------------------------------ teams


class WorkerScaling(_Model):
    min: int = Field(default=0, ge=0, le=50)
    max: int = Field(default=2, ge=1, le=50)

    @model_validator(mode="after")
    def _min_not_above_max(self) -> WorkerScaling:
        if self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class Team(_Model):
    name: Name
    dag_directory: Name | None = None
    queue: Name | None = None
    longest_task: Duration
    workers: WorkerScaling = WorkerScaling()
    concurrency: int = Field(default=8, ge=1, le=64)
    worker_size: WorkerSize | None = None

    @property
    def directory(self) -> str:
        return self.dag_directory or self.name

    @property
    def queue_name(self) -> str:
        return self.queue or self.name

    @property
    def longest_task_seconds(self) -> int:
        return parse_duration(self.longest_task)

    @field_validator("longest_task")
    @classmethod
    def _fits_sqs(cls, value: str, info: ValidationInfo) -> str:
        margin = (info.context or {}).get("visibility_margin_percent")
        if not isinstance(margin, int):
            return value
        needed = visibility_timeout_seconds(parse_duration(value), margin)
        if needed > SQS_MAX_VISIBILITY_SECONDS:
            fits = format_duration(longest_task_that_fits(margin))
            raise ValueError(
                f"with a {margin}% visibility margin this queue needs a visibility timeout of {needed} s, "
                f"above SQS's limit of {SQS_MAX_VISIBILITY_SECONDS} s; split the task so each part ends within "
                f"{fits}, lower broker.visibilityMarginPercent, or run it where the broker has no such limit "
                "(a Redis/ElastiCache broker)"
            )
        return value


# -------------------------------------------------------------------------------------- the rest of it


class Logs(_Model):
    retention_days: int = 30

    @field_validator("retention_days")
    @classmethod
    def _cloudwatch_value(cls, value: int) -> int:
        if value not in CLOUDWATCH_RETENTION_DAYS:
            raise ValueError(
                "CloudWatch Logs accepts only " + ", ".join(str(d) for d in CLOUDWATCH_RETENTION_DAYS) + " days"
            )
        return value


class Buckets(_Model):
    versioning: bool | None = None
    """Versioned buckets; unset means on everywhere but dev."""
    logs_expiration_days: int = Field(default=90, ge=1, le=3650)
    noncurrent_version_days: int = Field(default=30, ge=1, le=3650)

    @field_validator("versioning")
    @classmethod
    def _versioned_in_protected_envs(cls, value: bool | None, info: ValidationInfo) -> bool | None:
        env = _environment(info)
        if value is False and env in PROTECTED_ENVIRONMENTS:
            raise ValueError(f"{env} buckets keep versions so that a bad write or delete can be undone")
        return value


OFFLINE_SECRET_PREFIX = "offline-secret-"
"""What an offline run sees for a ``secure:`` value it cannot decrypt; only the real CLI sees the value."""


def _https_secret(value: str) -> str:
    if not (value.startswith(("https://", OFFLINE_SECRET_PREFIX))):
        raise ValueError("must be an https:// URL")
    return value


class Alerting(_Model):
    emails: tuple[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")], ...] = ()
    webhook_url: Annotated[str, AfterValidator(_https_secret)] | None = None


class Ingress(_Model):
    certificate_arn: Annotated[str, Field(pattern=r"^arn:aws:acm:[a-z0-9-]+:\d{12}:certificate/[A-Za-z0-9-]+$")]
    domain: Annotated[str, Field(pattern=r"^[a-z0-9.-]+\.[a-z]{2,}$")] | None = None
    internet_facing: bool = False
    allowed_cidrs: tuple[Cidr, ...] = ()

    @model_validator(mode="after")
    def _internet_facing_names_who(self) -> Ingress:
        if self.internet_facing and not self.allowed_cidrs:
            raise ValueError("an internet-facing UI lists allowedCidrs (write 0.0.0.0/0 to mean everyone)")
        return self


_CLOCK = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class Schedule(_Model):
    hibernate: bool = False
    stop_at: _CLOCK = "20:00"
    start_at: _CLOCK = "07:00"
    weekdays_only: bool = True
    timezone: Annotated[str, Field(pattern=r"^[A-Za-z_]+(/[A-Za-z_+-]+)*$")] = "UTC"

    @field_validator("hibernate")
    @classmethod
    def _not_in_protected_envs(cls, value: bool, info: ValidationInfo) -> bool:
        env = _environment(info)
        if value and env in PROTECTED_ENVIRONMENTS:
            raise ValueError(f"a {env} stack runs around the clock; hibernation is for dev and acc")
        return value

    def hours_on_per_month(self) -> float:
        """Hours a month the Airflow services run (730 when always on)."""
        if not self.hibernate:
            return 730.0
        start_h, start_m = (int(x) for x in self.start_at.split(":"))
        stop_h, stop_m = (int(x) for x in self.stop_at.split(":"))
        daily = ((stop_h * 60 + stop_m) - (start_h * 60 + start_m)) % (24 * 60) / 60
        days = 21.7 if self.weekdays_only else 30.4
        return round(daily * days, 1)


class DisasterRecovery(_Model):
    role: Literal["none", "primary", "standby"] = "none"
    replica_region: str | None = None
    primary_stack: str | None = None
    primary_region: str | None = None
    active: bool = False

    @model_validator(mode="after")
    def _role_fields(self) -> DisasterRecovery:
        if self.role == "primary" and not self.replica_region:
            raise ValueError("a primary names the replicaRegion its backups are copied to")
        if self.role == "standby" and not (self.primary_stack and self.primary_region):
            raise ValueError("a standby names the primaryStack and primaryRegion it takes over from")
        if self.role != "standby" and self.active:
            raise ValueError("only a standby can be activated")
        return self


REQUIRED_TAGS = ("Owner", "CostCenter")


def _required_tags(value: dict[str, str]) -> dict[str, str]:
    missing = [t for t in REQUIRED_TAGS if not value.get(t)]
    if missing:
        raise ValueError("tags must include " + ", ".join(missing))
    return value


SECRET_KEYS = ("alerting.webhookUrl",)
"""Config paths that hold a secret and must come from `pulumi config set --secret`."""


class StackConfig(_Model):
    """One stack's validated configuration (the ``airstack:`` namespace plus ``aws:region``)."""

    stack: str
    aws_region: Annotated[str, Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")]
    environment: Environment
    network: Network
    metastore: Metastore = Metastore()
    broker: Broker = Broker()
    image: Image
    components: Components
    teams: tuple[Team, ...] = Field(min_length=1)
    logs: Logs = Logs()
    buckets: Buckets = Buckets()
    alerting: Alerting = Alerting()
    ingress: Ingress
    schedule: Schedule = Schedule()
    dr: DisasterRecovery = DisasterRecovery()
    tags: Annotated[dict[str, str], AfterValidator(_required_tags)]

    @field_validator("teams")
    @classmethod
    def _unique_teams(cls, teams: tuple[Team, ...]) -> tuple[Team, ...]:
        problems = []
        for label, values in (
            ("team name", [t.name for t in teams]),
            ("queue", [t.queue_name for t in teams]),
            ("DAG directory", [t.directory for t in teams]),
        ):
            duplicates = sorted({v for v in values if values.count(v) > 1})
            if duplicates:
                problems.append(f"{label} {', '.join(duplicates)} is used by more than one team")
        if problems:
            raise ValueError("; ".join(problems))
        return teams

    @property
    def protected(self) -> bool:
        """Stateful resources are protected against deletion and replacement in this stack."""
        return self.environment in PROTECTED_ENVIRONMENTS

    @property
    def bucket_versioning(self) -> bool:
        return self.buckets.versioning if self.buckets.versioning is not None else self.environment != "dev"

    def visibility_timeout(self, team: Team) -> int:
        return visibility_timeout_seconds(team.longest_task_seconds, self.broker.visibility_margin_percent)

    @property
    def max_visibility_timeout(self) -> int:
        """What a Celery process that talks to every queue (the scheduler) must be configured with."""
        return max(self.visibility_timeout(t) for t in self.teams)

    @property
    def max_task_seconds(self) -> int:
        return max(t.longest_task_seconds for t in self.teams)

    def worker_size(self, team: Team) -> WorkerSize:
        return team.worker_size or self.components.worker

    @property
    def services_running(self) -> bool:
        """A DR standby keeps its Airflow services at zero until it is activated."""
        return self.dr.role != "standby" or self.dr.active


# ----------------------------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class Problem:
    key: str
    value: Any
    message: str

    def render(self) -> str:
        shown = "(missing)" if self.value is _MISSING else _show(self.value)
        return f"{self.key} = {shown}: {self.message}"


_MISSING = object()


def _show(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 80 else text[:77] + "..."


class ConfigError(Exception):
    """A stack's configuration is invalid; ``str()`` is the full, user-facing message."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
        lines = [f"{source} is not a valid airstack stack configuration ({count}):"]
        lines += [f"  - {p.render()}" for p in problems]
        super().__init__("\n".join(lines))


def _spelled(data: Any, loc: Iterable[str | int]) -> list[str | int]:
    """The error's path as the stack file spells it: a defaulted field's error names it multi_az, the file multiAz."""
    parts: list[str | int] = []
    for part in loc:
        present = isinstance(data, Mapping) and part in data
        parts.append(part if present or not isinstance(part, str) else to_camel(part))
        data = _lookup(data, [parts[-1]])
    return parts


def _key_path(loc: Iterable[str | int]) -> str:
    parts = list(loc)
    if not parts:
        return f"{NAMESPACE}:"
    head, rest = parts[0], parts[1:]
    key = "aws:region" if head == "awsRegion" else f"{NAMESPACE}:{head}"
    for part in rest:
        key += f"[{part}]" if isinstance(part, int) else f".{part}"
    return key


def _lookup(data: Any, loc: Iterable[str | int]) -> Any:
    for part in loc:
        # Two branches, not one `or`: each narrows `data` and `part` to a pair the type checker can index.
        if isinstance(data, Mapping) and part in data:  # noqa: SIM114
            data = data[part]
        elif isinstance(data, list | tuple) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return _MISSING
    return data


def _message(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key; check the spelling against Pulumi.dev.yaml and DESIGN.md §3"
    if kind == "missing":
        return "required"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"must be one of {expected}"
    if kind == "string_pattern_mismatch":
        return f"must match {error.get('ctx', {}).get('pattern')}"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _secret_problems(values: Mapping[str, Any], secret_keys: set[str]) -> list[Problem]:
    problems = []
    for path in SECRET_KEYS:
        top, *rest = path.split(".")
        key = f"{NAMESPACE}:{top}"
        value = _lookup(values.get(key), rest)
        if value is not _MISSING and value is not None and key not in secret_keys:
            problems.append(
                Problem(
                    f"{key}.{'.'.join(rest)}",
                    "(plain text, not shown)",
                    f"a secret must not be stored in plain text; run `pulumi config set --secret --path "
                    f"'{key}.{'.'.join(rest)}' <value>`",
                )
            )
    return problems


def load_stack_config(
    values: Mapping[str, Any], *, stack: str, source: str, secret_keys: Iterable[str] = ()
) -> StackConfig:
    """Validate one stack's config values (keys like ``airstack:network``, values already decoded)."""
    data: dict[str, Any] = {"stack": stack}
    problems: list[Problem] = []
    for key, value in values.items():
        namespace, _, name = key.partition(":")
        if key == "aws:region":
            data["awsRegion"] = value
        elif namespace == NAMESPACE:
            data[name] = value
    problems += _secret_problems(values, set(secret_keys))
    # An omitted section is validated from `{}`, not taken as a ready-made default: its checks (a prod metastore
    # must be Multi-AZ, ...) depend on the environment and would otherwise never run.
    for field_name, field in StackConfig.model_fields.items():
        if isinstance(field.default, _Model):
            data.setdefault(to_camel(field_name), {})

    margin = _lookup(data, ["broker", "visibilityMarginPercent"])
    context = {
        "environment": data.get("environment"),
        "visibility_margin_percent": Broker().visibility_margin_percent if margin is _MISSING else margin,
    }
    try:
        config = StackConfig.model_validate(data, context=context)
    except ValidationError as exc:
        for error in exc.errors():
            spelled = _spelled(data, error["loc"])
            problems.append(Problem(_key_path(spelled), _lookup(data, spelled), _message(error)))
        raise ConfigError(source, problems) from None
    if problems:
        raise ConfigError(source, problems)
    return config


def decode_config_value(value: Any) -> Any:
    """Pulumi hands structured config to programs as JSON text; plain strings stay strings."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value
