"""Every container of the stack as a local process: its files, its environment, and ECS's start order.

Every task starts at once, as ECS starts a stack's services; within a task, a container starts when its
``dependsOn`` conditions hold (START, COMPLETE, SUCCESS, HEALTHY), as ECS does. The order across tasks is the
stack's own: the migration step runs before the scheduler in its task, and the other tasks' containers wait
for the migrated schema through their own ``dependsOn`` (ECS would replace a task whose dependency fails; the
smoke reports it: a listed difference).
"""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from airstack.smoke.differences import IMAGE_AIRFLOW_HOME, IMAGE_USER_HOME, LocalEnvironment, airflow_command
from airstack.smoke.plan import Container, PlanError, SmokePlan
from airstack.smoke.processes import Process, Supervisor, tail

ENTRYPOINT = Path(__file__).resolve().parent / "entrypoint.py"


def image_files(dockerfile: Path) -> list[tuple[Path, str]]:
    """(local file, path in the image) for each file the Dockerfile COPYs from its build context."""
    files = []
    for line in dockerfile.read_text().replace("\\\n", " ").splitlines():
        if not line.strip().upper().startswith("COPY"):
            continue
        words = shlex.split(line, comments=True)
        if not words or words[0].upper() != "COPY":
            continue
        args = [w for w in words[1:] if not w.startswith("--")]
        if any(w.startswith("--from") for w in words[1:]) or len(args) < 2:
            continue
        *sources, destination = args
        for source in sources:
            local = dockerfile.parent / source
            target = destination if not destination.endswith("/") else f"{destination}{PurePosixPath(source).name}"
            if not target.startswith("/"):
                target = f"{IMAGE_AIRFLOW_HOME}/{target}"  # the official image's WORKDIR
            files.append((local, target))
    return files


def container_dir(run_dir: Path, container: Container) -> Path:
    return run_dir / "containers" / container.task / container.name


def prepare_root(root: Path, files: Sequence[tuple[Path, str]]) -> None:
    """The container's filesystem as far as Airflow uses it: AIRFLOW_HOME, the user's home, the image's files."""
    for path in (IMAGE_AIRFLOW_HOME, IMAGE_USER_HOME, "/tmp"):
        (root / path.lstrip("/")).mkdir(parents=True, exist_ok=True)
    for local, target in files:
        destination = root / target.lstrip("/")
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(local, destination)


@dataclass
class Launch:
    container: Container
    environment: LocalEnvironment
    cwd: Path
    process: Process | None = None
    ready: bool = False

    @property
    def name(self) -> str:
        return f"{self.container.task}.{self.container.name}"

    @property
    def exit_code(self) -> int | None:
        return self.process.returncode if self.process else None


class ContainerError(Exception):
    def __init__(self, launch: Launch, message: str) -> None:
        super().__init__(message)
        self.launch = launch


@dataclass
class Fleet:
    """Starts containers in ECS's order and notices when one fails."""

    plan: SmokePlan
    launches: dict[str, Launch]
    supervisor: Supervisor
    python: Path
    on_start: Callable[[Launch], None] = lambda _launch: None

    def _condition_met(self, launch: Launch, dependency: str, condition: str) -> bool:
        other = self.launches.get(f"{launch.container.task}/{dependency}")
        if other is None:
            raise PlanError(f"{launch.container.key} depends on {dependency}, which its task lacks")
        if condition == "START":
            return other.process is not None
        if condition == "COMPLETE":
            return other.exit_code is not None
        if condition == "SUCCESS":
            if other.exit_code not in (None, 0):
                raise ContainerError(other, f"{other.name} exited with {other.exit_code}; {launch.name} needs SUCCESS")
            return other.exit_code == 0
        if condition == "HEALTHY":
            return other.ready
        raise PlanError(f"{launch.container.key}: dependsOn condition {condition!r} is unknown")

    def tick(self) -> None:
        """Start what may start now; ContainerError when an essential container or a needed dependency failed."""
        for launch in self.launches.values():
            container = launch.container
            if launch.process is None:
                if all(self._condition_met(launch, name, condition) for name, condition in container.depends_on):
                    self._start(launch)
            elif launch.process is not None and launch.exit_code is not None and container.essential:
                raise ContainerError(launch, f"{launch.name} (essential) exited with {launch.exit_code}")

    def _start(self, launch: Launch) -> None:
        env = launch.environment.environment
        launch.process = self.supervisor.start(
            launch.name,
            [str(self.python), str(ENTRYPOINT), *launch.environment.command],
            env,
            cwd=launch.cwd,
            stop_timeout=launch.container.stop_timeout,
            # dumb-init signals the whole group unless DUMB_INIT_SETSID=0 (Celery's warm shutdown).
            signal_group=env.get("DUMB_INIT_SETSID", "1") != "0",
        )
        self.on_start(launch)

    def all_started(self) -> bool:
        return all(launch.process is not None for launch in self.launches.values())

    def processes(self) -> list[Process]:
        return [launch.process for launch in self.launches.values() if launch.process is not None]


HEALTH_KEYS = {"scheduler": "scheduler", "triggerer": "triggerer", "dag-processor": "dag_processor"}
"""Airflow command -> its entry in the api-server's /api/v2/monitor/health."""


def is_ready(launch: Launch, health: Mapping[str, Any] | None) -> bool:
    """Whether a started container serves: the api-server answers, the jobs heartbeat, a worker says ready."""
    command = airflow_command(launch.container)
    if command[:1] == ("api-server",):
        return health is not None
    if command[:1] and command[0] in HEALTH_KEYS:
        return ((health or {}).get(HEALTH_KEYS[command[0]]) or {}).get("status") == "healthy"
    if command[:2] == ("celery", "worker"):
        return launch.process is not None and " ready." in tail(launch.process.log, 400)
    return launch.container.essential
