"""A team's releases on the DAG file system, and the atomic switch between them. Plain file-system operations.

Layout under a team's directory (the root of the team's EFS access point, mounted read-only by Airflow)::

    <team>/current -> .releases/<release>     relative symlink; the team's DAG bundle path is <team>/current
    <team>/.releases/<release>/...            complete, immutable releases (the newest ``keep``, and current)
    <team>/.releases/.staging-<random>/       a release being written; renamed into place when complete
    <team>/.releases/.lock                    serialises deployments of one team

A reader that opens ``current`` sees either the old or the new release, never a mixture of the two in one
path lookup: the tree is complete before the rename that names it, and the link is replaced with one
``rename`` (both atomic on one POSIX/NFSv4 file system). Older releases stay for a while, so a task that
resolved the link before a switch still finds its files.

Release names sort in release order: ``YYYYMMDDTHHMMSSZ-<id>``, the timestamp being the commit's time.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from pathlib import Path

RELEASES = ".releases"
CURRENT = "current"
STAGING_PREFIX = ".staging-"
LOCK = ".lock"
RELEASE_PATTERN = re.compile(r"(?P<time>\d{8}T\d{6}Z)-(?P<id>[A-Za-z0-9][A-Za-z0-9._-]{0,63})")
TIME_FORMAT = "%Y%m%dT%H%M%SZ"
TEAM_PATTERN = re.compile(r"[a-z][a-z0-9-]{0,30}[a-z0-9]")
"""Team names and directories: the stack configuration's names (2-32 lowercase letters, digits, hyphens)."""
KEY_PREFIX = "dags/"


def release_key(team: str, release: str) -> str:
    """Where the pipeline uploads a release and what the function's trigger matches: dags/<team>/<release>.zip"""
    return f"{KEY_PREFIX}{team}/{release}.zip"


class Decision(StrEnum):
    DEPLOY = "deploy"
    UNCHANGED = "unchanged"
    """The release is already current: a repeated event."""
    STALE = "stale"
    """An older release than the current one, delivered again or late: it never rolls the team back."""


def is_release_name(name: str) -> bool:
    match = RELEASE_PATTERN.fullmatch(name)
    if match is None:
        return False
    try:
        datetime.strptime(match["time"], TIME_FORMAT)
    except ValueError:
        return False
    return True


def decide(current: str | None, release: str) -> Decision:
    """Releases only move forward: rolling back means releasing the old content again, under a new name."""
    if current == release:
        return Decision.UNCHANGED
    if current is not None and is_release_name(current) and release < current:
        return Decision.STALE
    return Decision.DEPLOY


def current_release(team_dir: Path) -> str | None:
    """The release ``current`` names, or None when there is none (or it is not one of ours)."""
    try:
        target = os.readlink(team_dir / CURRENT)
    except (FileNotFoundError, NotADirectoryError, OSError):
        return None
    parent, _, name = target.partition("/")
    return name if parent == RELEASES and is_release_name(name) else None


def release_dir(team_dir: Path, release: str) -> Path:
    if not is_release_name(release):
        raise ValueError(f"not a release name: {release!r}")
    return team_dir / RELEASES / release


@contextmanager
def locked(team_dir: Path) -> Iterator[None]:
    """One deployment per team at a time (POSIX record locks work across NFSv4 clients, e.g. EFS)."""
    releases = team_dir / RELEASES
    for directory in (team_dir, releases):
        try:
            directory.mkdir(mode=0o755)
        except FileExistsError:
            continue
        os.chmod(directory, 0o755)  # whatever the umask: Airflow's user must be able to read through it
    fd = os.open(releases / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def publish(team_dir: Path, release: str, write: Callable[[Path], None]) -> bool:
    """Make ``.releases/<release>`` exist, complete. ``write`` fills a new staging directory (which it must
    create) and the staging directory is renamed into place; on any error nothing of it remains. Returns
    False when the release was already there. Call under ``locked``."""
    final = release_dir(team_dir, release)
    if final.is_dir():
        return False
    staging = team_dir / RELEASES / f"{STAGING_PREFIX}{uuid.uuid4().hex}"
    try:
        write(staging)
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return True


def switch(team_dir: Path, release: str) -> None:
    """Point ``current`` at the release in one atomic rename of a new link over the old one."""
    if not release_dir(team_dir, release).is_dir():
        raise FileNotFoundError(f"release {release} is not on the file system")
    link = team_dir / f"{STAGING_PREFIX}{CURRENT}-{uuid.uuid4().hex}"
    os.symlink(f"{RELEASES}/{release}", link)
    try:
        os.replace(link, team_dir / CURRENT)
    except BaseException:
        link.unlink(missing_ok=True)
        raise


def prune(team_dir: Path, keep: int) -> list[str]:
    """Remove all but the newest ``keep`` releases (never the current one) and any leftover staging
    directories of an interrupted deployment. Call under ``locked``. Returns the removed names."""
    if keep < 1:
        raise ValueError(f"keep must be at least 1, got {keep}")
    releases = team_dir / RELEASES
    current = current_release(team_dir)
    names = sorted((p.name for p in releases.iterdir() if p.is_dir() and is_release_name(p.name)), reverse=True)
    doomed = [releases / n for n in names[keep:] if n != current]
    doomed += [p for p in releases.iterdir() if p.name.startswith(STAGING_PREFIX)]
    doomed += [p for p in team_dir.iterdir() if p.name.startswith(STAGING_PREFIX) and p.is_symlink()]
    for path in doomed:
        if path.is_symlink() or not path.is_dir():
            path.unlink()
        else:
            shutil.rmtree(path)
    return [p.name for p in doomed]
