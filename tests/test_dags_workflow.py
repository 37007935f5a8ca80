"""The DAG workflow (.github/workflows/dags.yml): valid for GitHub, releases only what changed, and holds
credentials only where no DAG code runs."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from airstack.dag_release import parser

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "dags.yml"


def workflow() -> dict[str, Any]:
    # YAML 1.1 reads the key `on` as True.
    return {("on" if k is True else k): v for k, v in yaml.safe_load(WORKFLOW.read_text()).items()}


def test_the_workflow_is_valid_for_github() -> None:
    schema = json.loads(files("check_jsonschema.builtin_schemas.vendor").joinpath("github-workflows.json").read_text())
    jsonschema.validate(workflow(), schema)


def test_pushes_to_the_release_branches_release_to_their_environments() -> None:
    wf = workflow()
    release = wf["jobs"]["release"]

    assert wf["on"]["push"]["branches"] == ["acceptance", "main"]
    assert wf["on"]["push"]["paths"] == ["dags/**"]
    assert release["environment"] == "${{ github.ref_name == 'main' && 'prod' || 'acc' }}"
    assert "(github.ref_name == 'acceptance' || github.ref_name == 'main')" in release["if"]


def test_only_the_release_job_can_get_credentials_and_it_runs_no_dag_code() -> None:
    wf = workflow()
    text = WORKFLOW.read_text()

    assert wf["permissions"] == {"contents": "read"}
    assert {name for name, job in wf["jobs"].items() if "id-token" in job.get("permissions", {})} == {"release"}
    assert "secrets." not in text
    assert "aws-access-key-id" not in text
    release_steps = wf["jobs"]["release"]["steps"]
    (aws,) = [s for s in release_steps if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")]
    assert aws["with"]["role-to-assume"] == "${{ vars.DAG_RELEASE_ROLE_ARN }}"
    release_commands = " ".join(s.get("run", "") for s in release_steps)
    assert "pytest" not in release_commands
    assert "dagbag_probe" not in release_commands


def test_the_commands_the_workflow_runs_exist() -> None:
    jobs = workflow()["jobs"]
    commands = [line for job in jobs.values() for s in job["steps"] for line in s.get("run", "").splitlines()]
    for path in ("tests/test_dags.py", "tests/dagbag_probe.py", "tests/airflow/requirements.txt"):
        assert any(path in c for c in commands)
        assert (ROOT / path).is_file()
    releases = [shlex.split(c.strip()) for c in commands if "airstack dags release" in c]
    assert len(releases) == 3
    for argv in releases:
        arguments = argv[argv.index("release") + 1 :]
        parser().parse_args([a.replace("$", "") for a in arguments])  # exits on an unknown option


# --------------------------------------------------------------------------------- which teams change


def _git(repo: Path, *args: str) -> str:
    identity = ["-c", "user.name=ci", "-c", "user.email=ci@example.com", "-c", "commit.gpgsign=false"]
    return subprocess.run(
        ["git", *identity, *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


def _commit(repo: Path, changes: dict[str, str | None]) -> str:
    for name, content in changes.items():
        path = repo / name
        if content is None:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "change")
    return _git(repo, "rev-parse", "HEAD")


def _teams(repo: Path, event: str, before: str, requested: str = "") -> list[str]:
    script = workflow()["jobs"]["changes"]["steps"][1]["run"]
    output = repo.parent / "github_output"
    output.write_text("")
    env = {
        **os.environ,
        "EVENT": event,
        "BEFORE": before,
        "REQUESTED": requested,
        "GITHUB_SHA": _git(repo, "rev-parse", "HEAD"),
        "GITHUB_OUTPUT": str(output),
    }
    subprocess.run(["bash", "-c", script], cwd=repo, env=env, check=True, capture_output=True)
    (line,) = output.read_text().splitlines()
    return json.loads(line.removeprefix("teams="))


@pytest.mark.skipif(not (shutil.which("jq") and shutil.which("bash")), reason="the script needs bash and jq")
def test_only_changed_team_directories_are_released(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    base = _commit(repo, {"dags/analytics/a.py": "a", "dags/ml/m.py": "m", "dags/reporting/r.py": "r"})

    _commit(repo, {"dags/ml/m.py": "m2", "dags/README.md": "about", "README.md": "x"})
    assert _teams(repo, "push", base) == ["ml"]

    before = _git(repo, "rev-parse", "HEAD")
    _commit(repo, {"dags/reporting": None, "dags/analytics/sql/q.sql": "select 1"})
    assert _teams(repo, "push", before) == ["analytics"]  # a removed team has nothing to release

    assert _teams(repo, "push", "0" * 40) == ["analytics", "ml"]  # a new branch: every team
    assert _teams(repo, "push", "f" * 40) == ["analytics", "ml"]  # an unknown base: every team
    assert _teams(repo, "workflow_dispatch", "", "ml ../etc finance") == ["ml"]
    assert _teams(repo, "workflow_dispatch", "", "") == ["analytics", "ml"]
