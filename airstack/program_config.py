"""A program's config as the Pulumi CLI assembles it: project defaults, the stack file, ``--config`` overrides.

- ``Pulumi.yaml``'s ``config:`` block gives project-wide values (``key: value``, ``key: {value: ...}`` or
  ``key: {default: ...}``); a key without a namespace belongs to the project.
- The stack file's values override them; a stack file key without a namespace is the project's, as the CLI
  reads it (``stackConfigNamespacedWithProject``).
- ``--config key=value`` overrides both, as ``pulumi config set key value`` would: a key without ``:`` is the
  project's, and the value is a plain (not secret) string. With ``--config-path`` (``pulumi up --config-path``)
  the key is a path into a structured value, as ``pulumi config set --path`` reads it.
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
    stack_file: StackFile,
    program_dir: Path,
    project: str,
    overrides: Sequence[tuple[str, str]] = (),
    *,
    path: bool = False,
) -> StackFile:
    """The stack file with the project's defaults under it and ``--config`` overrides over it; with ``path``
    (the CLI's ``--config-path``) each key is a path into a structured value (``dr.active``, ``teams[0].name``)."""
    config = {**project_defaults(program_dir, project), **stack_file.config}
    secret_keys = set(stack_file.secret_keys)
    for key, value in overrides:
        if path:
            name, steps = parse_path(key, project)
            config[name] = set_at_path(config.get(name), steps, path_value(value), key)
            if not steps:
                secret_keys.discard(name)
            continue
        name = full_key(key, project)
        config[name] = value
        secret_keys.discard(name)  # `pulumi config set` without --secret stores a plain value
    return replace(stack_file, config=config, secret_keys=frozenset(secret_keys))


_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]|\[\"([^\"]*)\"\]")


def parse_path(key: str, project: str) -> tuple[str, list[str | int]]:
    """``dr.active`` -> (``<project>:dr``, [``active``]), as ``pulumi config set --path`` reads a key: dots and
    ``["quoted.names"]`` for map keys, ``[N]`` for list items; the namespace is before the first ``:``."""
    namespace, colon, rest = key.partition(":")
    if not colon:
        namespace, rest = project, key
    head = re.match(r"[^.\[\]]+", rest)
    if not namespace or head is None:
        raise ProgramConfigError(f'--config-path {key!r}: write the key as name.field, name[0] or name["a.b"]')
    steps: list[str | int] = []
    position = head.end()
    while position < len(rest):
        step = _STEP.match(rest, position)
        if step is None:
            raise ProgramConfigError(
                f'--config-path {key!r}: cannot read the path at {rest[position:]!r} (use .field, [0] or ["a.b"])'
            )
        field, index, quoted = step.groups()
        steps.append(int(index) if index is not None else field if field is not None else quoted)
        position = step.end()
    return f"{namespace}:{head.group()}", steps


def path_value(value: str) -> Any:
    """What ``--path`` stores: ``true``/``false`` as booleans and integers as numbers, as the Pulumi CLI does;
    anything else stays a string."""
    if value in ("true", "false"):
        return value == "true"
    if re.fullmatch(r"-?\d+", value):
        return int(value)
    return value


def set_at_path(current: str | None, steps: Sequence[str | int], value: Any, key: str) -> str:
    """The top-level value (a string as the CLI hands it over) with ``value`` set at ``steps``."""
    if not steps:
        return _encode(value)
    try:
        root: Any = json.loads(current) if current is not None else None
    except json.JSONDecodeError:
        root = None
    if root is None:
        root = [] if isinstance(steps[0], int) else {}
    node = root
    for step, following in zip(steps, [*steps[1:], None], strict=True):
        if not isinstance(node, list if isinstance(step, int) else dict):
            what = "a list" if isinstance(node, list) else "a map" if isinstance(node, dict) else "a plain value"
            raise ProgramConfigError(f"--config-path {key!r}: {step!r} steps into {what}")
        if isinstance(node, list):
            if not isinstance(step, int) or step > len(node):
                raise ProgramConfigError(f"--config-path {key!r}: index {step} is past the list's end ({len(node)})")
            if step == len(node):
                node.append(None)
        if following is None:
            node[step] = value  # type: ignore[index]
            break
        child = node.get(step) if isinstance(node, dict) else node[step]  # type: ignore[index]
        if child is None:
            child = [] if isinstance(following, int) else {}
            node[step] = child  # type: ignore[index]
        node = child
    return json.dumps(root)


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
