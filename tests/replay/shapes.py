"""How the provider shapes what it sends: Pulumi's auto-names, tag lists, absent members left out."""

from __future__ import annotations

import hashlib
from typing import Any

from airstack.offline import Resource
from tests.replay import Inputs


def physical_name(r: Resource, i: Inputs, key: str = "name") -> str:
    """The name given, or Pulumi's auto-name (the resource's name and a random suffix, decided before creation)."""
    value = i.get(key) or r.outputs.get(key)
    return value if isinstance(value, str) and value else f"{r.name}-{hash_of(r.urn, 7)}"


def hash_of(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def kv(tags: dict[str, str] | None, key: str = "Key", value: str = "Value") -> list[dict[str, str]] | None:
    return [{key: k, value: v} for k, v in tags.items()] if tags else None


def ec2_tags(kind: str, tags: dict[str, str] | None) -> list[dict[str, Any]] | None:
    return [{"ResourceType": kind, "Tags": kv(tags)}] if tags else None


def prune(value: Any) -> Any:
    """Drop absent members (None) at every depth, as the provider sends only what is set."""
    if isinstance(value, dict):
        return {k: prune(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [prune(v) for v in value]
    return value


def text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
