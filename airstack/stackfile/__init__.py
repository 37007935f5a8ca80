"""Read a ``Pulumi.<stack>.yaml`` the way the Pulumi CLI reads it and hands it to a program.

The CLI parses stack files with Go's ``gopkg.in/yaml.v3``: YAML 1.2 scalars (``yes``/``on`` are text, ``0777``
is octal, unquoted dates are times), duplicate keys refused, merge keys and aliases expanded. It passes every
config value to the program as a string: text as is, numbers and booleans as JSON, structured values as JSON
(a whole float like ``20.0`` becomes ``20``), ``secure:`` values decrypted and their keys listed as secret.
This package does the same (``goyaml`` reads the YAML), so that ``airstack validate`` judges what ``pulumi up``
would run. Without the stack's secrets provider a ``secure:`` value cannot be decrypted offline; it becomes a
placeholder that is still marked secret, and its exact path is kept.

Anything a stack file can hold ends in a ``ConfigError`` rather than an exception: unreadable or non-UTF-8
files, YAML errors, and documents that would take unbounded time or memory (alias bombs, deep nesting).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from airstack.stackfile.goyaml import InvalidYamlError, Secure, read_yaml
from components.config import (
    NAMESPACE,
    OFFLINE_SECRET_PREFIX,
    ConfigError,
    Problem,
    StackConfig,
    decode_config_value,
    load_stack_config,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
STACK_NAMES = ("dev", "acc", "prod", "dr")
MAX_FILE_BYTES = 1024 * 1024
STACK_FILE_KEYS = ("config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment")
"""The top-level keys of a Pulumi stack file (``workspace.ProjectStack``)."""


@dataclass(frozen=True)
class StackFile:
    path: Path
    stack: str
    config: dict[str, str]
    """Config as the CLI hands it to the program: every value a string."""
    secret_keys: frozenset[str] = field(default_factory=frozenset)
    secret_paths: frozenset[str] = field(default_factory=frozenset)
    """Exactly which values were written ``secure:`` (``airstack:alerting.webhookUrl``)."""

    @property
    def decoded(self) -> dict[str, Any]:
        return {k: decode_config_value(v) for k, v in self.config.items()}

    def load(self) -> StackConfig:
        # A key marked secret with no path recorded (set by hand, as the CLI marks it) counts as secret throughout.
        paths = set(self.secret_paths)
        paths |= {k for k in self.secret_keys if not any(p == k or p.startswith((f"{k}.", f"{k}[")) for p in paths)}
        return load_stack_config(self.decoded, stack=self.stack, source=self.path.name, secret_paths=paths)


def resolve(name_or_path: str, program_dir: Path = PROJECT_ROOT) -> Path:
    """``dev`` means ``<program>/Pulumi.dev.yaml``; anything else is a path to a stack file."""
    if "/" not in name_or_path and not name_or_path.endswith(".yaml"):
        return program_dir / f"Pulumi.{name_or_path}.yaml"
    return Path(name_or_path)


# ------------------------------------------------------------------------------------ what the program gets


def _placeholder(key: str) -> str:
    return OFFLINE_SECRET_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:12]


def _plaintext(value: Any, path: str, secrets: list[str]) -> Any:
    """The value with ``secure:`` leaves replaced by placeholders (recording their paths), ready for JSON."""
    if isinstance(value, Secure):
        secrets.append(path)
        return _placeholder(path)
    if isinstance(value, dict):
        return {k: _plaintext(v, f"{path}.{k}", secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_plaintext(v, f"{path}[{i}]", secrets) for i, v in enumerate(value)]
    return value


def _go_json(value: Any) -> Any:
    """What Go's encoding/json writes, read back: whole floats below 1e21 are written as integers."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("NaN and infinity cannot be passed to a program (JSON has no such numbers)")
        return int(value) if value.is_integer() and abs(value) < 1e21 else value
    if isinstance(value, dict):
        return {k: _go_json(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_go_json(v) for v in value]
    return value


def _encode(value: Any) -> str:
    """The string the CLI hands over for one top-level value (``config.Value``'s text)."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""  # the CLI reads `key:` with no value as an empty string
    return json.dumps(_go_json(value), separators=(",", ":"), ensure_ascii=False)


def _config_key(key: str, project: str) -> str | None:
    """``config.ParseKey``: ``ns:name``, ``ns:config:name`` (old form), or a bare name in the project's namespace."""
    parts = key.split(":")
    if len(parts) == 1:
        return f"{project}:{key}"
    if len(parts) == 2:
        return key
    if len(parts) == 3 and parts[1] == "config":
        return f"{parts[0]}:{parts[2]}"
    return None


def _project_name(stack_path: Path, program_dir: Path) -> str:
    for directory in (stack_path.parent, program_dir):
        try:
            document = yaml.safe_load((directory / "Pulumi.yaml").read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        if isinstance(document, dict) and isinstance(document.get("name"), str):
            return document["name"]
    return NAMESPACE


def _read_text(path: Path, name: str) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(name, [Problem("file", name, f"cannot be read: {exc.strerror or exc}")]) from None
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError(name, [Problem("file", name, f"larger than {MAX_FILE_BYTES:,} bytes")])
    data = data.removeprefix(b"\xef\xbb\xbf")  # the CLI strips a UTF-8 byte-order mark too
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            name, [Problem("file", name, f"not UTF-8 text (line {line}, byte {exc.start}); save it as UTF-8")]
        ) from None


def read_stack_file(name_or_path: str, program_dir: Path = PROJECT_ROOT) -> StackFile:
    """Read a stack file; a missing, unreadable or malformed file raises ``ConfigError`` with the reason."""
    path = resolve(name_or_path, program_dir)
    name = path.name
    if not path.is_file():
        known = ", ".join(sorted(p.name for p in program_dir.glob("Pulumi.*.yaml")))
        raise ConfigError(name, [Problem("file", str(path), f"no such stack file (found: {known or 'none'})")])
    if not (name.startswith("Pulumi.") and name.endswith(".yaml")) or name.count(".") < 2:
        raise ConfigError(name, [Problem("file", name, "a stack file is named Pulumi.<stack>.yaml")])
    stack = name[len("Pulumi.") : -len(".yaml")]
    try:
        document, duplicates = read_yaml(_read_text(path, name))
    except InvalidYamlError as exc:
        raise ConfigError(name, [Problem("file", name, str(exc))]) from None
    if duplicates:
        raise ConfigError(name, [Problem("file", name, f"{d} (the Pulumi CLI refuses it)") for d in duplicates])
    document = {} if document is None else document
    if not isinstance(document, dict):
        raise ConfigError(name, [Problem("file", name, "a stack file is a mapping with a `config:` key")])
    unknown = [k for k in document if k not in STACK_FILE_KEYS]
    problems = [Problem(k, document[k], "not a stack file key; use " + ", ".join(STACK_FILE_KEYS)) for k in unknown]
    raw = document.get("config") or {}
    if not isinstance(raw, dict):
        problems.append(Problem("config", raw, "the file needs a `config:` mapping"))
        raise ConfigError(name, problems)
    project = _project_name(path, program_dir)
    config: dict[str, str] = {}
    secret_keys, secret_paths = set(), []
    for written, value in raw.items():
        key = _config_key(written, project)
        if key is None:
            problems.append(Problem(written, value, "not a config key; write <namespace>:<name>"))
            continue
        if key in config:
            problems.append(Problem(written, value, f"{key} is set twice in this file"))
            continue
        found: list[str] = []
        plain = _plaintext(value, key, found)
        try:
            config[key] = _encode(plain)
        except ValueError as exc:
            problems.append(Problem(key, str(value), str(exc)))
            continue
        secret_paths += found
        if found:
            secret_keys.add(key)
    if problems:
        raise ConfigError(name, problems)
    return StackFile(path, stack, config, frozenset(secret_keys), frozenset(secret_paths))
