"""Property values in Pulumi's wire form, and the views the engine derives from them.

The Pulumi SDK sends resource properties to the engine as a protobuf ``Struct`` whose special values are
objects with a signature key: secrets, assets, archives, resource references and output values; an unknown
value (not known before deployment) is a sentinel string. ``json_format.MessageToDict`` of that struct is the
*wire form* used here. Numbers are floats on the wire, as they are in the engine.

Three views are derived from it, each as the engine derives it:

- ``provider_view``: what a provider sees — secrets unwrapped, resource references as their ID (or URN),
  output values as their value; unknowns stay the sentinel.
- ``analyzer_view``: what the engine marshals for a policy analyzer (``KeepUnknowns``, ``KeepSecrets``,
  ``SkipInternalKeys``; no resource references): secrets stay wrapped, references become IDs.
- ``display_view``: deterministic JSON for people and tools — secrets masked, unknowns ``None`` with their
  paths reported, integral numbers as integers, assets and archives described.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

SIG = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17"
ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7"

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""The engine's sentinel for a value that is not known yet (every unknown is sent as the string one)."""
_UNKNOWN_SENTINELS = frozenset(
    {
        UNKNOWN,
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",  # boolean
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",  # number
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",  # array
        "030794c1-ac77-496b-92df-f27374a8bd58",  # asset
        "e48ece36-62e2-4504-bad9-02848725956a",  # archive
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",  # object
    }
)
SECRET_MASK = "[secret]"


def is_unknown(value: Any) -> bool:
    return isinstance(value, str) and value in _UNKNOWN_SENTINELS


def signature(value: Any) -> str | None:
    return value.get(SIG) if isinstance(value, dict) and isinstance(value.get(SIG), str) else None


def _reference_value(ref: dict[str, Any]) -> Any:
    # A reference to a custom resource is its ID; to a component (no ID), its URN. An ID that is not known
    # yet stays unknown.
    if "id" in ref:
        return ref["id"] if ref["id"] != "" else UNKNOWN
    return ref.get("urn", UNKNOWN)


def _output_value(out: dict[str, Any], keep_secret: bool) -> Any:
    value = out.get("value", UNKNOWN)
    if keep_secret and out.get("secret"):
        return {SIG: SECRET_SIG, "value": value}
    return value


def provider_view(value: Any) -> Any:  # noqa: PLR0911 (one return per kind of wire value)
    """Secrets unwrapped, references as IDs: the plain values a provider (and a mock) receives."""
    sig = signature(value)
    if sig == SECRET_SIG:
        return provider_view(value.get("value"))
    if sig == RESOURCE_SIG:
        return _reference_value(value)
    if sig == OUTPUT_SIG:
        return provider_view(_output_value(value, keep_secret=False))
    if sig in (ASSET_SIG, ARCHIVE_SIG):
        return value
    if isinstance(value, dict):
        return {k: provider_view(v) for k, v in value.items()}
    if isinstance(value, list):
        return [provider_view(v) for v in value]
    return value


def analyzer_view(value: Any, *, top: bool = True) -> Any:  # noqa: PLR0911 (one return per kind of wire value)
    """The engine's ``MarshalProperties(KeepUnknowns, KeepSecrets, SkipInternalKeys)`` of a property map."""
    sig = signature(value)
    if sig == SECRET_SIG:
        return {SIG: SECRET_SIG, "value": analyzer_view(value.get("value"), top=False)}
    if sig == RESOURCE_SIG:
        return _reference_value(value)
    if sig == OUTPUT_SIG:
        return analyzer_view(_output_value(value, keep_secret=True), top=False)
    if sig in (ASSET_SIG, ARCHIVE_SIG):
        return value
    if isinstance(value, dict):
        return {k: analyzer_view(v, top=False) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, list):
        return [analyzer_view(v, top=False) for v in value]
    return value


def contains_secret(value: Any) -> bool:
    sig = signature(value)
    if sig == SECRET_SIG or (sig == OUTPUT_SIG and value.get("secret")):
        return True
    if isinstance(value, dict):
        return any(contains_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_secret(v) for v in value)
    return False


def _number(value: float) -> int | float:
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _describe_asset(value: dict[str, Any]) -> dict[str, Any]:
    kind = "asset" if signature(value) == ASSET_SIG else "archive"
    body: dict[str, Any] = {}
    for key in ("path", "uri"):
        if key in value:
            body[key] = value[key]
    if "text" in value:
        body["textBytes"] = len(str(value["text"]).encode())
    if "assets" in value and isinstance(value["assets"], dict):
        body["assets"] = sorted(value["assets"])
    if "hash" in value:
        body["hash"] = value["hash"]
    return {kind: body}


def display_view(  # noqa: PLR0911 (one return per kind of wire value)
    value: Any, path: str = "", unknowns: list[str] | None = None, masked: Callable[[str], bool] = lambda _: False
) -> Any:
    """Deterministic, JSON-ready: secrets masked, unknowns ``None`` (their paths appended to ``unknowns``)."""
    sig = signature(value)
    if sig == SECRET_SIG or masked(path):
        return SECRET_MASK
    if sig == OUTPUT_SIG:
        if value.get("secret"):
            return SECRET_MASK
        return display_view(_output_value(value, keep_secret=False), path, unknowns, masked)
    if sig == RESOURCE_SIG:
        return display_view(_reference_value(value), path, unknowns, masked)
    if sig in (ASSET_SIG, ARCHIVE_SIG):
        return _describe_asset(value)
    if is_unknown(value):
        if unknowns is not None:
            unknowns.append(path or ".")
        return None
    if isinstance(value, dict):
        return {k: display_view(v, f"{path}.{k}" if path else k, unknowns, masked) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [display_view(v, f"{path}[{i}]", unknowns, masked) for i, v in enumerate(value)]
    if isinstance(value, float):
        return _number(value)
    return value


def plain_numbers(value: Any) -> Any:
    """Integral floats (all numbers arrive as floats) back to integers, recursively."""
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, dict):
        return {k: plain_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_numbers(v) for v in value]
    return value
