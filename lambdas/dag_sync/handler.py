"""The DAG deployment function: an S3 ``ObjectCreated`` event for ``dags/<team>/<release>.zip`` in the
artifacts bucket becomes ``<team>/current`` on the DAG file system, atomically, or is rejected untouched.

Deployment contract (the program that packages this function provides all of it):

- Runtime ``python3.12``; handler ``dag_sync.handler.handler`` with the ``lambdas/`` directory as the code
  root (the package uses relative imports; stdlib and the runtime's boto3 only).
- Environment:
  ``AIRSTACK_ARTIFACTS_BUCKET`` (required) the bucket whose events are accepted;
  ``AIRSTACK_DAG_TEAMS`` (required) JSON, team name -> DAG directory (``{"ml": "ml"}``) or a list of team
  names whose directory is their name;
  ``AIRSTACK_DAGS_ROOT`` the file system's local mount path, default ``/mnt/dags``;
  ``AIRSTACK_DAG_KEEP_RELEASES`` releases kept per team, default 5 (the current one is always kept);
  ``AIRSTACK_DAG_MAX_ARCHIVE_BYTES`` default 20 MiB, ``AIRSTACK_DAG_MAX_UNPACKED_BYTES`` default 100 MiB,
  ``AIRSTACK_DAG_MAX_FILES`` default 2000 (``airstack.dag_release`` builds against the same defaults);
  ``AIRSTACK_METRICS_NAMESPACE`` default ``Airstack/DagSync``. No secrets.
- IAM (execution role): ``s3:GetObject`` and ``s3:GetObjectVersion`` on ``arn:aws:s3:::<artifacts>/dags/*``
  (plus ``kms:Decrypt`` on the bucket's key if it uses SSE-KMS); ``elasticfilesystem:ClientMount`` and
  ``elasticfilesystem:ClientWrite`` on the file system ARN with the condition
  ``elasticfilesystem:AccessPointArn`` = this function's access point; ``logs:CreateLogStream`` and
  ``logs:PutLogEvents`` on ``arn:aws:logs:<region>:<account>:log-group:/aws/lambda/<function>:*`` (the
  program creates the group with its retention); for VPC access ``ec2:CreateNetworkInterface``,
  ``ec2:DescribeNetworkInterfaces``, ``ec2:DescribeSubnets``, ``ec2:DeleteNetworkInterface``,
  ``ec2:AssignPrivateIpAddresses``, ``ec2:UnassignPrivateIpAddresses`` on ``*`` (EC2 allows no narrower
  resource). No ``cloudwatch:PutMetricData``: metrics are EMF log lines (see ``metrics``).
- Trigger: bucket notification ``s3:ObjectCreated:*`` with prefix ``dags/`` and suffix ``.zip``, and a
  ``lambda:InvokeFunction`` permission for ``s3.amazonaws.com`` with the bucket's ARN and account as source.
- EFS: its own access point with root ``/dags`` (creation info uid 50000, gid 0, mode 0755) and POSIX user
  uid 50000, gid 0, mounted at ``/mnt/dags``. Airflow's image runs as 50000:0 and the teams' access points
  create ``/dags/<team>`` owned by 50000:0 with 0755, so only that user can write there; files are written
  0644 and directories 0755, readable by Airflow however it mounts them. The function's security group
  reaches the EFS mount targets on 2049 and S3 through the VPC's gateway endpoint.
- Sizing: 512 MB memory (the archive is held in memory, at most 20 MiB, and more memory buys CPU for
  decompression), timeout 120 s (thousands of small-file writes on EFS). Asynchronous invocation with the
  default two retries and an on-failure destination: rejections return normally (retrying a bad archive is
  pointless), infrastructure errors raise so that Lambda retries, which is safe because deployment is
  idempotent. Concurrent deployments of one team are serialised by a lock on the file system.
- Airflow: each team's DAG bundle path must be ``<mount of the team's access point>/current``, e.g.
  ``/opt/airflow/dags/<team>/current``. Pointing it at the team directory itself would make Airflow walk
  ``current`` and ``.releases`` both (it follows links and fails on the loop it then finds). The cluster
  policy's directory -> queue map can stay on the team directory: both ``current/...`` and the resolved
  ``.releases/...`` paths lie under it.

Ordering: releases only move forward (``releases.decide``). The same release again changes nothing; an
older release delivered again or late is skipped and counted as ``stale``. An explicit rollback is a new
release of the old content: revert the commit and let the pipeline release it under a newer name.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote_plus

import boto3

from . import archive, metrics, releases
from .archive import Limits, Reason, Rejected


class ConfigError(Exception):
    """The function's environment is wrong: every invocation fails until the program fixes it."""


@dataclass(frozen=True)
class Settings:
    bucket: str
    teams: Mapping[str, str]
    """Team name -> its directory under the root."""
    root: Path = Path("/mnt/dags")
    keep: int = 5
    limits: Limits = field(default_factory=Limits)
    namespace: str = metrics.DEFAULT_NAMESPACE

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        errors: list[str] = []
        bucket = env.get("AIRSTACK_ARTIFACTS_BUCKET", "")
        if not bucket:
            errors.append("AIRSTACK_ARTIFACTS_BUCKET is not set")
        teams = _teams(env.get("AIRSTACK_DAG_TEAMS", ""), errors)
        numbers = {
            name: _positive(env, name, default, errors)
            for name, default in (
                ("AIRSTACK_DAG_KEEP_RELEASES", 5),
                ("AIRSTACK_DAG_MAX_ARCHIVE_BYTES", Limits.max_archive_bytes),
                ("AIRSTACK_DAG_MAX_UNPACKED_BYTES", Limits.max_unpacked_bytes),
                ("AIRSTACK_DAG_MAX_FILES", Limits.max_files),
            )
        }
        root = Path(env.get("AIRSTACK_DAGS_ROOT") or "/mnt/dags")
        if not root.is_absolute():
            errors.append(f"AIRSTACK_DAGS_ROOT must be an absolute path, got {str(root)!r}")
        if errors:
            raise ConfigError("; ".join(errors))
        return cls(
            bucket=bucket,
            teams=teams,
            root=root,
            keep=numbers["AIRSTACK_DAG_KEEP_RELEASES"],
            limits=Limits(
                max_archive_bytes=numbers["AIRSTACK_DAG_MAX_ARCHIVE_BYTES"],
                max_unpacked_bytes=numbers["AIRSTACK_DAG_MAX_UNPACKED_BYTES"],
                max_files=numbers["AIRSTACK_DAG_MAX_FILES"],
            ),
            namespace=env.get("AIRSTACK_METRICS_NAMESPACE") or metrics.DEFAULT_NAMESPACE,
        )


def _teams(raw: str, errors: list[str]) -> dict[str, str]:
    try:
        value = json.loads(raw) if raw else None
    except json.JSONDecodeError as error:
        errors.append(f"AIRSTACK_DAG_TEAMS is not JSON ({error})")
        return {}
    if isinstance(value, list):
        value = {name: name for name in value}
    if not isinstance(value, dict) or not value:
        errors.append("AIRSTACK_DAG_TEAMS must be a non-empty JSON object (team -> directory) or list of teams")
        return {}
    teams: dict[str, str] = {}
    for team, directory in value.items():
        if not (isinstance(team, str) and releases.TEAM_PATTERN.fullmatch(team)):
            errors.append(f"AIRSTACK_DAG_TEAMS: {team!r} is not a team name")
        elif not (isinstance(directory, str) and releases.TEAM_PATTERN.fullmatch(directory)):
            errors.append(f"AIRSTACK_DAG_TEAMS: team {team!r} has directory {directory!r}, not a plain name")
        else:
            teams[team] = directory
    if len(set(teams.values())) != len(teams):
        errors.append("AIRSTACK_DAG_TEAMS: two teams share a directory")
    return teams


def _positive(env: Mapping[str, str], name: str, default: int, errors: list[str]) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        errors.append(f"{name} must be a positive integer, got {raw!r}")
    return value


# ---------------------------------------------------------------------------------------------- handling


@dataclass
class Outcome:
    status: str
    """deployed | unchanged | stale | rejected | ignored | error"""
    bucket: str = ""
    key: str = ""
    team: str | None = None
    release: str | None = None
    reason: str | None = None
    detail: str | None = None
    removed: list[str] = field(default_factory=list)


def handler(event: Mapping[str, Any], context: object) -> dict[str, Any]:
    """Lambda entry point."""
    del context
    return handle(event, Settings.from_env(os.environ), _s3(), sys.stdout)


@functools.cache
def _s3() -> Any:
    """One client per execution environment: creating one costs more than a deployment's S3 calls."""
    return boto3.client("s3")


def handle(event: Mapping[str, Any], settings: Settings, s3: Any, out: IO[str]) -> dict[str, Any]:
    """Each record of the event in turn. Rejections are outcomes; the first infrastructure error is raised
    after every record had its turn, so that Lambda retries the event (which is idempotent)."""
    if not settings.root.is_dir():
        raise RuntimeError(f"the DAG file system is not mounted at {settings.root}")
    results: list[Outcome] = []
    failure: Exception | None = None
    for record in event.get("Records") or []:
        started = time.monotonic()
        try:
            outcome = _process(record, settings, s3)
        except Exception as error:  # noqa: BLE001 - logged here, raised below once every record had its turn
            outcome = Outcome("error", *_location(record), detail=f"{type(error).__name__}: {error}")
            failure = failure or error
        _report(out, settings, outcome, time.monotonic() - started)
        results.append(outcome)
    if failure is not None:
        raise failure
    return {"results": [asdict(r) for r in results]}


def _location(record: Mapping[str, Any]) -> tuple[str, str]:
    s3 = record.get("s3") or {}
    return (s3.get("bucket") or {}).get("name", ""), unquote_plus((s3.get("object") or {}).get("key", ""))


def _process(record: Mapping[str, Any], settings: Settings, s3: Any) -> Outcome:
    bucket, key = _location(record)
    if record.get("eventSource") != "aws:s3" or not str(record.get("eventName", "")).startswith("ObjectCreated:"):
        return Outcome("ignored", bucket, key, detail=f"event {record.get('eventName')!r}")
    team: str | None = None
    release: str | None = None
    try:
        if bucket != settings.bucket:
            raise Rejected(Reason.UNEXPECTED_BUCKET, f"events are accepted from {settings.bucket!r} only")
        team, release = _parse_key(key, settings)
        if not releases.is_release_name(release):
            raise Rejected(
                Reason.BAD_RELEASE_NAME, f"{release!r} is not YYYYMMDDTHHMMSSZ-<id> (id: letters, digits, ._-)"
            )
        team_dir = settings.root / settings.teams[team]
        decision = releases.decide(releases.current_release(team_dir), release)
        if decision is not releases.Decision.DEPLOY:
            return Outcome(decision.value, bucket, key, team, release, reason=decision.value)
        obj = (record.get("s3") or {}).get("object") or {}
        data = None
        if not releases.release_dir(team_dir, release).is_dir():
            data = _download(s3, bucket, key, obj.get("versionId"), obj.get("size"), settings.limits)
        return _deploy(team_dir, release, data, settings, Outcome("deployed", bucket, key, team, release))
    except Rejected as rejection:
        return Outcome("rejected", bucket, key, team, release, rejection.reason.value, rejection.detail)


def _parse_key(key: str, settings: Settings) -> tuple[str, str]:
    parts = key.split("/")
    if len(parts) != 3 or f"{parts[0]}/" != releases.KEY_PREFIX or not parts[2].endswith(".zip"):
        raise Rejected(Reason.MALFORMED_KEY, f"{key!r} is not dags/<team>/<release>.zip")
    team, release = parts[1], parts[2].removesuffix(".zip")
    if team not in settings.teams:
        raise Rejected(Reason.UNKNOWN_TEAM, f"{team!r} is not one of {sorted(settings.teams)}")
    return team, release


def _download(s3: Any, bucket: str, key: str, version: str | None, size: object, limits: Limits) -> bytes:
    too_large = f"the limit is {limits.max_archive_bytes} bytes"
    if isinstance(size, int) and size > limits.max_archive_bytes:
        raise Rejected(Reason.TOO_LARGE, f"{size} bytes, {too_large}")
    response = s3.get_object(Bucket=bucket, Key=key, **({"VersionId": version} if version else {}))
    body = response["Body"]
    try:
        if int(response.get("ContentLength") or 0) > limits.max_archive_bytes:
            raise Rejected(Reason.TOO_LARGE, f"{response['ContentLength']} bytes, {too_large}")
        data = body.read(limits.max_archive_bytes + 1)
    finally:
        body.close()
    if len(data) > limits.max_archive_bytes:
        raise Rejected(Reason.TOO_LARGE, f"more than {limits.max_archive_bytes} bytes")
    return data


def _deploy(team_dir: Path, release: str, data: bytes | None, settings: Settings, outcome: Outcome) -> Outcome:
    manifest = archive.inspect(data, settings.limits) if data is not None else None
    with releases.locked(team_dir):
        # Another invocation may have moved the team on while this one downloaded.
        decision = releases.decide(releases.current_release(team_dir), release)
        if decision is not releases.Decision.DEPLOY:
            outcome.status = outcome.reason = decision.value
            return outcome
        if data is not None and manifest is not None:
            releases.publish(team_dir, release, lambda staging: archive.extract(data, manifest, staging))
        releases.switch(team_dir, release)
        outcome.removed = releases.prune(team_dir, settings.keep)
    return outcome


def _report(out: IO[str], settings: Settings, outcome: Outcome, seconds: float) -> None:
    fields: dict[str, Any] = {
        "level": {"rejected": "ERROR", "error": "ERROR"}.get(outcome.status, "INFO"),
        "message": f"DAG release {outcome.status}",
        "durationMs": round(seconds * 1000),
        **{k: v for k, v in asdict(outcome).items() if v not in (None, "", [])},
    }
    team = outcome.team if outcome.team is not None and outcome.team in settings.teams else metrics.NO_TEAM
    metric = {"deployed": "Deployed", "rejected": "Rejected", "unchanged": "Skipped", "stale": "Skipped"}
    if outcome.status not in metric:
        metrics.write(out, fields)
        return
    dimensions: dict[str, str] = (
        {"Team": team} if outcome.status == "deployed" else {"Team": team, "Reason": outcome.reason or ""}
    )
    metrics.write(out, metrics.emf_record(settings.namespace, metric[outcome.status], dimensions, fields))
