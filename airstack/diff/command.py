"""``airstack diff``: plan two sides, compare them, print Markdown or JSON.

Two forms: ``diff BASE TARGET`` plans two stacks (names or files) in this process, in parallel; ``diff STACK
--rev GITREV`` plans the stack as that revision had it (its program, stack file and airstack, run in a
temporary tree) while this process plans the work tree. Exit codes: 0 when the diff is printed, whatever it
says; 2 when a side cannot be planned (invalid config, a failing program, an unknown revision, a revision
whose airstack fails); 3 when the policy pack could not run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from airstack.diff.compare import PlanDiff, compare
from airstack.diff.document import EMPTY, DocumentError, PlanDocument, read_plan_document
from airstack.diff.markdown import DEFAULT_MAX_CHARS, render_markdown
from airstack.diff.revision import RevisionError, commit_of, exported, locate, start_plan
from airstack.diff.secrets import attach_digests, known_secrets, scrub
from airstack.diff.values import SecretValue
from airstack.offline import DEFAULT_TIMEOUT_SECONDS
from airstack.pack import PackError
from airstack.planning import Plan, PlanFailure, PlanOptions, plan_stacks
from airstack.stackfile import read_stack_file
from components.config import ConfigError

EXIT_OK, EXIT_INVALID, EXIT_INTERNAL = 0, 2, 3
SECRETS_NOTE = (
    "Secret values are compared only when both sides are planned in this run; against a revision a changed "
    "secret value does not show."
)


class DiffError(Exception):
    def __init__(self, message: str, code: int = EXIT_INVALID) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class DiffRequest:
    stacks: Sequence[str]
    rev: str | None = None
    preview: bool = False
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    as_json: bool = False
    max_chars: int = DEFAULT_MAX_CHARS
    program: Path | None = None
    """Compare stacks of another Pulumi Python program (both files are that program's)."""


@dataclass(frozen=True)
class Sides:
    base: PlanDocument
    target: PlanDocument
    base_label: str
    target_label: str
    secrets: set[str] = field(default_factory=set)


def run_diff(request: DiffRequest) -> tuple[int, str]:
    """The exit code and the text to print (the diff, or the reason there is none)."""
    try:
        if request.rev is not None:
            if len(request.stacks) != 1:
                raise DiffError("--rev compares one stack with itself at a revision: give one STACK")
            if request.program is not None:
                raise DiffError("--rev plans this project's program; --program works with BASE TARGET only")
            sides = plan_against_revision(request.stacks[0], request.rev, request.preview, request.timeout)
        elif len(request.stacks) == 2:
            base, target = request.stacks
            sides = plan_pair(base, target, request.preview, request.timeout, request.program)
        else:
            raise DiffError("give BASE and TARGET, or one STACK with --rev GITREV")
    except DiffError as failure:
        return failure.code, str(failure)
    diff = diff_sides(sides)
    text = json.dumps(diff.as_dict(), indent=2) if request.as_json else render_markdown(diff, request.max_chars)
    return EXIT_OK, scrub(text, sides.secrets)


def diff_sides(sides: Sides) -> PlanDiff:
    return compare(sides.base, sides.target, base_label=sides.base_label, target_label=sides.target_label)


def _options(preview: bool, timeout: float, program: Path | None = None) -> PlanOptions:
    return PlanOptions(preview=preview, timeout=timeout, program_dir=program)


def _planned(stacks: Sequence[str], options: PlanOptions) -> list[Plan]:
    try:
        results = plan_stacks(stacks, options)
    except PackError as error:
        raise DiffError(f"airstack could not run the policy pack: {error}", EXIT_INTERNAL) from None
    failures = [r for r in results if isinstance(r, PlanFailure)]
    if failures:
        raise DiffError("\n".join(f"{f.stack} cannot be planned:\n{f.message}" for f in failures))
    return [r for r in results if isinstance(r, Plan)]


@dataclass(frozen=True)
class Planned:
    plan: Plan
    document: PlanDocument
    """The plan's document, its masked secrets carrying digests."""
    secrets: set[str]
    """Every secret value the run knows, to scrub from the output."""


def planned(plan: Plan) -> Planned:
    document = read_plan_document(attach_digests(plan.as_dict(), plan.run))
    return Planned(plan, document, known_secrets(plan.run, plan.stack_file.config))


def plan_documents(
    stacks: Sequence[str],
    preview: bool = False,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    program: Path | None = None,
) -> list[Planned]:
    """Plan stacks here, in parallel; DiffError when one cannot be planned."""
    return [planned(p) for p in _planned(stacks, _options(preview, timeout, program))]


def plan_pair(base: str, target: str, preview: bool, timeout: float, program: Path | None = None) -> Sides:
    """Both stacks planned here (in parallel): secrets compare by digest."""
    old, new = plan_documents([base, target], preview, timeout, program)
    return Sides(old.document, new.document, base, target, old.secrets | new.secrets)


def plan_against_revision(stack: str, rev: str, preview: bool, timeout: float) -> Sides:
    """The stack at ``rev`` (planned by that revision's airstack) and in the work tree (planned here)."""
    try:
        located = locate(stack)
        commit = commit_of(located.repository, rev)
    except RevisionError as error:
        raise DiffError(str(error)) from None
    base_label = f"{stack} at {rev} ({commit[:12]})"
    with exported(located.repository, commit) as tree:
        try:
            launch = start_plan(tree, located, rev, commit, preview=preview, timeout=2 * timeout + 60)
        except RevisionError as error:
            raise DiffError(str(error)) from None
        try:
            (current,) = plan_documents([stack], preview, timeout)
        except BaseException:
            if launch is not None:
                launch.process.kill()
                launch.process.communicate()
            raise
        secrets, target = set(current.secrets), current.document
        if launch is None:
            base = replace(EMPTY, notes=[f"{located.stack_path} does not exist at {rev}: the whole stack is new"])
        else:
            try:
                base = read_plan_document(launch.wait())
            except (RevisionError, DocumentError) as error:
                raise DiffError(f"{stack} at {rev} cannot be planned: {error}") from None
            secrets |= _config_secrets(tree / located.stack_path)
    if _has_secrets(target):
        base = replace(base, notes=[*base.notes, SECRETS_NOTE])
    return Sides(base, target, base_label, f"{stack} in the work tree", secrets)


def _config_secrets(stack_file: Path) -> set[str]:
    try:
        return known_secrets(config=read_stack_file(str(stack_file)).config)
    except ConfigError:
        return set()


def _has_secrets(document: PlanDocument) -> bool:
    def walk(value: Any) -> bool:
        if isinstance(value, SecretValue):
            return True
        if isinstance(value, dict):
            return any(walk(v) for v in value.values())
        if isinstance(value, list):
            return any(walk(v) for v in value)
        return False

    return any(walk(dict(r.inputs)) for r in document.resources.values())
