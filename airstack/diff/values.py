"""The difference of two property values, as paths a reviewer can read: ``path: old → new``.

Values come from plan documents: secrets already masked as ``[secret]``, unknowns as ``None``. A few shapes are
read the way a person reads them rather than the way they are stored:

- a string holding a JSON document (ECS container definitions, IAM and bucket policies, redrive policies) is
  compared as that document, so one changed environment variable is one line, not two pages of JSON;
- a list of objects that each have a distinct ``name`` (or ``Sid``, ``key``...) is compared by that name, and
  a list of ``{name, value}`` pairs (ECS environment) as the mapping it means;
- a secret compares as changed only when both sides carry a digest of the wire value (``SecretValue``, made
  where the run is in this process) and the digests differ; a bare ``[secret]`` says nothing about the value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SECRET_MASK = "[secret]"
_KEY_FIELDS = ("name", "Name", "Sid", "key", "Key", "containerName", "id")
_PAIR_VALUE = {"name": "value", "Name": "Value", "key": "value", "Key": "Value"}
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_$@-]+$")


class _Missing:
    """A property one side does not set (as opposed to ``None``: set, but not known until deployed)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class SecretValue:
    """A masked secret together with a keyed digest of its wire value; the digest is never shown or written."""

    digest: str

    def __repr__(self) -> str:
        return SECRET_MASK


def is_secret(value: Any) -> bool:
    return isinstance(value, SecretValue) or (isinstance(value, str) and value == SECRET_MASK)


@dataclass(frozen=True)
class Change:
    path: str
    """Where, e.g. ``containerDefinitions[worker].environment[AIRFLOW__CORE__PARALLELISM]``."""
    top: str
    """The top-level property the path starts in (replacement rules are per top-level property)."""
    old: Any
    new: Any

    @property
    def kind(self) -> str:
        """``added``, ``removed``, ``secret`` (a secret's value changed) or ``changed``."""
        if self.old is MISSING:
            return "added"
        if self.new is MISSING:
            return "removed"
        if is_secret(self.old) and is_secret(self.new):
            return "secret"
        return "changed"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "kind": self.kind}
        if self.old is not MISSING:
            out["old"] = plain(self.old)
        if self.new is not MISSING:
            out["new"] = plain(self.new)
        return out


def plain(value: Any) -> Any:
    """JSON-ready: digests dropped, secrets as the mask."""
    if isinstance(value, SecretValue):
        return SECRET_MASK
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def same(a: Any, b: Any) -> bool:  # noqa: PLR0911 (one answer per kind of JSON value)
    """Equal as JSON values: ``1 == 1.0``, but ``True != 1``; secrets equal unless digests show otherwise."""
    if is_secret(a) and is_secret(b):
        return not (isinstance(a, SecretValue) and isinstance(b, SecretValue) and a.digest != b.digest)
    if is_secret(a) or is_secret(b):
        return False
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


def diff_properties(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Every difference between two property maps, in property order."""
    changes: list[Change] = []
    for key in sorted(set(old) | set(new)):
        _diff(old.get(key, MISSING), new.get(key, MISSING), _key_path("", key), key, changes)
    return changes


def _key_path(path: str, key: str) -> str:
    if _PLAIN_KEY.match(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def _diff(old: Any, new: Any, path: str, top: str, out: list[Change]) -> None:
    if old is MISSING or new is MISSING:
        if old is not new:
            out.append(Change(path, top, old, new))
        return
    if same(old, new):
        return
    if is_secret(old) or is_secret(new):
        out.append(Change(path, top, old, new))
        return
    if isinstance(old, str) and isinstance(new, str):
        old_doc, new_doc = _json_document(old), _json_document(new)
        if old_doc is not None and new_doc is not None:
            _diff(old_doc, new_doc, path, top, out)
            return
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new), key=str):
            _diff(old.get(key, MISSING), new.get(key, MISSING), _key_path(path, str(key)), top, out)
        return
    if isinstance(old, list) and isinstance(new, list):
        _diff_lists(old, new, path, top, out)
        return
    out.append(Change(path, top, old, new))


def _diff_lists(old: list[Any], new: list[Any], path: str, top: str, out: list[Change]) -> None:
    keyed = _keyed(old, new)
    if keyed is not None:
        old_map, new_map = keyed
        for key in _ordered_keys(old_map, new_map):
            _diff(old_map.get(key, MISSING), new_map.get(key, MISSING), f"{path}[{key}]", top, out)
        return
    if not any(isinstance(v, Mapping | list) for v in (*old, *new)):
        out.append(Change(path, top, old, new))  # a list of plain values reads best whole
        return
    for index in range(max(len(old), len(new))):
        before = old[index] if index < len(old) else MISSING
        after = new[index] if index < len(new) else MISSING
        _diff(before, after, f"{path}[{index}]", top, out)


def _ordered_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    return list(dict.fromkeys([*old, *new]))


def _keyed(old: Sequence[Any], new: Sequence[Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """Both lists as mappings by a name every element carries, distinct within each list; else None."""
    items = [*old, *new]
    if not items or not all(isinstance(v, Mapping) for v in items):
        return None
    for field in _KEY_FIELDS:
        if not all(isinstance(v.get(field), str) for v in items):
            continue
        if len({v[field] for v in old}) != len(old) or len({v[field] for v in new}) != len(new):
            continue
        value_field = _PAIR_VALUE.get(field)
        pairs = value_field is not None and all(set(v) == {field, value_field} for v in items)
        if pairs:
            return {v[field]: v[value_field] for v in old}, {v[field]: v[value_field] for v in new}
        return (
            {v[field]: {k: x for k, x in v.items() if k != field} for v in old},
            {v[field]: {k: x for k, x in v.items() if k != field} for v in new},
        )
    return None


def _json_document(text: str) -> Any:
    stripped = text.strip()
    if not stripped.startswith(("{", "[")):
        return None
    try:
        value = json.loads(stripped)
    except ValueError:
        return None
    return value if isinstance(value, dict | list) else None


def render(value: Any, limit: int = 160) -> str:
    """A value as a reviewer reads it: JSON, secrets masked, unset and unknown said in words, long ones cut."""
    if value is MISSING:
        return "(not set)"
    if value is None:
        return "(known after deployment)"
    if is_secret(value):
        return SECRET_MASK
    text = json.dumps(plain(value), sort_keys=True, ensure_ascii=False, separators=(", ", ": "))
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text
