"""ECS task scale-in protection for a Celery worker: on while any task runs, off as soon as the worker is idle.

A worker scales in when its team's queue is idle, but the task ECS picks to stop may be running an Airflow task,
and Fargate gives it at most 120 s. So the worker asks the ECS agent for scale-in protection whenever a task
starts (renewed at most once a minute), and gives it up when its last running task ends. Each protection expires
after ``AIRSTACK_TASK_PROTECTION_MINUTES`` (the team's longest task plus a margin, at least a minute more than the
longest task), so a worker that dies mid-task cannot stay protected forever.

Celery runs tasks in forked pool processes, so the running tasks are counted in a directory the worker creates
before forking: one marker per busy process (or thread), under a file lock that also orders the calls to the
agent. A marker whose process has died no longer counts.

Outside ECS (``ECS_AGENT_URI`` unset, e.g. locally) it does nothing and says so once. Agent errors are logged and
retried briefly; they never fail a task or the worker. Standard library only; ``install`` connects it to Celery.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

AGENT_ENV = "ECS_AGENT_URI"
MINUTES_ENV = "AIRSTACK_TASK_PROTECTION_MINUTES"
MAX_MINUTES = 2880
"""The longest protection ECS grants (48 h)."""
STATE_PATH = "/task-protection/v1/state"
RENEW_AFTER_SECONDS = 60.0

log = logging.getLogger("airstack.task_protection")


def expiry_minutes(environ: Mapping[str, str]) -> int:
    value = environ.get(MINUTES_ENV, "")
    if not value.isdigit() or not 1 <= int(value) <= MAX_MINUTES:
        raise RuntimeError(
            f"{MINUTES_ENV} must be the minutes a scale-in protection lasts (1..{MAX_MINUTES}): the team's "
            f"longest task plus a margin; got {value!r}"
        )
    return int(value)


class Agent:
    """The ECS agent's task protection endpoint. ``put`` never raises: it reports success."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 2.0,
        attempts: int = 3,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = base_url.rstrip("/") + STATE_PATH
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self.sleep = sleep

    def put(self, enabled: bool, minutes: int | None = None) -> bool:
        body: dict[str, Any] = {"ProtectionEnabled": enabled}
        if enabled and minutes is not None:
            body["ExpiresInMinutes"] = minutes
        for attempt in range(1, self.attempts + 1):
            retry, problem = self._once(body)
            if problem is None:
                return True
            if not retry or attempt == self.attempts:
                log.warning("scale-in protection %s failed: %s", "on" if enabled else "off", problem)
                return False
            self.sleep(self.backoff * attempt)
        return False

    def _once(self, body: dict[str, Any]) -> tuple[bool, str | None]:
        """One request: (worth retrying, problem or None)."""
        request = urllib.request.Request(
            self.url, data=json.dumps(body).encode(), method="PUT", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = _json(response.read())
        except urllib.error.HTTPError as error:
            # 4xx: the request or the task's role is wrong, and stays wrong; 5xx and throttling may pass.
            detail = _json(error.read()).get("error") or error.reason
            return error.code >= 500 or error.code == 429, f"HTTP {error.code}: {detail}"
        except (OSError, ValueError) as error:  # refused, timed out, reset, unreadable
            return True, f"{type(error).__name__}: {error}"
        if "protection" in answer:
            return False, None
        # The agent answers 200 with a "failure" when ECS refused, e.g. a task that is not part of a service.
        return False, f"refused: {answer.get('failure') or answer}"


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class Tracker:
    """The tasks running in one worker, across its pool processes, and the protection they need."""

    def __init__(
        self,
        directory: Path,
        agent: Agent,
        minutes: int,
        *,
        renew_after: float = RENEW_AFTER_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = directory
        self.agent = agent
        self.minutes = minutes
        self.renew_after = renew_after
        self.clock = clock
        (directory / "running").mkdir(parents=True, exist_ok=True)

    @staticmethod
    def slot() -> str:
        """Who runs the current task: a pool process, or a thread of a threaded pool."""
        return f"{os.getpid()}-{threading.get_ident()}"

    def started(self, slot: str | None = None) -> None:
        with self._locked():
            (self.directory / "running" / (slot or self.slot())).write_text(str(os.getpid()))
            since = self._protected_since()
            if since is not None and self.clock() - since < self.renew_after:
                return
            if self.agent.put(True, self.minutes):
                self._protected_file.write_text(repr(self.clock()))
                if since is None:
                    log.info("scale-in protection on for %d minutes: a task is running", self.minutes)

    def finished(self, slot: str | None = None) -> None:
        with self._locked():
            (self.directory / "running" / (slot or self.slot())).unlink(missing_ok=True)
            if self.running() == 0 and self.agent.put(False):
                self._protected_file.unlink(missing_ok=True)
                log.info("scale-in protection off: no task is running")

    def running(self) -> int:
        """Tasks running now; markers of processes that died with their task no longer count."""
        count = 0
        for marker in (self.directory / "running").iterdir():
            if _alive(int(marker.read_text() or 0)):
                count += 1
            else:
                marker.unlink(missing_ok=True)
        return count

    @property
    def _protected_file(self) -> Path:
        return self.directory / "protected-since"

    def _protected_since(self) -> float | None:
        try:
            return float(self._protected_file.read_text())
        except (FileNotFoundError, ValueError):
            return None

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with (self.directory / "lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def install(environ: Mapping[str, str] = os.environ) -> Tracker | None:
    """Connect a tracker to Celery's task signals, or nothing outside ECS; says which once the worker is ready.

    Called once, in the worker's main process before its pool forks (see airstack_worker_signals)."""
    agent_uri = environ.get(AGENT_ENV)
    tracker = None
    if agent_uri:
        minutes = expiry_minutes(environ)
        tracker = Tracker(Path(tempfile.mkdtemp(prefix="airstack-task-protection-")), Agent(agent_uri), minutes)
        status = f"scale-in protection: {tracker.minutes} minutes per protection, agent {agent_uri}"
    else:
        status = f"{AGENT_ENV} is not set (not on ECS): scale-in protection is off"
    from celery.signals import task_postrun, task_prerun, worker_ready

    # After Celery has set up logging; weak=False because nothing else holds these closures.
    worker_ready.connect(lambda **_: log.info(status), weak=False, dispatch_uid="airstack-task-protection-ready")
    if tracker is not None:
        protect = tracker

        def on_prerun(**_: Any) -> None:
            _never_raise(protect.started)

        def on_postrun(**_: Any) -> None:
            _never_raise(protect.finished)

        task_prerun.connect(on_prerun, weak=False, dispatch_uid="airstack-task-protection-prerun")
        task_postrun.connect(on_postrun, weak=False, dispatch_uid="airstack-task-protection-postrun")
    return tracker


def _never_raise(action: Callable[[], None]) -> None:
    try:
        action()
    except Exception:  # a broken protection must not fail the task it protects
        log.exception("scale-in protection bookkeeping failed")
