"""``airstack:metastore``: the RDS for PostgreSQL instance behind Airflow."""

from __future__ import annotations

import re

from pydantic import Field, ValidationInfo, field_validator

from components.config._base import PROTECTED_ENVIRONMENTS, Bool, Int, Str, _Model, environment_of
from components.config.aws import (
    GP3_MAX_GB,
    GP3_MIN_GB,
    POSTGRES_MAJOR_VERSIONS,
    instance_class_problem,
)

AUTOSCALING_HEADROOM_PERCENT = 10
"""RDS: the maximum storage threshold is at least 10% more than the allocated storage."""


def minimum_max_allocated_gb(allocated_gb: int) -> int:
    return -(-allocated_gb * (100 + AUTOSCALING_HEADROOM_PERCENT) // 100)


class Metastore(_Model):
    instance_class: Str = "db.t4g.micro"
    allocated_storage_gb: Int = Field(default=20, ge=GP3_MIN_GB, le=GP3_MAX_GB)
    max_allocated_storage_gb: Int | None = Field(default=None, le=GP3_MAX_GB)
    multi_az: Bool = False
    backup_retention_days: Int = Field(default=7, ge=1, le=35)
    deletion_protection: Bool = False
    auto_minor_version_upgrade: Bool = True
    engine_version: Str = "16"
    """A PostgreSQL major ("16"): RDS picks the newest minor and keeps it current. A full version ("16.6") only
    with ``auto_minor_version_upgrade`` off: an automatic upgrade would otherwise show up as a downgrade."""
    performance_insights: Bool = False

    @property
    def engine_major(self) -> str:
        return self.engine_version.split(".")[0]

    @field_validator("instance_class")
    @classmethod
    def _offered_class(cls, value: str) -> str:
        problem = instance_class_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("engine_version")
    @classmethod
    def _supported_version(cls, value: str, info: ValidationInfo) -> str:
        major, _, minor = value.partition(".")
        if major not in POSTGRES_MAJOR_VERSIONS or (minor and not re.fullmatch(r"\d{1,3}", minor)):
            raise ValueError(
                'write a PostgreSQL major version in quotes, one of "'
                + '", "'.join(POSTGRES_MAJOR_VERSIONS)
                + '" (or a full version like "16.6" with autoMinorVersionUpgrade: false)'
            )
        if minor and info.data.get("auto_minor_version_upgrade", True):
            raise ValueError(
                "a full version pins a minor that RDS upgrades automatically, and the next refresh would show a "
                f'downgrade: write "{major}", or set autoMinorVersionUpgrade: false to stay on this minor'
            )
        return value

    @field_validator("max_allocated_storage_gb")
    @classmethod
    def _autoscaling_headroom(cls, value: int | None, info: ValidationInfo) -> int | None:
        allocated = info.data.get("allocated_storage_gb")
        if value is not None and isinstance(allocated, int) and value < minimum_max_allocated_gb(allocated):
            raise ValueError(
                f"RDS needs the autoscaling ceiling at least 10% above allocatedStorageGb {allocated}, so at "
                f"least {minimum_max_allocated_gb(allocated)}; leave it out to turn storage autoscaling off"
            )
        return value

    @field_validator("multi_az", "deletion_protection")
    @classmethod
    def _required_in_protected_envs(cls, value: bool, info: ValidationInfo) -> bool:
        env = environment_of(info)
        if env in PROTECTED_ENVIRONMENTS and not value:
            raise ValueError(f"a {env} metastore must have this set to true")
        return value

    @field_validator("backup_retention_days")
    @classmethod
    def _retention_in_protected_envs(cls, value: int, info: ValidationInfo) -> int:
        env = environment_of(info)
        if env in PROTECTED_ENVIRONMENTS and value < 7:
            raise ValueError(f"a {env} metastore keeps backups for 7 to 35 days")
        return value
