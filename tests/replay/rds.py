"""The replay's calls for RDS: parameter group, subnet group, instance, cross-region backup replication."""

from __future__ import annotations

import re
from typing import Any

from airstack.offline import Resource
from tests.replay import Inputs, Replay, handles
from tests.replay.shapes import kv, physical_name, prune


def _rds_name(r: Resource, i: Inputs) -> str:
    # RDS lowercases what it is given; Pulumi's auto-names for RDS are lowercase too.
    return physical_name(r, i).lower()


@handles("aws:rds/parameterGroup:ParameterGroup")
def parameter_group(rp: Replay, r: Resource, i: Inputs) -> None:
    name = _rds_name(r, i)
    rp.call(r, "rds", "create_db_parameter_group", DBParameterGroupName=name, DBParameterGroupFamily=i["family"],
            Description=i.get("description") or "Managed by Pulumi", Tags=kv(i.get("tags")))  # fmt: skip
    parameters = [{"ParameterName": p["name"], "ParameterValue": str(p["value"]),
                   "ApplyMethod": p.get("applyMethod") or "immediate"} for p in i.get("parameters") or []]  # fmt: skip
    if parameters:
        rp.call(r, "rds", "modify_db_parameter_group", DBParameterGroupName=name, Parameters=parameters)
    rp.facts.setdefault("parameter_groups", {})[name] = i["family"]
    rp.bind(r.id, name)


@handles("aws:rds/subnetGroup:SubnetGroup")
def subnet_group(rp: Replay, r: Resource, i: Inputs) -> None:
    name = _rds_name(r, i)
    subnets = i["subnetIds"]
    zones = {rp.facts.get("subnet_az", {}).get(s) for s in subnets}
    rp.expect(r, "rds-subnet-group", len(zones) >= 2, f"the subnets cover {len(zones)} AZ(s); RDS needs two")
    rp.call(r, "rds", "create_db_subnet_group", DBSubnetGroupName=name, SubnetIds=subnets,
            DBSubnetGroupDescription=i.get("description") or "Managed by Pulumi", Tags=kv(i.get("tags")))  # fmt: skip
    vpcs = {rp.facts.get("subnet_vpc", {}).get(s) for s in subnets}
    rp.facts.setdefault("subnet_groups", {})[name] = next(iter(vpcs)) if len(vpcs) == 1 else None
    rp.bind(r.id, name)


_MONITORING_INTERVALS = (0, 1, 5, 10, 15, 30, 60)
_POSTGRES_LOGS = frozenset({"postgresql", "upgrade", "iam-db-auth-error"})


@handles("aws:rds/instance:Instance")
def instance(rp: Replay, r: Resource, i: Inputs) -> None:
    identifier = i.get("identifier") or _rds_name(r, i)
    region = rp.region_of(r)
    group = i.get("dbSubnetGroupName")
    # Without a subnet group, RDS places the instance in the default VPC: the security groups must be there.
    vpc = rp.facts.get("subnet_groups", {}).get(group) if group else "the default VPC"
    for sg in i.get("vpcSecurityGroupIds") or []:
        sg_vpc = rp.facts.get("sg_vpc", {}).get(sg)
        rp.expect(r, "rds-network", sg_vpc == vpc,
                  f"security group {sg} is in {sg_vpc}, the instance in {vpc} (no DB subnet group given)"
                  if not group else f"security group {sg} is in {sg_vpc}, the subnet group in {vpc}")  # fmt: skip
    parameters = i.get("parameterGroupName")
    family = rp.facts.get("parameter_groups", {}).get(parameters)
    engine, version = i.get("engine"), str(i.get("engineVersion") or "")
    if family is not None and engine == "postgres":
        rp.expect(r, "rds-parameters", family == f"postgres{version.split('.', maxsplit=1)[0]}",
                  f"parameter group family {family} does not match {engine} {version}")  # fmt: skip
    rp.facts.setdefault("used_db_groups", set()).update({parameters, group})
    allocated, ceiling = i.get("allocatedStorage"), i.get("maxAllocatedStorage")
    if allocated and ceiling:
        rp.expect(
            r, "rds-storage", ceiling >= allocated * 1.1, f"maxAllocatedStorage {ceiling} is under 110% of {allocated}"
        )
    interval = i.get("monitoringInterval") or 0
    rp.expect(
        r,
        "rds-monitoring",
        interval in _MONITORING_INTERVALS,
        f"monitoringInterval {interval}: {_MONITORING_INTERVALS}",
    )
    rp.expect(r, "rds-monitoring", not interval or bool(i.get("monitoringRoleArn")), "enhanced monitoring needs a role")
    exports = set(i.get("enabledCloudwatchLogsExports") or [])
    if engine == "postgres":
        rp.expect(r, "rds-logs", exports <= _POSTGRES_LOGS, f"PostgreSQL exports only {sorted(_POSTGRES_LOGS)}")
    for log in exports:
        name = f"/aws/rds/instance/{identifier}/{log}"
        rp.expect(r, "rds-logs", (region, name) in rp.facts.get("log_groups", set()),
                  f"log group {name} is not created before the instance (RDS would create it, without retention)")  # fmt: skip
    rp.check(r, "rds-windows", window_problems(i.get("backupWindow"), i.get("maintenanceWindow")))
    pi_days = i.get("performanceInsightsRetentionPeriod")
    rp.expect(r, "rds-insights", pi_days is None or pi_days in (7, 731) or pi_days % 31 == 0,
              f"performanceInsightsRetentionPeriod {pi_days}: 7, 731 or a multiple of 31")  # fmt: skip
    window = i.get("finalSnapshotIdentifier")
    rp.expect(r, "rds-final-snapshot", window is None or re.fullmatch(r"[A-Za-z](?!.*--)[A-Za-z0-9-]{0,254}(?<!-)", window)
              is not None, f"finalSnapshotIdentifier {window!r} is not a valid identifier")  # fmt: skip
    rp.expect(r, "rds-final-snapshot", bool(i.get("skipFinalSnapshot")) or bool(window),
              "without skipFinalSnapshot, deleting the instance needs a finalSnapshotIdentifier")  # fmt: skip
    params = {
        "DBInstanceIdentifier": identifier, "DBInstanceClass": i["instanceClass"],
        "Engine": engine, "EngineVersion": version or None, "AllocatedStorage": allocated, "MaxAllocatedStorage": ceiling,
        "StorageType": i.get("storageType"), "Iops": i.get("iops"), "StorageThroughput": i.get("storageThroughput"),
        "StorageEncrypted": i.get("storageEncrypted"), "KmsKeyId": i.get("kmsKeyId"), "DBName": i.get("dbName"),
        "MasterUsername": i.get("username"), "MasterUserPassword": i.get("password"),
        "ManageMasterUserPassword": i.get("manageMasterUserPassword"),
        "MasterUserSecretKmsKeyId": i.get("masterUserSecretKmsKeyId"), "Port": i.get("port"), "MultiAZ": i.get("multiAz"),
        "BackupRetentionPeriod": i.get("backupRetentionPeriod"), "PreferredBackupWindow": i.get("backupWindow"),
        "PreferredMaintenanceWindow": i.get("maintenanceWindow"), "DBSubnetGroupName": group,
        "VpcSecurityGroupIds": i.get("vpcSecurityGroupIds"), "DBParameterGroupName": parameters,
        "PubliclyAccessible": i.get("publiclyAccessible"), "DeletionProtection": i.get("deletionProtection"),
        "CopyTagsToSnapshot": i.get("copyTagsToSnapshot"), "MonitoringInterval": i.get("monitoringInterval"),
        "MonitoringRoleArn": i.get("monitoringRoleArn"), "EnableCloudwatchLogsExports": sorted(exports) or None,
        "EnableIAMDatabaseAuthentication": i.get("iamDatabaseAuthenticationEnabled"),
        "EnablePerformanceInsights": i.get("performanceInsightsEnabled"),
        "PerformanceInsightsKMSKeyId": i.get("performanceInsightsKmsKeyId"), "PerformanceInsightsRetentionPeriod": pi_days,
        "AutoMinorVersionUpgrade": i.get("autoMinorVersionUpgrade"), "CACertificateIdentifier": i.get("caCertIdentifier"),
        "Tags": kv(i.get("tags")),
    }  # fmt: skip
    restore, snapshot = i.get("restoreToPointInTime"), i.get("snapshotIdentifier")
    if restore or snapshot:
        answer = _restore(rp, r, params, restore, snapshot)
    else:
        answer = rp.call(r, "rds", "create_db_instance", **params)["DBInstance"]
    rp.bind(r.id, answer.get("DbiResourceId"))
    rp.bind(r.outputs.get("arn"), answer["DBInstanceArn"])
    rp.bind(r.outputs.get("address"), answer["Endpoint"]["Address"])
    secret: dict[str, Any] = answer.get("MasterUserSecret") or {}
    for mock in r.outputs.get("masterUserSecrets") or []:
        rp.bind(mock.get("secretArn"), secret.get("SecretArn"))
    rp.facts.setdefault("db_instances", {})[answer["DBInstanceArn"]] = i


_AUTOMATED_BACKUPS = re.compile(r"arn:aws[a-z-]*:rds:([a-z0-9-]+):\d{12}:auto-backup:ab-[a-z0-9]+")


def _restore(rp: Replay, r: Resource, params: dict[str, Any], restore: dict[str, Any] | None,
             snapshot: str | None) -> dict[str, Any]:  # fmt: skip
    """The provider's restore: RestoreDBInstanceToPointInTime (or ...FromDBSnapshot) with what that call takes,
    then ModifyDBInstance with the settings only a modification applies. What neither takes comes from the
    source: the engine's version, the master user, and the encryption and its key."""
    region = rp.region_of(r)
    model = rp.client("rds", region).meta.service_model
    operation = "RestoreDBInstanceToPointInTime" if restore else "RestoreDBInstanceFromDBSnapshot"
    takes = set(model.operation_model(operation).input_shape.members)
    modifies = set(model.operation_model("ModifyDBInstance").input_shape.members)
    identifier = params["DBInstanceIdentifier"]
    sent = {k: v for k, v in params.items() if k in takes}
    later = {k: v for k, v in params.items() if k not in takes and k in modifies and v is not None}
    later.pop("DBInstanceIdentifier", None)
    later.pop("EngineVersion", None)  # the source's; a different one would be an upgrade after the restore
    key = params.get("KmsKeyId")
    source_key = None
    if restore:
        sources = [k for k in ("sourceDbInstanceAutomatedBackupsArn", "sourceDbInstanceIdentifier",
                               "sourceDbiResourceId") if restore.get(k)]  # fmt: skip
        rp.expect(r, "rds-restore", len(sources) == 1, f"a restore names exactly one source, not {sources}")
        rp.expect(r, "rds-restore", bool(restore.get("restoreTime")) != bool(restore.get("useLatestRestorableTime")),
                  "a restore names exactly one of restoreTime and useLatestRestorableTime")  # fmt: skip
        backups = restore.get("sourceDbInstanceAutomatedBackupsArn")
        if backups:
            found = _AUTOMATED_BACKUPS.fullmatch(backups)
            rp.expect(r, "rds-restore", found is not None and found[1] == region,
                      f"{backups} is not the ARN of automated backups in {region} (arn:aws:rds:{region}:<account>:"
                      "auto-backup:ab-...), where the instance is restored")  # fmt: skip
            source_key = rp.facts.get("replicated_backup_keys", {}).get(backups)
        sent.update(prune({
            "TargetDBInstanceIdentifier": identifier, "SourceDBInstanceAutomatedBackupsArn": backups,
            "SourceDBInstanceIdentifier": restore.get("sourceDbInstanceIdentifier"),
            "SourceDbiResourceId": restore.get("sourceDbiResourceId"), "RestoreTime": restore.get("restoreTime"),
            "UseLatestRestorableTime": restore.get("useLatestRestorableTime"),
        }))  # fmt: skip
    else:
        sent.update({"DBInstanceIdentifier": identifier, "DBSnapshotIdentifier": snapshot})
    # Neither call takes a key: the restored instance keeps its source's. The provider then reads that key, which
    # differs from the one configured; kms_key_id forces a replacement, so the next `up` replaces the database.
    rp.expect(r, "rds-restore-key", not key or key == source_key or not rp.exists(key),
              f"kmsKeyId {key}: {operation} takes no key, the instance keeps its source's; the provider then sees "
              "another key and replaces the instance on the next up (omit kmsKeyId when restoring)")  # fmt: skip
    if restore:
        answer = rp.call(r, "rds", "restore_db_instance_to_point_in_time", **sent)["DBInstance"]
    else:
        answer = rp.call(r, "rds", "restore_db_instance_from_db_snapshot", **sent)["DBInstance"]
    if later:
        rp.call(r, "rds", "modify_db_instance", DBInstanceIdentifier=identifier, ApplyImmediately=True, **later)
    return answer


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def window_problems(backup: str | None, maintenance: str | None) -> list[str]:
    """RDS: a backup window hh:mm-hh:mm and a maintenance window ddd:hh:mm-ddd:hh:mm, each at least 30 minutes
    (the backup window at most 24 hours' worth), not overlapping."""
    problems: list[str] = []
    week = 7 * 24 * 60
    spans: list[tuple[int, int]] = []
    if backup:
        found = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)", backup)
        if found is None:
            return [f"backupWindow {backup!r} is not hh:mm-hh:mm (UTC)"]
        start, end = int(found[1]) * 60 + int(found[2]), int(found[3]) * 60 + int(found[4])
        length = (end - start) % (24 * 60)
        if length < 30:
            problems.append(f"backupWindow {backup}: at least 30 minutes")
        spans += [(day * 24 * 60 + start, day * 24 * 60 + start + length) for day in range(7)]
    if maintenance:
        found = re.fullmatch(r"([a-z]{3}):([01]\d|2[0-3]):([0-5]\d)-([a-z]{3}):([01]\d|2[0-3]):([0-5]\d)", maintenance)
        if found is None or found[1] not in _DAYS or found[4] not in _DAYS:
            return [*problems, f"maintenanceWindow {maintenance!r} is not ddd:hh:mm-ddd:hh:mm (UTC)"]
        start = _DAYS.index(found[1]) * 24 * 60 + int(found[2]) * 60 + int(found[3])
        end = _DAYS.index(found[4]) * 24 * 60 + int(found[5]) * 60 + int(found[6])
        length = (end - start) % week
        if length < 30:
            problems.append(f"maintenanceWindow {maintenance}: at least 30 minutes")
        # Windows wrap around midnight and the week's end: compare a week earlier and later too.
        if any(max(low, start + shift) < min(high, start + length + shift) for low, high in spans
               for shift in (-week, 0, week)):  # fmt: skip
            problems.append(f"backupWindow {backup} overlaps maintenanceWindow {maintenance}")
    return problems


@handles("aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication")
def backup_replication(rp: Replay, r: Resource, i: Inputs) -> None:
    region = rp.region_of(r)
    source_arn = i["sourceDbInstanceArn"]
    source = rp.facts.get("db_instances", {}).get(source_arn)
    source_region = source_arn.split(":")[3]
    rp.expect(r, "rds-replication", region != source_region, f"backups replicated into their own region {region}")
    key = i.get("kmsKeyId")
    if source is not None and source.get("storageEncrypted"):
        rp.expect(r, "rds-replication", bool(key), "an encrypted instance's replicated backups need a KMS key")
    if key:
        found = rp.look("kms", "describe_key", region, KeyId=key)
        rp.expect(
            r, "rds-replication", found is not None, f"KMS key {key} does not exist in the replica region {region}"
        )
    days = i.get("retentionPeriod")
    rp.expect(r, "rds-replication", days is None or 1 <= days <= 35, f"retentionPeriod {days}: 1 to 35")
    rp.call(r, "rds", "start_db_instance_automated_backups_replication", SourceDBInstanceArn=source_arn,
            BackupRetentionPeriod=days, KmsKeyId=key, PreSignedUrl=i.get("preSignedUrl"))  # fmt: skip
    if key:
        rp.facts.setdefault("replicated_backup_keys", {})[rp.sub(r.id)] = key


def unused_groups(rp: Replay) -> None:
    """A parameter or subnet group that no instance uses is configuration that does not apply; but a stack without
    any DB instance keeps its groups for one it restores later (a pilot-light standby): those wait, not mislead."""
    used = rp.facts.get("used_db_groups", set())
    if not rp.run.by_type("aws:rds/instance:Instance"):
        return
    for r in rp.run.resources:
        if (
            r.type in ("aws:rds/parameterGroup:ParameterGroup", "aws:rds/subnetGroup:SubnetGroup")
            and r.urn not in rp.failed
        ):
            name = rp.sub(r.id)
            rp.expect(r, "rds-parameters" if "parameter" in r.type else "rds-network", name in used,
                      f"{name} is created, but no DB instance uses it")  # fmt: skip
