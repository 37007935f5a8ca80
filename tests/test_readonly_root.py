"""Every Airflow container of a stack runs with a read-only root file system, writing only to its task storage.

The dev stack as the real program renders it (airstack.smoke's plan of it: the task definitions' containers,
their environment, secrets and mount points), each Airflow container started with its actual command by the
smoke's entrypoint, against the smoke's stand-ins (PostgreSQL started as a new RDS instance, moto for SQS, S3 and
Secrets Manager). What differs from the smoke is the file system, made as Docker makes it: each container runs
in a mount namespace of its own where its root (the image's /opt/airflow with the files the Dockerfile copies,
/home/airflow, /tmp; the smoke maps these paths into a directory per container) is bound read-only, and each
volume its definition mounts writable is bound over its path there; the DAG directories (EFS, mounted read-only)
are read-only too. A write anywhere else fails with EROFS, as on ECS, and the trees are compared before and after
to show it was not even tried.

It checks that the migration step succeeds, that every service comes up and stays up (the api-server answers,
the scheduler, dag-processor and triggerer heartbeat, the worker runs a task of its team) with its health check
passing, and that after they stopped nothing changed outside the writable mounts. Skipped without
AIRSTACK_AIRFLOW_PYTHON (a real Airflow 3), PostgreSQL's binaries or mount namespaces (``unshare``).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from airstack.smoke import aws, postgres
from airstack.smoke.airflow_venv import DOCKERFILE
from airstack.smoke.api import AirflowApi, ApiError
from airstack.smoke.containers import ENTRYPOINT, Fleet, Launch, image_files, is_ready, prepare_root
from airstack.smoke.differences import IMAGE_AIRFLOW_HOME, ContainerPlace, local_environment, local_path
from airstack.smoke.layout import Layout, lay_out
from airstack.smoke.migration import admin_login, database_instance
from airstack.smoke.network import LOOPBACK
from airstack.smoke.plan import Container, SmokePlan, smoke_plan
from airstack.smoke.processes import Supervisor, tail
from airstack.smoke.secret_values import generate
from components.airflow_metrics import AGENT_CONTAINER
from tests.conftest import planned

AIRFLOW_PYTHON = os.environ.get("AIRSTACK_AIRFLOW_PYTHON")
pytestmark = pytest.mark.skipif(not AIRFLOW_PYTHON, reason="needs AIRSTACK_AIRFLOW_PYTHON (a real Airflow 3)")
TEAM = "ml"
"""The team whose worker runs (one worker stands for all: they differ only in their team's settings)."""
DAG_ID = "readonly_probe"
DAG = f"""
import tempfile
from datetime import datetime

from airflow.sdk import DAG, task

with DAG({DAG_ID!r}, start_date=datetime(2026, 1, 1), schedule=None):

    @task
    def scratch() -> int:
        # A task's own temporary files: what DAG code commonly writes, and what /tmp is for.
        with tempfile.NamedTemporaryFile() as f:
            f.write(b"x")
        return 1

    scratch()
"""
READY_TIMEOUT = 240
RUN_TIMEOUT = 60
HEALTH_CHECKED = ("scheduler", "dag-processor", "triggerer")


MOUNT = """set -e
root=$1; shift
mount --bind "$root" "$root"
mount -o remount,bind,ro "$root"
while [ "$1" != -- ]; do
  mount --bind "$1" "$2"
  if [ "$3" = ro ]; then mount -o remount,bind,ro "$2"; fi
  shift 3
done
shift
exec "$@"
"""
"""In a mount namespace of its own: the root read-only, then each volume bound at its mount point, as Docker does."""


@dataclass(frozen=True)
class FileSystem:
    """A container's file system: its root, and each volume (local directory, where it is mounted, read-only)."""

    root: Path
    mounts: tuple[tuple[Path, Path, bool], ...]

    def run(self, argv: list[str]) -> list[str]:
        """``argv`` in this file system: a write outside the writable mounts fails (EROFS), as on ECS."""
        volumes = [str(a) for source, target, ro in self.mounts for a in (source, target, "ro" if ro else "rw")]
        return ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", MOUNT, "sh", str(self.root), *volumes,
                "--", *argv]  # fmt: skip


def mount_namespaces() -> bool:
    """Whether this machine lets the tests make a read-only bind mount in a namespace of their own."""
    with tempfile.TemporaryDirectory() as directory:
        done = subprocess.run(
            FileSystem(Path(directory), ()).run(["sh", "-c", f"! touch {directory}/x"]),
            capture_output=True,
            check=False,
        )
        return done.returncode == 0 and not Path(directory, "x").exists()


@dataclass(frozen=True)
class Entry:
    kind: str
    mode: int
    digest: str


def snapshot(root: Path) -> dict[str, Entry]:
    """Every path under ``root`` (not following links: a writable mount is one) with its type, mode and content."""
    found: dict[str, Entry] = {}
    for path in [root, *root.rglob("*")]:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            found[str(path.relative_to(root))] = Entry("link", 0, os.readlink(path))
        elif stat.S_ISDIR(info.st_mode):
            found[str(path.relative_to(root))] = Entry("dir", stat.S_IMODE(info.st_mode), "")
        else:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            found[str(path.relative_to(root))] = Entry("file", stat.S_IMODE(info.st_mode), digest)
    return found


def changed(before: dict[str, Entry], after: dict[str, Entry]) -> list[str]:
    return sorted(
        [f"added {p}" for p in after.keys() - before.keys()]
        + [f"removed {p}" for p in before.keys() - after.keys()]
        + [f"changed {p}" for p in before.keys() & after.keys() if before[p] != after[p]]
    )


def file_system(container: Container, place: ContainerPlace) -> FileSystem:
    """Where the container's mounts go: a writable volume at its path in the root, a DAG directory read-only.

    ``local_environment`` points the DAG bundles at the volume's own directory (as the smoke does), so a
    read-only mount is that directory made read-only; a writable one is bound over its path in the root.
    """
    mounts = []
    for mount in container.mounts:
        volume = Path(place.volumes[mount.volume])
        volume.mkdir(parents=True, exist_ok=True)
        if mount.read_only:
            mounts.append((volume, volume, True))
        else:
            at = Path(local_path(mount.container_path, place, ()))
            at.mkdir(parents=True, exist_ok=True)  # the image has the directory (its VOLUME)
            mounts.append((volume, at, False))
    return FileSystem(Path(place.root), tuple(mounts))


class ReadOnlyFleet(Fleet):
    """The smoke's fleet (ECS's start order, the smoke's entrypoint), each container in its own file system."""

    file_systems: dict[str, FileSystem]

    def _start(self, launch: Launch) -> None:
        env = launch.environment.environment
        argv = [str(self.python), str(ENTRYPOINT), *launch.environment.command]
        launch.process = self.supervisor.start(
            launch.name,
            self.file_systems[launch.container.key].run(argv),
            env,
            cwd=launch.cwd,
            stop_timeout=launch.container.stop_timeout,
            signal_group=env.get("DUMB_INIT_SETSID", "1") != "0",
        )


@dataclass
class Outcome:
    launches: dict[str, Launch]
    ready: dict[str, bool]
    run_state: str | None
    health_checks: dict[str, tuple[int, str]]
    changed: dict[str, list[str]]
    """Container key -> what changed in its root (outside its writable mounts)."""
    dags_changed: list[str]
    written: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    """Container key -> mount path -> what the container left there."""
    seconds: float = 0.0


def dev_plan() -> SmokePlan:
    """dev's Airflow containers: every role, one team's worker; no CloudWatch agent (its image is not Airflow's)."""
    plan = smoke_plan(planned("dev"))
    tasks = []
    for task in plan.tasks:
        if task.service.startswith("worker-") and task.service != f"worker-{TEAM}":
            continue
        tasks.append(replace(task, containers=tuple(c for c in task.containers if c.name != AGENT_CONTAINER)))
    return replace(plan, tasks=tuple(tasks))


def health_checks(
    launches: list[Launch], python: Path, file_systems: dict[str, FileSystem]
) -> dict[str, tuple[int, str]]:
    """Each container's ECS health check (``airflow jobs check ... --local``), run inside it as ECS runs it; at once."""
    job = {"scheduler": "SchedulerJob", "dag-processor": "DagProcessorJob", "triggerer": "TriggererJob"}
    running = {
        launch.container.task: subprocess.Popen(
            file_systems[launch.container.key].run(
                [str(python.parent / "airflow"), "jobs", "check", "--job-type", job[launch.container.name], "--local"]
            ),
            env=launch.environment.environment,
            cwd=launch.cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for launch in launches
    }
    found = {}
    for task, process in running.items():
        output, _ = process.communicate(timeout=120)
        found[task] = (process.returncode, output[-2000:])
    return found


def bring_up(fleet: Fleet, launches: dict[str, Launch], api: AirflowApi) -> dict[str, bool]:
    """Start the containers in ECS's order until each serves (or, for a step others wait for, succeeded)."""
    ready = dict.fromkeys(launches, False)
    deadline = time.monotonic() + READY_TIMEOUT
    while not all(ready.values()) and time.monotonic() < deadline:
        fleet.tick()
        try:
            health = api.health()
        except (ApiError, OSError, ValueError):
            health = None
        for key, launch in launches.items():
            if launch.process is not None and not ready[key]:
                ready[key] = (launch.exit_code == 0 and not launch.container.essential) or (
                    launch.exit_code is None and is_ready(launch, health)
                )
        time.sleep(0.5)
    return ready


def run_probe_dag(api: AirflowApi, launches: dict[str, Launch]) -> str | None:
    """The team's DAG, once parsed, triggered as the admin; its run's final state (None: it did not finish)."""
    api = AirflowApi(api.base, timeout=60)  # on 2 busy cores an answer can take a while
    api.login(*admin_login([launch.environment.environment for launch in launches.values()]))
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline and DAG_ID not in {d["dag_id"] for d in api.dags()}:
        time.sleep(1)
    api.unpause(DAG_ID)
    run_id, state = api.trigger(DAG_ID), None
    while time.monotonic() < deadline and state not in ("success", "failed"):
        time.sleep(1)
        state = api.run(DAG_ID, run_id)["state"]
    return state


@pytest.fixture(scope="module")
def outcome() -> Iterator[Outcome]:
    bindir = postgres.find_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries (initdb, postgres) on this machine")
    if not mount_namespaces():
        pytest.skip("needs mount namespaces (unshare --user --map-root-user --mount) for read-only roots")
    assert AIRFLOW_PYTHON is not None
    python = Path(AIRFLOW_PYTHON)
    started = time.monotonic()
    plan = dev_plan()
    # Under /tmp itself: PostgreSQL's user (when the tests run as root) must reach its directory.
    run_dir = Path(tempfile.mkdtemp(prefix="airstack-readonly-"))
    supervisor = Supervisor(run_dir / "logs")
    layout: Layout | None = None
    try:
        layout = lay_out(plan, run_dir, python)
        instance = database_instance(plan)
        database = postgres.start(
            supervisor, bindir, run_dir, layout.database_port, secrets.token_urlsafe(16), python,
            master=instance.master_username,
        )  # fmt: skip
        if instance.db_name and instance.db_name != postgres.MAINTENANCE_DATABASE:
            database.create_database(instance.db_name)
        stand_ins = generate(plan.secrets, LOOPBACK, layout.database_port)
        moto = aws.start(supervisor, run_dir, layout.moto_port, plan)
        moto.create(plan, stand_ins.values)

        files = image_files(DOCKERFILE)
        prefixes = [IMAGE_AIRFLOW_HOME, *{m.container_path for c in plan.containers for m in c.mounts}]
        launches: dict[str, Launch] = {}
        roots: dict[str, Path] = {}
        file_systems: dict[str, FileSystem] = {}
        for container in plan.containers:
            place = layout.places[container.key]
            root = Path(place.root)
            prepare_root(root, files)
            file_systems[container.key] = file_system(container, place)
            resolved = {ref.variable: moto.resolve(plan, ref.value_from) for ref in container.secrets}
            master = database.master_url() if plan.master_login(container) else None
            environment = local_environment(container, resolved, place, layout.site, prefixes, master_url=master)
            launches[container.key] = Launch(container, environment, Path(environment.environment["AIRFLOW_HOME"]))
            roots[container.key] = root
        dag_dirs = {Path(v) for p in layout.places.values() for k, v in p.volumes.items() if k.startswith("efs/")}
        for directory in dag_dirs:
            directory.mkdir(parents=True, exist_ok=True)
            if directory.name == TEAM:  # where the deployment function switches a team's release in
                (directory / "current").mkdir()
                (directory / "current" / f"{DAG_ID}.py").write_text(DAG)
        before = {key: snapshot(root) for key, root in roots.items()}
        dags_before = {str(d): snapshot(d) for d in dag_dirs}

        fleet = ReadOnlyFleet(plan, launches, supervisor, python)
        fleet.file_systems = file_systems
        api = AirflowApi(layout.api_url, timeout=5)
        ready = bring_up(fleet, launches, api)
        run_state = run_probe_dag(api, launches) if all(ready.values()) else None
        checked = [x for x in launches.values() if x.container.name in HEALTH_CHECKED and x.exit_code is None]
        checks = health_checks(checked, python, file_systems)
        still_up = {key: launch.exit_code is None or not launch.container.essential for key, launch in launches.items()}
        supervisor.stop(list(reversed(supervisor.processes)))
        result = Outcome(
            launches=launches,
            ready={key: ready[key] and still_up[key] for key in launches},
            run_state=run_state,
            health_checks=checks,
            changed={key: changed(before[key], snapshot(root)) for key, root in roots.items()},
            dags_changed=[c for d in dag_dirs for c in changed(dags_before[str(d)], snapshot(d))],
            written={
                key: {
                    str(target.relative_to(fs.root)): sorted(str(f.relative_to(v)) for f in v.rglob("*") if f.is_file())
                    for v, target, ro in fs.mounts
                    if not ro
                }
                for key, fs in file_systems.items()
            },
            seconds=time.monotonic() - started,
        )
        yield result
    finally:
        supervisor.stop(list(reversed(supervisor.processes)))
        if layout is not None:
            layout.close()
        shutil.rmtree(run_dir, ignore_errors=True)


def logs_of(outcome: Outcome) -> str:
    return "\n".join(
        f"--- {launch.name}\n{tail(launch.process.log, 30)}" for launch in outcome.launches.values() if launch.process
    )


def test_the_file_system_is_read_only_but_for_its_writable_mounts(tmp_path: Path) -> None:
    """What the other tests rely on: a write to the root fails, one to a writable mount lands in its volume."""
    if not mount_namespaces():
        pytest.skip("needs mount namespaces (unshare --user --map-root-user --mount) for read-only roots")
    root, volume, dags = tmp_path / "root", tmp_path / "volume", tmp_path / "dags"
    for directory in (root / "tmp", root / "opt/airflow", volume, dags):
        directory.mkdir(parents=True)
    fs = FileSystem(root, ((volume, root / "tmp", False), (dags, dags, True)))
    for target, works in ((root / "tmp/x", True), (root / "opt/airflow/airflow.cfg", False), (dags / "y", False)):
        done = subprocess.run(fs.run(["touch", str(target)]), capture_output=True, text=True, check=False)
        assert (done.returncode == 0) is works, done.stderr
        if not works:
            assert "Read-only file system" in done.stderr
    assert [p.name for p in volume.iterdir()] == ["x"]
    assert [p.name for p in root.rglob("*") if p.is_file()] == []


def test_every_role_comes_up_and_stays_up_on_a_read_only_root(outcome: Outcome) -> None:
    late = [key for key, ok in outcome.ready.items() if not ok]
    assert late == [], f"not up (or not successful) with a read-only root: {late}\n{logs_of(outcome)}"
    assert {c.task for c in (launch.container for launch in outcome.launches.values())} == {
        "api-server", "scheduler", "dag-processor", "triggerer", f"worker-{TEAM}"
    }  # fmt: skip


def test_a_task_runs_on_its_teams_worker(outcome: Outcome) -> None:
    assert outcome.run_state == "success", logs_of(outcome)


def test_each_health_check_passes_inside_its_container(outcome: Outcome) -> None:
    assert set(outcome.health_checks) == set(HEALTH_CHECKED)
    failed = {task: output for task, (code, output) in outcome.health_checks.items() if code != 0}
    assert failed == {}


def test_nothing_is_written_outside_the_writable_mounts(outcome: Outcome) -> None:
    assert {key: c for key, c in outcome.changed.items() if c} == {}
    assert outcome.dags_changed == [], "the DAG directories are read-only (EFS mounted read-only)"
    print(f"\nread-only roots: {outcome.seconds:.1f} s in all")
    for key, mounts in outcome.written.items():
        for path, files in mounts.items():
            print(f"{key} {path}: {files[:8]}{' ...' if len(files) > 8 else ''}")
