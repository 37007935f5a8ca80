"""DAG storage tier: encrypted EFS with one access point per team at ``/dags/<team>``.

Airflow mounts these read-only through IAM-authorised mounts; only the DAG deployment function may write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.common import child, deny_insecure_transport, with_tags

AIRFLOW_UID = 50000
AIRFLOW_GID = 0


@dataclass(frozen=True)
class TeamDirectory:
    team: str
    directory: str


@dataclass(frozen=True)
class DagStorageArgs:
    stack: str
    subnet_ids: pulumi.Input[Sequence[str]]
    subnet_count: int
    security_group_id: pulumi.Input[str]
    teams: tuple[TeamDirectory, ...]
    backups: bool
    protect: bool
    tags: Mapping[str, str]


class DagStorage(pulumi.ComponentResource):
    file_system_id: pulumi.Output[str]
    file_system_arn: pulumi.Output[str]
    access_points: dict[str, aws.efs.AccessPoint]

    def __init__(self, name: str, args: DagStorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airstack:dags:DagStorage", name, None, opts)
        fs = aws.efs.FileSystem(
            f"{name}-fs",
            encrypted=True,
            performance_mode="generalPurpose",
            throughput_mode="elastic",
            tags=with_tags(args.tags, Name=f"airstack-{args.stack}-dags"),
            opts=child(self, protect=args.protect),
        )
        aws.efs.BackupPolicy(
            f"{name}-backup",
            file_system_id=fs.id,
            backup_policy=aws.efs.BackupPolicyBackupPolicyArgs(status="ENABLED" if args.backups else "DISABLED"),
            opts=child(self),
        )
        aws.efs.FileSystemPolicy(
            f"{name}-policy",
            file_system_id=fs.id,
            policy=fs.arn.apply(lambda arn: deny_insecure_transport({"AWS": "*"}, "*", [arn])),
            opts=child(self),
        )
        for index in range(args.subnet_count):
            aws.efs.MountTarget(
                f"{name}-mount-{index}",
                file_system_id=fs.id,
                subnet_id=pulumi.Output.from_input(args.subnet_ids).apply(lambda ids, i=index: ids[i]),
                security_groups=[args.security_group_id],
                opts=child(self),
            )
        self.access_points = {
            team.team: aws.efs.AccessPoint(
                f"{name}-{team.team}",
                file_system_id=fs.id,
                posix_user=aws.efs.AccessPointPosixUserArgs(uid=AIRFLOW_UID, gid=AIRFLOW_GID),
                root_directory=aws.efs.AccessPointRootDirectoryArgs(
                    path=f"/dags/{team.directory}",
                    creation_info=aws.efs.AccessPointRootDirectoryCreationInfoArgs(
                        owner_uid=AIRFLOW_UID, owner_gid=AIRFLOW_GID, permissions="0755"
                    ),
                ),
                tags=with_tags(
                    args.tags, Name=f"airstack-{args.stack}-dags-{team.team}", **{"airstack:team": team.team}
                ),
                opts=child(self),
            )
            for team in args.teams
        }
        self.file_system_id = fs.id
        self.file_system_arn = fs.arn
        self.register_outputs(
            {
                "fileSystemId": fs.id,
                "accessPointIds": {team: ap.id for team, ap in self.access_points.items()},
            }
        )
