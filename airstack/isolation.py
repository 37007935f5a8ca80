"""Run programs in forked processes: one per stack, in parallel, each with its own Pulumi runtime state.

The Pulumi SDK keeps its settings, root resource and RPC bookkeeping in process-wide state, and a program can
hang in ways no in-process watchdog can interrupt. A child process per program isolates the first and lets
the parent end the second for certain. Children are forked after the heavy imports, so they start at once;
where ``fork`` does not exist, programs run one after another in this process.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from airstack.lookups import Lookups
from airstack.offline import DEFAULT_TIMEOUT_SECONDS, ProgramError, ProgramRun, run_program
from airstack.stackfile import PROJECT_ROOT, StackFile

GRACE_SECONDS = 10.0
"""How long a child gets, after its own watchdog should have stopped its program, before it is killed."""
NO_FORK_ENV = "AIRSTACK_NO_FORK"


@dataclass(frozen=True)
class Job:
    stack_file: StackFile
    program_dir: Path = PROJECT_ROOT
    preview: bool = False
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    lookups: Lookups | None = None


Outcome = ProgramRun | ProgramError


def _run(job: Job) -> Outcome:
    try:
        return run_program(job.stack_file, job.program_dir, preview=job.preview, timeout=job.timeout,
                           lookups=job.lookups)  # fmt: skip
    except ProgramError as error:
        return error


def can_fork() -> bool:
    return hasattr(os, "fork") and sys.platform == "linux" and not os.environ.get(NO_FORK_ENV)


def run_programs(
    jobs: Sequence[Job], parallel: int | None = None, preload: Callable[[], None] | None = None
) -> list[Outcome]:
    """Each job's run or error, in the order of ``jobs``."""
    if preload is not None:
        preload()
    if not can_fork() or not jobs:
        return [_run(job) for job in jobs]
    width = max(1, parallel or os.cpu_count() or 1)
    outcomes: dict[int, Outcome] = {}
    pending = list(enumerate(jobs))
    running: dict[int, _Child] = {}
    while pending or running:
        while pending and len(running) < width:
            index, job = pending.pop(0)
            running[index] = _Child.start(job)
        for index, child in list(running.items()):
            outcome = child.poll()
            if outcome is not None:
                outcomes[index] = outcome
                del running[index]
        if running:
            ready = [c.reader for c in running.values()]
            select.select(ready, [], [], 0.05)
    return [outcomes[i] for i in range(len(jobs))]


class _Child:
    def __init__(self, pid: int, reader: int, job: Job) -> None:
        self.pid = pid
        self.reader = reader
        self.job = job
        self.deadline = time.monotonic() + job.timeout + GRACE_SECONDS
        self.chunks: list[bytes] = []

    @classmethod
    def start(cls, job: Job) -> _Child:
        reader, writer = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: run, report, and leave without running the parent's cleanup
            os.close(reader)
            code = 0
            try:
                payload = pickle.dumps(_run(job))
            except BaseException as error:  # noqa: BLE001 (whatever happens, the parent gets a report)
                payload = pickle.dumps(ProgramError(f"{type(error).__name__}: {error}"))
                code = 1
            with contextlib.suppress(OSError):
                view = memoryview(payload)
                while view:
                    view = view[os.write(writer, view) :]
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)
        os.close(writer)
        return cls(pid, reader, job)

    def poll(self) -> Outcome | None:
        """The outcome once the child has reported and ended; None while it runs."""
        while select.select([self.reader], [], [], 0)[0]:
            chunk = os.read(self.reader, 1 << 20)
            if not chunk:
                return self._finish()
            self.chunks.append(chunk)
        if time.monotonic() > self.deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self._finish()
            return ProgramError(
                f"the program did not finish within {self.job.timeout:g} s and did not stop when asked; it was killed"
            )
        return None

    def _finish(self) -> Outcome:
        os.close(self.reader)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)
        try:
            outcome = pickle.loads(b"".join(self.chunks))
        except Exception as error:  # noqa: BLE001
            return ProgramError(f"the program's process ended without a report ({type(error).__name__})")
        return outcome if isinstance(outcome, ProgramRun | ProgramError) else ProgramError("unexpected report")
