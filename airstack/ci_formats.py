"""Plan results for CI: SARIF 2.1.0 for code scanning and GitHub Actions workflow-command annotations.

Pure functions of the plan JSON documents (``{"stack", "file", "violations": [{"policy", "level", "urn",
"message"}], ...}``, one per stack), so what CI uploads is exactly what ``airstack plan --json`` says.
A violation is reported on the stack file that produced it (``Pulumi.<stack>.yaml``), with the resource URN as
its logical location: the finding is about the stack's configuration, and the file is what a reviewer edits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SARIF_VERSION = "2.1.0"
LEVELS = {"mandatory": "error", "advisory": "warning"}
"""Pack enforcement level -> SARIF result level and GitHub annotation command (``disabled`` never reaches here)."""
TOOL = "airstack"


def _stack_file(plan: Mapping[str, Any], root: Path | None) -> str:
    """The stack file as a repository-relative POSIX path (what code scanning and annotations point at)."""
    raw = str(plan.get("file") or f"Pulumi.{plan.get('stack', 'stack')}.yaml")
    path = Path(raw)
    if root is not None and path.is_absolute():
        try:
            return PurePosixPath(path.resolve().relative_to(root.resolve())).as_posix()
        except ValueError:
            pass
    return PurePosixPath(path.name if path.is_absolute() else raw.replace("\\", "/")).as_posix()


def _violations(plans: Iterable[Mapping[str, Any]]) -> Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    for plan in plans:
        for violation in plan.get("violations") or []:
            yield plan, violation


def _level(violation: Mapping[str, Any]) -> str:
    return LEVELS.get(str(violation.get("level")), "warning")


def _resource_name(urn: str | None) -> str:
    return urn.rsplit("::", 1)[-1] if urn else "stack"


def to_sarif(
    plans: Sequence[Mapping[str, Any]],
    descriptions: Mapping[str, str] | None = None,
    *,
    root: Path | None = None,
    version: str | None = None,
) -> dict[str, Any]:
    """One SARIF run over every stack's violations.

    ``descriptions`` maps a policy name to its description (the pack's ``Policy.description``); a violation
    carrying its own ``description``/``fix`` (richer plan documents) is used when the mapping has none.
    ``root`` makes absolute stack file paths repository-relative.
    """
    descriptions = dict(descriptions or {})
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for plan, violation in _violations(plans):
        policy = str(violation.get("policy") or "unknown-policy")
        level = _level(violation)
        if policy not in rules:
            text = descriptions.get(policy) or str(violation.get("description") or "") or policy
            rule: dict[str, Any] = {
                "id": policy,
                "name": policy,
                "shortDescription": {"text": text.split(". ")[0].rstrip(".") + "."},
                "fullDescription": {"text": text},
                "defaultConfiguration": {"level": level},
                "properties": {"tags": ["pulumi-policy", "airstack"]},
            }
            if violation.get("fix"):
                rule["help"] = {"text": str(violation["fix"])}
            rules[policy] = rule
        elif level == "error":
            rules[policy]["defaultConfiguration"]["level"] = "error"
        stack = str(plan.get("stack") or "")
        urn = violation.get("urn")
        uri = _stack_file(plan, root)
        fingerprint = hashlib.sha256(f"{stack}|{policy}|{urn or ''}".encode()).hexdigest()
        results.append(
            {
                "ruleId": policy,
                "ruleIndex": list(rules).index(policy),
                "level": level,
                "message": {"text": str(violation.get("message") or policy)},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"},
                            "region": {"startLine": 1},
                        },
                        "logicalLocations": [
                            {
                                "name": _resource_name(urn),
                                "fullyQualifiedName": urn or f"stack {stack}",
                                "kind": "resource",
                            }
                        ],
                    }
                ],
                "partialFingerprints": {"airstackViolation/v1": fingerprint},
                "properties": {"stack": stack, "enforcementLevel": str(violation.get("level"))},
            }
        )
    driver: dict[str, Any] = {"name": TOOL, "rules": list(rules.values())}
    if version:
        driver["version"] = version
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {"driver": driver},
                "automationDetails": {"id": "airstack/plan/"},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def escape_data(value: str) -> str:
    """Escape a workflow command's message, as @actions/core does."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """Escape a workflow command property value: also ``:`` and ``,``, which separate properties."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def to_github_annotations(plans: Sequence[Mapping[str, Any]], *, root: Path | None = None) -> list[str]:
    """``::error file=...,title=...::message`` lines, one per violation (mandatory = error, advisory = warning)."""
    lines = []
    for plan, violation in _violations(plans):
        stack = str(plan.get("stack") or "")
        policy = str(violation.get("policy") or "unknown-policy")
        title = f"{policy} ({stack}: {_resource_name(violation.get('urn'))})"
        properties = f"file={escape_property(_stack_file(plan, root))},line=1,title={escape_property(title)}"
        message = str(violation.get("message") or policy)
        lines.append(f"::{_level(violation)} {properties}::{escape_data(message)}")
    return lines
