"""A stack as a git revision planned it: that revision's program, stack file and airstack, in a temporary tree.

The revision is exported with ``git archive`` into a temporary directory (the work tree, index and HEAD are
never touched) and its own ``airstack plan STACK --json`` runs there with this interpreter, so old code plans
old stacks and prints the document shape it knew. The tree is removed afterwards, also on failure.

The repository is the one holding the stack file; the program is the folder of the stack file at that
revision (where its ``Pulumi.yaml`` is), which for ``dev`` is this project.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airstack.stackfile import PROJECT_ROOT, resolve

ENTRY_POINT = "airstack.cli:main"
LAUNCH = "import sys; from {module} import {function} as main; sys.argv[0] = 'airstack'; sys.exit(main())"


class RevisionError(Exception):
    """The revision cannot be planned: no git, an unknown revision, or its airstack failed."""


@dataclass(frozen=True)
class Located:
    repository: Path
    stack_path: Path
    """The stack file's path inside the repository."""
    named: str | None
    """The stack's name when it was given by name (``dev``): the revision's own airstack resolves it."""


@dataclass(frozen=True)
class RevisionPlan:
    revision: str
    commit: str
    document: dict[str, Any] | None
    """None when the stack file does not exist at that revision (a stack the change adds)."""
    config: dict[str, str]
    """The stack file's config at the revision, as the CLI hands it over (for its secret placeholders)."""


def _git(repository: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(repository), *args], capture_output=True, text=True, check=False, timeout=60
        )
    except FileNotFoundError:
        raise RevisionError("git is not installed, so no revision can be read") from None
    if done.returncode != 0:
        raise RevisionError(done.stderr.strip() or f"git {' '.join(args)} failed")
    return done.stdout.strip()


def locate(stack: str) -> Located:
    """The git repository holding the stack file, and the file's place in it."""
    path = resolve(stack).resolve()
    try:
        top = Path(_git(path.parent if path.parent.is_dir() else PROJECT_ROOT, "rev-parse", "--show-toplevel"))
    except RevisionError as error:
        raise RevisionError(f"{path.parent} is not in a git repository: {error}") from None
    try:
        inside = path.relative_to(top.resolve())
    except ValueError:
        raise RevisionError(f"{path} is not inside the repository {top}") from None
    named = stack if "/" not in stack and not stack.endswith(".yaml") else None
    return Located(top.resolve(), inside, named)


def commit_of(repository: Path, revision: str) -> str:
    try:
        return _git(repository, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}")
    except RevisionError:
        raise RevisionError(f"unknown revision {revision!r} in {repository}") from None


@contextlib.contextmanager
def exported(repository: Path, commit: str) -> Iterator[Path]:
    """The files of ``commit`` in a temporary directory, removed on exit."""
    with tempfile.TemporaryDirectory(prefix="airstack-rev-") as tmp:
        archive = Path(tmp) / "tree.tar"
        with archive.open("wb") as sink:
            done = subprocess.run(
                ["git", "-C", str(repository), "archive", "--format=tar", commit],
                stdout=sink, stderr=subprocess.PIPE, check=False, timeout=300,
            )  # fmt: skip
        if done.returncode != 0:
            raise RevisionError(f"git archive {commit[:12]} failed: {done.stderr.decode(errors='replace').strip()}")
        tree = Path(tmp) / "tree"
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(tree, filter="data")
        except (tarfile.TarError, OSError) as error:
            raise RevisionError(f"the files of {commit[:12]} cannot be unpacked: {error}") from None
        archive.unlink()
        yield tree


def _entry_point(project: Path) -> tuple[str, str]:
    """The revision's own ``airstack`` console script (``module:function``)."""
    try:
        scripts = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
        target = str(scripts["airstack"])
    except (OSError, KeyError, TypeError, tomllib.TOMLDecodeError):
        target = ENTRY_POINT
    module, _, function = target.partition(":")
    return module, function or "main"


@dataclass(frozen=True)
class Launch:
    """A started plan of the revision; ``wait`` reads its document (so the caller can work meanwhile)."""

    process: subprocess.Popen[str]
    revision: str
    commit: str
    timeout: float

    def wait(self) -> dict[str, Any]:
        try:
            stdout, stderr = self.process.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
            raise RevisionError(f"planning {self.revision} did not finish within {self.timeout:g} s") from None
        where = f"{self.revision} ({self.commit[:12]})"
        detail = "\n".join(stderr.strip().splitlines()[-20:]) or f"exit code {self.process.returncode}"
        if self.process.returncode not in (0, 1):  # 1: planned, with a mandatory violation
            raise RevisionError(f"airstack at {where} could not plan the stack:\n{detail}")
        try:
            document = json.loads(stdout)
        except ValueError:
            raise RevisionError(f"airstack at {where} did not print a plan document:\n{detail}") from None
        if isinstance(document, list) and len(document) == 1:
            document = document[0]
        if not isinstance(document, dict):
            raise RevisionError(f"airstack at {where} printed no plan document")
        return document


def start_plan(
    tree: Path, located: Located, revision: str, commit: str, *, preview: bool, timeout: float
) -> Launch | None:
    """Start the revision's ``airstack plan --json`` of the stack; None when the stack file is not there."""
    stack_file = tree / located.stack_path
    if not stack_file.is_file():
        return None
    project = stack_file.parent
    module, function = _entry_point(project)
    if not (project / Path(*module.split("."))).with_suffix(".py").is_file():
        raise RevisionError(f"{revision} has no airstack command ({module}) next to {located.stack_path}")
    argv = ["plan", located.named or str(stack_file), "--json", *(["--preview"] if preview else [])]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # The revision's packages first: before this checkout's, which the environment may have installed.
    env["PYTHONPATH"] = os.pathsep.join([str(project), str(project / "policies")])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    process = subprocess.Popen(
        [sys.executable, "-c", LAUNCH.format(module=module, function=function), *argv],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    return Launch(process, revision, commit, timeout)
