"""One pinned set for the core image and the test Airflow: image/requirements.lock, from image/requirements.in."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
IMAGE = ROOT / "image"
AIRFLOW_PYTHON = os.environ.get("AIRSTACK_AIRFLOW_PYTHON")
LINUX_312 = {"sys_platform": "linux", "platform_system": "Linux", "python_version": "3.12"}
LINUX_312 |= {"python_full_version": "3.12.12", "implementation_name": "cpython"}
LINUX_312 |= {"platform_python_implementation": "CPython", "platform_machine": "x86_64"}


def load_lock_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("airstack_image_lock", IMAGE / "lock.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


lock = load_lock_module()
PINS = lock.pins(lock.LOCK.read_text())
LOCKED = lock.expected(PINS, LINUX_312)


def inputs() -> list[Requirement]:
    lines = (re.sub(r"#.*", "", line).strip() for line in lock.INPUT.read_text().splitlines())
    return [Requirement(line) for line in lines if line]


def test_the_lock_pins_every_input_within_its_bounds() -> None:
    for requirement in inputs():
        name = lock.normalize(requirement.name)
        assert name in LOCKED, f"{name} is in requirements.in but not in the lock: run `python image/lock.py`"
        assert requirement.specifier.contains(LOCKED[name], prereleases=True), f"{name}=={LOCKED[name]}"


def test_celery_stays_below_5_7_whose_database_backend_the_provider_cannot_import() -> None:
    assert LOCKED["celery"].startswith("5.6."), LOCKED["celery"]
    assert {"boto3", "pycurl", "psycopg2-binary", "asyncpg"} <= set(LOCKED), "SQS broker and PostgreSQL drivers"


def test_every_pin_is_hashed_so_a_replaced_file_fails_the_install() -> None:
    assert [p.name for p in PINS if not p.hashes] == []


def test_the_test_airflow_installs_the_lock_and_nothing_else() -> None:
    text = lock.TEST_REQUIREMENTS.read_text()
    assert text == lock.test_requirements(), "regenerate with `python image/lock.py`"
    included = [line.split(None, 1)[1] for line in text.splitlines() if line.startswith("-r ")]
    requirements = [line for line in text.splitlines() if line.strip() and not line.startswith(("#", "-r "))]
    assert [(lock.TEST_REQUIREMENTS.parent / path).resolve() for path in included] == [lock.LOCK]
    assert requirements == []


def test_markers_choose_the_image_platforms_pins() -> None:
    assert "uvloop" in LOCKED
    assert "pyyaml-ft" not in LOCKED, "a Python 3.13 pin"
    assert "pyyaml-ft" in lock.expected(PINS, LINUX_312 | {"python_full_version": "3.13.5"})


def test_verify_names_every_difference() -> None:
    want = {"apache-airflow": "3.3.2", "celery": "5.6.3", "pycurl": "7.49.0"}
    have = {"apache-airflow": "3.3.2", "celery": "5.7.0", "redis": "8.1.0"}
    assert lock.differences(want, have) == [
        "celery: 5.7.0 installed, the lock pins 5.6.3",
        "missing: pycurl==7.49.0",
        "not in the lock: redis==8.1.0",
    ]
    assert lock.differences(want, want) == []


# --- the Dockerfile --------------------------------------------------------------------------------------------

INSTALLERS = re.compile(
    r"\b(?:pip3?|uv\s+pip|python3?\s+-m\s+pip|uv|apt-get|apt|apk|conda|mamba|micromamba|poetry|pipx)\s+"
    r"(?:install|sync|add)\b[^&;|]*"
)


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", re.sub(r"(?m)^\s*#.*\n", "", text))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in joined.splitlines() if line.strip()]


def installs(text: str) -> list[str]:
    """Every command of a Dockerfile that installs packages, as written."""
    return [
        " ".join(m.group(0).split()) for kind, rest in dockerfile_instructions(text) for m in INSTALLERS.finditer(rest)
    ]


DOCKERFILE = (IMAGE / "Dockerfile").read_text()
SYNC = "uv pip sync --no-cache --require-hashes --compile-bytecode /opt/airstack/requirements.lock"


def test_the_dockerfile_installs_exactly_the_lock_and_verifies_it() -> None:
    assert installs(DOCKERFILE) == [SYNC]
    steps = dockerfile_instructions(DOCKERFILE)
    assert ("COPY", "--chown=airflow:0 requirements.lock lock.py /opt/airstack/") in steps
    [run] = [rest for kind, rest in steps if kind == "RUN"]
    assert run.index(SYNC) < run.index("python /opt/airstack/lock.py verify /opt/airstack/requirements.lock")
    assert "ADD" not in {kind for kind, _ in steps}, "nothing fetched from outside the lock"


@pytest.mark.parametrize(
    "extra",
    [
        "RUN pip install --no-cache-dir apache-airflow-providers-google",
        "RUN uv pip install -r /tmp/extra.txt",
        "RUN python -m pip install \\\n    redis",
        "RUN apt-get update && apt-get install -y libcurl4-openssl-dev",
    ],
)
def test_an_install_outside_the_lock_is_caught(extra: str) -> None:
    assert installs(DOCKERFILE + extra + "\n") != [SYNC]


def test_the_base_image_is_the_official_one_of_the_locked_airflow_and_python() -> None:
    args = dict(re.findall(r"(?m)^ARG (\w+)=(\S+)$", DOCKERFILE))
    assert args["AIRFLOW_VERSION"] == LOCKED["apache-airflow"]
    assert args["PYTHON_VERSION"] == lock.PYTHON
    assert re.findall(r"(?m)^FROM (\S+)", DOCKERFILE) == [
        "apache/airflow:slim-${AIRFLOW_VERSION}-python${PYTHON_VERSION}"
    ]


def test_the_image_ships_every_module_airstack_renders_settings_for() -> None:
    copied = " ".join(rest for kind, rest in dockerfile_instructions(DOCKERFILE) if kind == "COPY")
    for module in ("airstack_celery_config", "airstack_worker_signals", "airstack_task_protection"):
        assert f"{module}.py" in copied
    assert "airflow_local_settings.py" in copied
    assert copied.rstrip().endswith("/opt/airflow/config/")


# --- the test Airflow itself ----------------------------------------------------------------------------------


@pytest.mark.skipif(not AIRFLOW_PYTHON, reason="needs AIRSTACK_AIRFLOW_PYTHON (a real Airflow 3)")
def test_the_test_airflow_is_exactly_the_lock_and_its_celery_provider_imports(tmp_path: Path) -> None:
    verified = subprocess.run(
        [str(AIRFLOW_PYTHON), str(IMAGE / "lock.py"), "verify"], capture_output=True, text=True, check=False
    )
    assert verified.returncode == 0, verified.stderr
    imported = subprocess.run(
        [str(AIRFLOW_PYTHON), "-c", "import airflow.providers.celery.executors.celery_executor_utils"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": os.environ.get("PATH", ""), "AIRFLOW_HOME": str(tmp_path)},
    )
    assert imported.returncode == 0, imported.stderr[-2000:]


def test_verify_refuses_another_interpreter() -> None:
    done = subprocess.run(
        [sys.executable, str(IMAGE / "lock.py"), "verify"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    assert "missing: apache-airflow==3.3.2" in done.stderr
