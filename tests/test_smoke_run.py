"""`airstack smoke dev` for real: PostgreSQL, moto and every rendered container of dev on this machine.

The migration step (image/airstack_db_init.py) makes the database roles on a server that starts as a new RDS
instance; the checks include the isolation of the workers (their database login, the secrets they hold).

Slow (minutes) and heavy (a few GiB), so it runs only with AIRSTACK_SMOKE=1 (set by .ci/run). It runs the smoke
as a user does, in a process of its own, and then looks for anything it left behind.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from airstack.stackfile import PROJECT_ROOT

pytestmark = pytest.mark.skipif(os.environ.get("AIRSTACK_SMOKE") != "1", reason="set AIRSTACK_SMOKE=1 to run the smoke")
RUN_DIR = re.compile(r"run directory: (\S+)")


def smoke(*args: str) -> subprocess.Popen[str]:
    # As from a terminal: a background job of a non-interactive shell (some CI runners) has SIGINT ignored, which
    # a child inherits, and Python then never turns Ctrl-C into KeyboardInterrupt. A handled signal is not.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "airstack.smoke", *args],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "COLUMNS": "200"},
        )
    finally:
        signal.signal(signal.SIGINT, previous)


def left_behind(run_dir: str) -> list[str]:
    """Processes still working in (or started from) the run directory."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            environ = (entry / "environ").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if run_dir in cwd or run_dir in cmdline or run_dir in environ:
            found.append(f"{entry.name}: {cmdline[:200]}")
    return found


def test_dev_runs_end_to_end_and_leaves_nothing_behind() -> None:
    process = smoke("dev")
    output, _ = process.communicate(timeout=900)
    match = RUN_DIR.search(output)
    assert match, output[-5000:]
    run_dir = match.group(1)
    assert process.returncode == 0, output[-8000:]
    for check in ("cannot read the metadata database", "admin login", "logs through the API", "stays on",
                  "live log readable", "through the triggerer", "runs its tasks with only its own secrets",
                  "Celery results reach the result backend", "queues and dead-letter queues empty"):  # fmt: skip
        assert check in output, f"check {check!r} did not run:\n{output[-5000:]}"
    assert "FAILED" not in output
    assert not Path(run_dir).exists()
    assert left_behind(run_dir) == []


def test_ctrl_c_while_airflow_starts_stops_everything_and_removes_the_run_directory() -> None:
    process = smoke("dev")
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 300
    for line in process.stdout:
        lines.append(line)
        if re.search(r"\.(worker|api-server): starting", line) or time.monotonic() > deadline:
            break
    run_dir = next((m.group(1) for m in map(RUN_DIR.search, lines) if m), None)
    assert run_dir, "".join(lines[-50:])
    time.sleep(3)  # the processes are up and writing
    assert left_behind(run_dir), "the smoke was expected to be running"
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=180)
    assert process.returncode == 130, "".join(lines) + rest
    assert "interrupted" in rest
    assert not Path(run_dir).exists()
    assert left_behind(run_dir) == []
