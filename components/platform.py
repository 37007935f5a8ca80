"""The whole Airflow platform of one stack: every tier, wired together from one ``StackConfig``."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components import recovery
from components.airflow_settings import SECRET_NAMES
from components.broker import Broker, BrokerArgs, QueueSpec
from components.broker_redis import RedisBrokerArgs
from components.bucket_policies import FLOW_LOG_PREFIX
from components.buckets import Buckets, BucketsArgs
from components.compute import Compute, ComputeArgs
from components.config import StackConfig
from components.dag_storage import DagStorage, DagStorageArgs, TeamDirectory
from components.delivery import Delivery, DeliveryArgs, metrics_namespace
from components.identities import Identities, IdentitiesArgs
from components.ingress import Ingress, IngressArgs
from components.metastore import Metastore, MetastoreArgs
from components.monitoring import Monitoring, MonitoringArgs
from components.naming import secret_partial_arn
from components.network import Network, NetworkArgs
from components.replication import Replication, ReplicationArgs
from components.secrets import Secrets, SecretsArgs
from components.services import ServiceSpec, service_specs
from components.standby import Standby
from components.watched import TeamQueue, Watched, arn_suffix


def stack_tags(config: StackConfig) -> dict[str, str]:
    """Tags on every taggable resource: the config's own, plus where it comes from."""
    return {**config.tags, "Environment": config.environment, "Stack": config.stack, "ManagedBy": "airstack"}


class AirflowPlatform(pulumi.ComponentResource):
    def __init__(self, name: str, config: StackConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airstack:platform:AirflowPlatform", name, None, opts)
        tags = stack_tags(config)
        here = pulumi.ResourceOptions(parent=self)
        protect = config.protected
        # Known on a preview too (an invoke, not a resource): the account makes names and ARNs derivable.
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        specs = service_specs(config)

        # Before the network: its flow logs, like the load balancer's access logs, go to the logs bucket.
        self.buckets = Buckets(
            "buckets",
            BucketsArgs(
                stack=config.stack,
                region=config.aws_region,
                account=account,
                versioning=config.bucket_versioning,
                logs_expiration_days=config.buckets.logs_expiration_days,
                artifacts_expiration_days=config.buckets.artifacts_expiration_days,
                noncurrent_version_days=config.buckets.noncurrent_version_days,
                protect=protect,
                tags=tags,
            ),
            here,
        )
        self.network = Network(
            "network",
            NetworkArgs(
                stack=config.stack,
                region=config.aws_region,
                cidr=config.network.cidr,
                az_count=config.network.az_count,
                nat_strategy=config.network.nat_strategy,
                interface_endpoints=config.network.interface_endpoints,
                ui_allowed_cidrs=config.ingress.allowed_cidrs,
                restrict_egress=config.network.egress_restricted,
                worker_egress_cidrs=config.network.worker_egress_cidrs,
                flow_logs_destination=self.buckets.logs.resource.arn.apply(lambda arn: f"{arn}/{FLOW_LOG_PREFIX}/"),
                flow_logs_ready=self.buckets.logs.settled,
                tags=tags,
            ),
            here,
        )
        sg = {role: group.id for role, group in self.network.security_groups.items()}
        # An activated standby reads its primary's replicated backups (and checks what the primary copies here).
        self.standby = Standby("dr", config, here) if recovery.restores(config) else None
        metastore = config.metastore
        self.metastore = Metastore(
            "metastore",
            MetastoreArgs(
                stack=config.stack,
                region=config.aws_region,
                subnet_ids=self.network.isolated_subnet_ids,
                security_group_id=sg["database"],
                instance_class=metastore.instance_class,
                allocated_storage_gb=metastore.allocated_storage_gb,
                max_allocated_storage_gb=metastore.max_allocated_storage_gb,
                engine_version=metastore.engine_version,
                engine_major=metastore.engine_major,
                auto_minor_version_upgrade=metastore.auto_minor_version_upgrade,
                multi_az=metastore.multi_az,
                backup_retention_days=metastore.backup_retention_days,
                deletion_protection=metastore.deletion_protection,
                performance_insights=metastore.performance_insights,
                log_retention_days=config.logs.retention_days,
                protect=protect,
                backup_replica_region=config.dr.replica_region if recovery.is_primary(config) else None,
                tags=tags,
                instance=recovery.has_database(config),
                restore_from=self.standby.restore_from if self.standby is not None else None,
            ),
            here,
        )
        # Long enough to undo a mistaken deletion outside dev (FSBP; Secrets Manager allows 7 to 30).
        recovery_window_days = 30 if protect else 7 if config.environment != "dev" else 0
        self.secrets = Secrets(
            "secrets",
            SecretsArgs(
                stack=config.stack,
                db_address=self.metastore.address,
                db_port=self.metastore.port,
                protect=protect,
                recovery_window_days=recovery_window_days,
                tags=tags,
                names={key: recovery.secret_name(config, key) for key in SECRET_NAMES},
                owned=recovery.owned_secrets(config, SECRET_NAMES),
                replica_region=config.dr.replica_region if recovery.is_primary(config) else None,
                replicated=recovery.REPLICATED_SECRETS,
            ),
            here,
        )
        self.broker = Broker(
            "broker",
            BrokerArgs(
                stack=config.stack,
                queues=tuple(
                    QueueSpec(
                        queue=t.queue_name,
                        team=t.name,
                        longest_task_seconds=t.longest_task_seconds,
                        visibility_timeout_seconds=config.visibility_timeout(t),
                    )
                    for t in config.teams
                    if config.broker.type == "sqs"
                ),
                margin_percent=config.broker.visibility_margin_percent,
                protect=protect,
                tags=tags,
                redis=RedisBrokerArgs(
                    stack=config.stack,
                    settings=config.broker.redis,
                    vpc_id=self.network.vpc_id,
                    subnet_ids=self.network.private_subnet_ids,
                    log_retention_days=config.logs.retention_days,
                    recovery_window_days=recovery_window_days,
                    protect=protect,
                    tags=tags,
                )
                if config.broker.redis is not None and config.broker.type == "redis"
                else None,
            ),
            here,
        )
        self.identities = Identities(
            "iam", IdentitiesArgs(config=config, specs=specs, account=account, tags=tags), here
        )
        self.dags = DagStorage(
            "dags",
            DagStorageArgs(
                stack=config.stack,
                subnet_ids=self.network.private_subnet_ids,
                subnet_count=config.network.az_count,
                security_group_id=sg["efs"],
                teams=tuple(TeamDirectory(t.name, t.directory) for t in config.teams),
                backups=config.environment != "dev",
                protect=protect,
                tags=tags,
                team_readers={
                    s.team.name: self.identities.task_roles[s.service].arn for s in specs if s.team is not None
                },
                all_readers=[self.identities.task_roles["dag-processor"].arn],
                writer=self.identities.dag_sync_role.arn,
                replication_destination=recovery.is_standby(config),
            ),
            here,
        )
        self.replication = (
            Replication(
                "dr",
                ReplicationArgs(
                    config=config,
                    account=account,
                    buckets={"logs": self.buckets.logs, "data": self.buckets.data},
                    file_system_id=self.dags.file_system_id,
                    tags=tags,
                ),
                here,
            )
            if recovery.is_primary(config)
            else None
        )
        self.delivery = Delivery(
            "delivery",
            DeliveryArgs(
                config=config,
                account=account,
                artifacts=self.buckets.artifacts,
                role=self.identities.dag_sync_role,
                subnet_ids=self.network.private_subnet_ids,
                security_group_id=sg["dag-sync"],
                access_point_arn=self.dags.writer_access_point.arn,
                mount_targets=self.dags.mount_targets,
                tags=tags,
            ),
            here,
        )
        self.ingress = Ingress(
            "ingress",
            IngressArgs(
                stack=config.stack,
                vpc_id=self.network.vpc_id,
                subnet_ids=self.network.public_subnet_ids
                if config.ingress.internet_facing
                else self.network.private_subnet_ids,
                security_group_id=sg["alb"],
                internet_facing=config.ingress.internet_facing,
                certificate_arn=config.ingress.certificate_arn,
                domain=config.ingress.domain,
                hosted_zone_id=config.ingress.hosted_zone_id,
                access_logs_bucket=self.buckets.logs.name,
                access_logs_ready=self.buckets.logs.settled,
                web_acl=config.ingress.web_acl,
                protect=protect,
                tags=tags,
            ),
            here,
        )
        self.compute = Compute(
            "compute",
            ComputeArgs(
                config=config,
                account=account,
                subnet_ids=self.network.private_subnet_ids,
                security_group_ids=sg,
                target_group_arn=self.ingress.target_group_arn,
                listener=self.ingress.https_listener,
                logs_bucket=self.buckets.logs,
                queues=self.broker.queues,
                file_system_id=self.dags.file_system_id,
                access_points=self.dags.access_points,
                secret_names={**self.secrets.names, **self.broker.secret_names},
                broker_security_group_ids=self.broker.client_security_group_ids,
                execution_roles=self.identities.execution_roles,
                task_roles=self.identities.task_roles,
                tags=tags,
                image_sources=[self.delivery.public_cache] if self.delivery.public_cache else [],
            ),
            here,
        )
        self.monitoring = Monitoring(
            "monitoring",
            MonitoringArgs(
                config=config,
                webhook_url=pulumi.Output.secret(config.alerting.webhook_url) if config.alerting.webhook_url else None,
                watched=self._watched(config, specs),
                dag_sync_log_group=self.delivery.log_group_name,
                protect=protect,
                tags=tags,
            ),
            here,
        )
        self.broker.alarm(self.monitoring.topic_arn)
        self.outputs = self._outputs(config, account)
        self.register_outputs(self.outputs)

    def _watched(self, config: StackConfig, specs: list[ServiceSpec]) -> Watched:
        """What the monitoring tier alarms on and draws, as the other tiers named it."""
        queues, dead_letters = self.broker.queues, self.broker.dead_letter_queues
        return Watched(
            cluster=self.compute.cluster_name,
            core_services=tuple(s.service for s in specs if s.team is None),
            teams=tuple(
                TeamQueue(
                    team=s.team.name,
                    queue=s.team.queue_name,
                    service=s.service,
                    queue_name=queues[s.team.queue_name].name if s.team.queue_name in queues else None,
                    dead_letter_name=dead_letters[s.team.queue_name].name if s.team.queue_name in queues else None,
                    concurrency=s.team.concurrency,
                    max_workers=s.team.workers.max,
                )
                for s in specs
                if s.team is not None
            ),
            load_balancer=self.ingress.https_listener.load_balancer_arn.apply(
                lambda arn: arn_suffix(arn, "loadbalancer/")
            ),
            target_group=pulumi.Output.from_input(self.ingress.target_group_arn).apply(
                lambda arn: arn_suffix(arn, "targetgroup/")
            ),
            db_instance=self.metastore.identifier,
            file_system=self.dags.file_system_id,
            function=self.delivery.function_name,
            failure_queue=self.delivery.failure_queue.name,
            dag_sync_namespace=metrics_namespace(config.stack),
            replica_file_system=self.replication.replica_file_system if self.replication else None,
            bucket_copies=self.replication.bucket_copies if self.replication else (),
        )

    def _outputs(self, config: StackConfig, account: pulumi.Output[str]) -> dict[str, pulumi.Input[object]]:
        admin = self.secrets.arns.get("admin-password") or account.apply(
            lambda a: secret_partial_arn(config.aws_region, a, recovery.secret_name(config, "admin-password"))
        )
        outputs: dict[str, pulumi.Input[object]] = {
            **({"uiUrl": self.ingress.url} if self.ingress.url is not None else {}),
            "albDnsName": self.ingress.dns_name,
            "clusterName": self.compute.cluster_name,
            "queueUrls": {q: queue.url for q, queue in self.broker.queues.items()},
            **({"brokerEndpoint": self.broker.redis.group.primary_endpoint_address} if self.broker.redis else {}),
            "logsBucket": self.buckets.logs.name,
            "dataBucket": self.buckets.data.name,
            "artifactsBucket": self.buckets.artifacts.name,
            "dagSyncFunction": self.delivery.function_name,
            **({"imageRepositoryUrl": self.delivery.repository_url} if self.delivery.repository_url else {}),
            "dagFileSystemId": self.dags.file_system_id,
            "dagAccessPointIds": {team: ap.id for team, ap in self.dags.access_points.items()},
            **({"metastoreEndpoint": self.metastore.address} if self.metastore.address is not None else {}),
            "alertTopicArn": self.monitoring.topic_arn,
            "dashboardName": self.monitoring.dashboard_name,
            "adminSecretArn": admin,
        }
        if recovery.is_primary(config):
            # What the standby reads through its stack reference when it takes over.
            outputs["replicaRegion"] = str(config.dr.replica_region)
            outputs["replicatedSecrets"] = recovery.replicated_secret_names(config)
            if self.metastore.backup_replica_arn is not None:
                outputs["metastoreBackupReplicaArn"] = self.metastore.backup_replica_arn
        if self.standby is not None:
            outputs["primaryStack"] = self.standby.primary
            outputs["restoredFrom"] = self.standby.restore_from
        return outputs
