"""airstack diff: hand-made pairs from a real stack with exact summaries, replacements, secrets, revisions.

The pairs are the dev stack and copies of its file with one edit each, all planned once per module (in
parallel) by the same code the CLI uses; the CLI itself runs end to end for pairs and against git revisions
of a throwaway repository. The grammar of the summary line, the replacement table, the protected-resource
warning, old document shapes and the size cap are checked on small hand-built documents.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from airstack import wire
from airstack.cli import main
from airstack.diff.command import Planned, plan_documents
from airstack.diff.compare import PlanDiff, compare, summary_line
from airstack.diff.document import read_plan_document
from airstack.diff.markdown import render_markdown
from airstack.diff.secrets import attach_digests
from airstack.offline import ProgramRun, Resource
from airstack.planning import resource_dict
from airstack.stackfile import PROJECT_ROOT, read_stack_file
from components.config import OFFLINE_SECRET_PREFIX
from tests.conftest import stack_values

Values = dict[str, Any]


def write_stack(folder: Path, stack: str, values: Values) -> Path:
    """A stack file with these config values (``{"secure": ...}`` leaves stay secure values)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump({"config": values}, sort_keys=False))
    return path


def add_team(values: Values) -> None:
    values["airstack:teams"].append({"name": "finance", "longestTask": "1h", "workers": {"min": 0, "max": 1}})


def instance_class(values: Values) -> None:
    values["airstack:metastore"]["instanceClass"] = "db.t4g.small"


def multi_az(values: Values) -> None:
    values["airstack:metastore"]["multiAz"] = True


def single_az(values: Values) -> None:
    values["airstack:metastore"]["multiAz"] = False


def longer_task(values: Values) -> None:
    ml = next(t for t in values["airstack:teams"] if t["name"] == "ml")
    ml["longestTask"] = "4h"


def public_alb(values: Values) -> None:
    values["airstack:ingress"]["internetFacing"] = True


def webhook(values: Values) -> None:
    values["airstack:alerting"]["webhookUrl"] = {"secure": "v1:c2VjcmV0IHdlYmhvb2s="}


# name -> (the stack it edits, the edit); each is compared with its stack's unedited file ("base-<stack>").
VARIANTS: dict[str, tuple[str, Callable[[Values], None]]] = {
    "team": ("dev", add_team),
    "class": ("dev", instance_class),
    "multiaz": ("dev", multi_az),
    "single-az": ("acc", single_az),
    "timeout": ("dev", longer_task),
    "public": ("dev", public_alb),
    "secret": ("dev", webhook),
}


@pytest.fixture(scope="module")
def stack_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("pairs")
    files = {f"base-{s}": write_stack(root / f"base-{s}", s, stack_values(s)) for s in ("dev", "acc")}
    for name, (stack, change) in VARIANTS.items():
        values = stack_values(stack)
        change(values)
        files[name] = write_stack(root / name, stack, values)
    files["base"] = files["base-dev"]
    return files


@pytest.fixture(scope="module")
def planned(stack_files: dict[str, Path]) -> dict[str, Planned]:
    names = [n for n in stack_files if n != "base"]
    found = dict(zip(names, plan_documents([str(stack_files[n]) for n in names]), strict=True))
    return {**found, "base": found["base-dev"]}


def diff_of(planned: dict[str, Planned], name: str) -> PlanDiff:
    stack = VARIANTS[name][0]
    return compare(planned[f"base-{stack}"].document, planned[name].document, base_label=stack, target_label=name)


# ------------------------------------------------------------------------------------- hand-made pairs


@pytest.mark.parametrize(
    ("variant", "summary"),
    [
        # +22: queue and dead-letter queue, access point, 5 IAM (2 roles, 2 policies, 1 attachment), the worker
        # (service, task definition, log group, scaling target, 2 policies, 2 scheduled actions, 2 alarms) and the
        # queue's 4 alarms (waiting, depth, oldest message, dead letters); ~10: a new revision of the 6 task
        # definitions, the EFS policy, the scheduler's policy, the DAG deployment function (its list of teams) and
        # the dashboard (the team's row)
        ("team", "+22 ~10, +$2.50/month"),
        # and the connections alarm, whose threshold follows the class's connection limit
        ("class", "~2, +$12.41/month"),
        ("multiaz", "~1, +$14.95/month"),
        # acc checks Multi-AZ as advisory: turning it off is a new violation and halves the database's price
        # (db.t4g.small $49.64 → $24.82, 20 GB gp3 $5.08 → $2.54)
        ("single-az", "~1, 1 new violation, -$27.36/month"),
        # the queue's visibility timeout, the worker's task definition (a new revision, not a replacement) and the
        # oldest-message alarm (a message may be as old as the longest task)
        ("timeout", "~3"),
        # +2: an internet-facing UI gets a web ACL and its association (FSBP ELB.16): $9.20 of the +$16.50
        ("public", "+2 ~1, 1 replaced, +$16.50/month"),
        ("secret", "+1"),
    ],
)
def test_hand_made_pairs_have_the_exact_summary(planned: dict[str, Planned], variant: str, summary: str) -> None:
    diff = diff_of(planned, variant)
    assert diff.summary == summary
    assert render_markdown(diff).splitlines()[0] == summary


def test_instance_class_change_is_an_update_with_its_cost(planned: dict[str, Planned]) -> None:
    diff = diff_of(planned, "class")
    db, alarm = sorted(diff.resources, key=lambda r: r.name)
    assert (db.name, db.group, db.action) == ("metastore-db", "metastore", "update")
    assert [(c.path, c.old, c.new) for c in db.changes] == [("instanceClass", "db.t4g.micro", "db.t4g.small")]
    assert (alarm.name, [c.path for c in alarm.changes]) == (
        "monitoring-db-connections",
        ["alarmDescription", "threshold"],
    )
    text = render_markdown(diff)
    assert "#### metastore (~1)" in text
    assert '- `instanceClass`: `"db.t4g.micro"` → `"db.t4g.small"`' in text
    assert "#### Cost: $133.26 → $145.67 a month (+$12.41)" in text
    assert "| RDS PostgreSQL db.t4g.small | — | $24.82 | +$24.82 |" in text


def test_multi_az_toggle(planned: dict[str, Planned]) -> None:
    diff = diff_of(planned, "multiaz")
    assert [(r.name, [(c.path, c.old, c.new) for c in r.changes]) for r in diff.resources] == [
        ("metastore-db", [("multiAz", False, True)])
    ]
    assert {i.item for i in diff.cost.items} >= {"RDS PostgreSQL db.t4g.micro Multi-AZ", "RDS PostgreSQL db.t4g.micro"}


def test_multi_az_off_in_acc_is_a_new_violation(planned: dict[str, Planned]) -> None:
    diff = diff_of(planned, "single-az")
    assert [(v.policy, v.level, v.resource) for v in diff.violations.new] == [
        ("rds-multi-az", "advisory", "metastore-db")
    ]
    assert not diff.violations.resolved
    text = render_markdown(diff)
    assert "#### Policy violations\n\n- **new** advisory `rds-multi-az` on `metastore-db`: " in text
    assert "#### Cost: $284.99 → $257.63 a month (-$27.36)" in text


def test_queue_timeout_reaches_the_queue_and_the_workers_settings(planned: dict[str, Planned]) -> None:
    diff = diff_of(planned, "timeout")
    by_name = {r.name: r for r in diff.resources}
    queue = by_name["broker-ml"]
    assert queue.action == "update"
    assert ("visibilityTimeoutSeconds", 9000, 18000) in [(c.path, c.old, c.new) for c in queue.changes]
    task = by_name["compute-worker-ml-task-definition"]
    assert (task.action, task.label) == ("new-version", "new revision")
    visibility = (
        "containerDefinitions[worker].environment[AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT]"
    )
    assert (visibility, "9000", "18000") in [(c.path, c.old, c.new) for c in task.changes]
    assert f'- `{visibility}`: `"9000"` → `"18000"`' in render_markdown(diff)


def test_team_added_creates_its_resources_and_replaces_nothing(planned: dict[str, Planned]) -> None:
    diff = diff_of(planned, "team")
    created = {r.name for r in diff.resources if r.action == "create"}
    assert {"broker-finance", "broker-finance-dlq", "dags-finance", "compute-worker-finance"} <= created
    assert not [r for r in diff.resources if r.action in ("replace", "delete")]
    assert {c.path for c in diff.outputs} == {"queueUrls.finance", "dagAccessPointIds.finance"}


def test_a_change_that_forces_a_new_resource_is_a_replacement(planned: dict[str, Planned]) -> None:
    diff = diff_of(planned, "public")
    (alb,) = [r for r in diff.resources if r.action != "create"]
    assert (alb.name, alb.action, alb.because) == ("ingress-alb", "replace", ("internal",))
    text = render_markdown(diff)
    assert "**replaced** (`internal` forces a new resource)" in text
    assert "- `internal`: `true` → `false` · **forces replacement**" in text


def _secrets_the_run_knows(planned: Planned, stack_file: Path) -> set[str]:
    """Independently of airstack's own scrubbing: secure placeholders and every generated secret."""
    placeholders = {
        found
        for value in read_stack_file(str(stack_file)).config.values()
        for found in re.findall(re.escape(OFFLINE_SECRET_PREFIX) + r"[0-9a-f]+", value)
    }
    generated = set()
    for resource in planned.plan.run.resources:
        if resource.type.startswith("random:"):
            outputs = wire.provider_view(resource.wire_outputs)
            generated |= {str(outputs[k]) for k in ("result", "base64", "hex") if k in outputs}
    return placeholders | generated


def test_no_secret_in_the_markdown_or_the_json(
    planned: dict[str, Planned], stack_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    secrets = _secrets_the_run_knows(planned["secret"], stack_files["secret"])
    assert any(s.startswith(OFFLINE_SECRET_PREFIX) for s in secrets)
    assert len(secrets) >= 5  # the webhook placeholder and the generated passwords and keys
    # Both directions, before the CLI's scrubbing (the documents themselves hold no secret), and the CLI's output.
    there = compare(planned["base"].document, planned["secret"].document, base_label="a", target_label="b")
    back = compare(planned["secret"].document, planned["base"].document, base_label="b", target_label="a")
    documents = [render_markdown(d) for d in (there, back)] + [json.dumps(d.as_dict()) for d in (there, back)]
    code = main(["diff", str(stack_files["base"]), str(stack_files["secret"])])
    documents.append(capsys.readouterr().out)
    assert code == 0
    assert documents[-1].splitlines()[0] == "+1"
    assert "- `+` **`monitoring-webhook`** `aws:sns/topicSubscription:TopicSubscription`" in documents[-1]
    for text in documents:
        for secret in secrets:
            assert secret not in text


def test_a_changed_secret_is_said_without_its_value() -> None:
    """Digests of the wire values tell a changed secret from an unchanged one; a bare mask tells nothing."""
    secret = {wire.SIG: wire.SECRET_SIG, "value": OFFLINE_SECRET_PREFIX + "0ld0ld0ld0ld"}

    def document(value: str) -> tuple[Values, ProgramRun]:
        subscription = Resource(
            urn="urn:pulumi:dev::p::aws:sns/topicSubscription:TopicSubscription::hook",
            type="aws:sns/topicSubscription:TopicSubscription",
            name="hook",
            parent=None,
            custom=True,
            wire_inputs={"endpoint": {**secret, "value": value}, "protocol": "https", "topic": "arn:t"},
        )
        run = ProgramRun(stack="dev", project="p", resources=[subscription], outputs={})
        return {"resources": [resource_dict(subscription)], "outputs": {}}, run

    (old, old_run), (new, new_run) = document(secret["value"]), document(OFFLINE_SECRET_PREFIX + "n3wn3wn3wn3w")
    assert old == new  # the plan documents alone cannot tell
    assert _diff(old, new).empty
    digested_old, digested_new = attach_digests(old, old_run), attach_digests(new, new_run)
    diff = _diff(digested_old, digested_new)
    (hook,) = diff.resources
    assert (hook.action, hook.because) == ("replace", ("endpoint",))
    text = render_markdown(diff) + json.dumps(diff.as_dict())
    assert "- `endpoint`: secret changed · **forces replacement**" in text
    assert "0ld0ld" not in text
    assert "n3wn3w" not in text
    assert _diff(digested_old, attach_digests(old, old_run)).empty


# ------------------------------------------------------------------------------------------ the CLI


def test_cli_diff_of_an_invalid_stack_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    values = stack_values("dev")
    values["airstack:logs"]["retentionDays"] = 10
    bad = write_stack(tmp_path, "dev", values)
    assert main(["diff", str(bad), str(bad)]) == 2
    err = capsys.readouterr().err
    assert "cannot be planned" in err
    assert "airstack:logs.retentionDays = 10" in err


def test_cli_diff_of_another_program_groups_by_top_level_resource(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    program = PROJECT_ROOT / "tests" / "programs" / "broken"
    shorter = tmp_path / "Pulumi.broken.yaml"
    shorter.write_text((program / "Pulumi.broken.yaml").read_text().replace("28800", "3600"))
    code = main(["diff", "--program", str(program), str(program / "Pulumi.broken.yaml"), str(shorter)])
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[0] == "~2"  # the queue's tag and the task definition: the violation only changed
    assert "#### tasks (~1)" in out
    assert "#### worker (~1)" in out
    assert "- **changed** mandatory `sqs-visibility-covers-longest-task` on `tasks`: " in out
    assert "longest task is 3600 s and needs at least 3960 s" in out


# ------------------------------------------------------------------------------------ git revisions

IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "venv", "*-venv", "__pycache__", "*.pyc", ".pytest_cache", ".ruff_cache", ".hypothesis"
)


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=airstack tests", "-c", "user.email=tests@example.com", *args],
        check=True, capture_output=True,
    )  # fmt: skip


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway repository: first the stack files without any code, then the whole project."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path_factory.mktemp("repo") / "airstack"
    repo.mkdir()
    _git(repo, "init", "-q")
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml"):
        shutil.copy(PROJECT_ROOT / name, repo / name)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "stack files only")
    shutil.copytree(PROJECT_ROOT, repo, ignore=IGNORED, dirs_exist_ok=True)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "the project")
    return repo


def test_rev_head_of_an_unchanged_stack_has_no_changes(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", str(repo / "Pulumi.dev.yaml"), "--rev", "HEAD"]) == 0
    assert capsys.readouterr().out == "no changes\n"


def test_rev_head_shows_what_the_work_tree_changed(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = repo / "Pulumi.dev.yaml"
    original = stack.read_text()
    stack.write_text(original.replace("instanceClass: db.t4g.micro", "instanceClass: db.t4g.small"))
    try:
        code = main(["diff", str(stack), "--rev", "HEAD", "--json"])
    finally:
        stack.write_text(original)
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["summary"] == "~2, +$12.41/month"
    assert out["base"].startswith(f"{stack} at HEAD (")
    assert [(r["name"], r["action"], r["changes"]) for r in out["resources"] if r["name"] == "metastore-db"] == [
        (
            "metastore-db",
            "update",
            [{"path": "instanceClass", "kind": "changed", "old": "db.t4g.micro", "new": "db.t4g.small"}],
        )
    ]
    assert _status(repo) == ""  # the work tree is back as it was, and nothing else was touched


def _status(repo: Path) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "status", "--porcelain"], check=True, capture_output=True, text=True
    ).stdout


def test_a_stack_the_revision_does_not_have_is_all_new(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sandbox = repo / "Pulumi.sandbox.yaml"
    shutil.copy(repo / "Pulumi.dev.yaml", sandbox)
    try:
        code = main(["diff", str(sandbox), "--rev", "HEAD"])
    finally:
        sandbox.unlink()
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("+")
    assert "Pulumi.sandbox.yaml does not exist at HEAD: the whole stack is new" in out


def test_a_revision_that_cannot_plan_exits_2(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", str(repo / "Pulumi.dev.yaml"), "--rev", "HEAD~1"]) == 2
    assert "HEAD~1 has no airstack command (airstack.cli) next to Pulumi.dev.yaml" in capsys.readouterr().err
    assert main(["diff", str(repo / "Pulumi.dev.yaml"), "--rev", "no-such-branch"]) == 2
    assert "unknown revision 'no-such-branch'" in capsys.readouterr().err


def test_a_revision_whose_stack_is_invalid_exits_2(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = repo / "Pulumi.dev.yaml"
    original = stack.read_text()
    stack.write_text(original.replace("retentionDays: 7", "retentionDays: 10"))
    _git(repo, "commit", "-q", "-am", "an invalid stack")
    stack.write_text(original)
    try:
        code = main(["diff", str(stack), "--rev", "HEAD"])
    finally:
        _git(repo, "reset", "-q", "--hard", "HEAD~1")
    err = capsys.readouterr().err
    assert code == 2
    assert f"{stack} at HEAD cannot be planned: airstack at HEAD" in err
    assert "retentionDays = 10" in err


# --------------------------------------------------------------------------- small hand-built documents


PLATFORM = "urn:pulumi:s::p::airstack:platform:AirflowPlatform::airstack"
BROKER = "urn:pulumi:s::p::airstack:platform:AirflowPlatform$airstack:broker:Broker::broker"


def _resource(name: str, typ: str, inputs: Values, *, protect: bool = False, parent: str = PLATFORM) -> Values:
    qualified = parent.split("::")[2]
    return {"urn": f"urn:pulumi:s::p::{qualified}${typ}::{name}", "type": typ, "name": name, "parent": parent,
            "inputs": inputs, "protect": protect}  # fmt: skip


def _document(*resources: Values, cost: float = 10.0, violations: tuple[Values, ...] = ()) -> Values:
    root = [
        {"urn": "urn:pulumi:s::p::pulumi:pulumi:Stack::p-s", "type": "pulumi:pulumi:Stack", "name": "p-s",
         "parent": None, "inputs": {}},
        {"urn": "urn:pulumi:s::p::airstack:platform:AirflowPlatform::airstack", "type":
         "airstack:platform:AirflowPlatform", "name": "airstack", "parent": "urn:pulumi:s::p::pulumi:pulumi:Stack::p-s",
         "inputs": {}},
    ]  # fmt: skip
    return {"stack": "s", "resources": [*root, *resources], "violations": list(violations),
            "cost": {"monthlyUsd": cost, "items": [{"item": "all", "monthlyUsd": cost}]}, "outputs": {}}  # fmt: skip


def _violation(policy: str, message: str, level: str = "mandatory") -> Values:
    return {"policy": policy, "level": level, "urn": PLATFORM, "message": message}


def _diff(old: Values, new: Values) -> PlanDiff:
    return compare(read_plan_document(old), read_plan_document(new), base_label="old", target_label="new")


RDS = "aws:rds/instance:Instance"
DB = {"instanceClass": "db.t4g.micro", "storageEncrypted": False, "password": "[secret]"}


def test_rds_storage_encryption_forces_a_replacement() -> None:
    diff = _diff(_document(_resource("db", RDS, DB)), _document(_resource("db", RDS, {**DB, "storageEncrypted": True})))
    (db,) = diff.resources
    assert (db.action, db.because, db.blocked) == ("replace", ("storageEncrypted",), False)
    assert diff.summary == "~1, 1 replaced"


def test_a_protected_resource_that_would_be_replaced_or_deleted_is_called_out() -> None:
    old = _document(_resource("db", RDS, DB, protect=True), _resource("logs", "aws:s3/bucket:Bucket", {}, protect=True))
    new = _document(_resource("db", RDS, {**DB, "storageEncrypted": True}, protect=True))
    diff = _diff(old, new)
    assert [(r.name, r.blocked) for r in diff.resources] == [("db", True), ("logs", True)]
    text = render_markdown(diff)
    assert "> [!CAUTION]" in text
    assert "> **`pulumi up` will refuse this**: protected resources would be deleted." in text
    assert (
        "> - `db` (`aws:rds/instance:Instance`) would be **replaced** (`storageEncrypted` forces a new resource)"
        in text
    )
    assert "> - `logs` (`aws:s3/bucket:Bucket`) would be **deleted**" in text


def test_a_queue_name_forces_a_replacement_and_a_task_definition_is_a_new_revision() -> None:
    queue, task = "aws:sqs/queue:Queue", "aws:ecs/taskDefinition:TaskDefinition"
    old = _document(_resource("q", queue, {"name": "a", "visibilityTimeoutSeconds": 60}),
                    _resource("t", task, {"cpu": "256", "tags": {"a": "1"}}))  # fmt: skip
    new = _document(_resource("q", queue, {"name": "b", "visibilityTimeoutSeconds": 60}),
                    _resource("t", task, {"cpu": "512", "tags": {"a": "1"}}))  # fmt: skip
    diff = _diff(old, new)
    assert [(r.name, r.action, r.because) for r in diff.resources] == [
        ("q", "replace", ("name",)),
        ("t", "new-version", ("cpu",)),
    ]
    assert diff.summary == "~2, 1 replaced"
    tags_only = _diff(old, _document(_resource("q", queue, {"name": "a", "visibilityTimeoutSeconds": 60}),
                                     _resource("t", task, {"cpu": "256", "tags": {"a": "2"}})))  # fmt: skip
    assert [(r.name, r.action) for r in tags_only.resources] == [("t", "update")]


@pytest.mark.parametrize(
    ("old", "new", "summary"),
    [
        (_document(cost=10.0), _document(cost=10.0), "no changes"),
        (_document(cost=10.0), _document(_resource("q", "aws:sqs/queue:Queue", {}), cost=10.4), "+1, +$0.40/month"),
        (_document(_resource("q", "aws:sqs/queue:Queue", {})), _document(cost=6.9), "-1, -$3.10/month"),
        (
            _document(violations=(_violation("a", "m"), _violation("b", "m"))),
            _document(violations=(_violation("a", "m"), _violation("c", "m"), _violation("d", "m"))),
            "2 new violations, 1 resolved violation",
        ),
        (  # the same policy still violated by the same resource, with another value in its message
            _document(violations=(_violation("a", "needs 3960 s"),)),
            _document(violations=(_violation("a", "needs 31680 s"),)),
            "no resource changes, 1 violation changed",
        ),
        (
            {**_document(), "outputs": {"url": "a"}},
            {**_document(), "outputs": {"url": "b"}},
            "no resource changes, 1 output changed",
        ),
        (_document(cost=1000.0), _document(cost=2234.5), "+$1,234.50/month"),
    ],
)
def test_summary_grammar(old: Values, new: Values, summary: str) -> None:
    assert summary_line(_diff(old, new)) == summary


def test_an_older_document_shape_lines_up_with_todays() -> None:
    """Before 2026-11-27: URNs with the stack's type and only the parent's, no custom/remote, cost priceTable."""
    new = _document(_resource("q", "aws:sqs/queue:Queue", {"name": "a"}))
    old = copy.deepcopy(new)
    for r in old["resources"]:
        if r["type"] == "airstack:platform:AirflowPlatform":
            r["urn"] = "urn:pulumi:s::p::pulumi:pulumi:Stack$airstack:platform:AirflowPlatform::airstack"
    old["resources"][2]["parent"] = old["resources"][1]["urn"]
    old["cost"] = {"monthlyUsd": 10.0, "items": [{"item": "all", "monthlyUsd": 10.0, "assumption": ""}],
                   "priceTable": {"asOf": "2026-11-25", "region": "us-east-1"}}  # fmt: skip
    assert _diff(old, new).summary == "no changes"


def test_two_stacks_line_up_resource_by_resource() -> None:
    """URNs carry the stack's name and the default provider's version; neither makes a resource new."""

    def provider(version: str) -> Values:
        name = "default_" + version.replace(".", "_")
        return {"urn": f"urn:pulumi:s::p::pulumi:providers:aws::{name}", "type": "pulumi:providers:aws",
                "name": name, "parent": None, "inputs": {"region": "eu-west-1", "version": version}}  # fmt: skip

    old = _document(provider("7.51.1"), _resource("q", "aws:sqs/queue:Queue", {"name": "q"}))
    text = json.dumps(_document(provider("7.52.0"), _resource("q", "aws:sqs/queue:Queue", {"name": "q"})))
    new = json.loads(text.replace("urn:pulumi:s::", "urn:pulumi:t::").replace("p-s", "p-t"))
    diff = _diff(old, new)
    assert [(r.name, r.action, [(c.path, c.old, c.new) for c in r.changes]) for r in diff.resources] == [
        ("default_7_52_0", "update", [("version", "7.51.1", "7.52.0")])
    ]


def test_a_big_diff_stays_under_the_cap_and_folds() -> None:
    queue, broker = "aws:sqs/queue:Queue", _resource("broker", "airstack:broker:Broker", {})

    def queues(delay: int) -> list[Values]:
        return [_resource(f"q{i}", queue, {"name": f"q{i}", "delaySeconds": delay}, parent=BROKER) for i in range(2000)]

    old, new = _document(broker, *queues(0)), _document(broker, *queues(5))
    diff = _diff(old, new)
    for cap in (65_536, 15_000, 3_000):
        text = render_markdown(diff, cap)
        assert len(text) <= cap
        assert text.splitlines()[0] == "~2000"
        assert "#### broker (~2000)" in text
        assert "<details><summary>2000 resources</summary>" in text
        assert "more changed resources not shown here (~" in text


def test_container_definitions_compare_by_container_and_variable() -> None:
    def task(value: str) -> Values:
        containers = [{"name": "worker", "image": "i:1", "environment": [{"name": "A", "value": value}]}]
        return _resource("t", "aws:ecs/taskDefinition:TaskDefinition", {"containerDefinitions": json.dumps(containers)})

    (t,) = _diff(_document(task("1")), _document(task("2"))).resources
    assert [(c.path, c.old, c.new) for c in t.changes] == [("containerDefinitions[worker].environment[A]", "1", "2")]
