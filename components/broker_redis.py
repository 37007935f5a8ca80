"""A Redis broker: an ElastiCache (Valkey or Redis OSS) replication group, created as children of the broker tier.

TLS in transit and an AUTH token always; encrypted at rest with the broker's own KMS key; one primary plus
replicas, Multi-AZ with automatic failover where the stack is highly available. The token and the full Celery
URL live in Secrets Manager; ECS injects the URL into the scheduler and the workers.

Who may connect is said by two security groups made here, beside the network tier's: the nodes' group admits
the Redis port only from a ``clients`` group, which the compute tier adds to the scheduler's and the workers'
tasks (the scheduler shares its ``core`` group with the dag-processor and triggerer, which never talk to the
broker). The clients' group carries its own egress to the nodes, so restricted egress stays restricted.

Choices a broker calls for: ``maxmemory-policy noeviction`` (an evicted key is a lost task; a full broker
refuses new tasks loudly instead), and no snapshots (a restored broker would deliver tasks that already ran).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components import naming
from components.broker_settings import (
    AUTH_TOKEN_LENGTH,
    AUTH_TOKEN_SECRET,
    BROKER_URL_SECRET,
    REDIS_PORT,
    broker_log_group,
    member_cluster_ids,
    parameter_group_name,
    redis_broker_url,
    replication_group_id,
    subnet_group_name,
)
from components.common import child, with_tags
from components.config.broker import RedisBroker

LOG_KINDS = ("slow-log", "engine-log")
MAINTENANCE_WINDOW = "sun:03:00-sun:04:00"
"""UTC; an hour of a quiet night. Failover to a replica keeps a Multi-AZ broker up while a node is patched."""


@dataclass(frozen=True)
class RedisBrokerArgs:
    stack: str
    settings: RedisBroker
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    """The private subnets, where the Airflow tasks run."""
    log_retention_days: int
    recovery_window_days: int
    """How long a deleted secret can be restored (0: deleted at once, for dev)."""
    protect: bool
    tags: Mapping[str, str]


class RedisBrokerResources:
    """The replication group and what the other tiers need of it."""

    group: aws.elasticache.ReplicationGroup
    clients_security_group: aws.ec2.SecurityGroup
    secret_names: dict[str, str]
    """Secret key -> its name in Secrets Manager (the URL and the AUTH token)."""

    def __init__(self, parent: pulumi.Resource, name: str, args: RedisBrokerArgs) -> None:
        settings, stack, tags = args.settings, args.stack, args.tags
        nodes_group = aws.ec2.SecurityGroup(
            f"{name}-redis-nodes",
            vpc_id=args.vpc_id,
            description=f"airstack {stack} broker nodes",
            tags=with_tags(tags, Name=naming.physical(stack, "broker")),
            opts=child(parent),
        )
        self.clients_security_group = aws.ec2.SecurityGroup(
            f"{name}-redis-clients",
            vpc_id=args.vpc_id,
            description=f"airstack {stack} broker clients (scheduler, workers)",
            tags=with_tags(tags, Name=naming.physical(stack, "broker-clients")),
            opts=child(parent),
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-redis-from-clients-{REDIS_PORT}",
            security_group_id=nodes_group.id,
            referenced_security_group_id=self.clients_security_group.id,
            ip_protocol="tcp",
            from_port=REDIS_PORT,
            to_port=REDIS_PORT,
            description="Celery: the scheduler sends tasks, workers receive them",
            tags=tags,
            opts=child(parent),
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-redis-clients-to-nodes-{REDIS_PORT}",
            security_group_id=self.clients_security_group.id,
            referenced_security_group_id=nodes_group.id,
            ip_protocol="tcp",
            from_port=REDIS_PORT,
            to_port=REDIS_PORT,
            description="the Celery broker",
            tags=tags,
            opts=child(parent),
        )
        subnets = aws.elasticache.SubnetGroup(
            f"{name}-subnets",
            name=subnet_group_name(stack),
            description=f"airstack {stack} broker: the private subnets",
            subnet_ids=args.subnet_ids,
            tags=tags,
            opts=child(parent),
        )
        parameters = aws.elasticache.ParameterGroup(
            f"{name}-parameters",
            name=parameter_group_name(stack, settings.parameter_family),
            family=settings.parameter_family,
            description=f"airstack {stack} broker: never evict a message",
            parameters=[aws.elasticache.ParameterGroupParameterArgs(name="maxmemory-policy", value="noeviction")],
            tags=tags,
            opts=child(parent),
        )
        key = aws.kms.Key(
            f"{name}-key",
            description=f"airstack {stack}: encrypts the broker's nodes at rest",
            enable_key_rotation=True,
            deletion_window_in_days=30 if args.protect else 7,
            tags=tags,
            opts=child(parent, protect=args.protect),
        )
        log_groups = {
            kind: aws.cloudwatch.LogGroup(
                f"{name}-{kind}",
                name=broker_log_group(stack, kind),
                retention_in_days=args.log_retention_days,
                tags=tags,
                opts=child(parent, protect=args.protect),
            )
            for kind in LOG_KINDS
        }
        # Letters and digits only: the token goes into the broker URL as it is.
        token = random.RandomPassword(
            f"{name}-auth-token", length=AUTH_TOKEN_LENGTH, special=False, opts=child(parent, protect=args.protect)
        )
        self.group = aws.elasticache.ReplicationGroup(
            f"{name}-redis",
            replication_group_id=replication_group_id(stack),
            description=f"airstack {stack}: the Celery broker",
            engine=settings.engine,
            engine_version=settings.version,
            node_type=settings.node_type,
            num_cache_clusters=settings.nodes,
            cluster_mode="disabled",  # kombu's Redis transport talks to one primary
            automatic_failover_enabled=settings.multi_az,
            multi_az_enabled=settings.multi_az,
            port=REDIS_PORT,
            parameter_group_name=parameters.name,
            subnet_group_name=subnets.name,
            security_group_ids=[nodes_group.id],
            # Without transit_encryption_mode ElastiCache requires TLS (its "preferred" would also take plain text).
            transit_encryption_enabled=True,
            auth_token=token.result,
            at_rest_encryption_enabled=True,
            kms_key_id=key.arn,
            snapshot_retention_limit=0,
            auto_minor_version_upgrade=True,
            maintenance_window=MAINTENANCE_WINDOW,
            log_delivery_configurations=[
                aws.elasticache.ReplicationGroupLogDeliveryConfigurationArgs(
                    destination=log_group.name, destination_type="cloudwatch-logs", log_format="json", log_type=kind
                )
                for kind, log_group in log_groups.items()
            ],
            tags=with_tags(tags, Name=replication_group_id(stack), **{"airstack:role": "celery-broker"}),
            # Its ID is fixed: a replacement (a new KMS key, at-rest settings) must remove the old one first.
            opts=child(parent, protect=args.protect, delete_before_replace=True),
        )
        self.secret_names = {
            key_name: naming.internal_secret_name(stack, key_name)
            for key_name in (BROKER_URL_SECRET, AUTH_TOKEN_SECRET)
        }
        url = pulumi.Output.all(token.result, self.group.primary_endpoint_address, self.group.port).apply(
            lambda v: redis_broker_url(v[0], v[1], v[2])
        )
        for role, key_name, what, value in (
            ("url", BROKER_URL_SECRET, "Celery's broker URL (TLS, AUTH token)", url),
            ("token", AUTH_TOKEN_SECRET, "the broker's AUTH token (for operators; Celery reads the URL)", token.result),
        ):
            secret = aws.secretsmanager.Secret(
                f"{name}-{role}-secret",
                name=self.secret_names[key_name],
                description=f"airstack {stack}: {what}",
                recovery_window_in_days=args.recovery_window_days,
                tags=with_tags(tags, **{"airstack:secret": key_name}),
                opts=child(parent, protect=args.protect),
            )
            aws.secretsmanager.SecretVersion(
                f"{name}-{role}-secret-value",
                secret_id=secret.id,
                secret_string=pulumi.Output.secret(value),
                opts=child(parent),
            )


@dataclass(frozen=True)
class Alarm:
    metric: str
    threshold: float
    why: str
    replicas_only: bool = False


ALARMS = (
    Alarm("DatabaseMemoryUsagePercentage", 80, "the broker's memory is over 80% full; when full it refuses new tasks"),
    Alarm("EngineCPUUtilization", 80, "the broker's engine thread is over 80% busy; Celery calls will slow down"),
    Alarm("ReplicationLag", 30, "a replica is over 30 s behind: a failover now would lose recent messages", True),
)
"""What needs a human. No Evictions alarm: with ``noeviction`` the broker never evicts (it refuses writes, which
the memory alarm warns of first)."""


def broker_alarms(
    parent: pulumi.Resource,
    name: str,
    stack: str,
    settings: RedisBroker,
    topic_arn: pulumi.Input[str],
    tags: Mapping[str, str],
) -> list[aws.cloudwatch.MetricAlarm]:
    """One alarm per metric and node, to the stack's alert topic (which node is the primary changes on failover)."""
    alarms = []
    for alarm in ALARMS:
        if alarm.replicas_only and settings.nodes < 2:
            continue
        for node in member_cluster_ids(stack, settings.nodes):
            alarms.append(
                aws.cloudwatch.MetricAlarm(
                    f"{name}-{node.rsplit('-', 1)[1]}-{alarm.metric.lower()}",
                    alarm_description=f"{node}: {alarm.why}",
                    namespace="AWS/ElastiCache",
                    metric_name=alarm.metric,
                    dimensions={"CacheClusterId": node},
                    statistic="Maximum" if alarm.replicas_only else "Average",
                    period=300,
                    evaluation_periods=3,
                    threshold=alarm.threshold,
                    comparison_operator="GreaterThanThreshold",
                    # The primary publishes no replication lag, and a node being replaced publishes nothing.
                    treat_missing_data="notBreaching",
                    alarm_actions=[topic_arn],
                    ok_actions=[topic_arn],
                    tags=tags,
                    opts=child(parent),
                )
            )
    return alarms
