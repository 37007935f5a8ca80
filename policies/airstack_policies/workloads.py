"""Workloads: private tasks, logs that survive the task and expire, owners on every resource, protected state."""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs, StackValidationArgs

from airstack_policies._props import (
    BUCKETS,
    DB_CLUSTER,
    DB_INSTANCE,
    FILE_SYSTEM,
    SERVICE,
    TASK_DEFINITION,
    as_int,
    as_json,
    containers,
    environment,
    is_airflow,
    peek,
    tags_of,
)
from airstack_policies._rules import resource_policy, stack_policy

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SHIPPING_LOG_DRIVERS = ("awslogs", "awsfirelens", "splunk", "fluentd", "gelf", "syslog")
"""Drivers that send a container's output off the task (json-file, journald and none keep it, or drop it)."""
SECRET = "aws:secretsmanager/secret:Secret"
ECR_REPOSITORY = "aws:ecr/repository:Repository"


def _check_private_networking(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == SERVICE:
        network = args.props.get("networkConfiguration") or {}
        if network.get("assignPublicIp") is True:
            report(f"service {args.name} has assignPublicIp True; its tasks get public IPs and can be reached "
                   "without the load balancer", None)  # fmt: skip
    if args.resource_type == TASK_DEFINITION and args.props.get("networkMode") not in (None, "awsvpc"):
        report(f"task definition {args.name} uses networkMode {args.props.get('networkMode')}; use awsvpc so "
               "that each task has its own security group", None)  # fmt: skip


ecs_private_networking = resource_policy(
    name="ecs-private-networking",
    description=(
        "Containers are reachable only through the load balancer. ECS services never assign public IPs, and "
        "task definitions use awsvpc networking so that security groups apply per task."
    ),
    fix=(
        "Set network_configuration.assign_public_ip=False and run the tasks in private subnets (with a NAT "
        'gateway or VPC endpoints for outbound traffic); set network_mode="awsvpc".'
    ),
    validate=_check_private_networking,
)


def _check_retention(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != LOG_GROUP:
        return
    days = as_int(args.props.get("retentionInDays"))
    if not days:
        shown = args.props.get("retentionInDays")
        report(f"log group {args.name} has retentionInDays {shown!r}, so it keeps (and bills) logs forever", None)


log_retention_set = resource_policy(
    name="log-retention-set",
    description="CloudWatch keeps logs forever by default and bills for it. Every log group sets retentionInDays.",
    fix="Set retention_in_days on the log group (e.g. 30, or what your audit rules require).",
    validate=_check_retention,
)


def _check_remote_logging(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != TASK_DEFINITION:
        return
    for container in containers(args.props):
        label = f"container {container.get('name')} of {args.name}"
        log_driver = (container.get("logConfiguration") or {}).get("logDriver")
        if log_driver not in SHIPPING_LOG_DRIVERS:
            report(f"{label} has log driver {log_driver!r}, which keeps its output on the task's host: it is lost "
                   "with the task", None)  # fmt: skip
        if not is_airflow(container):
            continue
        env = environment(container)
        remote = env.get("AIRFLOW__LOGGING__REMOTE_LOGGING")
        if (remote or "").lower() != "true":
            report(f"{label} has AIRFLOW__LOGGING__REMOTE_LOGGING={remote!r}, so task logs stay on the "
                   "container's disk, which Fargate discards; it must be True", None)  # fmt: skip
        elif not env.get("AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER", "").startswith("s3://"):
            folder = env.get("AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER")
            report(f"{label} has AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER={folder!r}; it must be an s3:// URL", None)


remote_logging_enabled = resource_policy(
    name="remote-logging-enabled",
    description=(
        "Containers are volatile: what a task writes to its own disk is gone when it stops. Every container "
        "sends its output off the task (awslogs, FireLens or another shipping driver), and every Airflow "
        "container ships task logs to S3 (remote logging)."
    ),
    fix=(
        'Give each container a logConfiguration with logDriver "awslogs" (awslogs-group, awslogs-region, '
        "awslogs-stream-prefix); for Airflow set AIRFLOW__LOGGING__REMOTE_LOGGING=True and "
        "AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER=s3://<bucket>/<prefix>."
    ),
    validate=_check_remote_logging,
)

TAGGABLE_PREFIXES = (
    "aws:sqs/queue:", "aws:s3/bucket:Bucket", "aws:s3/bucketV2:", "aws:rds/instance:", "aws:rds/cluster:",
    "aws:rds/clusterInstance:", "aws:efs/fileSystem:", "aws:efs/accessPoint:", "aws:ecs/cluster:",
    "aws:ecs/service:", "aws:ecs/taskDefinition:", "aws:lb/loadBalancer:", "aws:lb/targetGroup:",
    "aws:alb/loadBalancer:", "aws:iam/role:", "aws:secretsmanager/secret:", "aws:cloudwatch/logGroup:",
    "aws:sns/topic:", "aws:ec2/securityGroup:", "aws:ec2/vpcEndpoint:", "aws:ec2/instance:",
    "aws:ec2/natGateway:", "aws:ecr/repository:", "aws:lambda/function:", "aws:elasticache/replicationGroup:",
    "aws:elasticache/cluster:", "aws:elasticache/serverlessCache:", "aws:dynamodb/table:", "aws:kms/key:",
)  # fmt: skip
"""Custom resources only: a component (awsx's VPC) passes its tags to the children that carry them."""
DEFAULT_REQUIRED_TAGS = ["Environment", "Owner", "CostCenter", "ManagedBy"]


def _default_tags(args: ResourceValidationArgs) -> dict[str, Any]:
    """The provider's ``defaultTags`` (``aws:defaultTags`` in the stack config) apply to every resource."""
    if args.provider is None:
        return {}
    defaults = as_json(peek(args.provider.props, "defaultTags"))
    defaults = defaults[0] if isinstance(defaults, list) and defaults else defaults
    tags = defaults.get("tags") if isinstance(defaults, dict) else None
    return tags if isinstance(tags, dict) else {}


def _check_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not args.resource_type.startswith(TAGGABLE_PREFIXES):
        return
    required = list(args.get_config().get("requiredTags", DEFAULT_REQUIRED_TAGS))
    tags = {**_default_tags(args), **tags_of(args.props)}
    missing = [t for t in required if not tags.get(t)]
    if missing:
        report(f"{args.name} lacks the tags {', '.join(missing)}; costs and owners cannot be traced without them", None)


required_tags = resource_policy(
    name="required-tags",
    description=(
        "Every cost and every alarm must lead to an owner. Taggable resources carry the pack's requiredTags "
        "(default Environment, Owner, CostCenter, ManagedBy), on the resource or through the provider's "
        "defaultTags."
    ),
    fix=(
        "Set the tags once for the whole stack with `aws:defaultTags` in the stack config (pulumi config set "
        "--path 'aws:defaultTags.tags.Owner' team-x) or an explicit aws.Provider(default_tags=...), or pass "
        "tags= on the resource."
    ),
    validate=_check_tags,
    properties={"requiredTags": {"type": "array", "items": {"type": "string"}, "default": DEFAULT_REQUIRED_TAGS}},
)

STATEFUL_TYPES = (DB_INSTANCE, DB_CLUSTER, FILE_SYSTEM, *BUCKETS, SECRET, ECR_REPOSITORY)


def _check_protected(args: StackValidationArgs, report: ReportViolation) -> None:
    for resource in args.resources:
        if resource.resource_type in STATEFUL_TYPES and not resource.opts.protect:
            report(f"{resource.name} ({resource.resource_type.split(':')[-1]}) holds state but is not protected, "
                   "so a rename or refactor can delete it", resource.urn)  # fmt: skip


stateful_resources_protected = stack_policy(
    name="stateful-resources-protected",
    description=(
        "In production a rename or a refactor must never delete data. Databases, file systems, buckets, "
        "secrets and image repositories are created with protect."
    ),
    fix=(
        "Create the resource with opts=pulumi.ResourceOptions(protect=True) (and retain_on_delete where a "
        "stack may be destroyed); rename with aliases=[...] instead of a new name."
    ),
    validate=_check_protected,
    level=EnforcementLevel.ADVISORY,
)

POLICIES = [
    ecs_private_networking,
    log_retention_set,
    remote_logging_enabled,
    required_tags,
    stateful_resources_protected,
]
