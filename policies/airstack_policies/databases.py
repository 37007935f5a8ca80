"""Databases (RDS instances, Aurora and Multi-AZ clusters) and file systems are private, encrypted, recoverable."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs, StackValidationArgs

from airstack_policies._props import (
    DB_CLUSTER,
    DB_CLUSTER_INSTANCE,
    DB_INSTANCE,
    FILE_SYSTEM,
    as_int,
    peek,
    refers_to,
    related,
)
from airstack_policies._rules import resource_policy, stack_policy

EFS_BACKUP_POLICY = "aws:efs/backupPolicy:BackupPolicy"
DATABASES = (DB_INSTANCE, DB_CLUSTER)
"""What holds a database's data and settings: an instance, or a cluster (whose instances only compute)."""


def _label(args: ResourceValidationArgs) -> str:
    kind = {DB_CLUSTER: "database cluster", DB_CLUSTER_INSTANCE: "cluster instance"}.get(args.resource_type)
    return f"{kind or 'database'} {args.name}"


def _serverless_v1(props: Any) -> bool:
    return peek(props, "engineMode") == "serverless"  # always encrypted, its capacity spread over AZs


def _db_check(attribute: str, wanted: object, why: str, cluster_exempt: Any = None):  # noqa: ANN202
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type not in DATABASES:
            return
        if args.resource_type == DB_CLUSTER and cluster_exempt is not None and cluster_exempt(args.props):
            return
        value = args.props.get(attribute)
        if value is not wanted:
            report(f"{_label(args)} has {attribute} {value!r}; it must be {wanted!r} ({why})", None)

    return validate


rds_encrypted = resource_policy(
    name="rds-encrypted",
    description=(
        "A database holds application data and often credentials; unencrypted storage leaks it through every "
        "snapshot, replica and discarded disk. RDS instances and clusters set storageEncrypted: true."
    ),
    fix=(
        "Set storage_encrypted=True (and kms_key_id for a customer-managed key). An existing unencrypted "
        "database cannot be encrypted in place: restore an encrypted copy of a snapshot."
    ),
    validate=_db_check(
        "storageEncrypted", True, "otherwise its data, snapshots and replicas are stored in clear", _serverless_v1
    ),
)


def _check_multi_az(args: StackValidationArgs, report: ReportViolation) -> None:
    for db in args.resources:
        if db.resource_type == DB_INSTANCE and db.props.get("multiAz") is not True:
            report(f"database {db.name} has multiAz {db.props.get('multiAz')!r}; it must be True (without a "
                   "standby the loss of one availability zone stops the application)", db.urn)  # fmt: skip
        if db.resource_type != DB_CLUSTER or _serverless_v1(db.props) or peek(db.props, "dbClusterInstanceClass"):
            continue  # a Multi-AZ DB cluster (dbClusterInstanceClass) places its instances in three AZs itself
        members = related(args.resources, DB_CLUSTER_INSTANCE, "clusterIdentifier", db)
        if len(members) < 2:
            report(f"database cluster {db.name} has {len(members)} instance{'' if len(members) == 1 else 's'}; "
                   "it needs at least two (a writer and a reader in another availability zone) to survive the "
                   "loss of one zone", db.urn)  # fmt: skip


rds_multi_az = stack_policy(
    name="rds-multi-az",
    description=(
        "In production the database survives the loss of an availability zone: an RDS instance has multiAz: "
        "true; an Aurora cluster has at least two instances."
    ),
    fix=(
        "Set multi_az=True on an aws.rds.Instance; give an aws.rds.Cluster a second aws.rds.ClusterInstance "
        "(a reader, promoted on failure)."
    ),
    validate=_check_multi_az,
    level=EnforcementLevel.ADVISORY,
)

rds_deletion_protection = resource_policy(
    name="rds-deletion-protection",
    description=(
        "In production a database cannot be deleted by a mistaken change: RDS instances and clusters set "
        "deletionProtection: true."
    ),
    fix="Set deletion_protection=True; turn it off deliberately, in a separate change, before a planned delete.",
    validate=_db_check("deletionProtection", True, "a mistaken replace or destroy would lose all its data"),
    level=EnforcementLevel.ADVISORY,
)


def _check_not_public(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type in (*DATABASES, DB_CLUSTER_INSTANCE) and peek(args.props, "publiclyAccessible") is True:
        report(f"{_label(args)} has publiclyAccessible True; it must be False (a database reachable from the "
               "internet is one leaked or guessed password away from a breach)", None)  # fmt: skip


rds_not_public = resource_policy(
    name="rds-not-public",
    description=(
        "A database is reachable only from the application's own network: publiclyAccessible is never true on "
        "an RDS instance, a cluster or a cluster instance."
    ),
    fix=(
        "Set publicly_accessible=False, place the database in private subnets (a DB subnet group without a "
        "route to an internet gateway) and allow its port only from the application's security group."
    ),
    validate=_check_not_public,
)


def _check_backups(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in DATABASES:
        return
    minimum = int(args.get_config().get("minimumRetentionDays", 1))
    days = as_int(args.props.get("backupRetentionPeriod"))
    if days is None and args.resource_type == DB_CLUSTER:
        days = 1  # a cluster always keeps at least a day of backups
    if days is None or days < minimum:
        kept = days if days is not None else "the default 0/1"
        report(f"{_label(args)} keeps backups for {kept} days; this environment needs backupRetentionPeriod of "
               f"at least {minimum}", None)  # fmt: skip


rds_backups = resource_policy(
    name="rds-backups",
    description=(
        "A database can be restored to a point in time: backupRetentionPeriod is at least the environment's "
        "minimum (pack config minimumRetentionDays)."
    ),
    fix="Set backup_retention_period to at least the environment's minimumRetentionDays (at most 35).",
    validate=_check_backups,
    properties={"minimumRetentionDays": {"type": "integer", "default": 1, "minimum": 1, "maximum": 35}},
)

# ----------------------------------------------------------------------------------------------------- EFS


def _check_efs_encrypted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == FILE_SYSTEM and args.props.get("encrypted") is not True:
        report(f"file system {args.name} has encrypted {peek(args.props, 'encrypted')!r}; it must be True", None)


efs_encrypted = resource_policy(
    name="efs-encrypted",
    description=(
        "Shared file systems hold code and data that outlive any one task. Every EFS file system is encrypted "
        "at rest (encrypted: true)."
    ),
    fix="Set encrypted=True (and kms_key_id for a customer-managed key); an existing file system is replaced.",
    validate=_check_efs_encrypted,
)


def _check_efs_backups(args: StackValidationArgs, report: ReportViolation) -> None:
    for fs in (r for r in args.resources if r.resource_type == FILE_SYSTEM):
        policies = [p for p in args.resources if p.resource_type == EFS_BACKUP_POLICY
                    and refers_to(p, "fileSystemId", fs)]  # fmt: skip
        statuses = []
        for policy in policies:
            value = policy.props.get("backupPolicy")
            if isinstance(value, Mapping) and "status" in value:
                statuses.append(str(value["status"]))
        if "ENABLED" not in statuses:
            seen = f"a BackupPolicy with status {', '.join(statuses)}" if statuses else "no BackupPolicy"
            report(f"file system {fs.name} has {seen}; it needs a BackupPolicy with status ENABLED", fs.urn)


efs_backups = stack_policy(
    name="efs-backups",
    description="In production a file system can be restored: it has an enabled EFS BackupPolicy.",
    fix='Add an aws.efs.BackupPolicy for the file system with backup_policy.status "ENABLED".',
    validate=_check_efs_backups,
    level=EnforcementLevel.ADVISORY,
)

POLICIES = [
    rds_encrypted,
    rds_backups,
    rds_multi_az,
    rds_deletion_protection,
    rds_not_public,
    efs_encrypted,
    efs_backups,
]
