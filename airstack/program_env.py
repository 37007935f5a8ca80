"""A program's own requirements: planned with them installed, in a cached environment beside airstack's.

A Pulumi Python program declares what it imports in ``requirements.txt`` or ``pyproject.toml`` (PEP 621
``[project].dependencies``, or Poetry's ``[tool.poetry.dependencies]``); ``--with PKG`` adds more. When airstack's
own environment already satisfies every requirement, the program is planned right here. Otherwise airstack
builds an *overlay* environment once — a virtual environment holding only what is missing, installed with uv,
on top of airstack's own packages — caches it under ``$AIRSTACK_CACHE_DIR`` (default
``~/.cache/airstack/programs``) keyed by a hash of what it installs, and runs ``python -m airstack.cli`` with the
same arguments in it. A requirement that airstack cannot check (a path, a URL, ``-e``, ``-r``) is installed.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shlex
import shutil
import site
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

CACHE_ENV = "AIRSTACK_CACHE_DIR"
INSIDE_ENV = "AIRSTACK_PROGRAM_ENV"
"""Set in the process that runs inside a program's environment (it plans; it does not build another)."""
UV_ENV = "AIRSTACK_UV"
_PASS_THROUGH = ("--index-url", "-i", "--extra-index-url", "--find-links", "-f", "--no-index", "--pre")
_PATH_OPTIONS = ("-r", "--requirement", "-c", "--constraint", "-e", "--editable")


class EnvironmentProblem(Exception):  # noqa: N818 (a problem of the program's environment, not airstack's)
    """The program's requirements cannot be installed; ``exit_code`` 2 (their fault) or 3 (no uv here)."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Requirements:
    needed: tuple[str, ...]
    """Arguments for ``uv pip install``: requirements not satisfied here, and what cannot be checked."""
    options: tuple[str, ...]
    """Index options from the requirements file (``--index-url ...``)."""
    declared: tuple[str, ...]
    """Every requirement, as declared (for messages)."""
    sources: tuple[str, ...]

    @property
    def satisfied(self) -> bool:
        return not self.needed


def _satisfied(line: str) -> bool | None:
    """Whether this environment satisfies a requirement; None if it cannot tell (a URL, a path, a bad line)."""
    try:
        requirement = Requirement(line)
    except InvalidRequirement:
        return None
    if requirement.url:
        return None
    if requirement.marker is not None and not requirement.marker.evaluate():
        return True
    try:
        version = importlib.metadata.version(requirement.name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return requirement.specifier.contains(version, prereleases=True)


def _requirements_file(path: Path, seen: set[Path]) -> tuple[list[str], list[str], list[str]]:
    """(install arguments, index options, declared lines) of a requirements file."""
    needed: list[str] = []
    options: list[str] = []
    declared: list[str] = []
    if path in seen:
        return needed, options, declared
    seen.add(path)
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            parts = shlex.split(line)
            if "=" in parts[0]:
                flag, value = parts[0].split("=", 1)
            else:
                flag, value = parts[0], " ".join(parts[1:])
            if flag in _PATH_OPTIONS and value:
                target = value if "://" in value or not (path.parent / value).exists() else str(path.parent / value)
                needed += [flag, target]
                declared.append(line)
            elif flag in _PASS_THROUGH:
                options += [flag, value] if value else [flag]
            continue
        declared.append(line)
        if _satisfied(line) is not True:
            target = line
            if line.startswith((".", "/")) and (path.parent / line).exists():
                target = str((path.parent / line).resolve())
            needed.append(target)
    return needed, options, declared


def _poetry_spec(name: str, spec: object) -> str | None:
    if isinstance(spec, dict):
        if "path" in spec:
            return str(spec["path"])
        if "git" in spec:
            return f"{name} @ git+{spec['git']}"
        spec = spec.get("version", "*")
    text = str(spec).strip()
    if text in ("", "*"):
        return name
    if text[0] in "^~" and text[1:2] != "=":
        parts = [int(p) for p in text[1:].split(".") if p.isdigit()] or [0]
        if text[0] == "^":
            index = next((i for i, p in enumerate(parts) if p), len(parts) - 1)
        else:
            index = 0 if len(parts) == 1 else 1
        upper = [*parts[:index], parts[index] + 1] if index < len(parts) else [parts[0] + 1]
        return f"{name}>={text[1:]},<{'.'.join(map(str, upper))}"
    return f"{name}{text}" if text[0] in "<>=!~" else f"{name}=={text}"


def _pyproject(path: Path) -> list[str]:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise EnvironmentProblem(f"{path} cannot be read: {error}") from None
    declared = list(document.get("project", {}).get("dependencies") or [])
    poetry = document.get("tool", {}).get("poetry", {}).get("dependencies") or {}
    for name, spec in poetry.items():
        if name.lower() != "python":
            line = _poetry_spec(name, spec)
            if line:
                declared.append(line)
    return declared


def program_requirements(program_dir: Path, extra: Sequence[str] = ()) -> Requirements:
    """What the program declares (its requirements.txt, else its pyproject.toml) plus ``extra``."""
    needed: list[str] = []
    options: list[str] = []
    declared: list[str] = []
    sources: list[str] = []
    requirements_txt = program_dir / "requirements.txt"
    pyproject = program_dir / "pyproject.toml"
    if requirements_txt.is_file():
        needed, options, declared = _requirements_file(requirements_txt, set())
        sources.append(str(requirements_txt))
    elif pyproject.is_file():
        for line in _pyproject(pyproject):
            declared.append(line)
            if _satisfied(line) is not True:
                needed.append(str((program_dir / line).resolve()) if line.startswith((".", "/")) else line)
        sources.append(str(pyproject))
    for line in extra:
        declared.append(line)
        if _satisfied(line) is not True:
            needed.append(line)
    if extra:
        sources.append("--with")
    return Requirements(tuple(needed), tuple(options), tuple(declared), tuple(sources))


def preload_sdks(program_dir: Path) -> None:
    """Import the Pulumi SDKs another program uses (pulumi_aws, its ec2 module...) once, before forking.

    Only installed ``pulumi_*`` packages and their modules: importing them has no side effects, and every stack's
    process then starts with them loaded. The program's own modules are never imported here.
    """
    import ast

    from airstack.project import ProjectError, read_project

    with contextlib.suppress(ProjectError, OSError, SyntaxError, ValueError):
        tree = ast.parse(read_project(program_dir).main_file.read_text(encoding="utf-8"))
        aliases = {a.asname or a.name: a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        modules = {name for name in aliases.values() if name.startswith("pulumi_")}
        modules |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        for node in ast.walk(tree):  # `aws.ec2.Vpc(...)`: the SDK loads `pulumi_aws.ec2` on first use
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                package = aliases.get(node.value.id, "")
                if package.startswith("pulumi_"):
                    modules.add(f"{package}.{node.attr}")
        for name in sorted(m for m in modules if m.startswith("pulumi_")):
            with contextlib.suppress(Exception):
                spec = importlib.util.find_spec(name)
                if spec is not None and spec.origin and not spec.origin.startswith(str(program_dir)):
                    __import__(name)


# -------------------------------------------------------------------------------------------- environments


def cache_dir() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "airstack" / "programs"


def find_uv() -> list[str]:
    """How to run uv: ``$AIRSTACK_UV``, ``uv`` on the PATH, or the uv package of this interpreter."""
    if os.environ.get(UV_ENV):
        return shlex.split(os.environ[UV_ENV])
    found = shutil.which("uv")
    if found:
        return [found]
    if importlib.util.find_spec("uv") is not None:
        return [sys.executable, "-m", "uv"]
    raise EnvironmentProblem(
        "the program needs packages that are not installed here, and airstack installs them with uv, which was "
        f"not found: install uv (https://docs.astral.sh/uv/) or set ${UV_ENV}",
        exit_code=3,
    )


def _base_sites() -> list[str]:
    return [p for p in [*site.getsitepackages(), site.getusersitepackages()] if Path(p).is_dir()]


def _key(requirements: Requirements) -> str:
    from airstack.stackfile import PROJECT_ROOT

    material = {
        "needed": requirements.needed,
        "options": requirements.options,
        "python": sys.version,
        "executable": sys.executable,
        "base": _base_sites(),
        "airstack": str(PROJECT_ROOT),
        "files": {p: hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in _local_files(requirements.needed)},
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:16]


def _local_files(arguments: Iterable[str]) -> list[str]:
    """Requirement files and local packages' build files, so that editing them rebuilds the environment."""
    found = []
    for argument in arguments:
        path = Path(argument)
        if path.is_file():
            found.append(str(path))
        for name in ("pyproject.toml", "setup.py", "setup.cfg"):
            if (path / name).is_file():
                found.append(str(path / name))
    return sorted(found)


def _site_packages(venv: Path) -> Path:
    return next((venv / "lib").glob("python*/site-packages"))


def ensure_environment(requirements: Requirements, program_dir: Path, log: object = None) -> Path:
    """The cached overlay environment for ``requirements``, built now if it does not exist yet."""
    from airstack.stackfile import PROJECT_ROOT

    target = cache_dir() / _key(requirements)
    if (target / ".airstack-complete").is_file():
        return target
    uv = find_uv()
    target.parent.mkdir(parents=True, exist_ok=True)
    building = target.parent / f"{target.name}.building-{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    try:
        _run([*uv, "venv", "--quiet", "--python", sys.executable, str(building)], program_dir, requirements)
        python = building / "bin" / "python"
        install = [*uv, "pip", "install", "--quiet", "--python", str(python), *requirements.options,
                   *requirements.needed]  # fmt: skip
        _run(install, program_dir, requirements)
        # Airstack's own packages (and this source tree) come after the program's, so its pins win.
        lines = [f"import site; site.addsitedir({p!r})" for p in _base_sites()]
        lines.append(str(PROJECT_ROOT))
        (_site_packages(building) / "zz_airstack_base.pth").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (building / ".airstack-complete").write_text(json.dumps(list(requirements.declared)), encoding="utf-8")
        try:
            building.rename(target)
        except OSError:  # built meanwhile by another run
            shutil.rmtree(building, ignore_errors=True)
    finally:
        if building.exists():
            shutil.rmtree(building, ignore_errors=True)
    return target


def _run(command: list[str], cwd: Path, requirements: Requirements) -> None:
    try:
        result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False, timeout=1800)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise EnvironmentProblem(f"could not run uv ({' '.join(command[:2])}): {error}", exit_code=3) from None
    if result.returncode != 0:
        detail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
        raise EnvironmentProblem(
            f"could not install the program's requirements ({', '.join(requirements.needed)}) with uv:\n{detail}"
        )


def run_inside(environment: Path, argv: Sequence[str]) -> int:
    """``python -m airstack.cli <argv>`` with the environment's interpreter; its exit code."""
    env = {**os.environ, INSIDE_ENV: str(environment)}
    with contextlib.suppress(KeyboardInterrupt):
        return subprocess.run([str(environment / "bin" / "python"), "-m", "airstack.cli", *argv], env=env,
                              check=False).returncode  # fmt: skip
    return 130
