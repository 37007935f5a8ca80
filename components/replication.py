"""What a DR primary copies to its standby besides backups, secrets and its image: the buckets and DAG files.

- S3: the logs bucket's task logs and the whole data bucket go to the standby's buckets of the same purpose (named
  from ``dr.standbyStack``, the DR region and the account; versioned, as every dr bucket is), with delete markers,
  replication metrics and, with ``dr.replicationTimeControl``, S3 Replication Time Control. The rules need the
  standby's buckets to exist: a standby is deployed first (``docs/disaster-recovery.md``).
- EFS: the DAG file system is replicated into the standby's (``dr.standbyFileSystemId``), which the standby
  created with replication overwrite protection off.

Everything here lives in the primary's region (EFS and S3 replication are configured at the source); the standby's
stack has nothing in the primary's region, so taking over never waits for the region that is down.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import naming, recovery
from components.buckets import PrivateBucket
from components.common import child, policy_document, statement
from components.config import StackConfig
from components.watched import BucketCopy

REPLICATION_MINUTES = 15
"""S3 Replication Time Control's commitment, and the threshold of its missed-threshold events."""
TRUSTED = ("s3.amazonaws.com", "batchoperations.s3.amazonaws.com")
"""Live replication, and S3 Batch Replication of what existed before the rules (the runbook's first step)."""


@dataclass(frozen=True)
class ReplicationArgs:
    config: StackConfig
    account: pulumi.Input[str]
    buckets: Mapping[str, PrivateBucket]
    """Purpose -> this stack's bucket (at least those of ``recovery.BUCKET_REPLICATIONS``)."""
    file_system_id: pulumi.Input[str]
    tags: Mapping[str, str]


def rule_id(config: StackConfig) -> str:
    return f"to-{config.dr.standby_stack}-{config.dr.replica_region}"


def replication_role_statements(config: StackConfig, account: str) -> list[dict[str, object]]:
    """Read this stack's replicated objects, write them into the standby's buckets; nothing else."""
    region = config.aws_region
    found: list[dict[str, object]] = []
    for copy in recovery.BUCKET_REPLICATIONS:
        source = naming.bucket_arn(region, naming.bucket_name(config.stack, copy.purpose, account, region))
        destination = recovery.standby_bucket_name(config, copy.purpose, account)
        if destination is None:
            continue
        target = naming.bucket_arn(str(config.dr.replica_region), destination)
        found += [
            statement(["s3:GetReplicationConfiguration", "s3:ListBucket"], [source]),
            statement(
                ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
                [f"{source}/{copy.prefix}*"],
            ),
            statement(["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"], [f"{target}/{copy.prefix}*"]),
        ]
    return found


def _trust() -> str:
    return policy_document([{"Effect": "Allow", "Principal": {"Service": list(TRUSTED)}, "Action": "sts:AssumeRole"}])


class Replication(pulumi.ComponentResource):
    bucket_copies: tuple[BucketCopy, ...]
    replica_file_system: str | None

    def __init__(self, name: str, args: ReplicationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airstack:dr:Replication", name, None, opts)
        config = args.config
        self.bucket_copies = ()
        self.replica_file_system = None
        if recovery.replicates_buckets(config):
            self.bucket_copies = self._buckets(name, args)
        if recovery.replicates_dags(config):
            self.replica_file_system = config.dr.standby_file_system_id
            aws.efs.ReplicationConfiguration(
                f"{name}-dags",
                source_file_system_id=args.file_system_id,
                destination=aws.efs.ReplicationConfigurationDestinationArgs(
                    region=config.dr.replica_region, file_system_id=self.replica_file_system
                ),
                opts=child(self),
            )
        self.register_outputs({"replicaFileSystemId": self.replica_file_system})

    def _buckets(self, name: str, args: ReplicationArgs) -> tuple[BucketCopy, ...]:
        config = args.config
        account = pulumi.Output.from_input(args.account)
        role = aws.iam.Role(
            f"{name}-s3-role",
            assume_role_policy=_trust(),
            description=f"airstack {config.stack}: copies task logs and data to {config.dr.standby_stack}",
            tags=args.tags,
            opts=child(self),
        )
        policy = aws.iam.RolePolicy(
            f"{name}-s3-policy",
            role=role.id,
            policy=account.apply(lambda a: policy_document(replication_role_statements(config, a))),
            opts=child(self),
        )
        copies = []
        for copy in recovery.BUCKET_REPLICATIONS:
            bucket = args.buckets[copy.purpose]
            destination = account.apply(lambda a, c=copy: str(recovery.standby_bucket_name(config, c.purpose, a)))
            metrics = aws.s3.BucketReplicationConfigRuleDestinationMetricsArgs(
                status="Enabled",
                event_threshold=aws.s3.BucketReplicationConfigRuleDestinationMetricsEventThresholdArgs(
                    minutes=REPLICATION_MINUTES
                )
                if config.dr.replication_time_control
                else None,
            )
            aws.s3.BucketReplicationConfig(
                f"{name}-{copy.purpose}",
                bucket=bucket.resource.id,
                role=role.arn,
                rules=[
                    aws.s3.BucketReplicationConfigRuleArgs(
                        id=rule_id(config),
                        status="Enabled",
                        priority=1,
                        filter=aws.s3.BucketReplicationConfigRuleFilterArgs(prefix=copy.prefix),
                        delete_marker_replication=aws.s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs(
                            status="Enabled"
                        ),
                        destination=aws.s3.BucketReplicationConfigRuleDestinationArgs(
                            bucket=destination.apply(lambda d: naming.bucket_arn(str(config.dr.replica_region), d)),
                            storage_class="STANDARD",
                            metrics=metrics,
                            replication_time=aws.s3.BucketReplicationConfigRuleDestinationReplicationTimeArgs(
                                status="Enabled",
                                time=aws.s3.BucketReplicationConfigRuleDestinationReplicationTimeTimeArgs(
                                    minutes=REPLICATION_MINUTES
                                ),
                            )
                            if config.dr.replication_time_control
                            else None,
                        ),
                    )
                ],
                # After the bucket's versioning and other settings (S3 takes one change at a time), and the role's
                # permissions (S3 checks it can assume the role).
                opts=child(self, depends_on=[bucket.settled, policy]),
            )
            copies.append(BucketCopy(copy.purpose, bucket.name, destination, rule_id(config)))
        return tuple(copies)
