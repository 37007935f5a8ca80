"""Each team's DAGs into the directories its worker and the dag-processor mount.

A team is a worker container: the queues it consumes (``celery worker --queues``) and the DAG directories it
mounts. Its DAGs are the project's ``dags/<directory>/`` (the team's example DAGs) when that exists, and always
the smoke's own DAG (``airstack/smoke/dags/``), made for the team: its tasks are what the specific checks
(cross-queue, live log, deferral) look at, whatever the example DAGs do.

DEPLOYMENT HOOK: the DAG deployment function ``lambdas/dag_sync`` is not in the project yet. Until it is,
``deploy`` copies each team's files into the team's directory. Once it exists, ``deploy`` must go through it
the way the pipeline does (zip the team's directory, put the bundle into the stand-in S3 artifacts bucket,
invoke the function's handler with that S3 event and the local DAG root); ``_through_dag_sync`` is where that
goes, and until it is written the smoke says so instead of silently copying.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from airstack.smoke.differences import airflow_command
from airstack.smoke.plan import Container, PlanError
from airstack.stackfile import PROJECT_ROOT

SMOKE_DAGS = Path(__file__).resolve().parent / "dags"
LIVE_SECONDS = 12
"""How long the smoke's ``live_log`` task runs: long enough to read its log through the API meanwhile."""


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
        found.append(
            Team(
                worker=container.key,
                queues=queues,
                directories=tuple(m.container_path for m in container.mounts),
                volumes=tuple(m.volume for m in container.mounts),
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


def smoke_dag(other_queue: str) -> str:
    text = (SMOKE_DAGS / "airstack_smoke.py").read_text()
    return text.replace("__AIRSTACK_SMOKE_OTHER_QUEUE__", other_queue).replace(
        "__AIRSTACK_SMOKE_LIVE_SECONDS__", str(LIVE_SECONDS)
    )


def deploy(all_teams: Sequence[Team], volumes: Mapping[str, Path], project_root: Path = PROJECT_ROOT) -> dict[str, str]:
    """Put every team's DAGs in place; return how each team's were deployed."""
    if (project_root / "lambdas" / "dag_sync").is_dir():
        return _through_dag_sync(all_teams, volumes, project_root)
    how = {}
    for team in all_teams:
        if not team.volumes:
            raise PlanError(f"worker {team.worker} mounts no DAG directory")
        others = [t.queue for t in all_teams if t.queue != team.queue]
        own = sources(team, project_root)
        for volume in team.volumes:
            target = volumes[volume]
            target.mkdir(parents=True, exist_ok=True)
            if own is not None:
                shutil.copytree(own, target, dirs_exist_ok=True)
            (target / "airstack_smoke.py").write_text(smoke_dag(others[0] if others else ""))
        examples = f"{own.relative_to(project_root)}/ and " if own else ""
        how[team.name] = f"copied {examples}the smoke's DAG {dag_id(team)}"
    return how


def _through_dag_sync(all_teams: Sequence[Team], volumes: Mapping[str, Path], project_root: Path) -> dict[str, str]:
    # HOOK: deploy as the DAG pipeline does, through lambdas/dag_sync (see the module's docstring).
    raise PlanError(
        "lambdas/dag_sync exists, but the smoke does not deploy through it yet: wire "
        "airstack/smoke/deploy.py::_through_dag_sync (zip each team's directory, put it into the stand-in "
        "artifacts bucket, invoke the handler with the S3 event and the local DAG root)"
    )
