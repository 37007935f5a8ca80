"""Identity tier: the IAM roles every ECS service's tasks run with, and what each may do.

Two roles per service: an execution role (ECS pulls the image, writes container logs and reads exactly that
service's secrets) and a task role (what Airflow itself may do: a team's workers reach only their team's
queue, secrets, log prefix and data prefix). The roles exist before the DAG file system, whose own policy
says through which access points each of them may mount it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import airflow_metrics, naming, recovery, thresholds
from components.airflow_settings import secret_names
from components.broker_settings import broker_secret_keys
from components.common import assume_role_policy, child, policy_document
from components.config import StackConfig
from components.grants import GrantTargets, dag_sync_statements, execution_role_statements, task_role_statements
from components.naming import ARTIFACTS
from components.services import ServiceSpec

EXECUTION_ROLE_POLICY = "service-role/AmazonECSTaskExecutionRolePolicy"
LAMBDA_VPC_POLICY = "service-role/AWSLambdaVPCAccessExecutionRole"


@dataclass(frozen=True)
class IdentitiesArgs:
    config: StackConfig
    specs: Sequence[ServiceSpec]
    account: pulumi.Input[str]
    tags: Mapping[str, str]


def grant_targets(config: StackConfig, account: str) -> GrantTargets:
    """The ARNs the roles are granted on, derived from the names the other tiers give their resources."""
    region, stack = config.aws_region, config.stack
    return GrantTargets(
        logs_bucket_arn=naming.bucket_arn(region, naming.bucket_name(stack, "logs", account, region)),
        data_bucket_arn=naming.bucket_arn(region, naming.bucket_name(stack, "data", account, region)),
        queue_arns={
            t.queue_name: naming.queue_arn(region, account, naming.queue_name(stack, t.queue_name))
            for t in config.teams
            if config.broker.type == "sqs"
        },
        # A standby reads its primary's connections and variables, replicated into its region.
        secrets_arn_prefix=naming.secret_partial_arn(
            region, account, naming.secrets_prefix(recovery.secrets_stack(config))
        ),
        ecs_tasks_arn=naming.ecs_tasks_arn(region, account, naming.cluster_name(stack)),
        db_instance_arn=naming.db_instance_arn(region, account, naming.db_identifier(stack)),
        rds_master_secrets=naming.rds_managed_secrets_pattern(region, account),
        metrics_namespace=airflow_metrics.namespace(stack) if thresholds.airflow_metrics(config) else None,
    )


class Identities(pulumi.ComponentResource):
    execution_roles: dict[str, aws.iam.Role]
    task_roles: dict[str, aws.iam.Role]
    dag_sync_role: aws.iam.Role
    """The DAG deployment function's role: release archives in, failures out, its VPC network interfaces."""

    def __init__(self, name: str, args: IdentitiesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airstack:identity:Identities", name, None, opts)
        self._args = args
        config = args.config
        region = config.aws_region
        partition = naming.partition_of(region).name
        account = pulumi.Output.from_input(args.account)
        targets = account.apply(lambda a: grant_targets(config, a))
        self.execution_roles, self.task_roles = {}, {}
        for spec in args.specs:
            service = f"{name}-{spec.service}"
            execution = self._role(f"{service}-execution", f"{spec.service}: pull the image, write logs, read secrets")
            aws.iam.RolePolicyAttachment(
                f"{service}-execution-managed",
                role=execution.name,
                policy_arn=f"arn:{partition}:iam::aws:policy/{EXECUTION_ROLE_POLICY}",
                opts=child(self),
            )
            keys = sorted(secret_names(spec.role) | broker_secret_keys(config, spec.role))
            cached = thresholds.pulls_public_images(config) and spec.role in airflow_metrics.METRIC_ROLES
            aws.iam.RolePolicy(
                f"{service}-execution-secrets",
                role=execution.id,
                policy=account.apply(
                    lambda a, keys=keys, cached=cached: policy_document(
                        execution_role_statements(
                            [naming.secret_arn_pattern(region, a, recovery.secret_name(config, k)) for k in keys],
                            naming.repository_arn(region, a, f"{naming.public_cache_prefix(config.stack)}/*")
                            if cached
                            else None,
                        )
                    )
                ),
                opts=child(self),
            )
            task = self._role(f"{service}-task", f"{spec.service}: what Airflow itself may do")
            team, queue = (spec.team.name, spec.team.queue_name) if spec.team else (None, None)
            aws.iam.RolePolicy(
                f"{service}-task-policy",
                role=task.id,
                policy=targets.apply(
                    lambda g, role=spec.role, team=team, queue=queue: policy_document(
                        task_role_statements(role, g, team, queue)
                    )
                ),
                opts=child(self),
            )
            self.execution_roles[spec.service] = execution
            self.task_roles[spec.service] = task
        self.dag_sync_role = self._dag_sync_role(name, config, account)
        self.register_outputs({"taskRoleArns": {s: r.arn for s, r in self.task_roles.items()}})

    def _dag_sync_role(self, name: str, config: StackConfig, account: pulumi.Output[str]) -> aws.iam.Role:
        region, stack = config.aws_region, config.stack
        role = aws.iam.Role(
            f"{name}-dag-sync",
            assume_role_policy=assume_role_policy("lambda.amazonaws.com"),
            description=f"airstack {stack}: the DAG deployment function",
            tags=self._args.tags,
            opts=child(self),
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-dag-sync-vpc",
            role=role.name,
            policy_arn=f"arn:{naming.partition_of(region).name}:iam::aws:policy/{LAMBDA_VPC_POLICY}",
            opts=child(self),
        )
        aws.iam.RolePolicy(
            f"{name}-dag-sync-policy",
            role=role.id,
            policy=account.apply(
                lambda a: policy_document(
                    dag_sync_statements(
                        naming.bucket_arn(region, naming.bucket_name(stack, ARTIFACTS, a, region)),
                        naming.queue_arn(region, a, naming.dag_sync_failure_queue(stack)),
                    )
                )
            ),
            opts=child(self),
        )
        return role

    def _role(self, name: str, purpose: str) -> aws.iam.Role:
        """A role that ECS tasks assume (an execution role or a task role)."""
        return aws.iam.Role(
            name,
            assume_role_policy=assume_role_policy("ecs-tasks.amazonaws.com"),
            description=f"airstack {self._args.config.stack} {purpose}",
            tags=self._args.tags,
            opts=child(self),
        )
