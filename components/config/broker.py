"""``airstack:broker.redis``: the ElastiCache replication group a Redis broker runs on, and each broker's limits.

SQS caps a message's visibility timeout at 12 h, so a task longer than that (with its margin) cannot run on SQS.
ElastiCache has no such cap; what bounds a task there is ECS: a worker's scale-in protection, renewed when a task
starts, lasts at most 48 h (``ECS_MAX_PROTECTION_MINUTES``), so a longer task could be stopped by a scale-in.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from components.config._base import PROTECTED_ENVIRONMENTS, Bool, Int, Str, _Model, context_value, environment_of
from components.sizing import (
    SQS_MAX_VISIBILITY_SECONDS,
    format_duration,
    longest_task_that_fits,
    visibility_timeout_seconds,
)

BrokerType = Literal["sqs", "redis"]
Engine = Literal["valkey", "redis"]

ENGINE_VERSIONS: dict[str, dict[str, str]] = {
    "valkey": {"7.2": "valkey7", "8.0": "valkey8", "8.1": "valkey8", "8.2": "valkey8"},
    "redis": {"6.2": "redis6.x", "7.0": "redis7", "7.1": "redis7"},
}
"""Engine -> version -> parameter group family: the versions ElastiCache offers for node-based replication groups
with TLS, an AUTH token and Multi-AZ (the ElastiCache user guide's "Supported engines and versions"; Redis OSS
stops at 7.1 there)."""
DEFAULT_VERSIONS = {"valkey": "8.1", "redis": "7.1"}

_SIZES = ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge")
_SIZES_M5 = ("large", "xlarge", "2xlarge", "4xlarge", "12xlarge", "24xlarge")
NODE_FAMILIES: dict[str, tuple[str, ...]] = {
    "t3": ("micro", "small", "medium"), "t4g": ("micro", "small", "medium"),
    "m5": _SIZES_M5, "m6g": _SIZES, "m7g": _SIZES,
    "r5": _SIZES_M5, "r6g": _SIZES, "r7g": _SIZES,
}  # fmt: skip
"""Current-generation ElastiCache node types (the ElastiCache API reference's ``CacheNode``), without the
data-tiering r6gd, whose SSD tier a broker does not use; a type may still be missing in a region, which only
ElastiCache can say."""
NODE_TYPES = frozenset(f"cache.{family}.{size}" for family, sizes in NODE_FAMILIES.items() for size in sizes)
MAX_REPLICAS = 5
"""A replication group without cluster mode has a primary and up to five replicas."""

ECS_MAX_PROTECTION_MINUTES = 2880
"""The longest scale-in protection ECS grants a task (48 h); the image's hook refuses more."""


def node_type_problem(value: str) -> str | None:
    if value in NODE_TYPES:
        return None
    parts = value.split(".")
    family = parts[1] if len(parts) == 3 and parts[0] == "cache" else None
    if family in NODE_FAMILIES:
        return f"cache.{family} comes in " + ", ".join(NODE_FAMILIES[family])
    return "not a current-generation ElastiCache node type; families: " + ", ".join(f"cache.{f}" for f in NODE_FAMILIES)


def protection_minutes(visibility_timeout_seconds: int) -> int:
    """How long a worker stays protected from scale-in after a task starts (``airflow_settings`` renders it)."""
    return math.ceil(visibility_timeout_seconds / 60) + 1


def longest_redis_task_that_fits(margin_percent: int) -> int:
    """The longest task (seconds) whose worker's scale-in protection still fits in the 48 h ECS grants."""
    visibility = (ECS_MAX_PROTECTION_MINUTES - 1) * 60
    return math.floor(visibility * 100 / (100 + margin_percent))


def longest_task_problem(broker: object, longest_task_seconds: int, margin: int) -> str | None:
    """Why a team's longest task cannot run on this broker, or None."""
    needed = visibility_timeout_seconds(longest_task_seconds, margin)
    if broker == "redis":
        minutes = protection_minutes(needed)
        if minutes <= ECS_MAX_PROTECTION_MINUTES:
            return None
        fits = format_duration(longest_redis_task_that_fits(margin))
        return (
            f"with a {margin}% visibility margin this team's workers need a scale-in protection of {minutes} minutes "
            f"while the task runs, above the {ECS_MAX_PROTECTION_MINUTES} (48 h) ECS grants: split the task so each "
            f"part ends within {fits}, or lower broker.visibilityMarginPercent"
        )
    if needed <= SQS_MAX_VISIBILITY_SECONDS:
        return None
    fits = format_duration(longest_task_that_fits(margin))
    return (
        f"with a {margin}% visibility margin this queue needs a visibility timeout of {needed} s, "
        f"above SQS's limit of {SQS_MAX_VISIBILITY_SECONDS} s; split the task so each part ends within "
        f"{fits}, lower broker.visibilityMarginPercent, or set broker.type: redis (an ElastiCache broker, "
        "which has no such limit)"
    )


class RedisBroker(_Model):
    """The replication group: TLS and an AUTH token always, one primary plus ``replicas``, Multi-AZ where HA."""

    engine: Engine = "valkey"
    engine_version: Str | None = None
    """Major.minor (``"8.1"``); unset: the engine's default (``DEFAULT_VERSIONS``)."""
    node_type: Str = "cache.t4g.small"
    multi_az: Bool | None = None
    """Unset: as the stack's metastore (``metastore.multiAz``, required in prod and dr)."""
    replicas: Int | None = Field(default=None, ge=0, le=MAX_REPLICAS)
    """Read replicas beside the primary; unset: one where Multi-AZ (a standby to fail over to), else none."""

    @field_validator("engine_version")
    @classmethod
    def _offered_version(cls, value: str | None, info: ValidationInfo) -> str | None:
        engine = info.data.get("engine")
        if engine not in ENGINE_VERSIONS:
            return value  # the engine's own error says what is allowed
        if value is None:
            return DEFAULT_VERSIONS[engine]
        if value not in ENGINE_VERSIONS[engine]:
            offered = '", "'.join(ENGINE_VERSIONS[engine])
            raise ValueError(f'write a {engine} version in quotes, one of "{offered}"')
        return value

    @field_validator("node_type")
    @classmethod
    def _offered_node_type(cls, value: str) -> str:
        problem = node_type_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("multi_az")
    @classmethod
    def _highly_available(cls, value: bool | None, info: ValidationInfo) -> bool:
        env = environment_of(info)
        if value is None:
            return context_value(info, "metastore_multi_az") is True or env in PROTECTED_ENVIRONMENTS
        if env in PROTECTED_ENVIRONMENTS and not value:
            raise ValueError(
                f"a {env} broker is Multi-AZ with automatic failover, like its metastore: a lost node would "
                "otherwise stop every task from being scheduled; set it to true or leave it out"
            )
        return value

    @field_validator("replicas")
    @classmethod
    def _standby_for_failover(cls, value: int | None, info: ValidationInfo) -> int:
        multi_az = info.data.get("multi_az")
        if value is None:
            return 1 if multi_az else 0
        if multi_az and value < 1:
            raise ValueError("Multi-AZ fails over to a replica in another Availability Zone: use at least 1")
        return value

    @property
    def version(self) -> str:
        return self.engine_version or DEFAULT_VERSIONS[self.engine]

    @property
    def parameter_family(self) -> str:
        return ENGINE_VERSIONS[self.engine][self.version]

    @property
    def nodes(self) -> int:
        """Primary and replicas: ElastiCache's ``num_cache_clusters``."""
        return 1 + (self.replicas or 0)
