"""The offline runner behaves like the engine on real-world programs: references, duplicates, hangs, values."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from airstack import wire
from airstack.cli import main
from airstack.offline import ProgramError, run_program
from airstack.stackfile import read_stack_file
from tests.conftest import planned, planned_preview

PROGRAMS = Path(__file__).parent / "programs"


def program(name: str, *extra: str) -> list[str]:
    return ["plan", "--program", str(PROGRAMS / name), str(PROGRAMS / name / "Pulumi.test.yaml"), *extra]


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def by_type(document: dict[str, Any], typ: str) -> list[dict[str, Any]]:
    return [r for r in document["resources"] if r["type"] == typ]


def test_a_resource_passed_where_an_id_is_expected_plans_with_its_id(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, *program("resource_as_id", "--json"))
    assert code == 1, err  # planned, and the pack judges it: the VPC has no flow log
    document = json.loads(out)
    [vpc] = by_type(document, "aws:ec2/vpc:Vpc")
    [subnet] = by_type(document, "aws:ec2/subnet:Subnet")
    assert subnet["inputs"]["vpcId"] == vpc["outputs"]["id"]
    assert subnet["propertyDependencies"]["vpcId"] == [vpc["urn"]]


def test_on_a_first_preview_the_referenced_id_is_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run_cli(capsys, *program("resource_as_id", "--json", "--preview"))
    [subnet] = by_type(json.loads(out), "aws:ec2/subnet:Subnet")
    assert subnet["inputs"]["vpcId"] is None
    assert subnet["unknowns"]["inputs"] == ["vpcId"]
    assert "id" in subnet["unknowns"]["outputs"]


def test_a_duplicate_urn_is_an_error_as_in_the_engine(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, *program("duplicate_urn", "--json"))
    assert code == 2
    assert "Duplicate resource URN 'urn:pulumi:test::duplicate_urn::aws:sqs/queue:Queue::jobs'" in err
    assert json.loads(out)["error"]["kind"] == "program"


def test_a_program_that_never_finishes_is_stopped_with_where_it_waited(capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    code, out, err = run_cli(capsys, *program("never_finishes", "--timeout", "2", "--json"))
    assert code == 2
    assert "did not finish within 2 s" in err
    assert "tests/programs/never_finishes/__main__.py:10 (forever)" in err
    assert json.loads(out)["error"]["kind"] == "program"
    assert time.monotonic() - started < 60, "bounded: the watchdog, not the test runner, ended it"


def test_in_process_the_watchdog_also_names_the_line() -> None:
    stack_file = read_stack_file(str(PROGRAMS / "never_finishes" / "Pulumi.test.yaml"), PROGRAMS / "never_finishes")
    with pytest.raises(ProgramError, match=r"never_finishes/__main__\.py:10 \(forever\)"):
        run_program(stack_file, PROGRAMS / "never_finishes", timeout=1)


def test_json_is_deterministic_with_integers_assets_and_masked_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    _, first, _ = run_cli(capsys, *program("values", "--json"))
    _, second, _ = run_cli(capsys, *program("values", "--json"))
    assert first == second
    document = json.loads(first)
    [group] = by_type(document, "aws:ec2/securityGroup:SecurityGroup")
    assert group["inputs"]["ingress"][0]["fromPort"] == 22
    assert '"fromPort": 22,' in first
    [function] = by_type(document, "aws:lambda/function:Function")
    assert function["inputs"]["code"] == {"archive": {"assets": ["main.py"]}}
    [obj] = by_type(document, "aws:s3/bucketObject:BucketObject")
    assert obj["inputs"]["source"] == {"asset": {"textBytes": 11}}
    [version] = by_type(document, "aws:secretsmanager/secretVersion:SecretVersion")
    assert version["inputs"]["secretString"] == version["outputs"]["secretString"] == wire.SECRET_MASK
    assert version["outputs"]["arn"] == wire.SECRET_MASK, "additionalSecretOutputs are masked"
    assert document["outputs"]["token"] == wire.SECRET_MASK
    for secret in ("hunter2-offline", "exported-secret-value"):
        assert secret not in first
    assert "object at 0x" not in first


def test_every_resource_carries_outputs_and_dependencies(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run_cli(capsys, *program("values", "--json"))
    for resource in json.loads(out)["resources"]:
        assert {"outputs", "dependencies", "propertyDependencies", "unknowns"} <= set(resource)


def test_urns_are_the_engines_and_default_providers_are_registered() -> None:
    run = planned("dev")
    queue = next(r for r in run.resources if r.type == "aws:sqs/queue:Queue")
    assert queue.urn.startswith("urn:pulumi:dev::airstack::airstack:platform:AirflowPlatform$airstack:broker:Broker$")
    platform = next(r for r in run.resources if r.type == "airstack:platform:AirflowPlatform")
    assert platform.urn == "urn:pulumi:dev::airstack::airstack:platform:AirflowPlatform::airstack"
    [provider] = [r for r in run.resources if r.type == "pulumi:providers:aws"]
    assert provider.inputs["region"] == "eu-west-1"
    assert queue.provider == f"{provider.urn}::{provider.id}"


def test_on_a_first_preview_computed_outputs_are_unknown_and_names_are_known() -> None:
    run = planned_preview("dev")
    queue = next(r for r in run.resources if r.type == "aws:sqs/queue:Queue")
    assert wire.is_unknown(queue.outputs["arn"])
    assert wire.is_unknown(queue.outputs["url"])
    assert queue.outputs["name"] == queue.inputs["name"]
    assert queue.inputs["name"].startswith("airstack-dev-")
    task = next(r for r in run.resources if r.type == "aws:ecs/taskDefinition:TaskDefinition")
    assert not wire.is_unknown(task.inputs["containerDefinitions"]), "containers are known before anything exists"
    assert wire.is_unknown(task.inputs["executionRoleArn"])


def test_the_awsx_vpc_is_listed_as_not_expanded_offline(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run_cli(capsys, "plan", "dev", "--json")
    [vpc] = json.loads(out)["notExpandedOffline"]
    assert vpc["type"] == "awsx:ec2:Vpc"
    assert "only under the real engine" in vpc["why"]
    _, table, _ = run_cli(capsys, "plan", "dev")
    assert "(not expanded offline)" in table
