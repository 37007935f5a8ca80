"""Disaster recovery across stacks: prod copies to its DR region (and only prod does), dr stands by in pilot light,
and dr activated restores from prod's replicated backups with prod's replicated secrets, read through a stack
reference answered here with prod's own planned outputs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from airstack.lookups import STACK_REFERENCE, Answer, Lookups, read_lookups
from airstack.offline import ProgramError, ProgramRun, run_program
from airstack.stackfile import PROJECT_ROOT, read_stack_file
from components import naming, recovery
from components.airflow_metrics import AGENT_CONTAINER
from components.config import ConfigError
from tests.conftest import STACKS, containers, env_of, of_type, planned, stack_file_with, stack_values
from tests.iam_eval import Request, allowed

BUCKET_REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
EFS_REPLICATION = "aws:efs/replicationConfiguration:ReplicationConfiguration"
ECR_REPLICATION = "aws:ecr/replicationConfiguration:ReplicationConfiguration"
BACKUP_REPLICATION = "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"
SECRET = "aws:secretsmanager/secret:Secret"
DB = "aws:rds/instance:Instance"
ROOT = Path(__file__).resolve().parent.parent
PRIMARY = "organization/airstack/prod"
"""The stack reference dr makes: its own organization and project (Pulumi's default organization offline)."""
ACTIVE = {"role": "standby", "primaryStack": "prod", "primaryRegion": "eu-west-1", "active": True}


def buckets_of(run: ProgramRun) -> dict[str, Any]:
    return {b.inputs["tags"]["airstack:bucket"]: b for b in of_type(run, "aws:s3/bucket:Bucket")}


def prod_answers(outputs: dict[str, Any] | None = None) -> Lookups:
    """dr's stack reference answered with what prod's program exports (or ``outputs``)."""
    exported = planned("prod").outputs if outputs is None else outputs
    return Lookups((Answer(STACK_REFERENCE, {"name": PRIMARY}, {"outputs": exported}, "prod's planned outputs"),))


def activated(lookups: Lookups, **dr: Any) -> ProgramRun:
    values = stack_values("dr")
    values["airstack:dr"] = {**ACTIVE, **dr}
    return run_program(stack_file_with("dr", values), lookups=lookups)


_ACTIVE: list[ProgramRun] = []


def active_dr() -> ProgramRun:
    if not _ACTIVE:
        _ACTIVE.append(activated(prod_answers()))
    return _ACTIVE[0]


# ----------------------------------------------------------------------------------- what a primary copies


@pytest.mark.parametrize("stack", [s for s in STACKS if s != "prod"])
def test_only_a_primary_replicates(stack: str) -> None:
    run = planned(stack)
    for typ in (BUCKET_REPLICATION, EFS_REPLICATION, ECR_REPLICATION, BACKUP_REPLICATION):
        assert not of_type(run, typ), f"{stack} has a {typ}"
    assert all(not s.inputs.get("replicas") for s in of_type(run, SECRET))


def test_prod_copies_task_logs_and_data_into_drs_own_buckets() -> None:
    prod, dr = planned("prod"), planned("dr")
    sources, destinations = buckets_of(prod), buckets_of(dr)
    configs = {c.inputs["bucket"]: c for c in of_type(prod, BUCKET_REPLICATION)}
    assert set(configs) == {sources["logs"].outputs["id"], sources["data"].outputs["id"]}
    for purpose, prefix in (("logs", "task-logs/"), ("data", "")):
        config = configs[sources[purpose].outputs["id"]]
        [rule] = config.inputs["rules"]
        assert rule["destination"]["bucket"] == destinations[purpose].outputs["arn"], "dr's bucket, derived by name"
        assert destinations[purpose].inputs["bucket"].endswith("-eu-central-1")
        assert rule["filter"] == {"prefix": prefix}
        assert (rule["status"], rule["deleteMarkerReplication"]) == ("Enabled", {"status": "Enabled"})
        # Replication Time Control: 99.99% of objects within 15 minutes (the runbook's RPO for S3).
        assert rule["destination"]["replicationTime"] == {"status": "Enabled", "time": {"minutes": 15}}
        assert rule["destination"]["metrics"] == {"status": "Enabled", "eventThreshold": {"minutes": 15}}
        settled = [r for r in prod.resources if r.type == "aws:s3/bucketPolicy:BucketPolicy"
                   and r.inputs["bucket"] == sources[purpose].outputs["id"]]  # fmt: skip
        assert settled[0].urn in config.dependencies, "after the bucket's versioning and its other settings"
    versioning = list(of_type(dr, "aws:s3/bucketVersioning:BucketVersioning"))
    assert {v.inputs["versioningConfiguration"]["status"] for v in versioning} == {"Enabled"}


def test_the_replication_role_reads_prods_buckets_and_writes_only_into_drs() -> None:
    prod, dr = planned("prod"), planned("dr")
    [role] = [r for r in of_type(prod, "aws:iam/role:Role") if r.name == "dr-s3-role"]
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"]["Service"]
    assert sorted(trust) == ["batchoperations.s3.amazonaws.com", "s3.amazonaws.com"]
    [policy] = [p for p in of_type(prod, "aws:iam/rolePolicy:RolePolicy") if p.name == "dr-s3-policy"]
    statements = json.loads(policy.inputs["policy"])["Statement"]
    prod_arns = {b.outputs["arn"] for b in of_type(prod, "aws:s3/bucket:Bucket")}
    dr_arns = {b.outputs["arn"] for b in of_type(dr, "aws:s3/bucket:Bucket")}
    for statement in statements:
        buckets = {r.split("/", 1)[0] for r in statement["Resource"]}
        if any(a.startswith("s3:Replicate") for a in statement["Action"]):
            assert buckets <= dr_arns
        else:
            assert buckets <= prod_arns


def test_prod_replicates_its_dag_file_system_into_drs() -> None:
    prod, dr = planned("prod"), planned("dr")
    [replication] = of_type(prod, EFS_REPLICATION)
    [source] = of_type(prod, "aws:efs/fileSystem:FileSystem")
    assert replication.inputs["sourceFileSystemId"] == source.id
    assert replication.inputs["destination"] == {
        "region": "eu-central-1",
        "fileSystemId": dr.outputs["dagFileSystemId"],
    }
    # dr's file system accepts the replication (overwrite protection off) and leaves that setting to EFS after.
    [destination] = of_type(dr, "aws:efs/fileSystem:FileSystem")
    assert destination.inputs["protection"] == {"replicationOverwrite": "DISABLED"}
    assert destination.ignore_changes == ("protection",)
    assert destination.protect


def test_prod_replicates_the_secrets_a_standby_shares_and_its_image() -> None:
    prod = planned("prod")
    replicated = {s.inputs["name"] for s in of_type(prod, SECRET) if s.inputs.get("replicas")}
    assert replicated == {f"airstack/prod/internal/{k}" for k in recovery.REPLICATED_SECRETS}
    assert all(s.inputs["replicas"] == [{"region": "eu-central-1"}] for s in of_type(prod, SECRET)
               if s.inputs.get("replicas"))  # fmt: skip
    [ecr] = of_type(prod, ECR_REPLICATION)
    [rule] = ecr.inputs["replicationConfiguration"]["rules"]
    assert rule["destinations"] == [{"region": "eu-central-1", "registryId": "111122223333"}]
    assert rule["repositoryFilters"] == [{"filter": "airstack/airflow-core", "filterType": "PREFIX_MATCH"}]
    [template] = [
        t
        for t in of_type(prod, "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate")
        if t.inputs["appliedFors"] == ["REPLICATION"]
    ]
    assert (template.inputs["region"], template.inputs["prefix"]) == ("eu-central-1", "airstack")
    assert (template.inputs["appliedFors"], template.inputs["imageTagMutability"]) == (["REPLICATION"], "IMMUTABLE")
    # dr runs the replica, from its own region's registry.
    assert read_stack_file("dr").load().image.repository.startswith("111122223333.dkr.ecr.eu-central-1.")


def test_prod_exports_what_its_standby_reads() -> None:
    outputs = planned("prod").outputs
    [replication] = of_type(planned("prod"), BACKUP_REPLICATION)
    assert outputs["metastoreBackupReplicaArn"] == replication.id
    assert outputs["replicaRegion"] == "eu-central-1"
    assert outputs["replicatedSecrets"] == {k: f"airstack/prod/internal/{k}" for k in recovery.REPLICATED_SECRETS}


def test_the_shipped_lookups_answer_the_reference_as_prod_exports() -> None:
    [answer] = read_lookups(PROJECT_ROOT / "lookups" / "dr.yaml").answers
    assert (answer.token, answer.args) == (STACK_REFERENCE, {"name": PRIMARY})
    recorded, exported = answer.result["outputs"], planned("prod").outputs
    assert set(recorded) <= set(exported)
    assert recorded["replicatedSecrets"] == exported["replicatedSecrets"]
    assert recorded["replicaRegion"] == exported["replicaRegion"]
    assert recorded["metastoreBackupReplicaArn"].startswith("arn:aws:rds:eu-central-1:111122223333:auto-backup:ab-")


# ------------------------------------------------------------------------------------------ pilot light


def secret_references(run: ProgramRun) -> set[str]:
    found = set()
    for task in of_type(run, "aws:ecs/taskDefinition:TaskDefinition"):
        for container in containers(task):
            found |= {s["valueFrom"] for s in container["secrets"]}
    return found


def test_dr_in_pilot_light_has_no_database_and_creates_none_of_prods_secrets() -> None:
    dr = planned("dr")
    assert not of_type(dr, DB)
    assert not of_type(dr, SECRET), "no replicated secret of its own, and no database URL without a database"
    assert {s.inputs["desiredCount"] for s in of_type(dr, "aws:ecs/service:Service")} == {0}
    assert "metastoreEndpoint" not in dr.outputs
    assert not of_type(dr, "pulumi:pulumi:StackReference"), "pilot light needs nothing of prod's state"


@pytest.mark.parametrize("run", ["pilot light", "active"])
def test_drs_containers_read_prods_replicated_secrets_in_drs_region(run: str) -> None:
    dr = planned("dr") if run == "pilot light" else active_dr()
    arn = "arn:aws:secretsmanager:eu-central-1:111122223333:secret:airstack/{}/internal/{}"
    expected = {arn.format("prod", k) for k in recovery.REPLICATED_SECRETS}
    expected |= {arn.format("dr", k) for k in recovery.DATABASE_SECRETS}
    assert secret_references(dr) == expected
    names = {s.inputs["name"] for s in of_type(dr, SECRET)}
    assert not names & {f"airstack/prod/internal/{k}" for k in recovery.REPLICATED_SECRETS}
    assert dr.outputs["adminSecretArn"] == arn.format("prod", "admin-password")


# ----------------------------------------------------------------------------------------------- activated


def test_activated_dr_restores_prods_latest_replicated_backup() -> None:
    dr, prod = active_dr(), planned("prod")
    [db] = of_type(dr, DB)
    assert db.inputs["restoreToPointInTime"] == {
        "sourceDbInstanceAutomatedBackupsArn": prod.outputs["metastoreBackupReplicaArn"],
        "useLatestRestorableTime": True,
    }
    assert "restoreToPointInTime" in db.ignore_changes, "newer backups must never replace the restored database"
    assert db.protect
    assert db.inputs["deletionProtection"] is True
    assert db.inputs["identifier"] == "airstack-dr-metastore"
    assert db.inputs["manageMasterUserPassword"] is True
    # RestoreDBInstanceToPointInTime takes no key: the instance keeps its backups' key (prod's replica key in
    # this region); a key named here would read as a replacement of the restored database on the next `up`.
    assert "kmsKeyId" not in db.inputs
    assert db.inputs["storageEncrypted"] is True
    [reference] = of_type(dr, "pulumi:pulumi:StackReference")
    assert reference.inputs["name"] == PRIMARY
    assert dr.outputs["restoredFrom"] == prod.outputs["metastoreBackupReplicaArn"]


def test_activated_dr_creates_only_its_database_urls_and_starts_its_services() -> None:
    dr = active_dr()
    secrets = {s.inputs["name"]: s for s in of_type(dr, SECRET)}
    assert set(secrets) == {f"airstack/dr/internal/{k}" for k in recovery.DATABASE_SECRETS}
    assert {s.protect for s in secrets.values()} == {True}
    [db] = of_type(dr, DB)
    urls = [v.inputs["secretString"] for v in of_type(dr, "aws:secretsmanager/secretVersion:SecretVersion")]
    assert all(f"@{db.outputs['address']}:5433/" in url for url in urls), "dr's own database, not prod's"
    services = {s.inputs["name"]: s for s in of_type(dr, "aws:ecs/service:Service")}
    assert services["scheduler"].inputs["desiredCount"] == 2
    assert services["worker-analytics"].inputs["desiredCount"] == 1
    assert of_type(dr, "aws:appautoscaling/policy:Policy"), "its workers follow their backlog"
    assert any(
        a.name == "monitoring-scheduler-heartbeat" for a in of_type(dr, "aws:cloudwatch/metricAlarm:MetricAlarm")
    )
    for task in of_type(dr, "aws:ecs/taskDefinition:TaskDefinition"):
        assert any(c["name"] == AGENT_CONTAINER for c in containers(task)) is ("api-server" not in task.name)


def test_a_primary_that_replicates_elsewhere_stops_the_takeover_before_the_restore() -> None:
    outputs = {**planned("prod").outputs, "replicaRegion": "eu-west-2"}
    with pytest.raises(ProgramError, match=r"prod replicates to eu-west-2 .*not to this standby.s region eu-central-1"):
        activated(prod_answers(outputs))
    outputs = {**planned("prod").outputs, "replicatedSecrets": {"fernet-key": "airstack/prod/internal/fernet-key"}}
    with pytest.raises(ProgramError, match="does not replicate the secrets admin-password, api-secret-key"):
        activated(prod_answers(outputs))


def test_an_unanswered_reference_names_the_primary_to_record() -> None:
    with pytest.raises(ProgramError) as error:
        activated(Lookups())
    assert error.value.kind == "lookup"
    assert f"args: {json.dumps({'name': PRIMARY})}" in str(error.value)


def test_break_glass_restores_from_the_configured_replicated_backups() -> None:
    arn = "arn:aws:rds:eu-central-1:111122223333:auto-backup:ab-breakglass0000000000000000"
    dr = activated(prod_answers(), backupReplicaArn=arn)
    [db] = of_type(dr, DB)
    assert db.inputs["restoreToPointInTime"]["sourceDbInstanceAutomatedBackupsArn"] == arn


def test_a_qualified_primary_is_referenced_as_written() -> None:
    qualified = "acme/airstack/prod"
    lookups = Lookups((Answer(STACK_REFERENCE, {"name": qualified}, {"outputs": planned("prod").outputs}, "t"),))
    dr = activated(lookups, primaryStack=qualified)
    [reference] = of_type(dr, "pulumi:pulumi:StackReference")
    assert reference.inputs["name"] == qualified
    assert "arn:aws:secretsmanager:eu-central-1:111122223333:secret:airstack/prod/internal/fernet-key" in (
        secret_references(dr)
    )


# ---------------------------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("stack", "dr", "message"),
    [
        ("dev", {"role": "none", "standbyStack": "dr"}, "standbyStack: only a primary replicates"),
        ("prod", {"role": "primary", "replicaRegion": "eu-central-1", "standbyStack": "prod"},
         "a primary replicates into another stack's buckets"),
        ("prod", {"role": "primary", "replicaRegion": "eu-central-1", "standbyFileSystemId": "efs-1"},
         "not an EFS file system id"),
        ("dr", {**ACTIVE, "backupReplicaArn": "arn:aws:rds:eu-west-1:111122223333:auto-backup:ab-x1"},
         "these backups are in eu-west-1; a standby restores from the copies in its own region (eu-central-1)"),
        ("dr", {**ACTIVE, "primaryStack": "acme/prod"}, "or <organization>/<project>/<stack>"),
        ("prod", {"role": "primary", "replicaRegion": "eu-central-1", "backupReplicaArn": "arn:x"},
         "not the ARN of replicated automated backups"),
    ],
)  # fmt: skip
def test_a_wrong_dr_section_is_refused(stack: str, dr: dict[str, Any], message: str) -> None:
    values = stack_values(stack)
    values["airstack:dr"] = dr
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        stack_file_with(stack, values).load()


def test_a_standby_runs_the_image_replicated_to_its_own_region() -> None:
    values = stack_values("dr")
    values["airstack:image"]["repository"] = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/airstack/airflow-core"
    with pytest.raises(ConfigError, match="a standby runs the image replicated to its own region"):
        stack_file_with("dr", values).load()


def test_the_example_stacks_agree_on_their_dr_wiring() -> None:
    prod, dr = read_stack_file("prod").load(), read_stack_file("dr").load()
    assert (prod.dr.standby_stack, prod.dr.replica_region) == (dr.stack, dr.aws_region)
    assert (dr.dr.primary_stack_name, dr.dr.primary_region) == (prod.stack, prod.aws_region)
    assert prod.dr.standby_file_system_id == planned("dr").outputs["dagFileSystemId"]
    assert (
        naming.bucket_name(dr.stack, "data", "111122223333", dr.aws_region)
        == buckets_of(planned("dr"))["data"].outputs["bucket"]
    )


def test_the_runbook_exists_and_names_the_commands() -> None:
    text = (Path(PROJECT_ROOT) / "docs" / "disaster-recovery.md").read_text()
    for needed in (
        "pulumi config set --path airstack:dr.active true -s dr",
        "pulumi up -s dr",
        "aws efs delete-replication-configuration",
        "RPO",
        "RTO",
        "Rehearsing",
    ):
        assert needed in text, needed


@pytest.mark.parametrize("run", ["pilot light", "active"])
def test_drs_execution_roles_may_read_every_secret_its_containers_reference(run: str) -> None:
    """ECS injects a secret with the task's execution role: dr's roles must be granted prod's replicas by name."""
    dr = planned("dr") if run == "pilot light" else active_dr()
    roles = {r.outputs["arn"]: r for r in of_type(dr, "aws:iam/role:Role")}
    policies = of_type(dr, "aws:iam/rolePolicy:RolePolicy")
    for task in of_type(dr, "aws:ecs/taskDefinition:TaskDefinition"):
        role = roles[task.inputs["executionRoleArn"]]
        identity = [p.inputs["policy"] for p in policies if p.inputs["role"] == role.id]
        for container in containers(task):
            for secret in container.get("secrets", []):
                request = Request("secretsmanager:GetSecretValue", secret["valueFrom"] + "-AbCdEf")
                assert allowed(request, identity), f"{task.name}: {role.name} may not read {secret['valueFrom']}"


def test_drs_airflow_reads_prods_replicated_connections_and_variables() -> None:
    dr = planned("dr")
    worker = next(
        t for t in of_type(dr, "aws:ecs/taskDefinition:TaskDefinition") if t.name == "compute-worker-ml-task-definition"
    )
    env = env_of(next(c for c in containers(worker) if c["name"] == "worker"))
    kwargs = json.loads(env["AIRFLOW__SECRETS__BACKEND_KWARGS"])
    assert kwargs["connections_prefix"] == "airstack/prod/teams/ml/connections"
    task_role = next(r for r in of_type(dr, "aws:iam/role:Role") if r.name == "iam-worker-ml-task")
    identity = [
        p.inputs["policy"] for p in of_type(dr, "aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == task_role.id
    ]
    prefix = "arn:aws:secretsmanager:eu-central-1:111122223333:secret:airstack/{}/teams/ml/connections/db-AbCdEf"
    assert allowed(Request("secretsmanager:GetSecretValue", prefix.format("prod")), identity)
    assert not allowed(Request("secretsmanager:GetSecretValue", prefix.format("dr")), identity)


def test_what_prod_keeps_in_the_dr_region_is_named_there() -> None:
    """pulumi-aws v7's per-resource region: the replica key and the replicated backups live in dr's region, and the
    backups' id is the ARN a restore names (what dr reads through its stack reference)."""
    prod = planned("prod")
    backups = prod.outputs["metastoreBackupReplicaArn"]
    assert re.fullmatch(r"arn:aws:rds:eu-central-1:\d{12}:auto-backup:ab-[0-9a-z]{26}", backups)
    [replica_key] = [k for k in of_type(prod, "aws:kms/key:Key") if k.inputs.get("region") == "eu-central-1"]
    assert replica_key.outputs["arn"].startswith("arn:aws:kms:eu-central-1:")


def test_plan_answers_an_activated_standbys_reference_with_its_primarys_plan() -> None:
    """`airstack plan dr --config dr.active=true --config-path`: prod is planned from its stack file and its
    outputs feed dr's restore; a lookups file that answers the reference is used instead."""
    from airstack.planning import Plan, PlanOptions, plan_stacks

    activate = PlanOptions(config=(("dr.active", "true"),), config_path=True)
    [result] = plan_stacks(["dr"], activate)
    assert isinstance(result, Plan), result
    [db] = [r for r in result.run.resources if r.type == DB]
    source = db.inputs["restoreToPointInTime"]["sourceDbInstanceAutomatedBackupsArn"]
    assert source == planned("prod").outputs["metastoreBackupReplicaArn"]
    assert not result.violations
    recorded = PlanOptions(config=activate.config, config_path=True, lookups=ROOT / "lookups" / "dr.yaml")
    [rehearsal] = plan_stacks(["dr"], recorded)
    assert isinstance(rehearsal, Plan), rehearsal
    [db] = [r for r in rehearsal.run.resources if r.type == DB]
    assert db.inputs["restoreToPointInTime"]["sourceDbInstanceAutomatedBackupsArn"] != source
