"""A team's DAG release: what the DAG pipeline runs for each changed ``dags/<team>/`` directory.

It checks the directory with the deployment function's own rules (``lambdas.dag_sync.archive``), builds a
deterministic zip (sorted members, fixed timestamps and modes, so one tree gives one archive), checks that
zip exactly as the function will, and uploads it to ``s3://<artifacts>/dags/<team>/<release>.zip``, whose
``ObjectCreated`` event makes the function switch ``<team>/current`` to it.

The release name is ``<commit time, UTC>-<sha>``: release order follows history, so re-running an old
pipeline cannot roll a team back, and re-running the same commit names the same release. Releases are
immutable: an upload never replaces an existing object; the same content again is a no-op, other content
under an existing name is an error.

Usage: ``python -m airstack.dag_release --team analytics --bucket <artifacts> [--source dags/analytics]``
(run from the repository; the release is the source directory at ``HEAD``, which must be committed).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import stat
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lambdas.dag_sync import archive, releases
from lambdas.dag_sync.archive import Entry, Kind, Limits, Problem

IGNORED_DIRECTORIES = frozenset({"__pycache__"})
"""Byte-code caches that running or importing the DAGs leaves behind; never part of a release."""
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
DIGEST_KEY = "airstack-content-sha256"
SHA_KEY = "airstack-git-sha"


class ReleaseError(Exception):
    """The release cannot be built or published; the message says what to fix."""


@dataclass(frozen=True)
class Bundle:
    team: str
    data: bytes
    files: tuple[str, ...]
    digest: str
    """SHA-256 over the members' names and contents: equal trees, equal digests, whatever zlib compressed."""


def entries(directory: Path) -> list[Entry]:
    """Every member under ``directory`` as the release would hold it, sorted, without byte-code caches."""
    found: list[Entry] = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED_DIRECTORIES)
        for name in [*dirs, *files]:
            path = Path(root, name)
            info = path.lstat()
            found.append(Entry(path.relative_to(directory).as_posix(), _kind(info.st_mode), info.st_size))
    return sorted(found, key=lambda e: e.path)


def _kind(mode: int) -> Kind:
    if stat.S_ISLNK(mode):
        return Kind.SYMLINK
    if stat.S_ISDIR(mode):
        return Kind.DIRECTORY
    return Kind.FILE if stat.S_ISREG(mode) else Kind.SPECIAL


def build(team: str, directory: Path, limits: Limits | None = None) -> Bundle:
    """The release archive of ``directory``, or ``ReleaseError`` listing every rule the tree breaks."""
    limits = limits or Limits()
    if not releases.TEAM_PATTERN.fullmatch(team):
        raise ReleaseError(f"{team!r} is not a team name (2-32 lowercase letters, digits and hyphens)")
    if not directory.is_dir():
        raise ReleaseError(f"{directory} is not a directory")
    members = entries(directory)
    problems = archive.problems(members, limits)
    if problems:
        raise ReleaseError(_listing(directory, problems))
    files = [e.path for e in members if e.kind is Kind.FILE]
    buffer = io.BytesIO()
    digest = hashlib.sha256()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name in files:
            content = directory.joinpath(name).read_bytes()
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.create_system = 3  # Unix, so that the mode below means what it says
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            zf.writestr(info, content, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
            digest.update(f"{len(name)}:{name}:{len(content)}:".encode())
            digest.update(content)
    data = buffer.getvalue()
    try:
        archive.inspect(data, limits)  # exactly what the function will run on it
    except archive.Rejected as rejection:
        raise ReleaseError(f"{directory}: the archive would be rejected: {rejection}") from None
    return Bundle(team, data, tuple(files), digest.hexdigest())


def _listing(directory: Path, problems: list[Problem]) -> str:
    lines = [f"{directory} cannot be released ({len(problems)} problem{'s' * (len(problems) != 1)}):"]
    lines += [f"  {p.reason.value}: {p}" for p in problems]
    return "\n".join(lines)


def release_name(commit_time: datetime, sha: str) -> str:
    """``YYYYMMDDTHHMMSSZ-<first 12 of the sha>``; ``commit_time`` must be timezone-aware."""
    if commit_time.tzinfo is None:
        raise ValueError("commit_time must be timezone-aware")
    name = f"{commit_time.astimezone(UTC).strftime(releases.TIME_FORMAT)}-{sha[:12]}"
    if not releases.is_release_name(name):
        raise ReleaseError(f"{sha!r} does not make a release name")
    return name


@dataclass(frozen=True)
class Published:
    uri: str
    uploaded: bool
    """False when the same content was already released under this name."""


def upload(s3: Any, bucket: str, release: str, bundle: Bundle, sha: str) -> Published:
    """Put the archive at ``dags/<team>/<release>.zip`` unless that name exists (then it must be equal)."""
    from botocore.exceptions import ClientError

    key = releases.release_key(bundle.team, release)
    uri = f"s3://{bucket}/{key}"
    try:
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=bundle.data,
            ContentType="application/zip",
            Metadata={DIGEST_KEY: bundle.digest, SHA_KEY: sha},
            IfNoneMatch="*",
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "PreconditionFailed":
            raise
        existing = s3.head_object(Bucket=bucket, Key=key).get("Metadata", {})
        if existing.get(DIGEST_KEY) != bundle.digest:
            raise ReleaseError(
                f"{uri} exists with other content; releases are immutable (commit, then release the new commit)"
            ) from None
        return Published(uri, uploaded=False)
    return Published(uri, uploaded=True)


# --------------------------------------------------------------------------------------------- command


def _git(directory: Path, *args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=directory, check=True, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as error:
        detail = getattr(error, "stderr", "") or str(error)
        raise ReleaseError(f"git {' '.join(args)} failed in {directory}: {detail.strip()}") from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="airstack dags release",
        description="Check a team's DAG directory, build its release archive and upload it to the artifacts bucket.",
    )
    p.add_argument("--team", required=True, help="team name, as in the stack's teams")
    p.add_argument("--source", type=Path, help="the team's DAG directory (default: dags/<team>)")
    p.add_argument("--bucket", help="artifacts bucket (required unless --dry-run)")
    p.add_argument("--dry-run", action="store_true", help="check and build only; print the release, upload nothing")
    p.add_argument("--output", type=Path, help="also write the archive to this file")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """0 released (or already released), 1 the upload failed, 2 the directory or arguments are wrong."""
    args = parser().parse_args(argv)
    source: Path = args.source or Path("dags", args.team)
    try:
        if not args.dry_run and not args.bucket:
            raise ReleaseError("--bucket is required (or --dry-run)")
        bundle = build(args.team, source)
        if _git(source, "status", "--porcelain", "--", "."):
            raise ReleaseError(f"{source} has uncommitted changes: commit them, so that the release is a commit")
        sha = _git(source, "rev-parse", "HEAD")
        commit_time = datetime.fromtimestamp(int(_git(source, "show", "-s", "--format=%ct", sha)), UTC)
        release = release_name(commit_time, sha)
    except ReleaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.output:
        args.output.write_bytes(bundle.data)
    summary = f"{len(bundle.files)} files, {len(bundle.data)} bytes, content sha256 {bundle.digest[:12]}"
    if args.dry_run:
        print(f"{releases.release_key(bundle.team, release)}: {summary} (dry run, nothing uploaded)")
        return 0
    import boto3

    try:
        published = upload(boto3.client("s3"), args.bucket, release, bundle, sha)
    except ReleaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{published.uri}: {summary} ({'uploaded' if published.uploaded else 'already released, unchanged'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
