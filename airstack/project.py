"""A Pulumi project's ``Pulumi.yaml``: its name and where its program starts (``main:``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml


class ProjectError(Exception):
    """The project file is missing or does not describe a Python program airstack can run."""


@dataclass(frozen=True)
class ProjectFile:
    root: Path
    name: str
    main_dir: Path
    """The program's working directory: ``main:`` when it names a folder, else the project root."""
    main_file: Path
    """The file the language host runs: ``<main_dir>/__main__.py``, or ``main:`` when it names a .py file."""


def read_project(root: Path) -> ProjectFile:
    path = root / "Pulumi.yaml"
    if not path.is_file():
        path = root / "Pulumi.yml"
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ProjectError(f"{root} has no Pulumi.yaml; pass the folder of a Pulumi project") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ProjectError(f"{path} cannot be read: {error}") from None
    if not isinstance(document, dict):
        raise ProjectError(f"{path} is not a mapping")
    runtime = document.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name not in (None, "python"):
        raise ProjectError(f"{path} has runtime {runtime_name!r}; airstack runs Python programs only")
    main = document.get("main")
    target = (root / str(main)).resolve() if main else root.resolve()
    if target.is_file():
        main_dir, main_file = target.parent, target
    else:
        main_dir, main_file = target, target / "__main__.py"
    if not main_file.is_file():
        where = f"main: {main}" if main else "the project folder"
        raise ProjectError(f"{path}: {where} has no {main_file.name} to run")
    return ProjectFile(root=root.resolve(), name=str(document.get("name", root.name)), main_dir=main_dir,
                       main_file=main_file)  # fmt: skip
