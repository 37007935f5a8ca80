"""Stateful data is private, encrypted and recoverable: S3, RDS and EFS."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from airstack_policies._props import (
    BUCKET,
    DB_INSTANCE,
    FILE_SYSTEM,
    as_int,
    as_list,
    items,
    peek,
    plain,
    related,
    statements,
    tags_of,
)

PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_ACL = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2")
SSE_CONFIG = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
VERSIONING = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
LIFECYCLE = (
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
)
EFS_BACKUP_POLICY = "aws:efs/backupPolicy:BackupPolicy"
PUBLIC_ACLS = ("public-read", "public-read-write", "authenticated-read")
_BLOCK_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def _buckets(args: StackValidationArgs) -> list[PolicyResource]:
    return [r for r in args.resources if r.resource_type == BUCKET]


def _related_any(args: StackValidationArgs, types: tuple[str, ...], bucket: PolicyResource) -> list[PolicyResource]:
    return [r for t in types for r in related(args.resources, t, "bucket", bucket)]


# ------------------------------------------------------------------------------------------------------ S3


def _check_public_access(args: StackValidationArgs, report: ReportViolation) -> None:
    for bucket in _buckets(args):
        blocks = related(args.resources, PUBLIC_ACCESS_BLOCK, "bucket", bucket)
        missing = sorted({f for f in _BLOCK_FLAGS if not any(b.props.get(f) is True for b in blocks)})
        if not blocks:
            report(
                f"bucket {bucket.name} has no BucketPublicAccessBlock; add one with all four settings true",
                bucket.urn,
            )
        elif missing:
            report(f"bucket {bucket.name} leaves {', '.join(missing)} false; all four must be true", bucket.urn)
        if str(peek(bucket.props, "acl", "")) in PUBLIC_ACLS:
            report(f"bucket {bucket.name} has acl {bucket.props['acl']}; buckets are private", bucket.urn)
        for acl in _related_any(args, BUCKET_ACL, bucket):
            if str(peek(acl.props, "acl", "")) in PUBLIC_ACLS:
                report(f"{acl.name} grants {acl.props['acl']} on bucket {bucket.name}; buckets are private", acl.urn)
        for policy in related(args.resources, BUCKET_POLICY, "bucket", bucket):
            for s in statements(policy.props.get("policy")):
                principal = s.get("Principal")
                everyone = principal == "*" or (isinstance(principal, dict) and "*" in as_list(principal.get("AWS")))
                if s.get("Effect") == "Allow" and everyone and not s.get("Condition"):
                    report(
                        f"{policy.name} allows everyone ({s.get('Action')}) on bucket {bucket.name}; "
                        "grant named roles instead",
                        policy.urn,
                    )


s3_public_access_blocked = StackValidationPolicy(
    name="s3-public-access-blocked",
    description=(
        "Task logs and data are never public. Every bucket has a public access block with all four settings "
        "true, no public ACL and no bucket policy that allows everyone."
    ),
    validate=_check_public_access,
    enforcement_level=EnforcementLevel.MANDATORY,
)


def _check_s3_encrypted(args: StackValidationArgs, report: ReportViolation) -> None:
    for bucket in _buckets(args):
        configs = _related_any(args, SSE_CONFIG, bucket)
        inline = peek(bucket.props, "serverSideEncryptionConfiguration")
        algorithms = [
            str((plain(rule).get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm", ""))
            for c in configs
            for rule in items(c.props.get("rules"))
            if isinstance(rule, Mapping)
        ]
        if not inline and not any(a in ("AES256", "aws:kms", "aws:kms:dsse") for a in algorithms):
            report(
                f"bucket {bucket.name} has no server-side encryption configuration; add a "
                "BucketServerSideEncryptionConfiguration with sseAlgorithm AES256 or aws:kms",
                bucket.urn,
            )


s3_encrypted = StackValidationPolicy(
    name="s3-encrypted",
    description=(
        "Logs and data are encrypted at rest by a setting in the program, not by an account default that can "
        "change. Every bucket has a server-side encryption configuration (AES256 or aws:kms)."
    ),
    validate=_check_s3_encrypted,
    enforcement_level=EnforcementLevel.MANDATORY,
)


def _check_s3_versioned(args: StackValidationArgs, report: ReportViolation) -> None:
    for bucket in _buckets(args):
        versioning = _related_any(args, VERSIONING, bucket)
        enabled = any(_status(v.props, "versioningConfiguration") == "Enabled" for v in versioning)
        inline = _inline_versioning(bucket.props) is True
        if not (enabled or inline):
            report(
                f"bucket {bucket.name} is not versioned; a bad write or delete cannot be undone. Add a "
                "BucketVersioning with status Enabled",
                bucket.urn,
            )


s3_versioned = StackValidationPolicy(
    name="s3-versioned",
    description=(
        "In production an overwritten or deleted object must be recoverable. Every bucket has versioning "
        "enabled (with a lifecycle rule that expires noncurrent versions)."
    ),
    validate=_check_s3_versioned,
    enforcement_level=EnforcementLevel.ADVISORY,
)


def _status(props: Any, key: str) -> Any:
    value = props.get(key)
    return value["status"] if isinstance(value, Mapping) and "status" in value else None


def _inline_versioning(props: Any) -> Any:
    value = peek(props, "versioning")
    for entry in items(value) if not isinstance(value, Mapping) else [value]:
        if isinstance(entry, Mapping) and "enabled" in entry:
            return entry["enabled"]
    return None


def _is_log_bucket(bucket: PolicyResource) -> bool:
    tags = tags_of(bucket.props)
    if "airstack:bucket" in tags:
        return tags["airstack:bucket"] == "logs"
    text = " ".join(str(peek(bucket.props, k, "")) for k in ("bucket", "bucketPrefix")) + " " + bucket.name
    return "log" in text.lower()


def _check_logs_lifecycle(args: StackValidationArgs, report: ReportViolation) -> None:
    for bucket in _buckets(args):
        if not _is_log_bucket(bucket):
            continue
        rules = [
            plain(rule)
            for c in _related_any(args, LIFECYCLE, bucket)
            for rule in items(c.props.get("rules"))
            if isinstance(rule, Mapping) and rule.get("status") == "Enabled"
        ]
        if not any(as_int(_expiration_days(rule)) for rule in rules):
            report(
                f"log bucket {bucket.name} has no enabled lifecycle rule that expires objects; task logs grow "
                "forever. Add a BucketLifecycleConfiguration rule with expiration.days",
                bucket.urn,
            )


def _expiration_days(rule: dict[str, Any]) -> Any:
    expiration = rule.get("expiration")
    expiration = expiration[0] if isinstance(expiration, list) and expiration else expiration
    return expiration.get("days") if isinstance(expiration, dict) else None


s3_logs_lifecycle = StackValidationPolicy(
    name="s3-logs-lifecycle",
    description=(
        "Every task attempt writes a log object; without expiry the logs bucket grows without bound. A logs "
        "bucket has an enabled lifecycle rule that expires objects after a number of days."
    ),
    validate=_check_logs_lifecycle,
    enforcement_level=EnforcementLevel.MANDATORY,
)

# ----------------------------------------------------------------------------------------------------- RDS


def _db_check(attribute: str, wanted: object, why: str):  # noqa: ANN202
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type != DB_INSTANCE:
            return
        value = args.props.get(attribute)
        if value is not wanted:
            report(f"database {args.name} has {attribute} {value!r}; it must be {wanted!r} ({why})", None)

    return validate


rds_encrypted = ResourceValidationPolicy(
    name="rds-encrypted",
    description="The metastore holds connections and variables. Its storage is encrypted (storageEncrypted: true).",
    validate=_db_check("storageEncrypted", True, "it holds Airflow's connections and variables"),
    enforcement_level=EnforcementLevel.MANDATORY,
)

rds_multi_az = ResourceValidationPolicy(
    name="rds-multi-az",
    description="In production the metastore survives the loss of an AZ: multiAz: true.",
    validate=_db_check("multiAz", True, "without a standby the loss of one AZ stops Airflow"),
    enforcement_level=EnforcementLevel.ADVISORY,
)

rds_deletion_protection = ResourceValidationPolicy(
    name="rds-deletion-protection",
    description="In production the metastore cannot be deleted by a mistaken change: deletionProtection: true.",
    validate=_db_check("deletionProtection", True, "a mistaken replace or destroy would lose all run history"),
    enforcement_level=EnforcementLevel.ADVISORY,
)


def _check_not_public(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == DB_INSTANCE and peek(args.props, "publiclyAccessible") is True:
        report(
            f"database {args.name} has publiclyAccessible True; it must be False (the metastore lives in isolated "
            "subnets only)",
            None,
        )


rds_not_public = ResourceValidationPolicy(
    name="rds-not-public",
    description="The metastore is reachable only from Airflow's own tasks: publiclyAccessible is never true.",
    validate=_check_not_public,
    enforcement_level=EnforcementLevel.MANDATORY,
)


def _check_backups(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != DB_INSTANCE:
        return
    minimum = int(args.get_config().get("minimumRetentionDays", 1))
    days = as_int(args.props.get("backupRetentionPeriod"))
    if days is None or days < minimum:
        report(
            f"database {args.name} keeps backups for {days if days is not None else 'the default 0/1'} days; "
            f"this environment needs backupRetentionPeriod of at least {minimum}",
            None,
        )


rds_backups = ResourceValidationPolicy(
    name="rds-backups",
    description=(
        "The metastore can be restored to a point in time: backupRetentionPeriod is at least the environment's "
        "minimum (pack config minimumRetentionDays)."
    ),
    validate=_check_backups,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=PolicyConfigSchema(
        properties={"minimumRetentionDays": {"type": "integer", "default": 1, "minimum": 1, "maximum": 35}}
    ),
)

# ----------------------------------------------------------------------------------------------------- EFS


def _check_efs_encrypted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == FILE_SYSTEM and args.props.get("encrypted") is not True:
        report(f"file system {args.name} has encrypted {peek(args.props, 'encrypted')!r}; it must be True", None)


efs_encrypted = ResourceValidationPolicy(
    name="efs-encrypted",
    description="DAG code often embeds business logic and queries. The DAG file system is encrypted at rest.",
    validate=_check_efs_encrypted,
    enforcement_level=EnforcementLevel.MANDATORY,
)


def _check_efs_backups(args: StackValidationArgs, report: ReportViolation) -> None:
    for fs in (r for r in args.resources if r.resource_type == FILE_SYSTEM):
        policies = related(args.resources, EFS_BACKUP_POLICY, "fileSystemId", fs)
        statuses = [str(_status(p.props, "backupPolicy")) for p in policies]
        if "ENABLED" not in statuses:
            seen = f"a BackupPolicy with status {', '.join(statuses)}" if statuses else "no BackupPolicy"
            report(f"file system {fs.name} has {seen}; it needs a BackupPolicy with status ENABLED", fs.urn)


efs_backups = StackValidationPolicy(
    name="efs-backups",
    description="In production the deployed DAGs can be restored: the file system has an enabled BackupPolicy.",
    validate=_check_efs_backups,
    enforcement_level=EnforcementLevel.ADVISORY,
)

POLICIES = [
    s3_public_access_blocked,
    s3_encrypted,
    s3_versioned,
    s3_logs_lifecycle,
    rds_encrypted,
    rds_backups,
    rds_multi_az,
    rds_deletion_protection,
    rds_not_public,
    efs_encrypted,
    efs_backups,
]
