"""Start, watch and stop the smoke's processes so that none outlives it, even on Ctrl-C or SIGTERM.

Each process starts in its own session and process group, with its output in a log file. The smoke process
makes itself the child subreaper, so a grandchild that detaches (Celery, a BashOperator's shell) is re-parented
to it and still found among its descendants: ``stop_all`` ends every descendant, whatever its session.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper(on: bool = True) -> bool:
    """Orphaned descendants are re-parented to this process instead of init (Linux only)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, state) of a process, or None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), fields[0]


def descendants(root: int) -> list[int]:
    """Every living process below ``root`` (by parent pid, read from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                children.setdefault(stat[0], []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def proportional_memory(pids: Sequence[int]) -> int:
    """Bytes of memory the processes use, shared pages split between their users (PSS; RSS where unreadable)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
                    break
    return total


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    started: float
    stop_timeout: float
    signal_group: bool
    """SIGTERM the whole group (dumb-init's default), or only the main process (``DUMB_INIT_SETSID=0``)."""
    stop_signal: int = signal.SIGTERM

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()


@dataclass
class Supervisor:
    log_dir: Path
    processes: list[Process] = field(default_factory=list)
    hurry: bool = False
    """Set on a second interrupt: stop without waiting for graceful shutdowns."""

    def start(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        cwd: Path,
        *,
        stop_timeout: float = 30,
        signal_group: bool = True,
        stop_signal: int = signal.SIGTERM,
        user: str | None = None,
    ) -> Process:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(
                list(argv),
                env=dict(env),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=user,
                group=_group_of(user) if user else None,
                extra_groups=[] if user else None,
            )
        process = Process(name, popen, log, time.monotonic(), stop_timeout, signal_group, stop_signal)
        self.processes.append(process)
        return process

    def get(self, name: str) -> Process:
        return next(p for p in self.processes if p.name == name)

    def exited(self) -> list[Process]:
        return [p for p in self.processes if p.returncode is not None]

    def stop(self, processes: Sequence[Process]) -> None:
        """Signal them all, wait for each up to its stop timeout, then kill what is left of their groups."""
        now = time.monotonic()
        deadlines = {}
        for process in processes:
            if process.returncode is None:
                _signal(process, process.stop_signal, group=process.signal_group)
            deadlines[process.pid] = now + process.stop_timeout
        waiting = list(processes)
        while waiting and not self.hurry:
            waiting = [p for p in waiting if p.returncode is None and time.monotonic() < deadlines[p.pid]]
            time.sleep(0.1)
        for process in processes:
            # Whatever is left of its group (a task's children, a stuck process) is killed.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.popen.wait(timeout=5)

    def stop_all(self) -> list[int]:
        """Stop every process (last started first), then kill any descendant left; return the pids killed."""
        self.stop(list(reversed(self.processes)))
        return kill_descendants(os.getpid(), exclude=set())

    def reap(self) -> None:
        """Collect re-parented orphans that ended (the subreaper's duty); our own children are Popen's."""
        own = {p.pid for p in self.processes}
        for pid in descendants(os.getpid()):
            stat = _stat(pid)
            if stat and stat[0] == os.getpid() and stat[1] == "Z" and pid not in own:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)


def kill_descendants(root: int, exclude: set[int]) -> list[int]:
    """SIGKILL every descendant of ``root`` until none is left; return the pids that needed it."""
    killed: list[int] = []
    for _ in range(50):
        alive = [p for p in descendants(root) if p not in exclude and (_stat(p) or (0, "Z"))[1] != "Z"]
        if not alive:
            break
        for pid in alive:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        time.sleep(0.1)
        for pid in alive:
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, os.WNOHANG)
    return sorted(set(killed))


def _signal(process: Process, signum: int, group: bool) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group:
            os.killpg(process.pid, signum)
        else:
            os.kill(process.pid, signum)


def _group_of(user: str) -> int:
    import pwd

    return pwd.getpwnam(user).pw_gid


def tail(path: Path, lines: int = 40) -> str:
    try:
        content = path.read_bytes()[-64_000:].decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(content.splitlines()[-lines:])


@contextlib.contextmanager
def interrupts_as_exceptions() -> Iterator[None]:
    """SIGTERM and SIGHUP end the smoke like Ctrl-C does: as KeyboardInterrupt, so cleanup runs."""

    def handler(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


@contextlib.contextmanager
def shielded(supervisor: Supervisor) -> Iterator[None]:
    """While cleaning up, an interrupt does not abort the cleanup: it makes it hurry (kill, don't wait)."""

    def handler(_signum: int, _frame: object) -> None:
        supervisor.hurry = True

    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {s: signal.signal(s, handler) for s in signals}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
