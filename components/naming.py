"""Physical names and ARNs the program derives, in one place. Pure: no Pulumi here.

Names that containers and IAM policies refer to are set explicitly (not auto-named) so that they are known
on the first ``pulumi preview`` of a new stack: the container definitions and identity policies built from
them are then known too, and the policy pack can judge them before anything exists. AWS formats for ARNs
and URLs are written out here once, with the partition's own prefix and DNS suffix.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "airstack"

AUTO_NAME_SUFFIX = "-" + "x" * 7
"""Stands for what Pulumi appends to the logical name of an auto-named resource: '-' and 7 random hex digits."""

ACCOUNT_ID_LENGTH = 12
ARTIFACTS = "dags"
BUCKET_PURPOSES = ("logs", "data", ARTIFACTS)
"""The physical purpose of the artifacts bucket is `dags`: the DAG releases it holds (and a short name)."""
"""The buckets every stack has (``bucket_name(stack, purpose, ...)``)."""


@dataclass(frozen=True)
class Partition:
    """What differs between AWS partitions: the ARN prefix and the DNS suffix of service endpoints."""

    name: str
    dns_suffix: str


PARTITIONS = {
    "aws": Partition("aws", "amazonaws.com"),
    "aws-cn": Partition("aws-cn", "amazonaws.com.cn"),
    "aws-us-gov": Partition("aws-us-gov", "amazonaws.com"),
}


def partition_of(region: str) -> Partition:
    if region.startswith("cn-"):
        return PARTITIONS["aws-cn"]
    if region.startswith("us-gov-"):
        return PARTITIONS["aws-us-gov"]
    return PARTITIONS["aws"]


def auto_name(logical: str) -> str:
    """The longest physical name Pulumi derives for an auto-named resource: its logical name plus the suffix."""
    return logical + AUTO_NAME_SUFFIX


def physical(stack: str, *parts: str) -> str:
    """``airstack-<stack>-<parts...>``: the stem of every explicitly named resource of a stack."""
    return "-".join((PREFIX, stack, *parts))


# --------------------------------------------------------------------------------------------------- SQS


def queue_name(stack: str, queue: str) -> str:
    return physical(stack, queue)


def dead_letter_queue_name(stack: str, queue: str) -> str:
    return physical(stack, queue, "dlq")


def queue_url(region: str, account: str, name: str) -> str:
    return f"https://sqs.{region}.{partition_of(region).dns_suffix}/{account}/{name}"


def queue_arn(region: str, account: str, name: str) -> str:
    return f"arn:{partition_of(region).name}:sqs:{region}:{account}:{name}"


# ---------------------------------------------------------------------------------------------------- S3


def bucket_name(stack: str, purpose: str, account: str, region: str) -> str:
    """Globally unique without a random suffix: the account and region make it the stack's own."""
    return physical(stack, purpose, account, region)


def bucket_arn(region: str, name: str) -> str:
    return f"arn:{partition_of(region).name}:s3:::{name}"


# ------------------------------------------------------------------------------------------ Secrets Manager


def secrets_prefix(stack: str) -> str:
    """The name prefix of a stack's secrets: ``airstack/<stack>``."""
    return f"{PREFIX}/{stack}"


def internal_secret_name(stack: str, key: str) -> str:
    """A secret airstack generates for Airflow itself (Fernet key, database URL, ...)."""
    name = f"{secrets_prefix(stack)}/internal/{key}"
    _check_partial_arn_safe(name)
    return name


def _check_partial_arn_safe(name: str) -> None:
    # Secrets Manager reads `...:secret:<name>-abcdef` as a full ARN with its random suffix, so a name
    # ending in a hyphen and six characters could not be referenced by its partial ARN.
    last = name.rsplit("-", 1)
    if len(last) == 2 and len(last[1]) == 6:
        raise ValueError(f"secret name {name!r} ends in '-' and six characters; it cannot be used as a partial ARN")


def secret_partial_arn(region: str, account: str, name: str) -> str:
    """The ARN of a secret without its random suffix: what ECS ``valueFrom`` may name, known before creation."""
    _check_partial_arn_safe(name)
    return f"arn:{partition_of(region).name}:secretsmanager:{region}:{account}:secret:{name}"


def secret_arn_pattern(region: str, account: str, name_or_prefix: str) -> str:
    """An IAM resource pattern matching a secret's full ARN (name, then ``-`` and six random characters)."""
    return f"{secret_partial_arn(region, account, name_or_prefix)}-??????"


# -------------------------------------------------------------------------------------------- ECS, logs


def cluster_name(stack: str) -> str:
    return physical(stack)


def task_family(stack: str, service: str) -> str:
    return physical(stack, service)


def ecs_tasks_arn(region: str, account: str, cluster: str) -> str:
    """Every task of one cluster (what ECS task protection is granted on)."""
    return f"arn:{partition_of(region).name}:ecs:{region}:{account}:task/{cluster}/*"


def log_group_name(stack: str, service: str) -> str:
    return f"/{PREFIX}/{stack}/{service}"


def service_connect_namespace(stack: str) -> str:
    return f"{PREFIX}-{stack}.internal"


def worker_service(team: str) -> str:
    """The ECS service (and the ``<service>`` of families, log groups, roles) of a team's workers."""
    return f"worker-{team}"


# -------------------------------------------------------------------------------------- RDS, SNS, ACM


def db_identifier(stack: str) -> str:
    """The metastore's RDS identifier (its log groups and the migration step name it before it exists)."""
    return physical(stack, "metastore")


def db_instance_arn(region: str, account: str, identifier: str) -> str:
    return f"arn:{partition_of(region).name}:rds:{region}:{account}:db:{identifier}"


def rds_managed_secrets_pattern(region: str, account: str) -> str:
    """The secrets RDS creates for managed master passwords (``rds!db-<id>``), as an IAM resource pattern."""
    return f"arn:{partition_of(region).name}:secretsmanager:{region}:{account}:secret:rds!db-*"


def dag_sync_function(stack: str) -> str:
    """The DAG deployment function (its log group is ``/aws/lambda/<name>``)."""
    return physical(stack, "dag-sync")


def dag_sync_failure_queue(stack: str) -> str:
    """Where the DAG deployment function's events go when every attempt failed."""
    return physical(stack, "dag-sync-failures")


def lambda_log_group(function: str) -> str:
    return f"/aws/lambda/{function}"


def log_group_arn(region: str, account: str, group: str) -> str:
    return f"arn:{partition_of(region).name}:logs:{region}:{account}:log-group:{group}"


def final_snapshot_identifier(stack: str) -> str:
    return physical(stack, "metastore", "final")


def alert_topic_name(stack: str) -> str:
    return physical(stack, "alerts")


def certificate_arn_prefix(region: str) -> str:
    """What every ACM certificate ARN of ``region`` starts with, up to the account."""
    return f"arn:{partition_of(region).name}:acm:{region}:"


# ------------------------------------------------------------------------------------------------- ECR

PUBLIC_ECR = "public.ecr.aws"
"""Images from ECR Public (the CloudWatch agent's) are pulled through the stack's own registry: reachable
through the ECR interface endpoints where egress is restricted, and never rate-limited."""


def registry(region: str, account: str) -> str:
    return f"{account}.dkr.ecr.{region}.{partition_of(region).dns_suffix}"


def public_cache_prefix(stack: str) -> str:
    """The repository prefix of the stack's pull-through cache of ECR Public (ECR allows 2 to 30 characters)."""
    return f"{stack}-public"


def repository_arn(region: str, account: str, name: str) -> str:
    return f"arn:{partition_of(region).name}:ecr:{region}:{account}:repository/{name}"


def pulled_image(image: str, stack: str, own_registry: str) -> str:
    """The reference a task uses for ``image``: an ECR Public image through the stack's pull-through cache."""
    if not image.startswith(f"{PUBLIC_ECR}/"):
        return image
    return f"{own_registry}/{public_cache_prefix(stack)}/{image.removeprefix(PUBLIC_ECR + '/')}"
