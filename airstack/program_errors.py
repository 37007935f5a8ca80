"""A failing program's error as its author needs it: the program's own file:line, and what to do about it."""

from __future__ import annotations

import traceback
from pathlib import Path

from airstack.lookups import program_frames

MISSING_MODULE_HINT = (
    "add the package that provides it to the program's requirements.txt or pyproject.toml (airstack then plans "
    "the program in a cached environment with them), or pass --with PACKAGE"
)


def _where(error: BaseException, program_dir: Path) -> str:
    frames = program_frames(traceback.extract_tb(error.__traceback__), program_dir)
    return f" (at {frames[-1]})" if frames else ""


def describe(error: BaseException, program_dir: Path) -> str:
    """The error with the innermost frame of the program's own code (not the SDK's, not an installed package's)."""
    where = _where(error, program_dir)
    if isinstance(error, ModuleNotFoundError) and error.name:
        top = error.name.split(".")[0]
        if not (program_dir / top).exists() and not (program_dir / f"{top}.py").exists():
            return f"the program imports {error.name}, which is not installed{where}; {MISSING_MODULE_HINT}"
    return f"{type(error).__name__}: {error}{where}"


def source_position(position: object) -> str | None:
    """A registration's ``sourcePosition`` (``file://...`` URI and line) as ``file:line``."""
    uri = str(getattr(position, "uri", "") or "")
    line = int(getattr(position, "line", 0) or 0)
    if not uri:
        return None
    path = uri.removeprefix("file://")
    return f"{path}:{line}" if line else path
