"""What the smoke proves once everything runs: runs succeed on the right workers, logs land, queues drain.

Every check is made against what a user would see: the REST API (with the admin login), the S3 stand-in,
the SQS stand-in (or the Redis broker's) and the containers' own output.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airstack.smoke.api import AirflowApi, ApiError
from airstack.smoke.aws import Moto
from airstack.smoke.brokers import BINDING_PREFIX, PRIORITY_STEPS, UNACKED, queue_keys
from airstack.smoke.containers import Launch
from airstack.smoke.deploy import Team, dag_id
from airstack.smoke.differences import ContainerPlace
from airstack.smoke.plan import SmokePlan
from airstack.smoke.redis_server import RedisClient
from airstack.smoke.report import Check

FINISHED = {"success", "failed", "upstream_failed", "skipped", "removed"}
RUN_TIMEOUT = 240.0
LOG_UPLOAD_TIMEOUT = 30.0
"""The S3 upload of a task's log lands a few seconds after the task shows success."""
QUEUE_DRAIN_TIMEOUT = 60.0


@dataclass
class TeamPlace:
    """Where a team's work shows locally."""

    team: Team
    worker: str
    """Process name of its worker (its log is the worker's output)."""
    worker_log: Path
    address: str
    """The worker task's address: what its task instances' ``hostname`` must be."""
    dag_directories: tuple[Path, ...]
    log_bucket: str
    log_prefix: str
    """The S3 key prefix of this team's task logs (base folder + queue)."""


def team_place(team: Team, worker: Launch, place: ContainerPlace, log_dir: Path) -> TeamPlace:
    """Where a team's work shows: its worker's output and address, its DAG directories, its S3 log prefix."""
    base = worker.environment.environment.get("AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER", "")
    bucket, _, prefix = base.removeprefix("s3://").partition("/")
    return TeamPlace(
        team=team,
        worker=worker.name,
        worker_log=log_dir / f"{worker.name}.log",
        address=place.task_address,
        dag_directories=tuple(Path(place.volumes[v]) for v in team.volumes),
        log_bucket=bucket,
        # The rendered log filename template files each task's log under its queue.
        log_prefix=f"{prefix.strip('/')}/{team.queue}/" if prefix else f"{team.queue}/",
    )


@dataclass
class RunRecord:
    team: TeamPlace
    dag_id: str
    run_id: str
    state: str = "queued"
    seen_states: dict[str, set[str]] = field(default_factory=dict)
    """Task id -> every state it was seen in."""
    live_log: str | None = None
    """The last the API showed of the live-log task's log while it was running."""
    live_ok: bool = False
    """Whether that showed the task's own output (served by the worker's log server)."""
    triggerer_hosts: set[str] = field(default_factory=set)
    """Hosts of the triggerer jobs seen running this run's triggers."""
    task_instances: list[dict[str, Any]] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The DAG, and the kind of run unless it is the smoke's manual one (``scheduled``, ...)."""
        kind = self.run_id.split("__", 1)[0]
        return self.dag_id if kind == "manual" else f"{self.dag_id} ({kind} run)"


def wait(condition: Callable[[], Any], timeout: float, interval: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


@dataclass
class Checker:
    plan: SmokePlan
    api: AirflowApi
    moto: Moto
    teams: Sequence[TeamPlace]
    admin: tuple[str, str]
    api_server: str
    scheduler: str
    triggerer: str | None
    triggerer_address: str | None
    dag_processor: str | None
    tick: Callable[[], None]
    """Called while waiting: lets the caller notice a container that stopped."""
    checks: list[Check] = field(default_factory=list)
    broker: RedisClient | None = None
    """The local redis-server standing in for a Redis broker, if the stack has one."""

    def add(self, name: str, ok: bool, detail: str, *components: str) -> bool:
        self.checks.append(Check(name, ok, detail, tuple(c for c in components if c)))
        return ok

    def _wait(self, condition: Callable[[], Any], timeout: float, interval: float = 1.0) -> Any:
        def ticking() -> Any:
            self.tick()
            return condition()

        return wait(ticking, timeout, interval)

    # ---------------------------------------------------------------------------------------------- login

    def login(self) -> bool:
        """The admin logs in as a browser does (the UI's form) and as an API client does (a token)."""
        user, password = self.admin
        try:
            cookie = self.api.ui_login(user, password)
            self.add("admin login (UI)", True, f"{user} with the generated admin-password secret: {cookie} cookie")
        except (ApiError, OSError) as error:
            self.add("admin login (UI)", False, f"{user}: {error}", self.api_server)
        try:
            self.api.login(user, password)
        except (ApiError, OSError, KeyError) as error:
            return self.add("admin login (API token)", False, f"POST /auth/token as {user}: {error}", self.api_server)
        return self.add("admin login (API token)", True, f"{user}: a token for the REST API")

    # ----------------------------------------------------------------------------------------------- DAGs

    def dags_parsed(self, timeout: float = 180) -> list[tuple[TeamPlace, str]]:
        """The DAGs in each team's directories, once the smoke's own are parsed and the set settles."""
        expected = {dag_id(t.team) for t in self.teams}
        state: dict[str, Any] = {"last": None, "since": time.monotonic()}

        def settled() -> list[dict[str, Any]] | None:
            try:
                dags = self.api.dags()
                errors = self.api.import_errors()
            except (ApiError, OSError):
                return None
            snapshot = (sorted(d["dag_id"] for d in dags), sorted(e.get("filename", "") for e in errors))
            if snapshot != state["last"]:
                state.update(last=snapshot, since=time.monotonic())
            state["errors"] = errors
            ready = expected <= set(snapshot[0]) and time.monotonic() - state["since"] >= 5
            return dags if ready else None

        dags = self._wait(settled, timeout, interval=2)
        errors = state.get("errors") or []
        if errors:
            detail = "; ".join(f"{e.get('filename')}: {str(e.get('stack_trace', ''))[-300:]}" for e in errors)
            self.add("DAGs import", False, detail, self.dag_processor or "")
        if not dags:
            missing = expected - set((state["last"] or ([], []))[0])
            self.add(
                "DAGs parsed", False, f"not parsed within {timeout:.0f} s: {sorted(missing)}", self.dag_processor or ""
            )
            return []
        found = []
        for dag in dags:
            for place in self.teams:
                if any(str(dag.get("fileloc", "")).startswith(str(d)) for d in place.dag_directories):
                    found.append((place, dag["dag_id"]))
        self.add("DAGs parsed", True, ", ".join(sorted(d for _, d in found)))
        return found

    # ----------------------------------------------------------------------------------------------- runs

    def trigger(self, dags: Sequence[tuple[TeamPlace, str]]) -> list[RunRecord]:
        """A manual run of every DAG; unpausing a scheduled DAG may start a scheduled run too (followed alike)."""
        runs = []
        for place, dag in dags:
            self.api.unpause(dag)
            runs.append(RunRecord(place, dag, self.api.trigger(dag)))
        return runs

    def follow(self, runs: list[RunRecord], timeout: float = RUN_TIMEOUT) -> None:
        """Poll every run of the DAGs until all end, noting task states and reading the live log meanwhile."""
        places = {r.dag_id: r.team for r in runs}

        def poll() -> bool:
            known = {(r.dag_id, r.run_id) for r in runs}
            for dag, place in places.items():
                for run in self.api.runs(dag):
                    if (dag, run["dag_run_id"]) not in known:
                        runs.append(RunRecord(place, dag, run["dag_run_id"]))
            for record in runs:
                if record.state in FINISHED:
                    continue
                record.state = self.api.run(record.dag_id, record.run_id)["state"]
                record.task_instances = self.api.task_instances(record.dag_id, record.run_id)
                for ti in record.task_instances:
                    record.seen_states.setdefault(ti["task_id"], set()).add(str(ti.get("state")))
                    if ti["task_id"] == "live_log" and ti.get("state") == "running" and not record.live_ok:
                        self._read_live(record, ti)
                    if ti.get("state") == "deferred" and (ti.get("triggerer_job") or {}).get("hostname"):
                        record.triggerer_hosts.add(ti["triggerer_job"]["hostname"])
            return all(r.state in FINISHED for r in runs)

        self._wait(poll, timeout)
        for record in runs:
            record.task_instances = self.api.task_instances(record.dag_id, record.run_id)

    def _read_live(self, record: RunRecord, ti: dict[str, Any]) -> None:
        try:
            text = self.api.log(record.dag_id, record.run_id, "live_log", int(ti.get("try_number") or 1))
        except (ApiError, OSError) as error:
            text = f"error: {error}"
        # The task prints a line a second: its own output in the log means the worker served it.
        record.live_ok = "still running" in text
        record.live_log = text

    # ------------------------------------------------------------------------------------------- checking

    def check_runs(self, runs: Sequence[RunRecord]) -> None:
        for record in runs:
            place = record.team
            # First wait for the logs to reach S3: only then does the API show a failed task's whole log.
            not_uploaded = self._missing_uploads(record)
            failed = [t for t in record.task_instances if t.get("state") != "success"]
            why = "; ".join(f"{t['task_id']} {t.get('state')}: {self._error_of(record, t)}" for t in failed)
            self.add(
                f"run {record.label}",
                record.state == "success" and not failed,
                f"{record.state}; {len(record.task_instances)} tasks" + (f"; {why}" if why else ""),
                self.scheduler,
                place.worker,
            )
            self.check_placement(record)
            self.check_logs(record, not_uploaded)
            if record.dag_id == dag_id(place.team):
                self.check_smoke_tasks(record)

    def _error_of(self, record: RunRecord, ti: dict[str, Any]) -> str:
        """The last error its log shows (through the API, as a user would look it up)."""
        if ti.get("state") in (None, "none", "upstream_failed", "skipped", "removed"):
            return "did not run"
        try:
            text = self.api.log(record.dag_id, record.run_id, ti["task_id"], int(ti.get("try_number") or 1))
        except (ApiError, OSError) as error:
            return f"log not readable ({error})"
        return last_error(text) or "no error in its log"

    def check_placement(self, record: RunRecord) -> None:
        place = record.team
        outputs = {p.worker: _read(p.worker_log) for p in self.teams}
        wrong = []
        for ti in record.task_instances:
            ran_on = [w for w, text in outputs.items() if _executed(text, record.dag_id, record.run_id, ti["task_id"])]
            if ti.get("queue") != place.team.queue or ti.get("hostname") != place.address or ran_on != [place.worker]:
                where = f"queue {ti.get('queue')}, host {ti.get('hostname')}"
                wrong.append(f"{ti['task_id']}: {where}, executed by {ran_on or 'none'}")
        self.add(
            f"{record.label} on {place.team.queue}'s worker",
            not wrong,
            "; ".join(wrong) or f"{len(record.task_instances)} tasks: queue {place.team.queue}, host {place.address}",
            place.worker,
        )

    def _missing_uploads(self, record: RunRecord) -> list[str]:
        """Tasks whose log is not in the team's S3 prefix (waited for: uploads land after the task ends)."""
        place = record.team
        missing = []
        for ti in record.task_instances:
            if ti.get("state") in (None, "none", "upstream_failed", "skipped", "removed"):
                continue
            key_part = f"dag_id={record.dag_id}/run_id={record.run_id}/task_id={ti['task_id']}/"

            def uploaded(key_part: str = key_part) -> list[str]:
                return [k for k in self.moto.keys(place.log_bucket, place.log_prefix) if key_part in k]

            if not self._wait(uploaded, LOG_UPLOAD_TIMEOUT):
                missing.append(ti["task_id"])
        return missing

    def check_logs(self, record: RunRecord, missing_s3: list[str]) -> None:
        place = record.team
        missing_api = []
        for ti in record.task_instances:
            try:
                text = self.api.log(record.dag_id, record.run_id, ti["task_id"], int(ti.get("try_number") or 1))
            except (ApiError, OSError) as error:
                text = str(error)
            if "airstack-smoke" not in text and record.dag_id == dag_id(place.team):
                missing_api.append(f"{ti['task_id']} ({text[-200:]!r})")
        self.add(
            f"{record.label} logs in s3://{place.log_bucket}/{place.log_prefix}",
            not missing_s3,
            f"missing: {missing_s3}" if missing_s3 else f"{len(record.task_instances)} task logs",
            place.worker,
        )
        if record.dag_id == dag_id(place.team):
            self.add(
                f"{record.label} logs through the API",
                not missing_api,
                f"not readable: {missing_api}" if missing_api else "every task's output",
                self.api_server,
            )

    def check_smoke_tasks(self, record: RunRecord) -> None:
        place = record.team
        states = {t["task_id"]: t for t in record.task_instances}
        cross = states.get("cross_queue", {})
        others = [t.team.queue for t in self.teams if t.team.queue != place.team.queue]
        if others:
            self.add(
                f"{record.dag_id}: a task asking for {others[0]} stays on {place.team.queue}",
                cross.get("queue") == place.team.queue and cross.get("hostname") == place.address,
                f"queue {cross.get('queue')}, host {cross.get('hostname')}",
                place.worker,
            )
        shown = (record.live_log or "")[-300:]
        self.add(
            f"{record.dag_id}: live log readable while the task runs",
            record.live_ok,
            "read through the API from the worker's log server"
            if record.live_ok
            else (f"the API showed no output of the running task: {shown}" if shown else "never seen running"),
            self.api_server,
            place.worker,
        )
        deferred = states.get("deferred", {})
        seen = "deferred" in record.seen_states.get("deferred", set())
        # The worker uploads the log again once the task resumed, a few seconds after it shows success.
        text = self._wait(lambda: self._resumed_log(record, deferred), LOG_UPLOAD_TIMEOUT, interval=2) or self._log(
            record, deferred
        )
        deferring, fired = "deferring to the triggerer" in text, "Trigger fired event" in text
        resumed = "resumed after the triggerer" in text
        hosts_ok = not record.triggerer_hosts or record.triggerer_hosts == {self.triggerer_address}
        self.add(
            f"{record.dag_id}: deferred task completed through the triggerer",
            deferred.get("state") == "success" and (seen or deferring) and fired and resumed and hosts_ok,
            f"final state {deferred.get('state')}, deferred (seen / in its log): {seen} / {deferring}, trigger "
            f"fired (its log): {fired}, resumed on the worker: {resumed}, triggerer hosts "
            f"{sorted(record.triggerer_hosts)}",
            self.triggerer or "",
            place.worker,
        )

    def _log(self, record: RunRecord, ti: Mapping[str, Any]) -> str:
        try:
            return self.api.log(record.dag_id, record.run_id, str(ti.get("task_id", "deferred")),
                                int(ti.get("try_number") or 1))  # fmt: skip
        except (ApiError, OSError) as error:
            return str(error)

    def _resumed_log(self, record: RunRecord, ti: Mapping[str, Any]) -> str | None:
        text = self._log(record, ti)
        return text if "resumed after the triggerer" in text else None

    def broker_depths(self) -> dict[str, int]:
        """Messages left on a Redis broker: waiting in each team's queue (every priority list) and unacknowledged."""
        if self.broker is None:
            return {}
        queues = sorted({p.team.queue for p in self.teams})
        calls = [("LLEN", key) for queue in queues for key in queue_keys(queue)] + [("HLEN", UNACKED)]
        replies = [r if isinstance(r, int) else 0 for r in self.broker.commands(calls)]
        per_list = iter(replies[:-1])
        depths = {f"redis {queue}": sum(next(per_list) for _ in PRIORITY_STEPS) for queue in queues}
        depths["redis unacked"] = replies[-1]
        return depths

    def broker_carried(self, workloads: int) -> None:
        """On a Redis broker: each team's queue was declared there, and the tasks were pushed onto it."""
        if self.broker is None:
            return
        queues = sorted({p.team.queue for p in self.teams})
        replies = self.broker.commands(
            [*(("EXISTS", f"{BINDING_PREFIX}{q}") for q in queues), ("INFO", "commandstats")]
        )
        declared = [q for q, found in zip(queues, replies[:-1], strict=True) if found == 1]
        match = re.search(r"cmdstat_lpush:calls=(\d+)", str(replies[-1]))
        pushed = int(match.group(1)) if match else 0
        self.add(
            "tasks went through the Redis broker",
            declared == queues and pushed >= workloads > 0,
            f"queues declared on it: {', '.join(declared) or 'none'}; {pushed} messages pushed for {workloads} "
            "workloads",
            self.scheduler,
            *(p.worker for p in self.teams),
        )

    def queues_empty(self) -> None:
        depths: Mapping[str, int] = {}

        def empty() -> bool:
            nonlocal depths
            depths = {**self.moto.queue_depths(self.plan), **self.broker_depths()}
            return not any(depths.values())

        self._wait(empty, QUEUE_DRAIN_TIMEOUT, interval=2)
        busy = {q: n for q, n in depths.items() if n}
        self.add(
            "queues and dead-letter queues empty",
            not busy,
            f"messages left: {busy}" if busy else f"{len(depths)} queues: {', '.join(sorted(depths))}",
            self.scheduler,
            *(p.worker for p in self.teams),
        )


def last_error(log: str, count: int = 2) -> str:
    """The last errors a task log reports (Airflow 3's JSON lines, or text), oldest first."""
    found: list[str] = []
    for line in reversed(log.splitlines()):
        if len(found) == count:
            break
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if isinstance(entry, dict):
            if str(entry.get("level", "")).lower() not in ("error", "critical"):
                continue
            message = str(entry.get("event", ""))
            cause = _exception_of(entry)
            if cause:
                message += f" ({cause})"
            found.append(message[:300])
        elif re.search(r"(Error|Exception)\b|\bERROR\b", line):
            found.append(line.strip()[:300])
    return " -> ".join(reversed(found))


def _exception_of(entry: dict[str, Any]) -> str:
    """The exception (or error detail) a structured log entry carries, in one line."""
    for key in ("error_detail", "exception", "exc_info", "detail"):
        value = entry.get(key)
        if isinstance(value, list) and value and isinstance(value[-1], dict) and "exc_type" in value[-1]:
            return f"{value[-1].get('exc_type')}: {value[-1].get('exc_value')}"
        if isinstance(value, str) and value.strip():
            return value.strip().splitlines()[-1][:200]
        if isinstance(value, dict) and value:
            return json.dumps(value)[:200]
    return ""


def _executed(output: str, dag: str, run_id: str, task_id: str) -> bool:
    """Whether a worker's output shows it executing this task instance (Celery's "Executing workload" line)."""
    wanted = (f"dag_id='{dag}'", f"run_id='{run_id}'", f"task_id='{task_id}'")
    return any("Executing workload" in line and all(w in line for w in wanted) for line in output.splitlines())


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""
