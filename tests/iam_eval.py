"""A small evaluator of IAM policy documents, enough to ask "may this role do this to that" of a plan.

Same-account evaluation: an explicit Deny in any applicable policy wins; otherwise an Allow in an identity policy
or in the resource's own policy (naming the principal) allows. Supports Action/NotAction, Resource/NotResource,
Principal ("*" or AWS ARNs) and the condition operators airstack's documents use: StringEquals, StringLike,
StringNotEquals, ArnEquals, ArnLike, Bool (with lists meaning "any of"). Unknown operators fail loudly.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _like(pattern: str, value: str, case_sensitive: bool = True) -> bool:
    # IAM wildcards: `*` any run, `?` one character; no character classes.
    pattern = pattern.replace("[", "[[]")
    return (
        fnmatch.fnmatchcase(value, pattern) if case_sensitive else fnmatch.fnmatchcase(value.lower(), pattern.lower())
    )


_OPERATORS = {
    "StringEquals": lambda want, got: got == want,
    "StringNotEquals": lambda want, got: got != want,
    "StringLike": _like,
    "ArnEquals": lambda want, got: got == want,
    "ArnLike": _like,
    "Bool": lambda want, got: str(got).lower() == str(want).lower(),
}


def _conditions_hold(conditions: Mapping[str, Any], context: Mapping[str, Any]) -> bool:
    for operator, tests in conditions.items():
        if operator not in _OPERATORS:
            raise ValueError(f"condition operator {operator} is not supported by this evaluator")
        check = _OPERATORS[operator]
        negated = operator.startswith("StringNot")
        for key, wanted in tests.items():
            if key not in context:
                if negated:
                    continue  # a missing key satisfies a negated operator
                return False
            got = context[key]
            if negated:
                if not all(check(w, got) for w in _listed(wanted)):
                    return False
            elif not any(check(w, got) for w in _listed(wanted)):
                return False
    return True


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)


def _matches(statement: Mapping[str, Any], request: Request, principal: str | None) -> bool:
    if "Action" in statement:
        if not any(_like(a, request.action, case_sensitive=False) for a in _listed(statement["Action"])):
            return False
    elif any(_like(a, request.action, case_sensitive=False) for a in _listed(statement.get("NotAction", []))):
        return False
    if "Resource" in statement:
        if not any(_like(r, request.resource) for r in _listed(statement["Resource"])):
            return False
    elif any(_like(r, request.resource) for r in _listed(statement.get("NotResource", []))):
        return False
    if principal is not None:
        named = statement.get("Principal")
        names = ["*"] if named == "*" else _listed(named.get("AWS", [])) if isinstance(named, Mapping) else []
        if "*" not in names and principal not in names:
            return False
    return _conditions_hold(statement.get("Condition", {}), request.context)


def statements_of(document: str | Mapping[str, Any]) -> list[Mapping[str, Any]]:
    parsed = json.loads(document) if isinstance(document, str) else document
    return list(_listed(parsed["Statement"]))


def allowed(
    request: Request,
    identity: Sequence[str | Mapping[str, Any]],
    resource_policy: str | Mapping[str, Any] | None = None,
    principal: str | None = None,
) -> bool:
    """Whether ``principal`` (with its ``identity`` policies) may make ``request``."""
    applicable = [(s, None) for d in identity for s in statements_of(d)]
    if resource_policy is not None:
        applicable += [(s, principal) for s in statements_of(resource_policy)]
    hits = [s for s, who in applicable if _matches(s, request, who)]
    if any(s.get("Effect") == "Deny" for s in hits):
        return False
    return any(s.get("Effect") == "Allow" for s in hits)
