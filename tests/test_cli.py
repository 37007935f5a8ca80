"""The airstack command as users run it: output, JSON contract and exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from airstack.cli import main
from airstack.stackfile import PROJECT_ROOT

BROKEN = Path(__file__).parent / "programs" / "broken"


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_plan_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "plan", "dev", "--json")
    assert code == 0
    plan = json.loads(out)
    assert plan["stack"] == "dev"
    assert plan["environment"] == "dev"
    assert {"urn", "type", "name", "parent", "inputs", "protect"} <= set(plan["resources"][0])
    assert plan["violations"] == []
    assert 50 < plan["cost"]["monthlyUsd"] < 400
    assert plan["cost"]["items"]
    assert all("assumption" in i for i in plan["cost"]["items"])
    assert plan["outputs"]["clusterName"] == "airstack-dev"
    versions = [r for r in plan["resources"] if r["type"] == "aws:secretsmanager/secretVersion:SecretVersion"]
    assert {r["inputs"]["secretString"] for r in versions} == {"[secret]"}


def test_plan_several_stacks_in_one_call(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "plan", "dev", "acc", "prod", "dr", "--json")
    assert code == 0
    plans = json.loads(out)
    assert [p["stack"] for p in plans] == ["dev", "acc", "prod", "dr"]
    costs = {p["stack"]: p["cost"]["monthlyUsd"] for p in plans}
    assert costs["dev"] < costs["acc"] < costs["prod"]
    assert costs["dr"] < costs["prod"]  # the standby runs no Airflow services


def test_human_plan_shows_the_tree_violations_and_cost(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "plan", "prod")
    assert code == 0
    assert "airstack/prod (prod, eu-west-1)" in out
    assert "compute airstack:compute:Compute" in out
    assert "Policy pack: no violations" in out
    assert "Monthly estimate: $" in out


def test_any_stack_file_path(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    copy = tmp_path / "Pulumi.sandbox.yaml"
    shutil.copy(PROJECT_ROOT / "Pulumi.dev.yaml", copy)
    code, out, _ = run_cli(capsys, "plan", str(copy), "--json")
    assert code == 0
    assert json.loads(out)["outputs"]["clusterName"] == "airstack-sandbox"


def test_invalid_config_exits_2_with_the_message_and_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "Pulumi.dev.yaml"
    bad.write_text((PROJECT_ROOT / "Pulumi.dev.yaml").read_text().replace("retentionDays: 7", "retentionDays: 10"))
    for command in ("validate", "plan"):
        result = subprocess.run(
            [sys.executable, "-m", "airstack.cli", command, str(bad)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        assert "Pulumi.dev.yaml is not a valid airstack stack configuration (1 problem):" in result.stderr
        assert "airstack:logs.retentionDays = 10: CloudWatch Logs accepts only" in result.stderr


def test_validate_reports_each_stack(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "validate", "dev", "prod")
    assert code == 0
    assert "ok dev: dev in eu-west-1; teams analytics (8h, visibility 36000 s)" in out


def test_missing_stack_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "validate", "staging")
    assert code == 2
    assert "Pulumi.staging.yaml" in err
    assert "no such stack file" in err


def test_broken_program_gets_exactly_the_expected_violations(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(
        capsys, "plan", "--program", str(BROKEN), str(BROKEN / "Pulumi.broken.yaml"),
        "--policy-config", str(PROJECT_ROOT / "policies" / "dev.json"), "--json",
    )  # fmt: skip
    assert code == 1
    violations = {(v["policy"], v["urn"].split("::")[-1]): v["message"] for v in json.loads(out)["violations"]}
    assert set(violations) == {
        ("sqs-visibility-covers-longest-task", "tasks"),
        ("s3-public-access-blocked", "reports"),
        ("ecs-no-plaintext-secrets", "worker"),
        ("rds-encrypted", "metastore"),
        ("rds-monitoring-and-logs", "metastore"),
        ("airflow-workers-least-secrets", "worker"),
        ("ecs-readonly-root-filesystem", "worker"),
    }
    assert (
        "visibilityTimeoutSeconds 30, but its longest task is 28800 s"
        in violations[("sqs-visibility-covers-longest-task", "tasks")]
    )
    assert (
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN as plain environment" in violations[("ecs-no-plaintext-secrets", "worker")]
    )


def test_broken_program_human_output_names_the_mandatory_violations(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "plan", "--program", str(BROKEN), str(BROKEN / "Pulumi.broken.yaml"))
    assert code == 1
    assert "Policy violations" in out
    for policy in ("sqs-visibility-covers-longest-task", "s3-public-access-blocked", "ecs-no-plaintext-secrets",
                   "rds-encrypted"):  # fmt: skip
        assert policy in out
