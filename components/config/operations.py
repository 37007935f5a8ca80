"""``airstack:logs``, ``buckets``, ``alerting``, ``ingress``, ``schedule``, ``dr`` and ``deployment``."""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationInfo, field_validator, model_validator

from components.config._base import (
    PROTECTED_ENVIRONMENTS,
    STACK_NAME_PATTERN,
    Bool,
    Int,
    Str,
    _Model,
    context_value,
    environment_of,
)
from components.config.aws import (
    ACM_FIRST_NAME_MAX,
    CERTIFICATE_ARN,
    CERTIFICATE_ID,
    HOSTED_ZONE_ID,
    REGION_PARTITION,
    RULES_PER_SECURITY_GROUP,
    domain_problem,
    region_problem,
    time_zones,
)
from components.config.network import Cidr, duplicates
from components.sizing import CLOUDWATCH_RETENTION_DAYS

OFFLINE_SECRET_PREFIX = "offline-secret-"
"""What an offline run sees for a ``secure:`` value it cannot decrypt; only the real CLI sees the value."""


class Logs(_Model):
    retention_days: Int = 30

    @field_validator("retention_days")
    @classmethod
    def _cloudwatch_value(cls, value: int) -> int:
        if value not in CLOUDWATCH_RETENTION_DAYS:
            raise ValueError(
                "CloudWatch Logs accepts only " + ", ".join(str(d) for d in CLOUDWATCH_RETENTION_DAYS) + " days"
            )
        return value


class Buckets(_Model):
    versioning: Bool | None = None
    """Versioned buckets; unset means on everywhere but dev."""
    logs_expiration_days: Int = Field(default=90, ge=1, le=3650)
    noncurrent_version_days: Int = Field(default=30, ge=1, le=3650)
    artifacts_expiration_days: Int = Field(default=180, ge=7, le=3650)
    """How long DAG releases stay in the artifacts bucket (the current one lives on EFS)."""

    @field_validator("versioning")
    @classmethod
    def _versioned_in_protected_envs(cls, value: bool | None, info: ValidationInfo) -> bool | None:
        env = environment_of(info)
        if value is False and env in PROTECTED_ENVIRONMENTS:
            raise ValueError(f"{env} buckets keep versions so that a bad write or delete can be undone")
        return value


# ------------------------------------------------------------------------------------------- alerting


def _https_secret(value: str) -> str:
    if value.startswith(OFFLINE_SECRET_PREFIX):
        return value
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError("must be an https:// URL")
    return value


class Alerting(_Model):
    emails: tuple[Str, ...] = ()
    webhook_url: Str | None = None

    @field_validator("emails")
    @classmethod
    def _addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [e for e in value if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", e)]
        if bad:
            raise ValueError(f"not an email address: {', '.join(bad)}")
        repeated = duplicates([e.lower() for e in value])
        if repeated:
            raise ValueError(f"{', '.join(repeated)} listed more than once (SNS keeps one subscription per address)")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        return None if value is None else _https_secret(value)

    @model_validator(mode="after")
    def _someone_is_told(self, info: ValidationInfo) -> Alerting:
        env = environment_of(info)
        if env in PROTECTED_ENVIRONMENTS and not (self.emails or self.webhook_url):
            raise ValueError(f"a {env} stack alerts someone: list emails or set a webhookUrl")
        return self


# -------------------------------------------------------------------------------------------- ingress


def _certificate_problem(arn: str, region: str | None) -> str | None:
    match = CERTIFICATE_ARN.match(arn)
    if not match:
        return "not an ACM certificate ARN like arn:aws:acm:<region>:<account>:certificate/<id>"
    problems = []
    if not re.fullmatch(r"\d{12}", match["account"]):
        problems.append(f"the account {match['account']!r} is not 12 digits")
    if not CERTIFICATE_ID.match(match["id"]):
        problems.append(f"the certificate id {match['id']!r} is not an ACM id (a lowercase UUID)")
    if region in REGION_PARTITION:
        if match["region"] != region:
            problems.append(
                f"the certificate is in {match['region']}, but a load balancer only uses certificates of its own "
                f"region ({region}): request or import it there"
            )
        if match["partition"] != REGION_PARTITION[region]:
            problems.append(f"ARNs of {region} start with arn:{REGION_PARTITION[region]}:")
    return "; ".join(problems) or None


class Ingress(_Model):
    certificate_arn: Str | None = None
    """Bring your own ACM certificate (of the stack's region); or give ``hosted_zone_id`` and ``domain``."""
    hosted_zone_id: Str | None = None
    """A Route 53 public hosted zone: airstack requests the certificate, validates it through DNS and adds the
    alias record of ``domain`` for the load balancer."""
    domain: Str | None = None
    internet_facing: Bool = False
    allowed_cidrs: tuple[Cidr, ...] = ()
    waf: Bool | None = None
    """A web ACL with AWS's managed rules in front of the UI (FSBP ELB.16); unset: on when internet-facing."""

    @property
    def creates_certificate(self) -> bool:
        return self.hosted_zone_id is not None

    @property
    def web_acl(self) -> bool:
        return self.waf if self.waf is not None else self.internet_facing

    @field_validator("certificate_arn")
    @classmethod
    def _certificate(cls, value: str | None, info: ValidationInfo) -> str | None:
        region = context_value(info, "region")
        problem = None if value is None else _certificate_problem(value, region if isinstance(region, str) else None)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("hosted_zone_id")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None and not HOSTED_ZONE_ID.match(value):
            raise ValueError("not a Route 53 hosted zone id like Z0123456789ABCDEFGHIJ")
        return value

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        problem = None if value is None else domain_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("allowed_cidrs")
    @classmethod
    def _fits_the_security_group(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        repeated = duplicates(value)
        if repeated:
            raise ValueError(f"{', '.join(repeated)} listed more than once (a security group refuses a duplicate rule)")
        most = RULES_PER_SECURITY_GROUP // 2
        if len(value) > most:
            raise ValueError(
                f"{len(value)} CIDRs; each takes two rules (443 and 80) of the load balancer's security group, "
                f"which holds {RULES_PER_SECURITY_GROUP}: list at most {most}, or use a prefix list"
            )
        return value

    @model_validator(mode="after")
    def _one_way_to_a_certificate(self) -> Ingress:
        if self.certificate_arn and self.hosted_zone_id:
            raise ValueError(
                "give either certificateArn (your certificate) or hostedZoneId with domain (airstack requests one), "
                "not both"
            )
        if not self.certificate_arn and not self.hosted_zone_id:
            raise ValueError(
                "HTTPS needs a certificate: set hostedZoneId and domain (airstack requests and validates one in "
                "Route 53) or certificateArn (an ACM certificate in the stack's region)"
            )
        if self.hosted_zone_id and not self.domain:
            raise ValueError("hostedZoneId needs the domain the UI is served at (a name in that zone)")
        if self.hosted_zone_id and self.domain and len(self.domain) > ACM_FIRST_NAME_MAX:
            raise ValueError(f"ACM certificates name a domain of at most {ACM_FIRST_NAME_MAX} characters")
        if self.internet_facing and not self.allowed_cidrs:
            raise ValueError("an internet-facing UI lists allowedCidrs (write 0.0.0.0/0 to mean everyone)")
        return self


# ------------------------------------------------------------------------------------------- schedule

_CLOCK = r"^([01]\d|2[0-3]):[0-5]\d$"


class Schedule(_Model):
    hibernate: Bool = False
    stop_at: Str = Field(default="20:00", pattern=_CLOCK)
    start_at: Str = Field(default="07:00", pattern=_CLOCK)
    weekdays_only: Bool = True
    timezone: Str = "UTC"

    @field_validator("hibernate")
    @classmethod
    def _not_in_protected_envs(cls, value: bool, info: ValidationInfo) -> bool:
        env = environment_of(info)
        if value and env in PROTECTED_ENVIRONMENTS:
            raise ValueError(f"a {env} stack runs around the clock; hibernation is for dev and acc")
        return value

    @field_validator("start_at")
    @classmethod
    def _starts_when_it_does_not_stop(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("hibernate") and value == info.data.get("stop_at"):
            raise ValueError("startAt equals stopAt: the services would stop and start in the same minute")
        return value

    @field_validator("timezone")
    @classmethod
    def _iana(cls, value: str) -> str:
        if value not in time_zones():
            hint = "" if time_zones() else " (this machine has no time zone database: install tzdata)"
            raise ValueError(f"not an IANA time zone like Europe/Amsterdam or UTC{hint}")
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


# ----------------------------------------------------------------------------------------- dr, deploy


def _other_region(value: str | None, info: ValidationInfo) -> str | None:
    if value is None:
        return value
    problem = region_problem(value)
    if problem:
        raise ValueError(problem)
    region = context_value(info, "region")
    if value == region:
        raise ValueError(f"{value} is the stack's own region; a disaster in it would take both copies")
    if region in REGION_PARTITION and REGION_PARTITION[region] != REGION_PARTITION[value]:
        raise ValueError(f"{value} is in another partition than {region}")
    return value


QUALIFIED_STACK = re.compile(r"(?P<org>[A-Za-z0-9][A-Za-z0-9_.-]*)/(?P<project>[A-Za-z0-9_.-]+)/(?P<stack>[^/]+)")
"""``<organization>/<project>/<stack>``, as a Pulumi stack reference names another project's or org's stack."""
FILE_SYSTEM_ID = re.compile(r"fs-[0-9a-f]{8}(?:[0-9a-f]{9})?")
AUTOMATED_BACKUP_ARN = re.compile(
    r"arn:(?P<partition>[a-z-]+):rds:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):auto-backup:ab-[a-z0-9]+"
)


class DisasterRecovery(_Model):
    role: Literal["none", "primary", "standby"] = "none"
    replica_region: Str | None = None
    """A primary's DR region: its backups, secrets, image, DAG file system and buckets are copied there."""
    standby_stack: Str | None = None
    """A primary's standby stack (same account): its logs and data buckets receive this stack's objects. Unset, S3
    is not replicated (the standby's buckets must exist, versioned, before the rules can name them)."""
    standby_file_system_id: Str | None = None
    """A primary's standby DAG file system (``pulumi stack output dagFileSystemId -s <standby>``), which EFS
    replicates this stack's DAG file system into. Unset, the DAG file system is not replicated."""
    replication_time_control: Bool = False
    """S3 Replication Time Control on a primary's rules: 99.99% of objects copied within 15 minutes (paid)."""
    primary_stack: Str | None = None
    """A standby's primary: a stack of this project and organization (``prod``) or ``<org>/<project>/<stack>``."""
    primary_region: Str | None = None
    active: Bool = False
    """A standby takes over: its database is restored from the primary's replicated backups, its services start."""
    backup_replica_arn: Str | None = None
    """Break-glass for an active standby: restore from these replicated automated backups (an ARN of this stack's
    region) instead of the ARN the primary stack exports."""

    @field_validator("replica_region", "primary_region")
    @classmethod
    def _elsewhere(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _other_region(value, info)

    @field_validator("primary_stack")
    @classmethod
    def _a_stack(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        qualified = QUALIFIED_STACK.fullmatch(value)
        name = qualified["stack"] if qualified else value
        if not STACK_NAME_PATTERN.fullmatch(name):
            raise ValueError(
                "not a stack name (lowercase letters, digits and single hyphens), or <organization>/<project>/<stack>"
            )
        if name == context_value(info, "stack") and not qualified:
            raise ValueError("a standby takes over from another stack, not from itself")
        return value

    @field_validator("standby_stack")
    @classmethod
    def _standby_name(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and not STACK_NAME_PATTERN.fullmatch(value):
            raise ValueError("not a stack name (lowercase letters, digits and single hyphens)")
        if value is not None and value == context_value(info, "stack"):
            raise ValueError("a primary replicates into another stack's buckets, not into its own")
        return value

    @field_validator("standby_file_system_id")
    @classmethod
    def _file_system(cls, value: str | None) -> str | None:
        if value is not None and not FILE_SYSTEM_ID.fullmatch(value):
            raise ValueError("not an EFS file system id like fs-0123456789abcdef0 (the standby's dagFileSystemId)")
        return value

    @field_validator("backup_replica_arn")
    @classmethod
    def _replicated_backups(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        match = AUTOMATED_BACKUP_ARN.fullmatch(value)
        if not match:
            raise ValueError(
                "not the ARN of replicated automated backups (arn:aws:rds:<region>:<account>:auto-backup:ab-...); "
                "`aws rds describe-db-instance-automated-backups --region <this region>` lists them"
            )
        region = context_value(info, "region")
        if isinstance(region, str) and match["region"] != region:
            raise ValueError(
                f"these backups are in {match['region']}; a standby restores from the copies in its own region "
                f"({region})"
            )
        return value

    @model_validator(mode="after")
    def _role_fields(self) -> DisasterRecovery:
        if self.role == "primary" and not self.replica_region:
            raise ValueError("a primary names the replicaRegion its backups are copied to")
        if self.role == "standby" and not (self.primary_stack and self.primary_region):
            raise ValueError("a standby names the primaryStack and primaryRegion it takes over from")
        if self.role != "standby" and self.active:
            raise ValueError("only a standby can be activated")
        primary_only = [
            key
            for key, value in (
                ("standbyStack", self.standby_stack),
                ("standbyFileSystemId", self.standby_file_system_id),
                ("replicationTimeControl", self.replication_time_control or None),
            )
            if value is not None
        ]
        if self.role != "primary" and primary_only:
            raise ValueError(f"{', '.join(primary_only)}: only a primary replicates (role is {self.role})")
        if self.role != "standby" and self.backup_replica_arn:
            raise ValueError("backupReplicaArn: only a standby restores from replicated backups")
        return self

    @property
    def primary_stack_name(self) -> str | None:
        """The primary's stack name (the last part of a qualified reference)."""
        if self.primary_stack is None:
            return None
        qualified = QUALIFIED_STACK.fullmatch(self.primary_stack)
        return qualified["stack"] if qualified else self.primary_stack


class Deployment(_Model):
    wait_for_steady_state: Bool | None = None
    """``pulumi up`` waits until the core services run healthy tasks (and fails if they do not); unset means
    on everywhere but dev, where a quick ``up`` matters more."""
