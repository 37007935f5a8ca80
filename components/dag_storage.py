"""DAG storage tier: encrypted EFS with one access point per team at ``/dags/<team>``.

Airflow mounts these read-only through IAM-authorised mounts; only the DAG deployment function may write. Who
may mount through which access point is the file system's own policy: a team's workers only through their
team's access point, the dag-processor through every team's.

A DR standby's file system is the destination of its primary's EFS replication: created with replication
overwrite protection off, so the primary can replicate into it (it is then read-only, and EFS reports the
protection as REPLICATING). Deleting the replication at a failover makes it writable and turns the protection
back on; EFS owns that setting from then on, so the program never changes it back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.common import child, with_tags
from components.grants import file_system_policy

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
    team_readers: Mapping[str, pulumi.Input[str]]
    """Team -> the role ARN that reads that team's DAGs (its workers' task role)."""
    all_readers: Sequence[pulumi.Input[str]] = ()
    """Role ARNs that read every team's DAGs (the dag-processor's task role)."""
    writer: pulumi.Input[str] | None = None
    """The role ARN that writes releases (the DAG deployment function), through its own access point."""
    replication_destination: bool = False
    """A standby's: the primary replicates its DAG file system into this one."""


def _policy_document(grants: dict[str, Any]) -> str:
    readers: dict[str, list[str]] = {
        str(grants["team_roles"][t]): list(grants["points"][t]) for t in grants["team_roles"]
    }
    readers.update({role: list(grants["every"]) for role in grants["all_roles"]})
    writer = grants.get("writer")
    writers = {str(writer[0]): [str(writer[1])]} if writer else {}
    return json.dumps(file_system_policy(grants["fs"], readers=readers, writers=writers), sort_keys=True)


class DagStorage(pulumi.ComponentResource):
    mount_targets: list[aws.efs.MountTarget]
    writer_access_point: aws.efs.AccessPoint

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
            protection=aws.efs.FileSystemProtectionArgs(replication_overwrite="DISABLED")
            if args.replication_destination
            else None,
            tags=with_tags(args.tags, Name=f"airstack-{args.stack}-dags"),
            opts=child(
                self, protect=args.protect, ignore_changes=["protection"] if args.replication_destination else None
            ),
        )
        aws.efs.BackupPolicy(
            f"{name}-backup",
            file_system_id=fs.id,
            backup_policy=aws.efs.BackupPolicyBackupPolicyArgs(status="ENABLED" if args.backups else "DISABLED"),
            opts=child(self),
        )
        self.mount_targets = []
        for index in range(args.subnet_count):
            target = aws.efs.MountTarget(
                f"{name}-mount-{index}",
                file_system_id=fs.id,
                subnet_id=pulumi.Output.from_input(args.subnet_ids).apply(lambda ids, i=index: ids[i]),
                security_groups=[args.security_group_id],
                opts=child(self),
            )
            self.mount_targets.append(target)
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
        # The DAG deployment function's way in: the whole /dags tree, as Airflow's user (50000:0).
        self.writer_access_point = aws.efs.AccessPoint(
            f"{name}-releases",
            file_system_id=fs.id,
            posix_user=aws.efs.AccessPointPosixUserArgs(uid=AIRFLOW_UID, gid=AIRFLOW_GID),
            root_directory=aws.efs.AccessPointRootDirectoryArgs(
                path="/dags",
                creation_info=aws.efs.AccessPointRootDirectoryCreationInfoArgs(
                    owner_uid=AIRFLOW_UID, owner_gid=AIRFLOW_GID, permissions="0755"
                ),
            ),
            tags=with_tags(args.tags, Name=f"airstack-{args.stack}-dags-releases"),
            opts=child(self),
        )
        readers = {team: [ap.arn] for team, ap in self.access_points.items()}
        all_points = [ap.arn for ap in self.access_points.values()]
        grants = pulumi.Output.all(
            fs=fs.arn,
            team_roles=pulumi.Output.all(**dict(args.team_readers)),
            all_roles=pulumi.Output.all(*args.all_readers),
            points=pulumi.Output.all(**{t: pulumi.Output.all(*arns) for t, arns in readers.items()}),
            every=pulumi.Output.all(*all_points),
            writer=pulumi.Output.all(args.writer, self.writer_access_point.arn) if args.writer else None,
        )
        aws.efs.FileSystemPolicy(
            f"{name}-policy",
            file_system_id=fs.id,
            policy=grants.apply(_policy_document),
            opts=child(self),
        )
        self.file_system_id = fs.id
        self.file_system_arn = fs.arn
        self.register_outputs(
            {
                "fileSystemId": fs.id,
                "accessPointIds": {team: ap.id for team, ap in self.access_points.items()},
            }
        )
