"""Read a ``Pulumi.<stack>.yaml`` the way the Pulumi CLI hands it to a program.

The CLI passes every config value as a string: structured values JSON-encoded, ``secure:`` values decrypted
and their keys listed as secret. Without the stack's passphrase or KMS key a ``secure:`` value cannot be
decrypted offline, so it becomes a placeholder that is still marked secret.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from components.config import (
    OFFLINE_SECRET_PREFIX,
    ConfigError,
    Problem,
    StackConfig,
    decode_config_value,
    load_stack_config,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STACK_NAMES = ("dev", "acc", "prod", "dr")


@dataclass(frozen=True)
class StackFile:
    path: Path
    stack: str
    config: dict[str, str]
    """Config as the CLI hands it to the program: every value a string."""
    secret_keys: frozenset[str] = field(default_factory=frozenset)

    @property
    def decoded(self) -> dict[str, Any]:
        return {k: decode_config_value(v) for k, v in self.config.items()}

    def load(self) -> StackConfig:
        return load_stack_config(self.decoded, stack=self.stack, source=self.path.name, secret_keys=self.secret_keys)


def resolve(name_or_path: str, program_dir: Path = PROJECT_ROOT) -> Path:
    """``dev`` means ``<program>/Pulumi.dev.yaml``; anything else is a path to a stack file."""
    if "/" not in name_or_path and not name_or_path.endswith(".yaml"):
        return program_dir / f"Pulumi.{name_or_path}.yaml"
    return Path(name_or_path)


def _placeholder(key: str) -> str:
    return OFFLINE_SECRET_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:12]


def _strip_secure(value: Any, key: str) -> tuple[Any, bool]:
    """Replace ``{secure: ...}`` leaves with placeholders; report whether any was found."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return _placeholder(key), True
        found = False
        out = {}
        for k, v in value.items():
            out[k], hit = _strip_secure(v, f"{key}.{k}")
            found |= hit
        return out, found
    if isinstance(value, list):
        items = [_strip_secure(v, f"{key}[{i}]") for i, v in enumerate(value)]
        return [v for v, _ in items], any(hit for _, hit in items)
    return value, False


def _encode(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def read_stack_file(name_or_path: str, program_dir: Path = PROJECT_ROOT) -> StackFile:
    """Read a stack file; a missing or malformed file raises ``ConfigError`` with the reason."""
    path = resolve(name_or_path, program_dir)
    if not path.is_file():
        known = ", ".join(sorted(p.name for p in program_dir.glob("Pulumi.*.yaml")))
        raise ConfigError(path.name, [Problem("file", str(path), f"no such stack file (found: {known or 'none'})")])
    stem = path.name
    if not (stem.startswith("Pulumi.") and stem.endswith(".yaml")) or stem.count(".") < 2:
        raise ConfigError(stem, [Problem("file", stem, "a stack file is named Pulumi.<stack>.yaml")])
    stack = stem[len("Pulumi.") : -len(".yaml")]
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(stem, [Problem("file", stem, f"not valid YAML: {exc}")]) from None
    raw = document.get("config", {}) if isinstance(document, dict) else None
    if not isinstance(raw, dict):
        raise ConfigError(stem, [Problem("config", raw, "the file needs a `config:` mapping")])
    config: dict[str, str] = {}
    secret_keys = set()
    for key, written in raw.items():
        long_form = isinstance(written, dict) and set(written) == {"value"}  # `key: {value: ...}`
        value, secret = _strip_secure(written["value"] if long_form else written, str(key))
        if secret:
            secret_keys.add(str(key))
        config[str(key)] = _encode(value)
    return StackFile(path=path, stack=stack, config=config, secret_keys=frozenset(secret_keys))
