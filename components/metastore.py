"""Metastore tier: RDS PostgreSQL in isolated subnets, encrypted, backed up, password generated."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.common import child, with_tags

DB_NAME = "airflow"
DB_USER = "airflow"


@dataclass(frozen=True)
class MetastoreArgs:
    stack: str
    subnet_ids: pulumi.Input[Sequence[str]]
    security_group_id: pulumi.Input[str]
    instance_class: str
    allocated_storage_gb: int
    max_allocated_storage_gb: int | None
    engine_version: str
    multi_az: bool
    backup_retention_days: int
    deletion_protection: bool
    performance_insights: bool
    protect: bool
    backup_replica_region: str | None
    tags: Mapping[str, str]


class Metastore(pulumi.ComponentResource):
    address: pulumi.Output[str]
    port: pulumi.Output[int]
    password: pulumi.Output[str]
    instance_arn: pulumi.Output[str]
    identifier: pulumi.Output[str]

    def __init__(self, name: str, args: MetastoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airstack:metastore:Metastore", name, None, opts)
        major = args.engine_version.split(".")[0]
        password = random.RandomPassword(
            f"{name}-password", length=32, special=False, opts=child(self, protect=args.protect)
        )
        subnets = aws.rds.SubnetGroup(
            f"{name}-subnets",
            subnet_ids=args.subnet_ids,
            description=f"airstack {args.stack} metastore (isolated subnets)",
            tags=args.tags,
            opts=child(self),
        )
        parameters = aws.rds.ParameterGroup(
            f"{name}-parameters",
            family=f"postgres{major}",
            description=f"airstack {args.stack} metastore",
            parameters=[
                aws.rds.ParameterGroupParameterArgs(name="rds.force_ssl", value="1"),
                aws.rds.ParameterGroupParameterArgs(name="log_min_duration_statement", value="1000"),
            ],
            tags=args.tags,
            opts=child(self),
        )
        instance = aws.rds.Instance(
            f"{name}-db",
            engine="postgres",
            engine_version=args.engine_version,
            instance_class=args.instance_class,
            allocated_storage=args.allocated_storage_gb,
            max_allocated_storage=args.max_allocated_storage_gb,
            storage_type="gp3",
            storage_encrypted=True,
            db_name=DB_NAME,
            username=DB_USER,
            password=password.result,
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
            final_snapshot_identifier=f"airstack-{args.stack}-metastore-final" if args.deletion_protection else None,
            performance_insights_enabled=args.performance_insights,
            performance_insights_retention_period=7 if args.performance_insights else None,
            auto_minor_version_upgrade=True,
            iam_database_authentication_enabled=True,
            tags=with_tags(args.tags, Name=f"airstack-{args.stack}-metastore"),
            opts=child(self, protect=args.protect),
        )
        if args.backup_replica_region:
            replica_provider = aws.Provider(
                f"{name}-replica-region", region=args.backup_replica_region, opts=child(self)
            )
            aws.rds.InstanceAutomatedBackupsReplication(
                f"{name}-backup-replication",
                source_db_instance_arn=instance.arn,
                retention_period=args.backup_retention_days,
                opts=child(self, provider=replica_provider),
            )
        self.address = instance.address
        self.port = instance.port
        self.password = password.result
        self.instance_arn = instance.arn
        self.identifier = instance.identifier
        self.register_outputs({"address": self.address, "port": self.port, "instanceArn": self.instance_arn})
