"""The core image's workflow: valid for GitHub, multi-arch, OIDC only, and the tag each branch pushes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW_FILE = ROOT / ".github" / "workflows" / "image.yml"
WORKFLOW = yaml.safe_load(WORKFLOW_FILE.read_text())
STEPS: list[dict[str, Any]] = WORKFLOW["jobs"]["build"]["steps"]
SHA = "3f2c1a9b7e4d0c5b8a6f1e2d3c4b5a6978877665"


def step(uses: str) -> dict[str, Any]:
    [found] = [s for s in STEPS if s.get("uses", "").startswith(uses + "@")]
    return found


def test_it_is_a_valid_github_workflow() -> None:
    checked = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(WORKFLOW_FILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_push_that_changes_the_image_builds_it() -> None:
    on = WORKFLOW[True]  # YAML 1.1 reads the key `on` as a boolean
    assert "branches" not in on["push"]
    assert "image/**" in on["push"]["paths"]


def run_tag_step(tmp_path: Path, branch: str) -> dict[str, str]:
    [tag] = [s for s in STEPS if s.get("id") == "tag"]
    output = tmp_path / "output"
    env = {"PATH": os.environ["PATH"], "GITHUB_REF_NAME": branch, "GITHUB_SHA": SHA, "GITHUB_OUTPUT": str(output)}
    subprocess.run(["bash", "-euo", "pipefail", "-c", tag["run"]], cwd=ROOT, env=env, check=True)
    return dict(line.split("=", 1) for line in output.read_text().splitlines())


@pytest.mark.parametrize(
    ("branch", "tag", "push"),
    [("main", f"prod-{SHA}", "true"), ("acceptance", f"acc-{SHA}", "true"), ("feature/x", f"build-{SHA}", "false")],
)
def test_each_branch_pushes_its_environments_tag(tmp_path: Path, branch: str, tag: str, push: str) -> None:
    outputs = run_tag_step(tmp_path, branch)
    locked = re.search(r"(?m)^apache-airflow==([^ ;\\]+)", (ROOT / "image" / "requirements.lock").read_text())
    assert locked is not None
    assert outputs == {"tag": tag, "push": push, "airflow": locked.group(1)}


def test_it_builds_for_both_architectures_and_pushes_only_from_deploying_branches() -> None:
    build = step("docker/build-push-action")["with"]
    assert build["platforms"] == "linux/amd64,linux/arm64"
    assert build["context"] == "image"
    assert build["push"] == "${{ steps.tag.outputs.push == 'true' }}"
    assert build["tags"].endswith(":${{ steps.tag.outputs.tag }}")
    assert step("docker/setup-qemu-action")["with"]["platforms"] == "arm64"


def test_aws_access_is_oidc_with_a_role_from_repository_variables_and_no_stored_keys() -> None:
    assert WORKFLOW["permissions"] == {"contents": "read", "id-token": "write"}
    credentials = step("aws-actions/configure-aws-credentials")
    assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_IMAGE_ROLE_ARN }}"
    assert credentials["if"] == "steps.tag.outputs.push == 'true'"
    text = WORKFLOW_FILE.read_text()
    assert "secrets." not in text
    assert "aws-access-key-id" not in text
