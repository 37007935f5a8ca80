"""Least-privilege IAM documents of every role, as pure functions of known ARNs. No Pulumi here.

Every ARN a policy names is derived from an explicit name (``components.naming``), so the documents are known
on the first preview of a new stack and the policy pack can judge them before anything exists. The DAG file
system is the exception: its ARN and its access points' ARNs exist only once created, so who may mount what
is said in the file system's own policy (``file_system_policy``), not in the roles' policies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from components.airflow_metrics import METRIC_ROLES
from components.airflow_settings import TASK_LOG_PREFIX, Role

Access = Literal["read", "write", "readwrite"]
_ACTIONS: dict[Access, tuple[str, ...]] = {
    "read": ("s3:GetObject",),
    # Airflow's S3 log handler reads a log before appending to it, so writing includes reading.
    "write": ("s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"),
    "readwrite": ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"),
}
SECRET_READ = ("secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue")


def statement(actions: Sequence[str], resources: Sequence[str], **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": sorted(actions), "Resource": list(resources), **extra}


def prefix_statements(bucket_arn: str, prefix: str, access: Access) -> list[dict[str, Any]]:
    """IAM statements for exactly the keys under ``prefix`` of one bucket, and nothing else."""
    pattern = f"{prefix}*"
    return [
        statement(_ACTIONS[access], [f"{bucket_arn}/{pattern}"]),
        statement(["s3:ListBucket"], [bucket_arn], Condition={"StringLike": {"s3:prefix": [pattern]}}),
    ]


@dataclass(frozen=True)
class GrantTargets:
    """Plain ARNs a task role may be granted on."""

    logs_bucket_arn: str
    data_bucket_arn: str
    queue_arns: Mapping[str, str]
    """Celery queue name -> SQS queue ARN."""
    secrets_arn_prefix: str
    """``arn:<partition>:secretsmanager:<region>:<account>:secret:airstack/<stack>``"""
    ecs_tasks_arn: str
    """``arn:<partition>:ecs:<region>:<account>:task/<cluster>/*``: the stack's own tasks."""
    db_instance_arn: str
    rds_master_secrets: str
    """The pattern of the secrets RDS keeps managed master passwords in (``...:secret:rds!db-*``)."""
    metrics_namespace: str | None = None
    """The CloudWatch namespace the Airflow tasks' agents publish to; None where Airflow's metrics are off."""


def team_secrets_prefix(prefix: str, team: str) -> str:
    """Where a team's own connections and variables live: only its workers (and the core services) read them."""
    return f"{prefix}/teams/{team}"


def _own_queue(targets: GrantTargets, queue: str) -> list[dict[str, Any]]:
    """A worker's own SQS queue; none on a Redis broker, whose clients authenticate with its AUTH token."""
    if queue not in targets.queue_arns:
        return []
    actions = ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl",
               "sqs:ReceiveMessage", "sqs:SendMessage"]  # fmt: skip
    return [statement(actions, [targets.queue_arns[queue]])]


def task_role_statements(
    role: Role, targets: GrantTargets, team: str | None, queue: str | None
) -> list[dict[str, Any]]:
    """Least privilege per role: a worker reads its own queue and secrets and writes its own logs and data."""
    if role == "worker":
        if team is None or queue is None:
            raise ValueError("a worker's grants need its team and queue")
        return [
            statement(SECRET_READ, [f"{team_secrets_prefix(targets.secrets_arn_prefix, team)}/*"]),
            *_own_queue(targets, queue),
            *prefix_statements(targets.logs_bucket_arn, f"{TASK_LOG_PREFIX}/{queue}/", "write"),
            *prefix_statements(targets.data_bucket_arn, f"teams/{team}/", "readwrite"),
            # The image's hook protects a worker from scale-in while it runs tasks, through the ECS agent.
            statement(["ecs:GetTaskProtection", "ecs:UpdateTaskProtection"], [targets.ecs_tasks_arn]),
            *metrics_statements(role, targets),
        ]
    # The core services resolve connections and variables for every team (DAG parsing, the Execution API).
    statements = [
        statement(
            SECRET_READ,
            [f"{targets.secrets_arn_prefix}/{kind}/*" for kind in ("connections", "variables", "teams")],
        )
    ]
    if role == "api-server":
        statements += prefix_statements(targets.logs_bucket_arn, f"{TASK_LOG_PREFIX}/", "read")
    elif role == "scheduler":
        if targets.queue_arns:
            statements.append(
                statement(
                    ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"],
                    sorted(targets.queue_arns.values()),
                )
            )
        # The migration step in the scheduler's task reads the master login RDS manages, to create the roles.
        statements.append(statement(["rds:DescribeDBInstances"], [targets.db_instance_arn]))
        statements.append(statement(["secretsmanager:GetSecretValue"], [targets.rds_master_secrets]))
    elif role == "triggerer":
        statements += prefix_statements(targets.logs_bucket_arn, f"{TASK_LOG_PREFIX}/", "write")
    return statements + metrics_statements(role, targets)


def metrics_statements(role: Role, targets: GrantTargets) -> list[dict[str, Any]]:
    """The CloudWatch agent beside an Airflow process publishes with the task's role, into its namespace only
    (PutMetricData has no resource ARN: the namespace condition is what limits it)."""
    if targets.metrics_namespace is None or role not in METRIC_ROLES:
        return []
    condition = {"StringEquals": {"cloudwatch:namespace": targets.metrics_namespace}}
    return [statement(["cloudwatch:PutMetricData"], ["*"], Condition=condition)]


def execution_role_statements(
    secret_arn_patterns: Sequence[str], pull_through_repositories: str | None = None
) -> list[dict[str, Any]]:
    """What ECS needs to start a role's tasks besides the managed policy: exactly that role's secrets, and where
    a container comes through the stack's pull-through cache, to fill the cache on the first pull."""
    statements = [statement(["secretsmanager:GetSecretValue"], sorted(secret_arn_patterns))]
    if pull_through_repositories is not None:
        actions = ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"]
        statements.append(statement(actions, [pull_through_repositories]))
    return statements


def file_system_policy(
    file_system_arn: str, readers: Mapping[str, Sequence[str]], writers: Mapping[str, Sequence[str]] | None = None
) -> dict[str, Any]:
    """The DAG file system's policy: TLS only; each role mounts through its access points, and only those.

    ``readers`` and ``writers`` map a role ARN to the access point ARNs it may use; readers get no
    ``ClientWrite``, so Airflow can read DAGs but never change them.
    """
    statements: list[dict[str, Any]] = [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "*",
            "Resource": [file_system_arn],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
    for kind, grants, actions in (
        ("Read", readers, ["elasticfilesystem:ClientMount"]),
        ("Write", writers or {}, ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]),
    ):
        for role_arn, access_points in sorted(grants.items()):
            statements.append(
                {
                    # Named after the role, not its position: adding a team changes no other statement.
                    "Sid": kind + "".join(c for c in role_arn.rsplit("/", 1)[-1] if c.isalnum()),
                    "Effect": "Allow",
                    "Principal": {"AWS": role_arn},
                    "Action": actions,
                    "Resource": [file_system_arn],
                    "Condition": {"StringEquals": {"elasticfilesystem:AccessPointArn": sorted(access_points)}},
                }
            )
    return {"Version": "2012-10-17", "Statement": statements}


def dag_sync_statements(artifacts_bucket_arn: str, failure_queue_arn: str) -> list[dict[str, Any]]:
    """The DAG deployment function reads release archives and reports events it could not handle."""
    return [
        statement(["s3:GetObject", "s3:GetObjectVersion"], [f"{artifacts_bucket_arn}/dags/*"]),
        statement(["sqs:SendMessage"], [failure_queue_arn]),
    ]
