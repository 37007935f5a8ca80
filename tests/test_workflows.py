"""The GitHub Actions workflows: schema-valid, and free of the mistakes that only show on GitHub.

Each check is a plain function over a parsed workflow, run on every file under .github/workflows and, to show
it can fail, on a small broken workflow.
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from airstack.stackfile import PROJECT_ROOT

WORKFLOW_DIR = PROJECT_ROOT / ".github" / "workflows"
WORKFLOWS = sorted([*WORKFLOW_DIR.glob("*.yml"), *WORKFLOW_DIR.glob("*.yaml")])

# The airstack commands and flags workflows may use. Keep in sync with airstack/cli.py (CLI_WIRED below checks it).
AIRSTACK_COMMANDS: dict[str, set[str]] = {
    "plan": {"--json", "--format", "--output", "--program", "--policy-config"},
    "validate": set(),
    "diff": {"--rev", "--json"},
    "cost": {"--json"},
    "parity": {"--json"},
    "dags": {"--team", "--source", "--bucket", "--dry-run", "--output"},
}
AIRSTACK_FORMATS = {"table", "json", "github", "sarif"}
CLI_WIRED = True
"""Set to True once airstack/cli.py has every command and flag above; then the CLI itself is checked."""

CONTEXTS = {
    "github",
    "env",
    "vars",
    "job",
    "jobs",
    "steps",
    "runner",
    "secrets",
    "strategy",
    "matrix",
    "needs",
    "inputs",
}
FUNCTIONS = {"always", "success", "failure", "cancelled", "contains", "startsWith", "endsWith", "format", "join",
             "toJSON", "fromJSON", "hashFiles"}  # fmt: skip
# Where GitHub restricts contexts (docs: "Contexts" > "Context availability"); anywhere else, any context.
JOB_KEY_CONTEXTS = {
    "if": {"github", "needs", "vars", "inputs"},
    "runs-on": {"github", "needs", "strategy", "matrix", "vars", "inputs"},
    "environment": {"github", "needs", "strategy", "matrix", "vars", "inputs"},
    "concurrency": {"github", "needs", "strategy", "matrix", "vars", "inputs"},
    "strategy": {"github", "needs", "vars", "inputs"},
}
WORKFLOW_KEY_CONTEXTS = {"concurrency": {"github", "inputs", "vars"}, "env": {"github", "secrets", "inputs", "vars"}}
OIDC_ACTIONS = ("aws-actions/configure-aws-credentials", "pulumi/auth-actions")
LONG_LIVED = re.compile(r"aws[-_]secret[-_]access[-_]key|aws[-_]access[-_]key[-_]id|aws[-_]session[-_]token", re.I)
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$")
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.S)


def load(text: str) -> dict[str, Any]:
    document = yaml.safe_load(text)
    if True in document:  # YAML 1.1 reads the `on:` key as a boolean
        document["on"] = document.pop(True)
    return document


def strings(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from strings(inner, (*path, str(key)))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from strings(inner, (*path, str(index)))
    elif isinstance(value, str):
        yield path, value


def expressions(path: tuple[str, ...], value: str) -> list[str]:
    found = [m.group(1) for m in EXPRESSION.finditer(value)]
    if path and path[-1] == "if" and not found:  # `if:` is an expression even without ${{ }}
        found = [value]
    return found


def expression_problems(expression: str, allowed: set[str]) -> list[str]:
    problems = []
    stripped = re.sub(r"'(?:[^']|'')*'", "''", expression)
    for match in re.finditer(r"(?<![\w.\-])([A-Za-z_][\w-]*)", stripped):
        word = match.group(1)
        if word in ("true", "false", "null"):
            continue
        if stripped[match.end() :].lstrip().startswith("("):
            if word not in FUNCTIONS:
                problems.append(f"unknown function {word}()")
        elif word not in CONTEXTS:
            problems.append(f"unknown context {word!r}")
        elif word not in allowed:
            problems.append(f"context {word!r} is not available here")
    return problems


def job_problems(document: dict[str, Any], job_id: str, job: dict[str, Any], where: Path) -> list[str]:
    problems = []
    step_ids = {s.get("id") for s in job.get("steps", []) if isinstance(s, dict)}
    needs = job.get("needs", [])
    needs = {needs} if isinstance(needs, str) else set(needs)
    matrix = ((job.get("strategy") or {}).get("matrix") or {}) if isinstance(job.get("strategy"), dict) else {}
    on = document.get("on") or {}
    triggers = [on.get(t) for t in ("workflow_call", "workflow_dispatch")] if isinstance(on, dict) else []
    inputs = {name for trigger in triggers for name in ((trigger or {}).get("inputs") or {})}
    for path, value in strings(job):
        allowed = JOB_KEY_CONTEXTS.get(path[0], CONTEXTS) if path else CONTEXTS
        for expression in expressions(path, value):
            problems += [f"jobs.{job_id}.{'.'.join(path)}: {p}" for p in expression_problems(expression, allowed)]
            for root, name in re.findall(r"\b(steps|needs|matrix|inputs)\.([\w-]+)", expression):
                known = {"steps": step_ids, "needs": needs, "matrix": set(matrix), "inputs": inputs}[root]
                if name not in known:
                    problems.append(f"jobs.{job_id}.{'.'.join(path)}: {root}.{name} does not exist")
    return problems


def permissions_of(document: dict[str, Any], job: dict[str, Any]) -> dict[str, str]:
    granted = job.get("permissions", document.get("permissions"))
    if granted == "write-all":
        return {"id-token": "write"}
    return dict(granted) if isinstance(granted, dict) else {}


def uses_oidc(job: dict[str, Any], where: Path) -> bool:
    called = job.get("uses")
    if isinstance(called, str) and called.startswith("./"):
        target = load((where.parent.parent.parent / called).read_text())
        return any(uses_oidc(j, where) for j in target.get("jobs", {}).values())
    return any(isinstance(s, dict) and str(s.get("uses", "")).startswith(OIDC_ACTIONS) for s in job.get("steps", []))


LAUNCHERS = (["uv", "run"], ["uvx"], ["python", "-m", "airstack.cli"], ["python3", "-m", "airstack.cli"])


def airstack_calls(script: str) -> Iterator[list[str]]:
    """The arguments of every command line that runs airstack (directly, through `uv run` or `python -m`)."""
    for line in EXPRESSION.sub("X", script).replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        try:
            tokens = list(lexer)
        except ValueError:  # a quote spanning lines; `bash -n` below still checks the script
            continue
        command: list[str] = []
        for token in [*tokens, ";"]:
            if token and set(token) <= set(";&|()<>"):
                for launcher in LAUNCHERS:
                    if command[: len(launcher)] == launcher:
                        command = command[len(launcher) :]
                        break
                if command[:1] == ["airstack"]:
                    yield command[1:]
                command = []
            else:
                command.append(token)


def airstack_problems(arguments: list[str]) -> list[str]:
    if not arguments or arguments[0] not in AIRSTACK_COMMANDS:
        return [f"airstack {' '.join(arguments[:1])}: not an allowed command"]
    command, problems = arguments[0], []
    for index, argument in enumerate(arguments[1:], start=1):
        flag, _, inline = argument.partition("=")
        if not flag.startswith("--"):
            continue
        if flag not in AIRSTACK_COMMANDS[command]:
            problems.append(f"airstack {command} {flag}: not an allowed flag")
        value = inline or (arguments[index + 1] if index + 1 < len(arguments) else "")
        if flag == "--format" and value not in AIRSTACK_FORMATS:
            problems.append(f"airstack {command} --format {value}: not one of {sorted(AIRSTACK_FORMATS)}")
    return problems


def problems_of(text: str, where: Path) -> list[str]:
    """Every mistake in one workflow that the schema does not catch."""
    document = load(text)
    problems = []
    if "permissions" not in document:
        problems.append("no top-level permissions: the token would get the repository default")
    for path, value in strings({k: v for k, v in document.items() if k != "jobs"}):
        allowed = WORKFLOW_KEY_CONTEXTS.get(path[0], CONTEXTS)
        for expression in expressions(path, value):
            problems += [f"{'.'.join(path)}: {p}" for p in expression_problems(expression, allowed)]
    if LONG_LIVED.search(text):
        problems.append("long-lived AWS keys: use OIDC (role-to-assume) instead")
    for job_id, job in (document.get("jobs") or {}).items():
        problems += job_problems(document, job_id, job, where)
        if uses_oidc(job, where) and permissions_of(document, job).get("id-token") != "write":
            problems.append(f"jobs.{job_id}: uses OIDC without `permissions: id-token: write`")
        uses = [job.get("uses")] + [s.get("uses") for s in job.get("steps", []) if isinstance(s, dict)]
        for action in filter(None, uses):
            if not (action.startswith("./") or PINNED.match(action)):
                problems.append(f"jobs.{job_id}: {action} is not pinned to a version or commit")
        for step in job.get("steps", []):
            script = step.get("run") if isinstance(step, dict) else None
            if not script:
                continue
            for call in airstack_calls(script):
                problems += [f"jobs.{job_id}: {p}" for p in airstack_problems(call)]
            syntax = subprocess.run(["bash", "-n"], input=EXPRESSION.sub("X", script), text=True,
                                    capture_output=True, check=False)  # fmt: skip
            if syntax.returncode:
                problems.append(f"jobs.{job_id}: shell syntax: {syntax.stderr.strip()}")
    return problems


# ----------------------------------------------------------------------------------------------- the files


def test_the_workflows_exist() -> None:
    names = {w.name for w in WORKFLOWS}
    assert {"checks.yml", "preview.yml", "deploy.yml"} <= names


def test_every_workflow_validates_against_the_github_workflow_schema() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_every_workflow_is_free_of_mistakes_the_schema_misses(workflow: Path) -> None:
    assert problems_of(workflow.read_text(), workflow) == []


def test_checks_gate_every_stack_and_upload_sarif() -> None:
    text = (WORKFLOW_DIR / "checks.yml").read_text()
    assert "uv run airstack plan dev acc prod dr --format github" in text
    gate = load(text)["jobs"]["policy-gate"]
    assert gate["permissions"]["security-events"] == "write"
    assert any(str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif@") for s in gate["steps"])
    triggers = load(text)["on"]
    assert "pull_request" in triggers
    assert "push" in triggers


def test_preview_comments_one_diff_and_runs_pulumi_only_with_credentials() -> None:
    jobs = load((WORKFLOW_DIR / "preview.yml").read_text())["jobs"]
    sticky = next(s for s in jobs["airstack-diff"]["steps"] if "sticky-pull-request-comment" in str(s.get("uses")))
    assert sticky["with"]["header"] == "airstack-diff"  # one comment, updated in place
    assert "id-token" not in jobs["airstack-diff"]["permissions"]  # the diff needs no cloud credentials
    pulumi = jobs["pulumi-preview"]
    assert "vars.AWS_ROLE_ARN != ''" in pulumi["if"]
    step = next(s for s in pulumi["steps"] if str(s.get("uses", "")).startswith("pulumi/actions@"))
    assert step["with"]["command"] == "preview"
    assert step["with"]["comment-on-pr"] is True
    assert step["with"]["policyPacks"] == "policies"
    assert step["with"]["policyPackConfigs"] == "policies/${{ matrix.stack }}.json"
    assert pulumi["strategy"]["matrix"]["stack"] == ["dev", "acc", "prod", "dr"]


def test_deploy_acc_from_acceptance_and_prod_from_main_behind_production_one_at_a_time() -> None:
    jobs = load((WORKFLOW_DIR / "deploy.yml").read_text())["jobs"]
    assert (jobs["acc"]["if"], jobs["acc"]["with"]) == (
        "github.ref == 'refs/heads/acceptance'",
        {"stack": "acc", "environment": "acceptance"},
    )
    assert (jobs["prod"]["if"], jobs["prod"]["with"]) == (
        "github.ref == 'refs/heads/main'",
        {"stack": "prod", "environment": "production"},
    )
    up = load((WORKFLOW_DIR / "deploy-stack.yml").read_text())["jobs"]["up"]
    assert up["environment"] == "${{ inputs.environment }}"
    assert up["concurrency"] == {"group": "deploy-${{ inputs.stack }}", "cancel-in-progress": False}
    step = next(s for s in up["steps"] if str(s.get("uses", "")).startswith("pulumi/actions@"))
    assert step["with"]["command"] == "up"


def test_the_allow_list_matches_the_cli() -> None:
    if not CLI_WIRED:
        pytest.skip("airstack/cli.py does not have diff, cost, parity and plan --format/--output yet")
    from airstack.cli import _parser
    from airstack.dag_release import parser as dags_release_parser

    commands = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    for command, flags in AIRSTACK_COMMANDS.items():
        assert command in commands, command
        # `airstack dags release ...` is handed whole to the release command's own parser.
        actions = dags_release_parser()._actions if command == "dags" else commands[command]._actions
        known = {o for a in actions for o in a.option_strings}
        assert flags <= known, (command, flags - known)


# -------------------------------------------------------------------------------- the checks can fail

BROKEN = """
name: broken
on: [push]
jobs:
  deploy:
    if: ${{ steps.plan.outcome == 'success' }}
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@main
      - id: plan
        run: uv run airstack plan prod --frmat github && uv run airstack plan prod --format html
      - run: echo "${{ secret.TOKEN }} ${{ steps.nope.outputs.x }} ${{ toJson(github) }}"
      - run: if [ "$x" ]; then echo
      - uses: aws-actions/configure-aws-credentials@v5
        with:
          aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}
      - run: uv run airstack destroy prod
"""


def test_the_checks_catch_real_mistakes() -> None:
    problems = problems_of(BROKEN, WORKFLOW_DIR / "broken.yml")
    expected = [
        "no top-level permissions",
        "long-lived AWS keys",
        "jobs.deploy.if: context 'steps' is not available here",
        "steps.nope does not exist",
        "unknown context 'secret'",
        "unknown function toJson()",
        "actions/checkout@main is not pinned",
        "airstack plan --frmat: not an allowed flag",
        "airstack plan --format html: not one of",
        "airstack destroy: not an allowed command",
        "uses OIDC without `permissions: id-token: write`",
        "shell syntax",
    ]
    for fragment in expected:
        assert any(fragment in p for p in problems), (fragment, problems)
