"""S3 buckets (``Bucket`` and ``BucketV2``) are private, encrypted, recoverable and do not grow without bound.

A bucket's settings live on the bucket (inline, deprecated but common) or on separate resources that name it
(``BucketPublicAccessBlock``, ``BucketPolicy``, ``BucketAclV2``, ``BucketServerSideEncryptionConfigurationV2``,
``BucketVersioningV2``, ``BucketLifecycleConfigurationV2`` and their V1 names); a setting counts wherever it is.
Findings are filed under the bucket, so one exemption on the bucket (a public website) covers its policy and
ACL as well.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, PolicyResource, ReportViolation, StackValidationArgs

from airstack_policies._props import (
    BUCKETS,
    as_int,
    as_list,
    everyone_allowed,
    items,
    peek,
    plain,
    related,
    statements,
    tags_of,
)
from airstack_policies._rules import stack_policy

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
PUBLIC_ACLS = ("public-read", "public-read-write", "authenticated-read")
PUBLIC_GRANTEES = ("http://acs.amazonaws.com/groups/global/AllUsers",
                   "http://acs.amazonaws.com/groups/global/AuthenticatedUsers")  # fmt: skip
ALGORITHMS = ("AES256", "aws:kms", "aws:kms:dsse")
_BLOCK_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def _buckets(args: StackValidationArgs) -> list[PolicyResource]:
    return [r for r in args.resources if r.resource_type in BUCKETS]


def _related_any(args: StackValidationArgs, types: tuple[str, ...], bucket: PolicyResource) -> list[PolicyResource]:
    return [r for t in types for r in related(args.resources, t, "bucket", bucket)]


def _values(value: Any, key: str) -> list[Any]:
    """Every value of ``key`` anywhere inside ``value`` (inline settings nest it in lists and objects)."""
    if isinstance(value, dict):
        return [v for k, v in value.items() if k == key] + [x for v in value.values() for x in _values(v, key)]
    if isinstance(value, list):
        return [x for v in value for x in _values(v, key)]
    return []


# ------------------------------------------------------------------------------------------ public access


def _public_grants(props: Any) -> list[str]:
    found = []
    acl = str(peek(props, "acl", "") or "")
    if acl in PUBLIC_ACLS:
        found.append(f"acl {acl}")
    for uri in _values(plain(peek(props, "grants")), "uri") + _values(plain(peek(props, "accessControlPolicy")), "uri"):
        if uri in PUBLIC_GRANTEES:
            found.append(f"a grant to {uri.rsplit('/', 1)[-1]}")
    return found


def _check_public_access(args: StackValidationArgs, report: ReportViolation) -> None:
    for bucket in _buckets(args):
        label = f"bucket {bucket.name}"
        blocks = related(args.resources, PUBLIC_ACCESS_BLOCK, "bucket", bucket)
        missing = sorted({f for f in _BLOCK_FLAGS if not any(b.props.get(f) is True for b in blocks)})
        if not blocks:
            report(f"{label} has no BucketPublicAccessBlock, so one ACL or policy change can make it public; "
                   "add one with all four settings true", bucket.urn)  # fmt: skip
        elif missing:
            report(f"{label} leaves {', '.join(missing)} false; all four must be true", bucket.urn)
        for grant in _public_grants(bucket.props):
            report(f"{label} has {grant}: anyone on the internet can read it", bucket.urn)
        for acl in _related_any(args, BUCKET_ACL, bucket):
            for grant in _public_grants(acl.props):
                report(f"{acl.name} gives {label} {grant}: anyone on the internet can read it", bucket.urn)
        policies = [(bucket.name, bucket.props.get("policy"))] if peek(bucket.props, "policy") else []
        policies += [(p.name, p.props.get("policy")) for p in related(args.resources, BUCKET_POLICY, "bucket", bucket)]
        for name, document in policies:
            for s in statements(document):
                if everyone_allowed(s):
                    report(f"{name} allows everyone {s.get('Action')} on {label}; grant named principals instead",
                           bucket.urn)  # fmt: skip


s3_public_access_blocked = stack_policy(
    name="s3-public-access-blocked",
    description=(
        "A public bucket leaks whatever lands in it, and one ACL or policy change is enough. Every bucket has a "
        "public access block with all four settings true, no public ACL or grant, and no bucket policy that "
        "allows everyone."
    ),
    fix=(
        "Add an aws.s3.BucketPublicAccessBlock for the bucket with block_public_acls, block_public_policy, "
        "ignore_public_acls and restrict_public_buckets all True; remove public ACLs and grants; in bucket "
        "policies grant named roles or accounts, or serve the content through CloudFront with origin access "
        "control. A bucket that is public by design (a website) is exempted with the tag "
        '`airstack:exempt = "s3-public-access-blocked: <why>"`.'
    ),
    validate=_check_public_access,
)

# ------------------------------------------------------------------------------------------- encryption


def _check_s3_encrypted(args: StackValidationArgs, report: ReportViolation) -> None:
    for bucket in _buckets(args):
        configs = _related_any(args, SSE_CONFIG, bucket)
        algorithms = [a for c in configs for a in _values(plain(c.props.get("rules")), "sseAlgorithm")]
        for key in ("serverSideEncryptionConfiguration", "serverSideEncryptionConfigurations"):
            algorithms += _values(plain(peek(bucket.props, key)), "sseAlgorithm")
        if not any(a in ALGORITHMS for a in algorithms):
            report(f"bucket {bucket.name} has no server-side encryption configuration; its encryption then "
                   "depends on an account default the program does not control", bucket.urn)  # fmt: skip


s3_encrypted = stack_policy(
    name="s3-encrypted",
    description=(
        "Data is encrypted at rest by a setting in the program, not by an account default that can change. "
        "Every bucket has a server-side encryption configuration (AES256 or aws:kms)."
    ),
    fix=(
        "Add an aws.s3.BucketServerSideEncryptionConfiguration for the bucket with a rule whose "
        "apply_server_side_encryption_by_default.sse_algorithm is AES256 or aws:kms."
    ),
    validate=_check_s3_encrypted,
)

# ------------------------------------------------------------------------------------------- versioning


def _status(props: Any, key: str) -> Any:
    value = props.get(key)
    return value["status"] if isinstance(value, Mapping) and "status" in value else None


def _inline_versioning(props: Any) -> bool:
    values = _values(plain(peek(props, "versioning")), "enabled") + _values(plain(peek(props, "versionings")),
                                                                             "enabled")  # fmt: skip
    return True in values


def _check_s3_versioned(args: StackValidationArgs, report: ReportViolation) -> None:
    for bucket in _buckets(args):
        versioning = _related_any(args, VERSIONING, bucket)
        enabled = any(_status(v.props, "versioningConfiguration") == "Enabled" for v in versioning)
        if not (enabled or _inline_versioning(bucket.props)):
            report(f"bucket {bucket.name} is not versioned; an overwritten or deleted object cannot be recovered",
                   bucket.urn)  # fmt: skip


s3_versioned = stack_policy(
    name="s3-versioned",
    description=(
        "In production an overwritten or deleted object must be recoverable. Every bucket has versioning "
        "enabled (with a lifecycle rule that expires noncurrent versions)."
    ),
    fix=(
        'Add an aws.s3.BucketVersioning for the bucket with versioning_configuration.status "Enabled", and a '
        "lifecycle rule with noncurrent_version_expiration so that old versions do not accumulate."
    ),
    validate=_check_s3_versioned,
    level=EnforcementLevel.ADVISORY,
)

# -------------------------------------------------------------------------------------------- lifecycle


def _is_log_bucket(bucket: PolicyResource) -> bool:
    tags = tags_of(bucket.props)
    if "airstack:bucket" in tags:
        return tags["airstack:bucket"] == "logs"
    text = " ".join(str(peek(bucket.props, k, "")) for k in ("bucket", "bucketPrefix")) + " " + bucket.name
    return "log" in text.lower()


def _expiring(rule: Any) -> bool:
    if not isinstance(rule, dict):
        return False
    enabled = rule.get("status") == "Enabled" or rule.get("enabled") is True
    expirations = as_list(rule.get("expiration")) + as_list(rule.get("expirations"))
    return enabled and any(isinstance(e, dict) and as_int(e.get("days")) for e in expirations)


def _check_logs_lifecycle(args: StackValidationArgs, report: ReportViolation) -> None:
    for bucket in _buckets(args):
        if not _is_log_bucket(bucket):
            continue
        rules = [plain(rule) for c in _related_any(args, LIFECYCLE, bucket) for rule in items(c.props.get("rules"))]
        inline = plain(peek(bucket.props, "lifecycleRules"))
        rules += inline if isinstance(inline, list) else []
        if not any(_expiring(rule) for rule in rules):
            report(f"log bucket {bucket.name} has no enabled lifecycle rule that expires objects; logs grow "
                   "(and are billed) forever", bucket.urn)  # fmt: skip


s3_logs_lifecycle = stack_policy(
    name="s3-logs-lifecycle",
    description=(
        "Logs are written continuously; without expiry a logs bucket grows without bound. A logs bucket (tagged "
        "airstack:bucket=logs, or named like one) has an enabled lifecycle rule that expires objects."
    ),
    fix=(
        "Add an aws.s3.BucketLifecycleConfiguration for the bucket with an enabled rule whose expiration.days "
        "is the retention you need (e.g. 90)."
    ),
    validate=_check_logs_lifecycle,
)

POLICIES = [s3_public_access_blocked, s3_encrypted, s3_versioned, s3_logs_lifecycle]
