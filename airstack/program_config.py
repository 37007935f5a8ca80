"""A program's config as the Pulumi CLI assembles it: project defaults, the stack file, ``--config`` overrides.

- ``Pulumi.yaml``'s ``config:`` block gives project-wide values (``key: value``, ``key: {value: ...}`` or
  ``key: {default: ...}``); a key without a namespace belongs to the project.
- The stack file's values override them; a stack file key without a namespace is the project's, as the CLI
  reads it (``stackConfigNamespacedWithProject``).
- ``--config key=value`` overrides both, as ``pulumi config set key value`` would: a key without ``:`` is the
  project's, and the value is a plain (not secret) string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from airstack.stackfile import StackFile

_MISSING = re.compile(r"Missing required configuration variable '([^']+)'")


class ProgramConfigError(Exception):
    """The stack's config cannot be assembled; the message says which key and why."""


def full_key(key: str, project: str) -> str:
    """``pulumi config set``'s rule: a key without a namespace is the project's."""
    return key if ":" in key else f"{project}:{key}"


def parse_assignments(values: Iterable[str]) -> list[tuple[str, str]]:
    """``--config key=value`` arguments; the value may itself contain ``=``."""
    parsed = []
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip():
            raise ProgramConfigError(f"--config {value!r}: write it as key=value (as `pulumi config set key value`)")
        parsed.append((key.strip(), rest))
    return parsed


def _encode(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def project_defaults(program_dir: Path, project: str) -> dict[str, str]:
    """The project-wide values of ``Pulumi.yaml``'s ``config:`` block, as the CLI hands them over (strings)."""
    for name in ("Pulumi.yaml", "Pulumi.yml"):
        path = program_dir / name
        if path.is_file():
            break
    else:
        return {}
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}  # read_project reports an unreadable project file
    block = document.get("config") if isinstance(document, Mapping) else None
    if not isinstance(block, Mapping):
        return {}
    values: dict[str, str] = {}
    for key, spec in block.items():
        if isinstance(spec, Mapping) and ("value" in spec or "default" in spec):
            value = spec.get("value", spec.get("default"))
        elif isinstance(spec, Mapping):
            continue  # a declaration (type, description) without a value
        else:
            value = spec
        values[full_key(str(key), project)] = _encode(value)
    return values


def assemble(
    stack_file: StackFile, program_dir: Path, project: str, overrides: Sequence[tuple[str, str]] = ()
) -> StackFile:
    """The stack file with the project's defaults under it and ``--config`` overrides over it."""
    config = {**project_defaults(program_dir, project), **stack_file.config}
    secret_keys = set(stack_file.secret_keys)
    for key, value in overrides:
        name = full_key(key, project)
        config[name] = value
        secret_keys.discard(name)  # `pulumi config set` without --secret stores a plain value
    return replace(stack_file, config=config, secret_keys=frozenset(secret_keys))


def missing_config_hint(message: str, config: Mapping[str, str], project: str) -> str:
    """For a program stopped by a missing config value: where the value may be hiding, and how to pass it."""
    found = _MISSING.search(message)
    if not found:
        return ""
    key = found.group(1)
    name = key.split(":", 1)[-1]
    elsewhere = sorted(k for k in config if k.split(":", 1)[-1] == name and k != key)
    hint = f"pass --config {name}=VALUE or set {key} in the stack file"
    if elsewhere:
        hint = (
            f"the stack file sets {', '.join(elsewhere)}, but this project is named '{project}', so the program "
            f"reads {key}; rename the key, or " + hint
        )
    return f" ({hint})"
