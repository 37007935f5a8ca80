"""prod and dr replayed into one moto (one account), in the order they are deployed: what one stack refers to in
the other must be there. The pilot-light standby first (prod copies into its buckets and file system), then prod;
and for a failover, dr activated (restored from prod's replicated backups, its services started with prod's
replicated secrets), planned as `airstack plan dr --lookups lookups/dr.yaml` rehearses it."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pytest

from airstack.lookups import read_lookups
from airstack.offline import ProgramRun, Resource, run_program
from airstack.stackfile import PROJECT_ROOT
from tests.conftest import planned, stack_file_with, stack_values
from tests.replay import Replay, replay_stack, replay_world
from tests.test_replay import known, report

_RUNS: dict[str, ProgramRun] = {}
_WORLDS: dict[str, list[Replay]] = {}


def active_dr() -> ProgramRun:
    """dr with ``dr.active`` true, its stack reference answered by the rehearsal's lookups file."""
    if "active" not in _RUNS:
        values = stack_values("dr")
        values["airstack:dr"] = {**values["airstack:dr"], "active": True}
        lookups = read_lookups(PROJECT_ROOT / "lookups" / "dr.yaml")
        _RUNS["active"] = run_program(stack_file_with("dr", values), lookups=lookups)
    return _RUNS["active"]


def world(name: str) -> list[Replay]:
    """``standby``: dr in pilot light, then prod. ``failover``: dr activated, then prod (still up, as in a
    rehearsal)."""
    if name not in _WORLDS:
        runs = [planned("dr"), planned("prod")] if name == "standby" else [active_dr(), planned("prod")]
        _WORLDS[name] = replay_world(runs)
    return _WORLDS[name]


def problems_of(replays: list[Replay], defect: str | None = None) -> list[str]:
    return [f"{rp.run.stack}: {p}" for rp in replays for p in rp.problems if known(p) == defect]


@pytest.mark.parametrize("name", ["standby", "failover"])
def test_prod_and_dr_replayed_together_are_accepted(name: str) -> None:
    found = problems_of(world(name))
    assert not found, "\n".join(found)


def test_prod_copies_into_drs_versioned_buckets_and_file_system() -> None:
    """prod's replication rules name dr's buckets and file system: they exist once dr stands by, as replayed."""
    _, prod = world("standby")
    puts = [c for c in prod.calls if c.operation in ("s3:PutBucketReplication", "efs:CreateReplicationConfiguration")]
    assert len(puts) == 3
    assert prod.facts["efs_destinations"], "the EFS destination was checked against dr's file system"


def test_the_failover_restores_the_metastore_into_drs_subnets_with_its_parameters() -> None:
    dr, _ = world("failover")
    [restore] = [c for c in dr.calls if c.operation == "rds:RestoreDBInstanceToPointInTime"]
    assert restore.urn.endswith("::metastore-db")
    groups = {
        dr.sub(r.id)
        for r in dr.run.resources
        if r.type in ("aws:rds/subnetGroup:SubnetGroup", "aws:rds/parameterGroup:ParameterGroup")
    }
    assert len(groups) == 2
    assert groups <= dr.facts["used_db_groups"]
    assert not [p for p in dr.problems if p.rule in ("rds-network", "rds-parameters")], report(dr.problems)


def test_the_failover_starts_services_that_read_prods_replicated_secrets() -> None:
    """Activated, dr runs its services; their secrets (prod's replicas among them) resolve in dr's region."""
    dr, _ = world("failover")
    services = [r for r in dr.run.resources if r.type == "aws:ecs/service:Service"]
    assert services
    assert all(r.inputs["desiredCount"] > 0 for r in services if not r.name.startswith("compute-worker-"))
    secrets = {s["valueFrom"] for _, params in dr.facts["task_definitions"].values()
               for c in params["containerDefinitions"] for s in c.get("secrets", [])}  # fmt: skip
    assert any("/prod/internal/" in s for s in secrets)
    assert not [p for p in dr.problems if p.rule in ("ecs-secrets", "ecs-execution-role")], report(dr.problems)


def test_the_restored_metastore_keeps_its_key_on_the_next_up() -> None:
    """Fixed: the restore sets no key of its own (RESTORE_KEY was the defect)."""
    found = [p for replay in world("failover") for p in replay.problems if p.rule == "rds-restore-key"]
    assert not found, "\n".join(p.message for p in found)


# ------------------------------------------------------------------------------------- the replay can fail


def _edited(run: ProgramRun, name: str, change: Any) -> ProgramRun:
    resources: list[Resource] = []
    for r in run.resources:
        if r.name == name:
            inputs = copy.deepcopy(r.inputs)
            change(inputs)
            r = replace(r)  # noqa: PLW2901
            r.__dict__["inputs"] = inputs
        resources.append(r)
    assert any(r.name == name for r in run.resources), name
    return replace(run, resources=resources)


def test_prod_deployed_before_its_standby_is_refused() -> None:
    """S3 refuses a replication rule into a bucket that does not exist: the standby is deployed first."""
    found = problems_of(replay_world([planned("prod"), planned("dr")], only=[["dr-data"], ["buckets-data-versioning"]]))
    assert any("s3-replication: destination bucket airstack-dr-data-" in p and "does not exist" in p for p in found)


def test_a_standby_file_system_that_refuses_to_be_overwritten_is_refused() -> None:
    def protect(inputs: dict[str, Any]) -> None:
        inputs["protection"] = {"replicationOverwrite": "ENABLED"}

    edited = _edited(planned("dr"), "dags-fs", protect)
    found = problems_of(replay_world([edited, planned("prod")], only=[["dags-fs"], ["dr-dags"]]))
    assert any("efs-replication: destination file system" in p and "protection ENABLED" in p for p in found), found


def test_an_activated_standby_without_its_primarys_secrets_is_refused() -> None:
    """Alone, the activated dr's services would start with secrets nobody replicated to its region."""
    [dr] = replay_world([active_dr()])
    found = [str(p) for p in dr.problems]
    assert any("ecs-secrets" in p and "airstack/prod/internal/fernet-key does not resolve" in p for p in found), found


def test_a_restore_from_backups_of_another_region_is_refused() -> None:
    def elsewhere(inputs: dict[str, Any]) -> None:
        source = inputs["restoreToPointInTime"]["sourceDbInstanceAutomatedBackupsArn"]
        inputs["restoreToPointInTime"]["sourceDbInstanceAutomatedBackupsArn"] = source.replace(
            ":eu-central-1:", ":eu-west-1:"
        )

    found = [
        str(p) for p in replay_stack(_edited(active_dr(), "metastore-db", elsewhere), only=["metastore-db"]).problems
    ]
    assert any("rds-restore" in p and "is not the ARN of automated backups in eu-central-1" in p for p in found), found
