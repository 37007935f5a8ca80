"""The core image's scale-in protection hook against a fake ECS agent endpoint.

The first tests drive the tracker as Celery's task signals do, from threads and processes; the last ones run a
real Celery worker (prefork, two processes) from the test Airflow's interpreter, configured by the image's
airstack_celery_config, so the hook is connected exactly as in the image.
"""

from __future__ import annotations

import json
import logging
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fake_ecs_agent import FakeAgent, Mode
from tests.test_image import load

HERE = Path(__file__).parent
IMAGE = HERE.parent / "image"
AIRFLOW_PYTHON = os.environ.get("AIRSTACK_AIRFLOW_PYTHON")


tp = load("airstack_task_protection")


@pytest.fixture
def agent() -> Iterator[FakeAgent]:
    with FakeAgent() as fake:
        yield fake


def tracker(directory: Path, agent: FakeAgent, **kwargs: Any) -> Any:
    return tp.Tracker(directory, tp.Agent(agent.url, backoff=0.01), 151, **kwargs)


def test_protected_while_a_task_runs_and_released_after(tmp_path: Path, agent: FakeAgent) -> None:
    t = tracker(tmp_path, agent)
    t.started()
    assert (agent.protected, agent.minutes) == (True, 151)
    t.finished()
    assert agent.protected is False
    assert agent.requests == [{"ProtectionEnabled": True, "ExpiresInMinutes": 151}, {"ProtectionEnabled": False}]


def test_protection_holds_until_the_last_of_overlapping_tasks_ends(tmp_path: Path, agent: FakeAgent) -> None:
    t = tracker(tmp_path, agent)
    t.started("a")
    t.started("b")  # within the renewal minute: no second call
    t.finished("a")
    assert agent.protected is True
    assert agent.puts() == [True]
    t.finished("b")
    assert agent.puts() == [True, False]


def test_every_running_task_stays_protected_with_many_threads(tmp_path: Path, agent: FakeAgent) -> None:
    t = tracker(tmp_path, agent, renew_after=0.0)  # renew on every start: the most agent calls
    unprotected: list[str] = []

    def worker(n: int) -> None:
        rng = random.Random(n)
        for i in range(15):
            t.started()
            if not agent.protected:
                unprotected.append(f"thread {n} task {i}")
            time.sleep(rng.random() / 200)
            if not agent.protected:
                unprotected.append(f"thread {n} task {i} while running")
            t.finished()
            time.sleep(rng.random() / 200)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert unprotected == []
    assert agent.protected is False
    assert t.running() == 0
    assert agent.puts()[-1] is False


POOL_PROCESS = """
import importlib.util, sys, time
from pathlib import Path
spec = importlib.util.spec_from_file_location("tp", sys.argv[1])
tp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tp)
directory, url = Path(sys.argv[2]), sys.argv[3]
tracker = tp.Tracker(directory, tp.Agent(url), 151)
tracker.started()
(directory / "go").touch()
while not (directory / "done").exists():
    time.sleep(0.01)
tracker.finished()
"""


def test_tasks_in_other_pool_processes_are_counted_together(tmp_path: Path, agent: FakeAgent) -> None:
    t = tracker(tmp_path, agent)
    other = subprocess.Popen(
        [sys.executable, "-c", POOL_PROCESS, str(IMAGE / "airstack_task_protection.py"), str(tmp_path), agent.url]
    )
    while not (tmp_path / "go").exists():
        assert other.poll() is None
        time.sleep(0.01)
    t.started()  # this process's own task
    t.finished()
    assert agent.protected is True, "the other process still runs a task"
    (tmp_path / "done").touch()
    assert other.wait(timeout=30) == 0
    assert agent.protected is False


def test_a_process_that_died_mid_task_does_not_keep_the_worker_protected(tmp_path: Path, agent: FakeAgent) -> None:
    t = tracker(tmp_path, agent)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    (tmp_path / "running" / "killed").write_text(dead.stdout.strip())  # its postrun never came
    t.started("mine")
    t.finished("mine")
    assert agent.protected is False
    assert t.running() == 0


def test_protection_is_renewed_at_most_once_a_minute(tmp_path: Path, agent: FakeAgent) -> None:
    now = [1000.0]
    t = tracker(tmp_path, agent, clock=lambda: now[0])
    t.started("a")
    now[0] += 59
    t.started("b")
    assert agent.puts() == [True]
    now[0] += 2  # a task starting now may run the longest task's length again: renew the expiry
    t.started("c")
    assert agent.puts() == [True, True]


def test_an_agent_that_is_down_never_fails_a_task(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with FakeAgent() as gone:
        url = gone.url  # nothing listens there any more
    slept: list[float] = []
    t = tp.Tracker(tmp_path, tp.Agent(url, timeout=0.5, sleep=slept.append), 151)
    with caplog.at_level(logging.WARNING, logger="airstack.task_protection"):
        t.started()
        t.finished()
    assert slept == [0.5, 1.0, 0.5, 1.0], "each call retried briefly, twice"
    assert "scale-in protection on failed: URLError" in caplog.text
    assert "scale-in protection off failed" in caplog.text


def test_a_task_after_an_agent_outage_is_protected_again(tmp_path: Path, agent: FakeAgent) -> None:
    t = tracker(tmp_path, agent)
    agent.mode = "error"
    t.started("a")
    assert agent.protected is False
    agent.mode = "ok"
    t.started("b")  # not protected yet, so no waiting for the renewal minute
    assert agent.protected is True


@pytest.mark.parametrize(
    ("fail_next", "mode", "calls", "protected"),
    [
        (2, "ok", 3, True),  # 503, 503, then 200: retried
        (0, "throttle", 3, False),  # 429 every time: retried, then given up
        (0, "refuse", 1, False),  # ECS refused (200 with "failure"): retrying cannot help
    ],
)
def test_agent_answers(
    tmp_path: Path, agent: FakeAgent, fail_next: int, mode: Mode, calls: int, protected: bool
) -> None:
    agent.fail_next, agent.mode = fail_next, mode
    assert tp.Agent(agent.url, backoff=0.01).put(True, 151) is protected
    assert len(agent.requests) == calls
    assert agent.protected is protected


def test_a_rejected_request_is_not_retried(agent: FakeAgent, caplog: pytest.LogCaptureFixture) -> None:
    assert tp.Agent(agent.url, backoff=0.01).put(True, 9999) is False
    assert "HTTP 400" in caplog.text
    assert "ExpiresInMinutes" in caplog.text


@pytest.mark.parametrize("minutes", [None, "", "0", "2881", "90.5", "-1"])
def test_on_ecs_a_missing_or_bad_expiry_stops_the_worker(minutes: str | None) -> None:
    environ = {tp.AGENT_ENV: "http://169.254.170.2/api/abc"}
    if minutes is not None:
        environ[tp.MINUTES_ENV] = minutes
    with pytest.raises(RuntimeError, match=r"AIRSTACK_TASK_PROTECTION_MINUTES must be .* \(1\.\.2880\)"):
        tp.install(environ)


# --- a real Celery worker from the test Airflow's interpreter -------------------------------------------------

needs_airflow = pytest.mark.skipif(not AIRFLOW_PYTHON, reason="needs AIRSTACK_AIRFLOW_PYTHON (a real Airflow 3)")


class Worker:
    def __init__(self, tmp_path: Path, agent_url: str | None) -> None:
        self.tmp_path = tmp_path
        self.control = tmp_path / "control"
        broker = tmp_path / "broker"
        self.control.mkdir()
        broker.mkdir()
        self.log = tmp_path / "worker.log"
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp_path),
            "PYTHONPATH": os.pathsep.join([str(IMAGE), str(HERE / "airflow")]),
            **({"ECS_AGENT_URI": agent_url} if agent_url else {}),
            "AIRSTACK_TASK_PROTECTION_MINUTES": "151",
            "AIRSTACK_CELERY_PREDEFINED_QUEUES": json.dumps({"ml": "https://sqs.eu-west-1.amazonaws.com/1/ml"}),
            "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "9000",
            "PROTECTION_TEST_BROKER": str(broker),
            "PROTECTION_TEST_CONTROL": str(self.control),
        }
        command = ["-m", "celery", "-A", "protection_app", "worker", "-Q", "ml", "-c", "2", "-P", "prefork"]
        flags = ["-O", "fair", "--without-mingle", "--without-gossip", "--without-heartbeat", "-l", "INFO"]
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [str(AIRFLOW_PYTHON), *command, *flags],
                env=self.env,
                cwd=tmp_path,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.wait(lambda: "ready." in self.log.read_text(), "the worker to start")

    def send(self, name: str) -> None:
        subprocess.run(
            [str(AIRFLOW_PYTHON), str(HERE / "airflow" / "protection_app.py"), name],
            env=self.env,
            cwd=self.tmp_path,
            check=True,
        )

    def wait(self, condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.process.poll() is None, f"the worker died:\n{self.log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"timed out waiting for {what}:\n{self.log.read_text()[-3000:]}"
            time.sleep(0.05)

    def started(self, name: str) -> None:
        self.wait((self.control / f"started-{name}").exists, f"task {name} to start")

    def release(self, name: str) -> None:
        (self.control / f"release-{name}").touch()
        self.wait((self.control / f"done-{name}").exists, f"task {name} to end")

    def stop(self) -> None:
        self.process.terminate()  # warm shutdown, as ECS stops a task
        assert self.process.wait(timeout=30) == 0, self.log.read_text()[-3000:]


@pytest.fixture(scope="module")
def ecs() -> Iterator[tuple[Worker, FakeAgent]]:
    """One worker on "ECS" for the tests below (starting one takes seconds); each test resets the agent."""
    with FakeAgent() as fake, tempfile.TemporaryDirectory() as tmp:
        running = Worker(Path(tmp), fake.url)
        yield running, fake
        running.stop()


@pytest.fixture
def worker(ecs: tuple[Worker, FakeAgent]) -> Worker:
    return ecs[0]


@pytest.fixture
def ecs_agent(ecs: tuple[Worker, FakeAgent]) -> FakeAgent:
    agent = ecs[1]
    agent.mode, agent.fail_next, agent.requests[:] = "ok", 0, []
    return agent


@needs_airflow
def test_a_celery_worker_is_protected_while_its_tasks_run(worker: Worker, ecs_agent: FakeAgent) -> None:
    agent = ecs_agent
    assert f"scale-in protection: 151 minutes per protection, agent {agent.url}" in worker.log.read_text()
    worker.send("a")
    worker.started("a")
    assert (agent.protected, agent.minutes) == (True, 151)
    worker.send("b")
    worker.started("b")  # both pool processes busy
    worker.release("a")
    time.sleep(0.5)  # past a's postrun
    assert agent.protected is True
    assert False not in agent.puts(), "released while b still ran"
    worker.release("b")
    worker.wait(lambda: agent.protected is False, "the protection to be released")
    assert agent.puts()[-1] is False


@needs_airflow
def test_a_celery_worker_runs_its_tasks_while_the_agent_fails(worker: Worker, ecs_agent: FakeAgent) -> None:
    agent = ecs_agent
    agent.mode = "error"
    worker.send("c")
    worker.started("c")
    worker.release("c")
    worker.wait(lambda: agent.puts().count(False) == 3, "the release to be tried three times")
    agent.mode = "ok"
    worker.send("d")
    worker.started("d")
    assert agent.protected is True
    worker.release("d")
    worker.wait(lambda: agent.protected is False, "the protection to be released")
    assert "scale-in protection on failed: HTTP 500" in worker.log.read_text()


@needs_airflow
def test_outside_ecs_a_celery_worker_runs_tasks_unprotected_and_says_so(tmp_path: Path) -> None:
    worker = Worker(tmp_path, None)
    try:
        assert "ECS_AGENT_URI is not set (not on ECS): scale-in protection is off" in worker.log.read_text()
        worker.send("a")
        worker.started("a")
        worker.release("a")
        assert "scale-in protection o" not in worker.log.read_text().split("ready.")[1]
    finally:
        worker.stop()


@needs_airflow
def test_on_ecs_a_celery_worker_without_a_valid_expiry_does_not_start(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "PYTHONPATH": os.pathsep.join([str(IMAGE), str(HERE / "airflow")]),
        "ECS_AGENT_URI": "http://127.0.0.1:9",
        "AIRSTACK_CELERY_PREDEFINED_QUEUES": json.dumps({"ml": "https://sqs.eu-west-1.amazonaws.com/1/ml"}),
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "9000",
        "PROTECTION_TEST_BROKER": str(tmp_path),
        "PROTECTION_TEST_CONTROL": str(tmp_path),
    }
    done = subprocess.run(
        [str(AIRFLOW_PYTHON), "-m", "celery", "-A", "protection_app", "worker", "-Q", "ml"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "AIRSTACK_TASK_PROTECTION_MINUTES must be the minutes a scale-in protection lasts" in done.stderr
