"""``airstack:broker``, ``image``, ``components`` and ``teams``: what runs, how big, and for whom."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from components.config._base import (
    PROTECTED_ENVIRONMENTS,
    Bool,
    Count,
    Duration,
    Int,
    Name,
    Str,
    _Model,
    context_value,
    environment_of,
)
from components.config.aws import ECS_IMAGE_MAX, ecr_region, repository_problem
from components.config.broker import BrokerType, RedisBroker, longest_task_problem
from components.sizing import fargate_memory_choices, is_valid_fargate_size, parse_duration


class Broker(_Model):
    type: BrokerType = "sqs"
    """``sqs``: one SQS queue per team queue. ``redis``: an ElastiCache replication group (``redis``) for tasks
    longer than SQS's 12 h visibility allows."""
    visibility_margin_percent: Int = Field(default=25, ge=10, le=200)
    redis: RedisBroker | None = None
    """Read with ``type: redis`` only; its defaults apply when it is left out."""

    @field_validator("redis")
    @classmethod
    def _only_for_redis(cls, value: RedisBroker | None, info: ValidationInfo) -> RedisBroker | None:
        kind = info.data.get("type")
        if kind == "redis" and value is None:
            # Validated like a written section, so that its defaults follow the environment.
            return RedisBroker.model_validate({}, context=info.context)
        if kind not in (None, "redis") and value is not None:
            raise ValueError(f"is read only with broker.type redis (this stack's broker is {kind}): remove it")
        return value


class Image(_Model):
    repository: Str
    tag: Str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
    manage_repository: Bool = False
    """This stack creates and owns the ECR repository (scan on push, immutable tags, lifecycle); stacks that
    share an account and region refer to the owner's repository by its URI."""

    @field_validator("repository")
    @classmethod
    def _reference(cls, value: str) -> str:
        problem = repository_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("tag")
    @classmethod
    def _pinned_outside_dev(cls, value: str, info: ValidationInfo) -> str:
        env = environment_of(info)
        if value == "latest" and env not in (None, "dev"):
            raise ValueError(f"a {env} stack runs a pinned image tag, not latest")
        repository = info.data.get("repository")
        if isinstance(repository, str) and len(f"{repository}:{value}") > ECS_IMAGE_MAX:
            raise ValueError(f"ECS takes an image reference (repository:tag) of at most {ECS_IMAGE_MAX} characters")
        return value

    @field_validator("manage_repository")
    @classmethod
    def _owned_repository_is_here(cls, value: bool, info: ValidationInfo) -> bool:
        repository, region = info.data.get("repository"), context_value(info, "region")
        if value and isinstance(repository, str) and ecr_region(repository) != region:
            raise ValueError(
                f"a stack creates only an ECR repository of its own region ({region}): set image.repository to "
                f"<account>.dkr.ecr.{region}.amazonaws.com/<name>"
            )
        return value

    @property
    def uri(self) -> str:
        return f"{self.repository}:{self.tag}"

    @property
    def repository_name(self) -> str:
        """The repository's name in its registry (``<registry>/<name>`` without the registry)."""
        return self.repository.split("/", 1)[1] if "/" in self.repository else self.repository


# ---------------------------------------------------------------------------------------------- compute

Architecture = Literal["ARM64", "X86_64"]


class _FargateSize(_Model):
    cpu: Int
    memory: Int
    architecture: Architecture = "ARM64"

    @model_validator(mode="after")
    def _valid_pair(self) -> _FargateSize:
        if not is_valid_fargate_size(self.cpu, self.memory):
            raise ValueError(
                f"cpu {self.cpu} / memory {self.memory} is not a Fargate size; {fargate_memory_choices(self.cpu)}"
            )
        return self


class ServiceSize(_FargateSize):
    count: Count = Field(default=1, le=10)


class WorkerSize(_FargateSize):
    spot: Bool = False


MINIMUM_COUNTS: dict[str, tuple[int, int]] = {
    "api_server": (1, 2),
    "scheduler": (1, 2),
    "dag_processor": (1, 1),
    "triggerer": (0, 1),
}
"""Tasks per service (anywhere, in prod and dr): no UI or no scheduling is an outage, and prod survives the loss
of one task. A DR standby keeps them at zero until it is activated; these are its counts once active."""


class Components(_Model):
    api_server: ServiceSize
    scheduler: ServiceSize
    dag_processor: ServiceSize
    triggerer: ServiceSize
    worker: WorkerSize

    @field_validator("api_server", "scheduler", "dag_processor", "triggerer")
    @classmethod
    def _enough_tasks(cls, value: ServiceSize, info: ValidationInfo) -> ServiceSize:
        anywhere, protected = MINIMUM_COUNTS[str(info.field_name)]
        env = environment_of(info)
        needed = protected if env in PROTECTED_ENVIRONMENTS else anywhere
        if value.count < needed:
            where = f"a {env} stack" if env in PROTECTED_ENVIRONMENTS else "every stack"
            raise ValueError(f"{where} runs at least {needed} of these (count {value.count})")
        return value


# ------------------------------------------------------------------------------------------------ teams


class WorkerScaling(_Model):
    min: Int = Field(default=0, ge=0, le=50)
    max: Int = Field(default=2, ge=1, le=50)

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
    concurrency: Int = Field(default=8, ge=1, le=64)
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
    def _fits_broker(cls, value: str, info: ValidationInfo) -> str:
        margin = context_value(info, "visibility_margin_percent")
        broker = context_value(info, "broker_type")
        if type(margin) is not int or broker not in ("sqs", "redis"):
            return value  # the broker section reports it
        problem = longest_task_problem(broker, parse_duration(value), margin)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("workers")
    @classmethod
    def _workers_run_without_queue_metrics(cls, value: WorkerScaling, info: ValidationInfo) -> WorkerScaling:
        if context_value(info, "broker_type") == "redis" and value.min < 1:
            raise ValueError(
                "with broker.type redis a team's workers do not scale on their queue's length (ElastiCache "
                "publishes no metric per Celery queue), so they run workers.min tasks: set min to at least 1"
            )
        return value
