"""Metastore tier: RDS PostgreSQL in isolated subnets, encrypted, backed up, monitored, its master password managed.

RDS keeps and rotates the master password in Secrets Manager, so nothing Airflow runs with depends on it: the
migration step (``image/airstack_db_init.py``) uses it once per deployment to give Airflow's metadata and
Celery's results each their own role and database. The instance has a known identifier (its log groups,
alarms and the migration step name it before it exists) and a non-default port (FSBP RDS.23).

A DR standby has no instance until it is activated (``instance: False``); activated, its instance is restored
(``restore_from``) to the latest restorable time of the primary's automated backups replicated to this region, and
encrypted with a key of the standby's own, so that it never depends on the primary's resources again. A later
change of the replicated backups never replaces the restored instance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import naming
from components.airflow_settings import DB_PORT
from components.common import assume_role_policy, child, with_tags

MASTER_USER = "airstack_admin"
"""RDS's master login; only the migration step uses it (Airflow and Celery have their own roles)."""
LOG_EXPORTS = ("postgresql", "upgrade")
MONITORING_INTERVAL_SECONDS = 60
MONITORING_POLICY = "service-role/AmazonRDSEnhancedMonitoringRole"


@dataclass(frozen=True)
class MetastoreArgs:
    stack: str
    region: str
    subnet_ids: pulumi.Input[Sequence[str]]
    security_group_id: pulumi.Input[str]
    instance_class: str
    allocated_storage_gb: int
    max_allocated_storage_gb: int | None
    engine_version: str
    engine_major: str
    auto_minor_version_upgrade: bool
    multi_az: bool
    backup_retention_days: int
    deletion_protection: bool
    performance_insights: bool
    log_retention_days: int
    protect: bool
    backup_replica_region: str | None
    tags: Mapping[str, str]
    instance: bool = True
    """False: no instance (a standby before it takes over)."""
    restore_from: pulumi.Input[str] | None = None
    """The ARN of replicated automated backups to restore the instance from (an activated standby)."""


class Metastore(pulumi.ComponentResource):
    address: pulumi.Output[str] | None
    port: pulumi.Output[int] | None
    instance_arn: pulumi.Output[str] | None
    backup_replica_arn: pulumi.Output[str] | None
    """The ARN of this instance's automated backups replicated to the DR region (what a standby restores)."""
    identifier: str | None

    def __init__(self, name: str, args: MetastoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airstack:metastore:Metastore", name, None, opts)
        identifier = naming.db_identifier(args.stack)
        partition = naming.partition_of(args.region).name
        subnets = aws.rds.SubnetGroup(
            f"{name}-subnets",
            subnet_ids=args.subnet_ids,
            description=f"airstack {args.stack} metastore (isolated subnets)",
            tags=args.tags,
            opts=child(self),
        )
        parameters = aws.rds.ParameterGroup(
            f"{name}-parameters",
            family=f"postgres{args.engine_major}",
            description=f"airstack {args.stack} metastore",
            parameters=[
                aws.rds.ParameterGroupParameterArgs(name="rds.force_ssl", value="1"),
                aws.rds.ParameterGroupParameterArgs(name="log_min_duration_statement", value="1000"),
            ],
            tags=args.tags,
            opts=child(self),
        )
        # RDS would create these without a retention; created first, they keep the stack's (FSBP RDS.9).
        log_groups = [
            aws.cloudwatch.LogGroup(
                f"{name}-log-{export}",
                name=f"/aws/rds/instance/{identifier}/{export}",
                retention_in_days=args.log_retention_days,
                tags=args.tags,
                opts=child(self, protect=args.protect),
            )
            for export in LOG_EXPORTS
        ]
        monitoring = aws.iam.Role(
            f"{name}-monitoring",
            assume_role_policy=assume_role_policy("monitoring.rds.amazonaws.com"),
            description=f"airstack {args.stack}: RDS enhanced monitoring of the metastore",
            managed_policy_arns=[f"arn:{partition}:iam::aws:policy/{MONITORING_POLICY}"],
            tags=args.tags,
            opts=child(self),
        )
        self.address = self.port = self.instance_arn = self.backup_replica_arn = None
        self.identifier = None
        if not args.instance:
            self.register_outputs({})
            return
        restore = None
        if args.restore_from is not None:
            # RestoreDBInstanceToPointInTime takes no key: the instance keeps the replicated backups' key (the
            # primary's replica key in this region). A key of its own here would read as a replacement next `up`.
            restore = aws.rds.InstanceRestoreToPointInTimeArgs(
                source_db_instance_automated_backups_arn=args.restore_from, use_latest_restorable_time=True
            )
        instance = aws.rds.Instance(
            f"{name}-db",
            identifier=identifier,
            engine="postgres",
            engine_version=args.engine_version,
            auto_minor_version_upgrade=args.auto_minor_version_upgrade,
            instance_class=args.instance_class,
            allocated_storage=args.allocated_storage_gb,
            max_allocated_storage=args.max_allocated_storage_gb,
            storage_type="gp3",
            storage_encrypted=True,
            restore_to_point_in_time=restore,
            db_name="airflow",
            port=DB_PORT,
            username=MASTER_USER,
            manage_master_user_password=True,
            db_subnet_group_name=subnets.name,
            parameter_group_name=parameters.name,
            vpc_security_group_ids=[args.security_group_id],
            publicly_accessible=False,
            multi_az=args.multi_az,
            backup_retention_period=args.backup_retention_days,
            backup_window="02:00-03:00",
            maintenance_window="sun:03:30-sun:04:30",
            copy_tags_to_snapshot=True,
            deletion_protection=args.deletion_protection,
            skip_final_snapshot=not args.deletion_protection,
            final_snapshot_identifier=naming.final_snapshot_identifier(args.stack)
            if args.deletion_protection
            else None,
            performance_insights_enabled=args.performance_insights,
            performance_insights_retention_period=7 if args.performance_insights else None,
            monitoring_interval=MONITORING_INTERVAL_SECONDS,
            monitoring_role_arn=monitoring.arn,
            enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
            iam_database_authentication_enabled=True,
            tags=with_tags(args.tags, Name=identifier),
            # Restored once: newer replicated backups (or a new replication) must never replace the database.
            opts=child(
                self,
                protect=args.protect,
                depends_on=log_groups,
                ignore_changes=["restoreToPointInTime"] if restore is not None else None,
            ),
        )
        if args.backup_replica_region:
            self.backup_replica_arn = self._replicate_backups(name, args, instance)
        self.identifier = identifier
        self.address = instance.address
        self.port = instance.port
        self.instance_arn = instance.arn
        self.register_outputs({"address": self.address, "port": self.port, "instanceArn": self.instance_arn})

    def _replicate_backups(self, name: str, args: MetastoreArgs, instance: aws.rds.Instance) -> pulumi.Output[str]:
        """Automated backups copied to the DR region, encrypted there with a key of that region."""
        region = args.backup_replica_region
        key = aws.kms.Key(
            f"{name}-replica-key",
            region=region,
            description=f"airstack {args.stack}: the metastore's replicated backups in {region}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=args.tags,
            opts=child(self, protect=args.protect),
        )
        # Its ID is the ARN of the replicated backups: what a standby restores from.
        return aws.rds.InstanceAutomatedBackupsReplication(
            f"{name}-backup-replication",
            region=region,
            source_db_instance_arn=instance.arn,
            kms_key_id=key.arn,
            retention_period=args.backup_retention_days,
            opts=child(self),
        ).id
