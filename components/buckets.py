"""Buckets tier: the logs and data buckets, private, encrypted, TLS-only, versioned where the stack says so.

Buckets are named explicitly (``airstack-<stack>-<purpose>-<account>-<region>``) rather than from a prefix, so
that the names — and the task logs' S3 URL in every container definition — are known before they exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import naming
from components.bucket_policies import bucket_policy
from components.common import child, with_tags
from components.naming import ARTIFACTS


@dataclass(frozen=True)
class PrivateBucket:
    """A private bucket; roles get access to one prefix at a time (``components.grants.prefix_statements``)."""

    resource: aws.s3.Bucket
    settled: pulumi.Resource
    """The bucket's last settings resource: whatever needs its policy (log deliveries) or adds a setting waits."""

    @property
    def name(self) -> pulumi.Output[str]:
        return self.resource.bucket


@dataclass(frozen=True)
class BucketsArgs:
    stack: str
    region: str
    account: pulumi.Input[str]
    versioning: bool
    logs_expiration_days: int
    noncurrent_version_days: int
    artifacts_expiration_days: int
    protect: bool
    tags: Mapping[str, str]


class Buckets(pulumi.ComponentResource):
    logs: PrivateBucket
    data: PrivateBucket
    artifacts: PrivateBucket
    """DAG releases (``dags/<team>/<release>.zip``): always versioned; releases expire after a while."""

    def __init__(self, name: str, args: BucketsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airstack:buckets:Buckets", name, None, opts)
        self.logs = self._bucket(f"{name}-logs", "logs", args, args.versioning, args.logs_expiration_days)
        self.data = self._bucket(f"{name}-data", "data", args, args.versioning, None)
        self.artifacts = self._bucket(f"{name}-artifacts", ARTIFACTS, args, True, args.artifacts_expiration_days)
        self.register_outputs(
            {"logsBucket": self.logs.name, "dataBucket": self.data.name, "artifactsBucket": self.artifacts.name}
        )

    def _next(self, settings: list[pulumi.Resource]) -> pulumi.ResourceOptions:
        """Options of the next settings resource of a bucket: after the one before it."""
        return child(self, depends_on=settings[-1:])

    def _bucket(
        self, name: str, purpose: str, args: BucketsArgs, versioned: bool, expiration_days: int | None
    ) -> PrivateBucket:
        physical = pulumi.Output.from_input(args.account).apply(
            lambda account: naming.bucket_name(args.stack, purpose, account, args.region)
        )
        bucket = aws.s3.Bucket(
            name,
            bucket=physical,
            force_destroy=not args.protect,
            tags=with_tags(args.tags, **{"airstack:bucket": purpose}),
            opts=child(self, protect=args.protect),
        )
        # S3 refuses concurrent changes to one bucket's settings (OperationAborted): apply them one at a time.
        settings: list[pulumi.Resource] = []
        settings.append(
            aws.s3.BucketPublicAccessBlock(
                f"{name}-public-access",
                bucket=bucket.id,
                block_public_acls=True,
                block_public_policy=True,
                ignore_public_acls=True,
                restrict_public_buckets=True,
                opts=self._next(settings),
            )
        )
        settings.append(
            aws.s3.BucketOwnershipControls(
                f"{name}-ownership",
                bucket=bucket.id,
                rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
                opts=self._next(settings),
            )
        )
        settings.append(
            aws.s3.BucketServerSideEncryptionConfiguration(
                f"{name}-encryption",
                bucket=bucket.id,
                rules=[
                    aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                        apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                            sse_algorithm="AES256"
                        ),
                        bucket_key_enabled=True,
                    )
                ],
                opts=self._next(settings),
            )
        )
        settings.append(
            aws.s3.BucketVersioning(
                f"{name}-versioning",
                bucket=bucket.id,
                versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                    status="Enabled" if versioned else "Suspended"
                ),
                opts=self._next(settings),
            )
        )
        rules = [
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="abort-incomplete-uploads",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=7
                ),
            )
        ]
        if expiration_days is not None:
            rules.append(
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id=f"expire-{purpose}",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=expiration_days),
                )
            )
        if versioned:
            rules.append(
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-noncurrent-versions",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=args.noncurrent_version_days
                    ),
                )
            )
        settings.append(
            aws.s3.BucketLifecycleConfiguration(
                f"{name}-lifecycle", bucket=bucket.id, rules=rules, opts=self._next(settings)
            )
        )
        settings.append(
            aws.s3.BucketPolicy(
                f"{name}-tls-only",
                bucket=bucket.id,
                policy=pulumi.Output.all(physical, args.account).apply(
                    lambda v: bucket_policy(naming.bucket_arn(args.region, v[0]), purpose, args.region, v[1])
                ),
                opts=self._next(settings),
            )
        )
        return PrivateBucket(bucket, settings[-1])
