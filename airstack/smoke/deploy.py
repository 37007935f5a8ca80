"""Each team's DAGs into the directories its worker and the dag-processor mount.

A team is a worker container: the queues it consumes (``celery worker --queues``) and the DAG directories it
mounts. Its DAGs are the project's ``dags/<directory>/`` (the team's example DAGs) when that exists, and always
the smoke's own DAG (``airstack/smoke/dags/``), made for the team: its tasks are what the specific checks
(cross-queue, live log, deferral) look at, whatever the example DAGs do.

When the project has the DAG deployment function (``lambdas/dag_sync``), the DAGs go through it as the DAG
pipeline sends them: one release zip per team put into the artifacts bucket of the stand-in S3, and the
function's handler invoked with that object's S3 event, in a process of its own with the function's
environment (from the plan when the stack has the function) and the local EFS directory as its DAG root.
Without the function, the files are copied.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from airstack.smoke.differences import DUMMY_ACCESS_KEY, DUMMY_SECRET_KEY, airflow_command
from airstack.smoke.plan import Container, Function, PlanError
from airstack.stackfile import PROJECT_ROOT

SMOKE_DAGS = Path(__file__).resolve().parent / "dags"
LIVE_SECONDS = 12
"""How long the smoke's ``live_log`` task runs: long enough to read its log through the API meanwhile."""
FUNCTION_CODE = Path("lambdas")
"""Where the project keeps its Lambda functions' code (the code root of their handlers)."""
DAG_SYNC = FUNCTION_CODE / "dag_sync"
DAG_SYNC_HANDLER = "dag_sync.handler.handler"
SMOKE_ARTIFACTS_BUCKET = "airstack-smoke-dag-artifacts"
"""The stand-in artifacts bucket when the stack does not have the function yet."""
_INVOKE = """
import importlib, json, sys
module, _, name = sys.argv[1].rpartition(".")
print(json.dumps(getattr(importlib.import_module(module), name)(json.loads(sys.argv[2]), None)))
"""


class DeployError(Exception):
    """The deployment function refused or failed: a finding of the smoke, not a bad plan."""


@dataclass(frozen=True)
class Team:
    worker: str
    """Key of the worker container (``<service>/<container>``)."""
    queues: tuple[str, ...]
    directories: tuple[str, ...]
    """Container paths of the DAG directories it mounts."""
    volumes: tuple[str, ...]
    """Their mount keys (shared with the dag-processor's mounts of the same access points)."""

    @property
    def name(self) -> str:
        return PurePosixPath(self.directories[0]).name if self.directories else self.worker

    @property
    def queue(self) -> str:
        return self.queues[0]


def worker_queues(container: Container) -> tuple[str, ...] | None:
    """The queues a ``celery worker`` container consumes; None for any other container."""
    command = airflow_command(container)
    if command[:2] != ("celery", "worker"):
        return None
    for i, arg in enumerate(command):
        if arg in ("-q", "--queues") and i + 1 < len(command):
            return tuple(q for q in command[i + 1].split(",") if q)
        if arg.startswith("--queues="):
            return tuple(q for q in arg.split("=", 1)[1].split(",") if q)
    default = container.environment.get("AIRFLOW__OPERATORS__DEFAULT_QUEUE", "default")
    return (default,)


def teams(containers: Sequence[Container]) -> list[Team]:
    found = []
    for container in containers:
        queues = worker_queues(container)
        if queues is None:
            continue
        # A worker's DAG directories are mounted read-only; its writable mounts are scratch (/tmp, its logs).
        dags = [m for m in container.mounts if m.read_only]
        if not dags:
            raise PlanError(f"worker {container.key} mounts no DAG directory")
        found.append(
            Team(
                worker=container.key,
                queues=queues,
                directories=tuple(m.container_path for m in dags),
                volumes=tuple(m.volume for m in dags),
            )
        )
    if not found:
        raise PlanError("the stack has no `celery worker` container: nothing would run a task")
    return found


def dag_id(team: Team) -> str:
    """The id the smoke's own DAG gets in ``team``'s directory."""
    return f"airstack_smoke_{team.name}"


def sources(team: Team, project_root: Path = PROJECT_ROOT) -> Path | None:
    """The project's own DAGs of a team, if it has them."""
    candidate = project_root / "dags" / team.name
    return candidate if candidate.is_dir() else None


def smoke_dag(team: str, other_queue: str) -> str:
    replacements = {
        "__AIRSTACK_SMOKE_TEAM__": team,
        "__AIRSTACK_SMOKE_OTHER_QUEUE__": other_queue,
        "__AIRSTACK_SMOKE_LIVE_SECONDS__": str(LIVE_SECONDS),
    }
    text = (SMOKE_DAGS / "airstack_smoke.py").read_text()
    for marker, value in replacements.items():
        text = text.replace(marker, value)
    return text


def stage(all_teams: Sequence[Team], into: Path, project_root: Path = PROJECT_ROOT) -> dict[str, Path]:
    """Each team's release as its directory in the repository would be, plus the smoke's DAG: team -> dir."""
    staged = {}
    for team in all_teams:
        others = [t.queue for t in all_teams if t.queue != team.queue]
        target = into / team.name
        own = sources(team, project_root)
        if own is not None:
            shutil.copytree(own, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        target.mkdir(parents=True, exist_ok=True)
        (target / "airstack_smoke.py").write_text(smoke_dag(team.name, others[0] if others else ""))
        staged[team.name] = target
    return staged


def copy(all_teams: Sequence[Team], staged: Mapping[str, Path], volumes: Mapping[str, Path]) -> dict[str, str]:
    for team in all_teams:
        for volume in team.volumes:
            shutil.copytree(staged[team.name], volumes[volume], dirs_exist_ok=True)
    return {t.name: f"copied ({', '.join(sorted(p.name for p in staged[t.name].iterdir()))})" for t in all_teams}


def release_zip(directory: Path) -> bytes:
    """The team's files, relative to its directory, as regular 0644 members (what the function accepts)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(directory).as_posix(), date_time=(2026, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            archive.writestr(info, path.read_bytes(), compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def s3_event(bucket: str, key: str, size: int, region: str) -> dict[str, Any]:
    """The notification S3 sends for one new object (what the function's trigger delivers)."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventTime": datetime.now(UTC).isoformat(),
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": key, "size": size},
                },
            }
        ]
    }


@dataclass(frozen=True)
class DagSync:
    """The DAG deployment function as the smoke runs it."""

    code_root: Path
    handler: str
    environment: Mapping[str, str]
    """The function's own environment (the plan's, or made by the smoke when the stack lacks the function)."""
    dags_root: Path
    """The local directory standing in for the EFS root the function mounts."""
    from_plan: bool

    @property
    def bucket(self) -> str:
        return self.environment["AIRSTACK_ARTIFACTS_BUCKET"]

    def team_of(self, directory: str) -> str:
        teams = json.loads(self.environment.get("AIRSTACK_DAG_TEAMS") or "{}")
        if isinstance(teams, list):
            teams = {t: t for t in teams}
        return next((t for t, d in teams.items() if d == directory), directory)

    def invoke(self, event: Mapping[str, Any], moto_url: str, region: str, home: Path) -> dict[str, Any]:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(home),
            "TMPDIR": str(home),
            "LANG": "C.UTF-8",
            "PYTHONPATH": str(self.code_root),
            "AWS_ENDPOINT_URL": moto_url,
            "AWS_ACCESS_KEY_ID": DUMMY_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET_KEY,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            **self.environment,
            "AIRSTACK_DAGS_ROOT": str(self.dags_root),
        }
        done = subprocess.run(
            [sys.executable, "-c", _INVOKE, self.handler, json.dumps(event)],
            env=env,
            cwd=self.code_root,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        if done.returncode != 0:
            raise DeployError(f"the DAG deployment function failed:\n{(done.stdout + done.stderr)[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def dag_sync(
    functions: Sequence[Function],
    all_teams: Sequence[Team],
    volumes: Mapping[str, Path],
    project_root: Path = PROJECT_ROOT,
) -> DagSync | None:
    """The deployment function to deploy through, if the project has one; None means copy."""
    if not (project_root / DAG_SYNC).is_dir():
        return None
    planned = next((f for f in functions if f.handler == DAG_SYNC_HANDLER), None)
    directories = {Path(volumes[v]) for t in all_teams for v in t.volumes}
    if planned is not None and planned.volume is not None and planned.volume in volumes:
        root = Path(volumes[planned.volume])
    else:
        parents = {d.parent for d in directories}
        if len(parents) != 1:
            raise PlanError("the teams' DAG directories share no root for the deployment function to write to")
        root = parents.pop()
    if planned is not None:
        return DagSync(project_root / FUNCTION_CODE, planned.handler, dict(planned.environment), root, True)
    environment = {
        "AIRSTACK_ARTIFACTS_BUCKET": SMOKE_ARTIFACTS_BUCKET,
        "AIRSTACK_DAG_TEAMS": json.dumps({t.name: t.name for t in all_teams}),
    }
    return DagSync(project_root / FUNCTION_CODE, DAG_SYNC_HANDLER, environment, root, False)


def deploy_through(
    function: DagSync, staged: Mapping[str, Path], s3: Any, moto_url: str, region: str, home: Path
) -> dict[str, str]:
    """One release per team, put into the artifacts bucket and handed to the function as S3 would."""
    release = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-smoke"
    how = {}
    for directory, staged_dir in staged.items():
        team = function.team_of(directory)
        key = f"dags/{team}/{release}.zip"
        data = release_zip(staged_dir)
        s3.put_object(Bucket=function.bucket, Key=key, Body=data, ContentType="application/zip")
        result = function.invoke(s3_event(function.bucket, key, len(data), region), moto_url, region, home)
        outcomes = result.get("results") or []
        if not outcomes or any(o.get("status") != "deployed" for o in outcomes):
            raise DeployError(f"the DAG deployment function did not deploy {key}: {json.dumps(outcomes)}")
        how[directory] = f"released {key} through {function.handler}"
    return how
