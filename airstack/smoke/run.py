"""The smoke itself: a planned stack's rendered Airflow, run on this machine against real stand-ins, and checked.

``Smoke(plan, console, timings).run() -> int``; ``airstack.smoke.command`` plans the stack and calls it. Exit
codes: 0 every check passed; 1 a check or a container failed (the report shows the failing component's log
tail); 2 the plan asks for what the smoke cannot stand in for; 3 the machine lacks what the smoke needs
(PostgreSQL, uv); 130 interrupted. Everything it starts is stopped and its run directory removed on every
exit, Ctrl-C and SIGTERM included.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from airstack.smoke import aws, isolation, postgres, redis_server
from airstack.smoke.airflow_venv import DOCKERFILE, REQUIREMENTS, VenvError, ensure_venv, image_python
from airstack.smoke.api import AirflowApi, ApiError
from airstack.smoke.brokers import redis_schemes
from airstack.smoke.checks import Checker, RunRecord, TeamPlace, team_place
from airstack.smoke.containers import ContainerError, Fleet, Launch, image_files, is_ready, prepare_root
from airstack.smoke.deploy import DeployError, copy, dag_sync, deploy_through, stage, teams
from airstack.smoke.differences import (
    IMAGE_AIRFLOW_HOME,
    ContainerPlace,
    Site,
    airflow_command,
    describe,
    local_environment,
)
from airstack.smoke.layout import Layout, lay_out
from airstack.smoke.metric_checks import metric_checks
from airstack.smoke.migration import admin_login, database_instance, is_migration
from airstack.smoke.network import LOOPBACK, free_port
from airstack.smoke.plan import PlanError, SmokePlan
from airstack.smoke.processes import (
    Supervisor,
    become_subreaper,
    descendants,
    interrupts_as_exceptions,
    kill_descendants,
    proportional_memory,
    shielded,
    tail,
)
from airstack.smoke.report import Board, Check, MemorySampler, Timings, changes_table, differences_table, report
from airstack.smoke.secret_values import BrokerEndpoint, StandInSecrets, generate, mask
from airstack.stackfile import PROJECT_ROOT

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_MACHINE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
READY_TIMEOUT = 300.0
RESULTS_TIMEOUT = 30.0


class MissingToolError(Exception):
    pass


class StartError(Exception):
    def __init__(self, message: str, *components: str) -> None:
        super().__init__(message)
        self.components = components


@dataclass
class Smoke:
    plan: SmokePlan
    console: Console
    timings: Timings
    keep: bool = False
    logs_to: Path | None = None
    run_dir: Path | None = None
    checks: list[Check] = field(default_factory=list)
    layout: Layout | None = None
    launches: dict[str, Launch] = field(default_factory=dict)
    secrets: StandInSecrets | None = None
    fleet: Fleet | None = None
    moto: aws.Moto | None = None
    database: postgres.Postgres | None = None
    redis: redis_server.RedisServer | None = None
    """The stand-in for a Redis broker (only when the stack's broker URLs are redis:// or rediss://)."""
    redis_binary: Path | None = None
    broker_port: int = 0
    plain_broker_port: int | None = None
    """Where the redis-server also takes plain connections, for a redis:// URL (ElastiCache with TLS: never)."""
    api_url: str = ""

    def __post_init__(self) -> None:
        self.supervisor = Supervisor(Path(tempfile.gettempdir()))
        self.sampler = MemorySampler(lambda: proportional_memory(descendants(os.getpid())))
        self.board = Board(self.console)

    # ------------------------------------------------------------------------------------------- the run

    def run(self) -> int:
        code = EXIT_FAILED
        try:
            with interrupts_as_exceptions():
                self.run_dir = Path(tempfile.mkdtemp(prefix=f"airstack-smoke-{self.plan.stack}-"))
                self.supervisor.log_dir = self.run_dir / "logs"
                become_subreaper()
                self.sampler.start()
                code = self._run()
        except KeyboardInterrupt as interrupt:
            why = interrupt.args[0] if interrupt.args else "Ctrl-C"
            self.console.print(f"[yellow]interrupted ({why}): stopping everything[/yellow]")
            code = EXIT_INTERRUPTED
        except (postgres.PostgresError, redis_server.RedisError, VenvError, MissingToolError) as error:
            self.console.print(f"[red]this machine cannot run the smoke:[/red] {error}")
            code = EXIT_MACHINE
        except aws.AwsError as error:
            self.console.print(f"[red]the AWS stand-in failed:[/red] {error}")
            self._report()
            code = EXIT_FAILED
        except PlanError as error:
            self.console.print(f"[red]{error}[/red]")
            code = EXIT_INVALID
        finally:
            with shielded(self.supervisor):
                self._clean_up()
        return code

    @property
    def dir(self) -> Path:
        assert self.run_dir is not None, "the run directory exists once run() started"
        return self.run_dir

    def _run(self) -> int:
        missing = [m for m in ("moto", "boto3", "flask") if importlib.util.find_spec(m) is None]
        if missing:
            needed = "moto[server] and boto3 in airstack's environment"
            raise MissingToolError(f"the smoke needs {needed} (missing: {', '.join(missing)})")
        with self.timings.phase("Airflow venv (uv)"):
            python, python_version = ensure_venv()
        with self.timings.phase("PostgreSQL binaries"):
            bindir = postgres.ensure_installed(lambda message: self.console.print(f"[dim]{message}[/dim]"))
        schemes = redis_schemes(self.plan)
        if schemes:
            with self.timings.phase("redis-server binary"):
                self.redis_binary = redis_server.ensure_installed(
                    lambda message: self.console.print(f"[dim]{message}[/dim]")
                )
            self.broker_port = free_port()
            self.plain_broker_port = free_port() if "redis" in schemes else None
        self.instance = database_instance(self.plan)
        self.layout = lay_out(self.plan, self.dir, python)
        site, places = self.layout.site, self.layout.places
        self.api_url = site.api_url
        self.moto_port, self.database_port = self.layout.moto_port, self.layout.database_port
        self._print_differences(site, python_version, bindir)
        try:
            with self.board.live():
                self._stand_ins(python, bindir)
                self._containers(site, places, python)
                self._start()
            return self._check()
        except ContainerError as failure:
            # An essential container must keep running; one that others wait for (the migration step) must succeed.
            what = "keeps running" if failure.launch.container.essential else "succeeds"
            self.checks.append(Check(f"{failure.launch.name} {what}", False, str(failure), (failure.launch.name,)))
        except DeployError as failure:
            self.checks.append(Check("DAG deployment", False, str(failure)))
        except StartError as failure:
            self.checks.append(Check("services come up", False, str(failure), failure.components))
        self._report()
        return EXIT_FAILED

    # ----------------------------------------------------------------------------------------- the layout

    def _print_differences(self, site: Site, python_version: str, bindir: Path) -> None:
        aliases = ", ".join(f"http://{a.dns_name}:{a.port}" for a, _ in site.aliases) or "none"
        version = postgres.server_version(bindir)
        rows = describe(
            {
                "moto": site.moto_url,
                "engine": self.instance.engine_version or "(engine version not set)",
                "master": self.instance.master_username,
                "db_name": self.instance.db_name or "(none)",
                "migration": ", ".join(c.key for c in self.plan.master_login_containers()),
                "postgres": version,
                "database_port": self.database_port,
                "aliases": aliases,
                "api_port": next((a.port for a, _ in site.aliases), 8080),
                "run_dir": self.dir,
                "image_python": image_python() or "?",
                "python": python_version,
                "requirements": REQUIREMENTS.relative_to(PROJECT_ROOT),
                "agents": ", ".join(sorted({c.image for c in self.plan.sidecars})) or "none in this stack",
                "redis": redis_server.server_version(self.redis_binary) if self.redis_binary else "(none)",
                "broker_port": self.broker_port if self.redis_binary else "(none: no Redis broker)",
            }
        )
        self.console.print(differences_table(rows))
        self.console.print(f"[dim]run directory: {self.dir}[/dim]")

    # --------------------------------------------------------------------------------------- stand-ins

    def _stand_ins(self, python: Path, bindir: Path) -> None:
        with self.timings.phase("PostgreSQL"):
            self.board.set("postgres", "starting", f"127.0.0.1:{self.database_port}")
            instance = self.instance
            self.database = postgres.start(
                self.supervisor,
                bindir,
                self.dir,
                self.database_port,
                secrets.token_urlsafe(24),
                python,
                master=instance.master_username,
            )
            if instance.db_name and instance.db_name != postgres.MAINTENANCE_DATABASE:
                self.database.create_database(instance.db_name)
            self.board.set("postgres", "ready", f"master {instance.master_username}, database {instance.db_name}")
        broker = self._broker(python)
        self.secrets = generate(self.plan.secrets, LOOPBACK, self.database_port, broker)
        with self.timings.phase("moto (SQS, S3, Secrets Manager)"):
            self.board.set("moto", "starting", f"127.0.0.1:{self.moto_port}")
            self.moto = aws.start(self.supervisor, self.dir, self.moto_port, self.plan)
            self.moto.create(self.plan, self.secrets.values)
            self.board.set(
                "moto",
                "ready",
                f"{len(self.plan.queues)} queues, {len(self.plan.buckets)} buckets, {len(self.plan.secrets)} secrets",
            )

    def _broker(self, python: Path) -> BrokerEndpoint | None:
        """A redis-server for a Redis broker: TLS only, a generated password, a certificate made for this run."""
        if self.redis_binary is None:
            return None
        with self.timings.phase("redis-server"):
            self.board.set("redis", "starting", f"127.0.0.1:{self.broker_port} (TLS)")
            self.redis = redis_server.start(
                self.supervisor,
                self.redis_binary,
                self.dir,
                self.broker_port,
                secrets.token_urlsafe(32),
                python,
                plain_port=self.plain_broker_port,
            )
            self.board.set("redis", "ready", f"redis-server {self.redis.version}, TLS, requirepass")
        return BrokerEndpoint(
            redis_server.HOST,
            self.redis.port,
            self.redis.password,
            str(self.redis.ca_file),
            plain_port=self.plain_broker_port,
        )

    def _containers(self, site: Site, places: dict[str, ContainerPlace], python: Path) -> None:
        assert self.moto is not None
        with self.timings.phase("containers (files, secrets, environment)"):
            files = image_files(DOCKERFILE)
            prefixes = [IMAGE_AIRFLOW_HOME, *{m.container_path for c in self.plan.containers for m in c.mounts}]
            changes = {}
            for agent in self._layout().agents.values():
                host, port = agent.address
                self.board.set(agent.name, "ready", f"StatsD stand-in on {host}:{port}/udp")
            for container in self.plan.airflow_containers:
                place = places[container.key]
                prepare_root(Path(place.root), files)
                resolved = {ref.variable: self.moto.resolve(self.plan, ref.value_from) for ref in container.secrets}
                master = self.plan.master_login(container)
                environment = local_environment(
                    container, resolved, place, site, prefixes, master_url=self._master_url() if master else None
                )
                cwd = Path(environment.environment["AIRFLOW_HOME"])
                launch = Launch(container, environment, cwd)
                self.launches[container.key] = launch
                changes[launch.name] = (environment.changes, environment.command != container.command)
                self.board.set(launch.name, "waiting")
            self.console.print(changes_table(changes))
            self.teams = teams(self.plan.containers)
            volume_dirs = {k: Path(v) for p in places.values() for k, v in p.volumes.items()}
            for directory in volume_dirs.values():
                directory.mkdir(parents=True, exist_ok=True)
            self.places = places
            self.fleet = Fleet(self.plan, self.launches, self.supervisor, python, on_start=self._started)
        self._deploy(volume_dirs)

    def _deploy(self, volume_dirs: dict[str, Path]) -> None:
        assert self.moto is not None
        with self.timings.phase("DAG deployment"):
            staged = stage(self.teams, self.dir / "dag-sources")
            function = dag_sync(self.plan.functions, self.teams, volume_dirs)
            if function is None:
                how = copy(self.teams, staged, volume_dirs)
            else:
                if not function.from_plan:
                    self.moto.create_bucket(function.bucket)
                home = self.dir / "dag-sync"
                home.mkdir()
                how = deploy_through(function, staged, self.moto.client("s3"), self.moto.url, self.plan.region, home)
            for team, text in how.items():
                self.console.print(f"[dim]DAGs of {team}: {text}[/dim]")

    def _master_url(self) -> str:
        assert self.database is not None
        return self.database.master_url()

    def _started(self, launch: Launch) -> None:
        self.board.set(launch.name, "starting", f"pid {launch.process.pid if launch.process else '?'}")

    # ----------------------------------------------------------------------------------------- starting

    def _start(self) -> None:
        assert self.fleet is not None
        migrations = self._migrations()
        with self.timings.phase("database migration"):
            deadline = time.monotonic() + READY_TIMEOUT
            while not all(m.exit_code == 0 for m in migrations):
                self._tick()
                for m in migrations:
                    if m.exit_code not in (None, 0):
                        raise ContainerError(m, f"{m.name} (the migration step) exited with {m.exit_code}")
                if time.monotonic() > deadline:
                    raise StartError("the migration did not finish in time", *(m.name for m in migrations))
                time.sleep(0.5)
        with self.timings.phase("services up"):
            deadline = time.monotonic() + READY_TIMEOUT
            while not all(launch.ready for launch in self.launches.values()):
                self._tick()
                if time.monotonic() > deadline:
                    late = [launch.name for launch in self.launches.values() if not launch.ready]
                    raise StartError(f"not ready within {READY_TIMEOUT:.0f} s: {', '.join(late)}", *late)
                time.sleep(1)

    def _migrations(self) -> list[Launch]:
        """The containers that take the master login: the stack's migration step."""
        return [launch for launch in self.launches.values() if is_migration(self.plan, launch.container)]

    def _tick(self) -> None:
        assert self.fleet is not None
        self.fleet.tick()
        self.supervisor.reap()
        health = self._health()
        for launch in self.launches.values():
            if launch.process is None or launch.ready:
                continue
            if launch.exit_code == 0 and not launch.container.essential:
                launch.ready = True
                self.board.set(launch.name, "done", "exited 0")
                continue
            ready = is_ready(launch, health)
            if ready:
                launch.ready = True
                self.board.set(launch.name, "ready")

    def _health(self) -> dict | None:
        try:
            return AirflowApi(self.api_url, timeout=5).health()
        except (ApiError, OSError, ValueError):
            return None

    # ----------------------------------------------------------------------------------------- checking

    def _check(self) -> int:
        assert self.moto is not None
        assert self.database is not None
        assert self.secrets is not None
        admin = self._admin()
        self.checks += isolation.database_checks(self.database, self._migrations()[0], self._workers())
        checker = Checker(
            plan=self.plan,
            api=AirflowApi(self.api_url),
            moto=self.moto,
            teams=self._team_places(),
            admin=admin,
            api_server=self._name_of("api-server"),
            scheduler=self._name_of("scheduler"),
            triggerer=self._name_of("triggerer") or None,
            triggerer_address=self._address_of("triggerer"),
            dag_processor=self._name_of("dag-processor") or None,
            tick=self._tick,
            broker=self.redis.client() if self.redis else None,
        )
        try:
            with self.timings.phase("runs and checks"):
                if not checker.login():
                    checker.add("runs, placement, logs, deferral", False, "not run: they need the admin login")
                else:
                    dags = checker.dags_parsed()
                    if dags:
                        runs = checker.trigger(dags)
                        checker.follow(runs)
                        checker.check_runs(runs)
                        checker.checks += self._worker_checks(runs)
                        checker.broker_carried(self._workloads())
                checker.queues_empty()
        except (ApiError, OSError) as error:
            checker.add("REST API answers", False, str(error), checker.api_server)
        except aws.client_errors() as error:
            checker.add("AWS stand-in answers", False, str(error), "moto")
        except redis_server.RedisError as error:
            checker.add("Redis stand-in answers", False, str(error), "redis")
        finally:
            self.checks += checker.checks
            self.checks += self._metric_checks()
        self._report()
        ok = all(c.ok for c in self.checks)
        if self.keep:
            self._keep(admin)
        return EXIT_OK if ok else EXIT_FAILED

    def _layout(self) -> Layout:
        assert self.layout is not None, "laid out before the containers are prepared"
        return self.layout

    def _metric_checks(self) -> list[Check]:
        """What the CloudWatch agents' stand-ins received, checked against the alarms and the agents' tasks."""
        agents = self._layout().agents
        received = {key: agent.metrics() for key, agent in agents.items()}
        return metric_checks(self.plan, received, {key: a.listener.namespace for key, a in agents.items()})

    def _admin(self) -> tuple[str, str]:
        """The admin user the migration step keeps, with its password from the stand-in secret."""
        return admin_login([launch.environment.environment for launch in self._migrations()])

    def _worker_checks(self, runs: list[RunRecord]) -> list[Check]:
        """What each worker holds while its tasks run, and that its Celery results reach the result backend."""
        assert self.database is not None
        assert self.secrets is not None
        master = (self.database.master, self.database.master_password)
        checks = isolation.secret_checks(self.plan, self._workers(), self.secrets, master, runs)
        # Celery stores a workload's result just after its task instance shows success: wait for the last ones.
        deadline = time.monotonic() + RESULTS_TIMEOUT
        while True:
            outputs = {w.name: _read(w.process.log) for w in self._workers() if w.process}
            results = isolation.results_check(self.database, self._workers(), outputs)
            if results.ok or time.monotonic() > deadline:
                return [*checks, results]
            self._tick()
            time.sleep(1)

    def _workloads(self) -> int:
        """Workloads the workers ran, by their own output."""
        return sum(_read(w.process.log).count(isolation.WORKLOAD_STARTED) for w in self._workers() if w.process)

    def _workers(self) -> list[Launch]:
        return [self.launches[team.worker] for team in self.teams]

    def _name_of(self, command: str) -> str:
        return next(
            (launch.name for launch in self.launches.values() if airflow_command(launch.container)[:1] == (command,)),
            "",
        )

    def _address_of(self, command: str) -> str | None:
        for launch in self.launches.values():
            if airflow_command(launch.container)[:1] == (command,):
                return self.places[launch.container.key].task_address
        return None

    def _team_places(self) -> list[TeamPlace]:
        return [
            team_place(team, self.launches[team.worker], self.places[team.worker], self.supervisor.log_dir)
            for team in self.teams
        ]

    def _keep(self, admin: tuple[str, str]) -> None:
        self.console.print(
            f"\n[bold]Airflow UI:[/bold] {self.api_url}/  [bold]user:[/bold] {admin[0]}  "
            f"[bold]password:[/bold] {admin[1]}\nEverything keeps running until Ctrl-C."
        )
        while True:
            self._tick()
            time.sleep(2)

    # ------------------------------------------------------------------------------------------ reporting

    def _report(self) -> None:
        failing = [c for check in self.checks if not check.ok for c in check.components]
        tails = {}
        known = {**(self.secrets.values if self.secrets else {}), **(self.secrets.passwords if self.secrets else {})}
        if self.database is not None:
            known |= {"superuser": self.database.password, "master": self.database.master_password}
        if self.redis is not None:
            known["redis"] = self.redis.password
        for name in dict.fromkeys(failing):
            with_log = self.supervisor.log_dir / f"{name}.log"
            tails[name] = mask(known, tail(with_log, 40)) or "(no output)"
        self.sampler.stop()
        report(
            self.console,
            self.plan.stack,
            self.timings,
            self.checks,
            self.sampler.peak,
            len(self.supervisor.processes),
            tails,
        )

    def _clean_up(self) -> None:
        started = time.monotonic()
        self.sampler.stop()
        if self.logs_to is not None and self.run_dir is not None and self.supervisor.log_dir.is_dir():
            shutil.copytree(self.supervisor.log_dir, self.logs_to, dirs_exist_ok=True)
        airflow = self.fleet.processes() if self.fleet else []
        if any(p.returncode is None for p in airflow):
            self.console.print("[dim]stopping Airflow (Ctrl-C again to kill instead of waiting)[/dim]")
        self.supervisor.stop(airflow)
        if self.layout is not None:
            self.layout.close()
        self.supervisor.stop_all()
        leftovers = kill_descendants(os.getpid(), exclude=set())
        become_subreaper(False)
        if self.run_dir is not None:
            shutil.rmtree(self.run_dir, ignore_errors=True)
        gone = self.run_dir is None or not self.run_dir.exists()
        self.console.print(
            f"[dim]cleaned up in {time.monotonic() - started:.1f} s: {len(self.supervisor.processes)} processes stopped"
            f"{f', {len(leftovers)} stray killed' if leftovers else ''}; "
            f"run directory {'removed' if gone else 'NOT removed: ' + str(self.run_dir)}[/dim]"
        )


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""
