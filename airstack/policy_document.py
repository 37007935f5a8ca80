"""``aws.iam.get_policy_document`` computed as the AWS provider computes it, so programs get the real JSON offline.

The data source is pure: the provider (terraform-provider-aws ``data_source_policy_document.go`` and
``policy_model.go``) builds the document from its arguments without calling AWS. Rules that matter for what the
policy pack sees:

- ``Version`` defaults to ``2012-10-17``; ``policyId`` becomes ``Id``; a statement's ``Effect`` defaults to
  ``Allow``; an empty ``Sid`` is left out.
- A set of strings (actions, resources, principal identifiers) with one element is written as a string, with
  several as a list sorted in *reverse* order; ``&{`` in resources and values becomes ``${``.
- Principals of one type are merged into one key; a single ``type "*"`` with identifier ``"*"`` is the bare
  ``"*"``; objects are written with sorted keys (Go's ``encoding/json``).
- Condition values keep their order, values of the same test and variable are merged, one value is a string.
- ``sourcePolicyDocuments`` are merged first (a duplicate Sid among them is an error), then the statements, then
  ``overridePolicyDocuments``, a statement with a Sid replacing an earlier one with the same Sid.
- ``json`` is indented by two spaces, ``minifiedJson`` is compact, both escape ``<``, ``>`` and ``&`` as Go
  does; ``id`` is the CRC-32 of ``json``.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Mapping
from typing import Any

DEFAULT_VERSION = "2012-10-17"
VERSIONS = ("2008-10-17", "2012-10-17")
_SID = re.compile(r"^[a-zA-Z0-9]*$")
_STATEMENT_KEYS = ("Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Principal", "NotPrincipal",
                   "Condition")  # fmt: skip


class PolicyDocumentError(ValueError):
    """The arguments are invalid; the provider would fail the lookup with this message."""


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _normalized(value: Any) -> Any:
    """Arguments as the provider receives them: camelCase keys (a plain dict may use the SDK's snake_case)."""
    if isinstance(value, Mapping):
        return {_camel(str(k)): _normalized(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalized(v) for v in value]
    return value


def _strings(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    raise PolicyDocumentError(f"{what} must be a list of strings, not {json.dumps(value)}")


def _string_set(value: Any, what: str) -> str | list[str] | None:
    """A Terraform set of strings as the provider writes it: one element as a string, several reverse-sorted."""
    unique = sorted(set(_strings(value, what)), reverse=True)
    if not unique:
        return None
    return unique[0] if len(unique) == 1 else unique


def _replace_vars(value: str | list[str], version: str) -> str | list[str]:
    def one(item: str) -> str:
        if version == "2008-10-17" and "&{" in item:
            raise PolicyDocumentError(f"found &{{ sequence in ({item}), which is not supported in document version "
                                      "2008-10-17")  # fmt: skip
        return item.replace("&{", "${")

    return one(value) if isinstance(value, str) else [one(v) for v in value]


def _principal_set(blocks: Any, version: str, what: str) -> dict[str, Any] | str | None:
    entries: list[tuple[str, str | list[str]]] = []
    for block in blocks or []:
        if not isinstance(block, Mapping) or not isinstance(block.get("type"), str):
            raise PolicyDocumentError(f"{what}: each block needs a type and identifiers")
        identifiers = _string_set(block.get("identifiers"), f"{what}.identifiers")
        if identifiers is None:
            raise PolicyDocumentError(f"{what}: the block of type {block['type']} has no identifiers")
        entries.append((block["type"], _replace_vars(identifiers, version)))
    return _marshal_principals(entries)


def _marshal_principals(entries: list[tuple[str, str | list[str]]]) -> dict[str, Any] | str | None:
    if not entries:
        return None
    if len(entries) == 1 and entries[0][0] == "*" and entries[0][1] in ("*", ["*"]):
        return "*"
    raw: dict[str, Any] = {}
    for kind, identifiers in entries:
        current = raw.get(kind)
        if isinstance(identifiers, list):
            merged = [] if current is None else [current] if isinstance(current, str) else current
            raw[kind] = merged + sorted(identifiers, reverse=True)
        elif current is None:
            raw[kind] = identifiers
        else:
            raw[kind] = ([current] if isinstance(current, str) else current) + [identifiers]
    return dict(sorted(raw.items()))


def _condition_set(blocks: Any, version: str) -> dict[str, Any] | None:
    entries: list[tuple[str, str, list[str]]] = []
    for block in blocks or []:
        if not isinstance(block, Mapping) or not all(isinstance(block.get(k), str) for k in ("test", "variable")):
            raise PolicyDocumentError("condition: each block needs test, variable and values")
        values = _replace_vars(_strings(block.get("values"), "condition.values"), version)
        entries.append((block["test"], block["variable"], [values] if isinstance(values, str) else values))
    return _marshal_conditions(entries)


def _marshal_conditions(entries: list[tuple[str, str, list[str]]]) -> dict[str, Any] | None:
    if not entries:
        return None
    raw: dict[str, dict[str, list[str]]] = {}
    for test, variable, values in entries:
        raw.setdefault(test, {}).setdefault(variable, []).extend(values)
    return {
        test: {variable: values[0] if len(values) == 1 else values for variable, values in sorted(by_var.items())}
        for test, by_var in sorted(raw.items())
    }


def _statement(given: Any, index: int, version: str) -> dict[str, Any]:
    if not isinstance(given, Mapping):
        raise PolicyDocumentError(f"statements[{index}] must be an object")
    effect = given.get("effect") or "Allow"
    if effect not in ("Allow", "Deny"):
        raise PolicyDocumentError(f'statements[{index}].effect must be "Allow" or "Deny", not {effect!r}')
    sid = given.get("sid") or ""
    if not isinstance(sid, str) or not _SID.match(sid):
        raise PolicyDocumentError(f"statements[{index}].sid {sid!r} must only include alphanumeric characters")
    statement: dict[str, Any] = {"Sid": sid, "Effect": effect}
    statement["Action"] = _string_set(given.get("actions"), "actions")
    statement["NotAction"] = _string_set(given.get("notActions"), "notActions")
    for key, arg in (("Resource", "resources"), ("NotResource", "notResources")):
        value = _string_set(given.get(arg), arg)
        statement[key] = None if value is None else _replace_vars(value, version)
    statement["Principal"] = _principal_set(given.get("principals"), version, "principals")
    statement["NotPrincipal"] = _principal_set(given.get("notPrincipals"), version, "notPrincipals")
    statement["Condition"] = _condition_set(given.get("conditions"), version)
    return statement


def _parsed_statement(given: Any) -> dict[str, Any]:
    """A statement of a source or override JSON document, round-tripped as the provider's model does."""
    if not isinstance(given, Mapping):
        raise PolicyDocumentError("a statement of a merged policy document must be an object")
    statement = {key: given.get(key) for key in _STATEMENT_KEYS}
    for key in ("Principal", "NotPrincipal"):
        value = statement[key]
        if isinstance(value, str):
            statement[key] = _marshal_principals([("*", ["*"])])
        elif isinstance(value, Mapping):
            entries = [(str(k), sorted(v) if isinstance(v, list) else v) for k, v in value.items()]
            statement[key] = _marshal_principals(entries)
    condition = statement["Condition"]
    if isinstance(condition, Mapping):
        entries = []
        for test, by_var in condition.items():
            for variable, raw in (by_var or {}).items():
                value = str(raw).lower() if isinstance(raw, bool) else raw
                entries.append((str(test), str(variable), [str(v) for v in value] if isinstance(value, list)
                                else [str(value)]))  # fmt: skip
        statement["Condition"] = _marshal_conditions(entries)
    return statement


def _parsed_document(text: Any, what: str) -> dict[str, Any]:
    try:
        document = json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError as error:
        raise PolicyDocumentError(f"{what} is not valid JSON: {error}") from None
    if not isinstance(document, Mapping):
        raise PolicyDocumentError(f"{what} must be a JSON policy document")
    statements = document.get("Statement") or []
    statements = [statements] if isinstance(statements, Mapping) else statements
    return {
        "Version": str(document.get("Version") or ""),
        "Id": str(document.get("Id") or ""),
        "Statement": [_parsed_statement(s) for s in statements],
    }


def _merge(into: dict[str, Any], new: dict[str, Any]) -> None:
    if new["Id"]:
        into["Id"] = new["Id"]
    into["Version"] = max(into["Version"], new["Version"])
    for statement in new["Statement"]:
        sid = statement.get("Sid") or ""
        same = next((i for i, s in enumerate(into["Statement"]) if sid and s.get("Sid") == sid), None)
        if same is None:
            into["Statement"].append(statement)
        else:
            into["Statement"][same] = statement


def _clean(document: dict[str, Any]) -> dict[str, Any]:
    """Drop empty fields, as Go's ``omitempty`` does, keeping the provider's field order."""
    out: dict[str, Any] = {}
    for key in ("Version", "Id"):
        if document[key]:
            out[key] = document[key]
    statements = [{k: s[k] for k in _STATEMENT_KEYS if s.get(k) not in (None, "", [], {})}
                  for s in document["Statement"]]  # fmt: skip
    if statements:
        out["Statement"] = statements
    return out


def _go_json(value: Any, indent: int | None) -> str:
    text = json.dumps(value, indent=indent, ensure_ascii=False, separators=None if indent else (",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def policy_document(args: Mapping[str, Any]) -> dict[str, Any]:
    """The lookup's result: its arguments plus ``json``, ``minifiedJson`` and ``id``."""
    given = _normalized(dict(args))
    version = given.get("version") or DEFAULT_VERSION
    if version not in VERSIONS:
        raise PolicyDocumentError(f"version must be one of {', '.join(VERSIONS)}, not {version!r}")
    for deprecated in ("sourceJson", "overrideJson"):
        if given.get(deprecated):
            raise PolicyDocumentError(f"{deprecated} is no longer supported; use {deprecated[:-4]}PolicyDocuments")
    merged: dict[str, Any] = {"Version": "", "Id": "", "Statement": []}
    seen: set[str] = set()
    for index, text in enumerate(given.get("sourcePolicyDocuments") or []):
        if text is None:
            continue
        source = _parsed_document(text, f"sourcePolicyDocuments[{index}]")
        for statement in source["Statement"]:
            sid = statement.get("Sid") or ""
            if sid and sid in seen:
                raise PolicyDocumentError(f"duplicate Sid ({sid}) in sourcePolicyDocuments (document {index}); "
                                          "remove the Sid or make the Sids unique")  # fmt: skip
            if sid:
                seen.add(sid)
        _merge(merged, source)
    own = {"Version": version, "Id": str(given.get("policyId") or ""), "Statement": []}
    sids: set[str] = set()
    for index, statement in enumerate(given.get("statements") or []):
        built = _statement(statement, index, version)
        if built["Sid"] and built["Sid"] in sids:
            raise PolicyDocumentError(f"duplicate Sid ({built['Sid']}); remove the Sid or make the Sids unique")
        sids.add(built["Sid"])
        own["Statement"].append(built)
    _merge(merged, own)
    for index, text in enumerate(given.get("overridePolicyDocuments") or []):
        if text is not None:
            _merge(merged, _parsed_document(text, f"overridePolicyDocuments[{index}]"))
    document = _clean(merged)
    pretty = _go_json(document, indent=2)
    return {
        **given,
        "version": version,
        "json": pretty,
        "minifiedJson": _go_json(document, indent=None),
        "id": str(zlib.crc32(pretty.encode())),
    }
