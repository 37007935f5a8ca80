"""Delivery tier: where the core image lives and how DAG releases reach the DAG file system.

- The core image's ECR repository (only in the stack that owns it, ``image.manageRepository``): scanned on
  push, tags immutable, old images expired. A DR primary also replicates it to its DR region (the registry's
  replication configuration, which only the repository's owner sets), where a template gives the replica the
  same immutable tags, encryption and lifecycle.
- The DAG deployment function (``lambdas/dag_sync``): a release archive put at
  ``s3://<artifacts>/dags/<team>/<release>.zip`` becomes ``<team>/current`` on EFS, atomically, or is
  rejected untouched. It runs in the VPC with the file system's releases access point; events it could not
  handle after Lambda's retries land in a queue that is alarmed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components import naming, recovery
from components.buckets import PrivateBucket
from components.common import assume_role_policy, child, policy_document, with_tags
from components.config import StackConfig
from components.thresholds import pulls_public_images

LAMBDA_SOURCE = Path(__file__).resolve().parent.parent / "lambdas" / "dag_sync"
LAMBDA_MOUNT = "/mnt/dags"
KEEP_IMAGES = {"prod-": 30, "acc-": 20}
"""Images kept per tag prefix; untagged images (layers of replaced builds) expire after a day."""


def lifecycle_policy(keep: Mapping[str, int] = KEEP_IMAGES) -> str:
    rules = [
        {
            "rulePriority": 1,
            "description": "untagged images are leftovers of builds",
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 1,
            },
            "action": {"type": "expire"},
        }
    ]
    for priority, (prefix, count) in enumerate(sorted(keep.items()), start=2):
        rules.append(
            {
                "rulePriority": priority,
                "description": f"keep the last {count} {prefix}* images",
                "selection": {
                    "tagStatus": "tagged",
                    "tagPrefixList": [prefix],
                    "countType": "imageCountMoreThan",
                    "countNumber": count,
                },
                "action": {"type": "expire"},
            }
        )
    return json.dumps({"rules": rules}, sort_keys=True)


def function_code(source: Path = LAMBDA_SOURCE) -> pulumi.AssetArchive:
    """The function's package, file by file (no caches), under ``dag_sync/`` as its handler path expects."""
    files = sorted(p for p in source.glob("*.py") if p.is_file())
    return pulumi.AssetArchive({f"dag_sync/{p.name}": pulumi.FileAsset(str(p)) for p in files})


def cache_lifecycle_policy(keep: int = 5) -> str:
    """A cached public image is fetched again when needed: keep only the newest few."""
    rule = {
        "rulePriority": 1,
        "description": f"keep the last {keep} cached images",
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep},
        "action": {"type": "expire"},
    }
    return json.dumps({"rules": [rule]}, sort_keys=True)


@dataclass(frozen=True)
class DeliveryArgs:
    config: StackConfig
    account: pulumi.Input[str]
    artifacts: PrivateBucket
    role: aws.iam.Role
    subnet_ids: pulumi.Input[Sequence[str]]
    security_group_id: pulumi.Input[str]
    access_point_arn: pulumi.Input[str]
    mount_targets: Sequence[pulumi.Resource]
    tags: Mapping[str, str]


def metrics_namespace(stack: str) -> str:
    """Where the DAG deployment function's metrics go: one namespace per stack (stacks share accounts)."""
    return f"airstack/{stack}/dag-sync"


def creation_template_prefix(repository_name: str) -> str | None:
    """The namespace an ECR repository creation template applies to (``airstack`` for ``airstack/airflow-core``);
    None for a repository without one (the template's ``ROOT`` would apply to every other repository too)."""
    return repository_name.rsplit("/", 1)[0] if "/" in repository_name else None


class Delivery(pulumi.ComponentResource):
    repository_url: pulumi.Output[str] | None
    public_cache: aws.ecr.PullThroughCacheRule | None
    function_name: pulumi.Output[str]
    failure_queue: aws.sqs.Queue
    log_group_name: pulumi.Output[str]

    def __init__(self, name: str, args: DeliveryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airstack:delivery:Delivery", name, None, opts)
        config = args.config
        self.repository_url = (
            self._repository(name, config, args.account, args.tags) if config.image.manage_repository else None
        )
        self.public_cache = self._public_cache(name, config) if pulls_public_images(config) else None
        self._dag_sync(name, args)
        self.register_outputs({"repositoryUrl": self.repository_url, "dagSyncFunction": self.function_name})

    def _public_cache(self, name: str, config: StackConfig) -> aws.ecr.PullThroughCacheRule:
        """ECR Public through the stack's own registry: tasks pull the CloudWatch agent over the ECR endpoints,
        with no way out to the internet needed, and the cached repositories scanned and pruned."""
        prefix = naming.public_cache_prefix(config.stack)
        template = aws.ecr.RepositoryCreationTemplate(
            f"{name}-public-cache-template",
            prefix=prefix,
            applied_fors=["PULL_THROUGH_CACHE"],
            description=f"airstack {config.stack}: ECR Public images cached for the stack's tasks",
            image_tag_mutability="MUTABLE",
            encryption_configurations=[
                aws.ecr.RepositoryCreationTemplateEncryptionConfigurationArgs(encryption_type="AES256")
            ],
            lifecycle_policy=cache_lifecycle_policy(),
            opts=child(self),
        )
        return aws.ecr.PullThroughCacheRule(
            f"{name}-public-cache",
            ecr_repository_prefix=prefix,
            upstream_registry_url=naming.PUBLIC_ECR,
            opts=child(self, depends_on=[template]),
        )

    def _repository(
        self, name: str, config: StackConfig, account: pulumi.Input[str], tags: Mapping[str, str]
    ) -> pulumi.Output[str]:
        repository = aws.ecr.Repository(
            f"{name}-image",
            name=config.image.repository_name,
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
            encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")],
            tags=tags,
            opts=child(self, protect=config.protected),
        )
        aws.ecr.LifecyclePolicy(f"{name}-image-lifecycle", repository=repository.name, policy=lifecycle_policy(),
                                opts=child(self))  # fmt: skip
        if recovery.is_primary(config) and config.dr.replica_region:
            self._replicate_image(name, config, account, tags, config.dr.replica_region)
        return repository.repository_url

    def _replicate_image(
        self, name: str, config: StackConfig, account: pulumi.Input[str], tags: Mapping[str, str], region: str
    ) -> None:
        """Every image pushed from now on is copied to the DR region (earlier ones: push them again)."""
        repository = config.image.repository_name
        prefix = creation_template_prefix(repository)
        template = None
        if prefix is not None:
            # A template that tags what it creates needs a role ECR assumes to create and tag the replicas.
            partition = naming.partition_of(region).name
            role = aws.iam.Role(
                f"{name}-image-replica-template-role",
                assume_role_policy=assume_role_policy("ecr.amazonaws.com"),
                description=f"airstack {config.stack}: ECR creates and tags the {prefix}/* replicas in {region}",
                tags=tags,
                opts=child(self),
            )
            grant = aws.iam.RolePolicy(
                f"{name}-image-replica-template-policy",
                role=role.id,
                policy=pulumi.Output.from_input(account).apply(
                    lambda account_id: policy_document(
                        [
                            {
                                "Effect": "Allow",
                                "Action": ["ecr:CreateRepository", "ecr:ReplicateImage", "ecr:TagResource"],
                                "Resource": f"arn:{partition}:ecr:{region}:{account_id}:repository/{prefix}/*",
                            }
                        ]
                    )
                ),
                opts=child(self),
            )
            template = aws.ecr.RepositoryCreationTemplate(
                f"{name}-image-replica-template",
                region=region,
                prefix=prefix,
                applied_fors=["REPLICATION"],
                description=f"airstack {config.stack}: replicas of {prefix}/* keep the source's settings",
                image_tag_mutability="IMMUTABLE",
                encryption_configurations=[
                    aws.ecr.RepositoryCreationTemplateEncryptionConfigurationArgs(encryption_type="AES256")
                ],
                lifecycle_policy=lifecycle_policy(),
                resource_tags=dict(tags),
                custom_role_arn=role.arn,
                opts=child(self, depends_on=[grant]),
            )
        aws.ecr.ReplicationConfiguration(
            f"{name}-image-replication",
            replication_configuration=aws.ecr.ReplicationConfigurationReplicationConfigurationArgs(
                rules=[
                    aws.ecr.ReplicationConfigurationReplicationConfigurationRuleArgs(
                        destinations=[
                            aws.ecr.ReplicationConfigurationReplicationConfigurationRuleDestinationArgs(
                                region=region, registry_id=account
                            )
                        ],
                        repository_filters=[
                            aws.ecr.ReplicationConfigurationReplicationConfigurationRuleRepositoryFilterArgs(
                                filter=repository, filter_type="PREFIX_MATCH"
                            )
                        ],
                    )
                ]
            ),
            # The template first: the replica repository is created with the first replicated image.
            opts=child(self, depends_on=[template] if template is not None else None),
        )

    def _dag_sync(self, name: str, args: DeliveryArgs) -> None:
        config = args.config
        function_name = naming.dag_sync_function(config.stack)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-dag-sync-logs",
            name=naming.lambda_log_group(function_name),
            retention_in_days=config.logs.retention_days,
            tags=args.tags,
            opts=child(self, protect=config.protected),
        )
        self.failure_queue = aws.sqs.Queue(
            f"{name}-dag-sync-failures",
            name=naming.dag_sync_failure_queue(config.stack),
            message_retention_seconds=14 * 24 * 3600,
            sqs_managed_sse_enabled=True,
            tags=with_tags(args.tags, **{"airstack:role": "dead-letter"}),
            opts=child(self, protect=config.protected),
        )
        function = aws.lambda_.Function(
            f"{name}-dag-sync",
            name=function_name,
            description=f"airstack {config.stack}: DAG releases from S3 to the DAG file system",
            runtime="python3.12",
            architectures=["arm64"],
            handler="dag_sync.handler.handler",
            code=function_code(),
            role=args.role.arn,
            memory_size=512,
            timeout=120,
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables={
                    "AIRSTACK_ARTIFACTS_BUCKET": args.artifacts.name,
                    "AIRSTACK_DAG_TEAMS": json.dumps({t.name: t.directory for t in config.teams}, sort_keys=True),
                    "AIRSTACK_DAGS_ROOT": LAMBDA_MOUNT,
                    "AIRSTACK_METRICS_NAMESPACE": metrics_namespace(config.stack),
                }
            ),
            vpc_config=aws.lambda_.FunctionVpcConfigArgs(
                subnet_ids=args.subnet_ids, security_group_ids=[args.security_group_id]
            ),
            file_system_config=aws.lambda_.FunctionFileSystemConfigArgs(
                arn=args.access_point_arn, local_mount_path=LAMBDA_MOUNT
            ),
            tags=args.tags,
            # The function mounts the file system when it starts: its mount targets must exist first.
            opts=child(self, depends_on=[log_group, *args.mount_targets]),
        )
        aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-dag-sync-retries",
            function_name=function.name,
            maximum_retry_attempts=2,
            destination_config=aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgs(
                on_failure=aws.lambda_.FunctionEventInvokeConfigDestinationConfigOnFailureArgs(
                    destination=self.failure_queue.arn
                )
            ),
            opts=child(self),
        )
        permission = aws.lambda_.Permission(
            f"{name}-dag-sync-from-s3",
            action="lambda:InvokeFunction",
            function=function.name,
            principal="s3.amazonaws.com",
            source_arn=args.artifacts.resource.arn,
            source_account=args.account,
            opts=child(self),
        )
        aws.s3.BucketNotification(
            f"{name}-dag-releases",
            bucket=args.artifacts.resource.id,
            lambda_functions=[
                aws.s3.BucketNotificationLambdaFunctionArgs(
                    lambda_function_arn=function.arn,
                    events=["s3:ObjectCreated:*"],
                    filter_prefix="dags/",
                    filter_suffix=".zip",
                )
            ],
            # After the bucket's other settings (S3 takes one change at a time) and the invoke permission.
            opts=child(self, depends_on=[permission, args.artifacts.settled]),
        )
        self.function_name = function.name
        self.log_group_name = log_group.name
