"""A failing program's error as its author needs it: the program's own file:line, and what to do about it."""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from airstack.lookups import program_frames

_SITE = "__airstack_site__"

MISSING_MODULE_HINT = (
    "add the package that provides it to the program's requirements.txt or pyproject.toml (airstack then plans "
    "the program in a cached environment with them), or pass --with PACKAGE"
)


def _where(error: BaseException, program_dir: Path) -> str:
    frames = program_frames(traceback.extract_tb(error.__traceback__), program_dir)
    site = frames[-1] if frames else getattr(error, _SITE, None)
    return f" (at {site})" if site else ""


@contextlib.contextmanager
def recording_error_sites(program_dir: Path) -> Iterator[None]:
    """Remember where in the program an ``apply`` callback failed.

    The SDK re-raises such an error from its own bookkeeping, after the traceback that led into the program has
    been cut; so the callback is wrapped, and an error leaving it records the program's innermost frame.
    """
    import pulumi

    original = pulumi.Output.apply

    def apply(self: Any, func: Callable[[Any], Any], run_with_unknowns: bool = False) -> Any:
        def recorded(value: Any) -> Any:
            try:
                return func(value)
            except Exception as error:
                if not hasattr(error, _SITE):
                    frames = program_frames(traceback.extract_tb(error.__traceback__), program_dir)
                    with contextlib.suppress(AttributeError, TypeError):
                        setattr(error, _SITE, frames[-1] if frames else None)
                raise

        return original(self, recorded, run_with_unknowns)

    pulumi.Output.apply = apply  # type: ignore[method-assign]
    try:
        yield
    finally:
        pulumi.Output.apply = original  # type: ignore[method-assign]


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
