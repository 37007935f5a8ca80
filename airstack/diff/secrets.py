"""Secrets in a diff: know when one changed without ever holding its value in the output.

A plan document masks every secret as ``[secret]``, so two documents alone cannot tell a changed secret from
an unchanged one. Where a run happened in this process its wire values are at hand: each masked value is then
replaced by a ``SecretValue`` carrying a keyed digest (BLAKE2b with a key drawn per process), which the diff
compares and the output never contains. Independently, ``scrub`` replaces every secret value a run knows by
the mask in the finished text: the last line of defence if a program ever leaks one into a plain input.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from airstack import wire
from airstack.diff.values import SECRET_MASK, SecretValue
from airstack.offline import ProgramRun
from components.config import OFFLINE_SECRET_PREFIX

_KEY = os.urandom(32)
MIN_SCRUB_LENGTH = 8
"""Shorter "secrets" (``true``, a port) would blank unrelated text; no real secret is that short."""


def _digest(wire_value: Any) -> str:
    plain = json.dumps(wire.provider_view(wire_value), sort_keys=True, default=str)
    return hashlib.blake2b(plain.encode(), key=_KEY, digest_size=16).hexdigest()


def _is_secret(wire_value: Any) -> bool:
    sig = wire.signature(wire_value)
    return sig == wire.SECRET_SIG or (sig == wire.OUTPUT_SIG and bool(wire_value.get("secret")))


def with_digests(display: Any, wire_value: Any) -> Any:
    """``display`` (a ``display_view`` of ``wire_value``) with each ``[secret]`` carrying its digest."""
    if display == SECRET_MASK and _is_secret(wire_value):
        return SecretValue(_digest(wire_value))
    if wire.signature(wire_value) == wire.OUTPUT_SIG:
        return with_digests(display, wire_value.get("value"))
    if isinstance(display, dict) and isinstance(wire_value, Mapping):
        return {k: with_digests(v, wire_value.get(k)) for k, v in display.items()}
    if isinstance(display, list) and isinstance(wire_value, list) and len(display) == len(wire_value):
        return [with_digests(d, w) for d, w in zip(display, wire_value, strict=True)]
    return display


def attach_digests(document: dict[str, Any], run: ProgramRun) -> dict[str, Any]:
    """A plan document of ``run`` whose masked inputs and outputs can be compared by digest."""
    by_urn = {r.urn: r for r in run.resources}
    resources = []
    for raw in document.get("resources", []):
        resource = by_urn.get(raw.get("urn"))
        digested = raw if resource is None else {**raw, "inputs": with_digests(raw.get("inputs"), resource.wire_inputs)}
        resources.append(digested)
    return {**document, "resources": resources, "outputs": with_digests(document.get("outputs"), run.wire_outputs)}


def _leaves(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)


def _secret_leaves(wire_value: Any) -> Iterator[str]:
    if _is_secret(wire_value):
        yield from _leaves(wire.provider_view(wire_value))
    elif isinstance(wire_value, Mapping):
        for v in wire_value.values():
            yield from _secret_leaves(v)
    elif isinstance(wire_value, list):
        for v in wire_value:
            yield from _secret_leaves(v)


def known_secrets(run: ProgramRun | None = None, config: Mapping[str, str] | None = None) -> set[str]:
    """Every secret value a run holds (wire inputs and outputs) and the stack's offline secret placeholders."""
    found: set[str] = set()
    if run is not None:
        for resource in run.resources:
            found.update(_secret_leaves(resource.wire_inputs))
            found.update(_secret_leaves(resource.wire_outputs))
        found.update(_secret_leaves(run.wire_outputs))
    for value in (config or {}).values():
        start = value.find(OFFLINE_SECRET_PREFIX)
        while start >= 0:
            end = start + len(OFFLINE_SECRET_PREFIX)
            while end < len(value) and value[end].isalnum():
                end += 1
            found.add(value[start:end])
            start = value.find(OFFLINE_SECRET_PREFIX, end)
    return {s for s in found if len(s) >= MIN_SCRUB_LENGTH}


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each secret (as written, and as it appears inside a JSON string) replaced by the mask."""
    for secret in sorted(secrets, key=len, reverse=True):
        for form in {secret, json.dumps(secret)[1:-1]}:
            if form in text:
                text = text.replace(form, SECRET_MASK)
    return text
