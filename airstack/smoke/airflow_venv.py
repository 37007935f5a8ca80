"""The Airflow the core image pins, as a venv built by uv into the user's cache (reused while the pins hold).

The pins are read at run time from ``tests/airflow/requirements.txt`` (the one pin set shared with the image),
and the venv's directory is named after their hash and the Python version, so a changed pin builds a new venv.
A venv counts as built once its ``.complete`` marker is written, last; an interrupted build is started over,
and a lock keeps two smokes from building the same venv at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from airstack.stackfile import PROJECT_ROOT

REQUIREMENTS = PROJECT_ROOT / "tests" / "airflow" / "requirements.txt"
DOCKERFILE = PROJECT_ROOT / "image" / "Dockerfile"


class VenvError(Exception):
    pass


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "airstack" / "airflow"


def image_python(dockerfile: Path = DOCKERFILE) -> str | None:
    """The Python version the core image is built on (its Dockerfile's PYTHON_VERSION)."""
    try:
        match = re.search(r"^ARG PYTHON_VERSION=(\S+)", dockerfile.read_text(), re.MULTILINE)
    except OSError:
        return None
    return match.group(1) if match else None


def uv_command() -> list[str]:
    """uv, as installed: on PATH, or as a module of this interpreter or of the system's python3."""
    if found := shutil.which("uv"):
        return [found]
    for python in (sys.executable, shutil.which("python3")):
        if (
            python
            and subprocess.run([python, "-m", "uv", "--version"], capture_output=True, check=False).returncode == 0
        ):
            return [python, "-m", "uv"]
    raise VenvError("the smoke builds Airflow's venv with uv: install it (`python3 -m pip install uv`)")


def _numbers(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path))


def python_candidates(version: str) -> list[str]:
    """Where an interpreter of ``version`` (``3.12``) may be: on PATH, pyenv's versions, the usual prefixes."""
    found = [shutil.which(f"python{version}") or ""]
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    found += sorted((str(p) for p in pyenv.glob(f"{version}*/bin/python{version}")), key=_numbers, reverse=True)
    found += [f"/usr/local/bin/python{version}", f"/usr/bin/python{version}"]
    return [c for c in dict.fromkeys(found) if c]


def _is_version(interpreter: str, version: str) -> bool:
    """Whether it runs and is that version (a pyenv shim of a version not selected fails to run)."""
    check = f"import sys; assert '%d.%d' % sys.version_info[:2] == {version!r}"
    try:
        return subprocess.run([interpreter, "-c", check], capture_output=True, check=False).returncode == 0
    except OSError:
        return False


def find_python(uv: list[str], wanted: str | None) -> tuple[str, str]:
    """(interpreter, version): the image's Python if this machine has it, else the one running airstack.

    Looked for where .ci/run looks, then through uv (which does not download one here).
    """
    if wanted:
        for candidate in python_candidates(wanted):
            if Path(candidate).is_file() and _is_version(candidate, wanted):
                return candidate, wanted
        done = subprocess.run(
            [*uv, "python", "find", "--no-python-downloads", wanted], capture_output=True, text=True, check=False
        )
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip().splitlines()[-1], wanted
    return sys.executable, f"{sys.version_info.major}.{sys.version_info.minor}"


def ensure_venv(requirements: Path = REQUIREMENTS, root: Path | None = None) -> tuple[Path, str]:
    """(the venv's python, its Python version): built when missing."""
    if not requirements.is_file():
        raise VenvError(f"{requirements} is missing: it pins the Airflow the smoke runs")
    uv = uv_command()
    interpreter, version = find_python(uv, image_python())
    digest = hashlib.sha256(requirements.read_bytes() + version.encode()).hexdigest()[:16]
    root = root or cache_root()
    venv = root / f"py{version}-{digest}"
    python = venv / "bin" / "python"
    root.mkdir(parents=True, exist_ok=True)
    with (root / f"{venv.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / ".complete").exists():
            shutil.rmtree(venv, ignore_errors=True)
            for command in (
                [*uv, "venv", "-q", "--python", interpreter, str(venv)],
                [*uv, "pip", "install", "-q", "--compile-bytecode", "--python", str(python), "-r", str(requirements)],
            ):
                done = subprocess.run(command, capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    step = " ".join(command[len(uv) : len(uv) + 2])
                    raise VenvError(f"`uv {step}` failed:\n{(done.stdout + done.stderr)[-3000:]}")
            (venv / ".complete").write_text(requirements.read_text())
    return python, version
