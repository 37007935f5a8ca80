"""How every rule of the pack is built: its description, how to fix a violation, and per-resource exemptions.

An intentional exception (a public website bucket, a listener that must face the internet) is written down
next to the resource, with a reason, and is honoured wherever the pack runs — by ``pulumi preview`` as by
``airstack plan``:

- a tag on the resource: ``airstack:exempt`` = ``"<policy> [<policy> ...]: <reason>"`` (names separated by
  spaces or commas; AWS tag values allow letters, digits, spaces and ``_ . : / = + - @``);
- or the policy's pack config: ``"exemptions": [{"resource": "<name or URN>", "reason": "<why>"}]`` (for
  resources that carry no tags, such as bucket policies and listeners' attachments).

An exemption without a reason exempts nothing (the pack config's schema refuses it). An exempted finding is not
a violation; the policy reports it as not applicable with the reason ``exempted: [{urn, message, reason}]``, so
that it stays visible in the engine's output and in ``airstack plan``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from airstack_policies._props import tags_of

EXEMPT_TAG = "airstack:exempt"
EXEMPTED_PREFIX = "exempted: "
_NAMES = re.compile(r"[\s,]+")

EXEMPTIONS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "description": "Resources this policy does not apply to, each with the reason (intentional exceptions).",
    "items": {
        "type": "object",
        "properties": {
            "resource": {"type": "string", "minLength": 1, "description": "the resource's name or URN"},
            "reason": {"type": "string", "minLength": 1, "pattern": "\\S", "description": "why it is exempt"},
        },
        "required": ["resource", "reason"],
        "additionalProperties": False,
    },
}


def parse_exempt_tag(value: Any) -> tuple[list[str], str]:
    """``"a b: reason"`` -> (["a", "b"], "reason"); a value without ``:`` or reason gives an empty reason."""
    names, _, reason = str(value).partition(":")
    return [n for n in _NAMES.split(names.strip()) if n], reason.strip()


def exemption(policy: str, name: str, urn: str, props: Any, config: Mapping[str, Any]) -> str | None:
    """The reason ``policy`` does not apply to this resource, if it is exempted (pack config first, then tag)."""
    for entry in config.get("exemptions") or []:
        if isinstance(entry, Mapping) and entry.get("resource") in (name, urn) and str(entry.get("reason", "")).strip():
            return str(entry["reason"]).strip()
    tag = tags_of(props).get(EXEMPT_TAG)
    if isinstance(tag, str):
        names, reason = parse_exempt_tag(tag)
        if policy in names and reason:
            return reason
    return None


def _not_applicable(args: Any, exempted: list[dict[str, str]]) -> None:
    args.not_applicable(EXEMPTED_PREFIX + json.dumps(exempted, sort_keys=True))


def _schema(properties: dict[str, Any] | None) -> PolicyConfigSchema:
    return PolicyConfigSchema(properties={**(properties or {}), "exemptions": EXEMPTIONS_SCHEMA})


ResourceCheck = Callable[[ResourceValidationArgs, ReportViolation], None]
StackCheck = Callable[[StackValidationArgs, ReportViolation], None]


def resource_policy(
    name: str,
    description: str,
    fix: str,
    validate: ResourceCheck,
    level: EnforcementLevel = EnforcementLevel.MANDATORY,
    properties: dict[str, Any] | None = None,
) -> ResourceValidationPolicy:
    def run(args: ResourceValidationArgs, report: ReportViolation) -> None:
        reason = exemption(name, args.name, args.urn, args.props, args.get_config())
        if reason is None:
            validate(args, report)
            return
        found: list[str] = []
        validate(args, lambda message, _urn=None: found.append(message))
        if found:
            _not_applicable(args, [{"urn": args.urn, "message": m, "reason": reason} for m in found])

    return ResourceValidationPolicy(name=name, description=description, validate=run, enforcement_level=level,
                                    config_schema=_schema(properties), remediation_steps=fix)  # fmt: skip


def stack_policy(
    name: str,
    description: str,
    fix: str,
    validate: StackCheck,
    level: EnforcementLevel = EnforcementLevel.MANDATORY,
    properties: dict[str, Any] | None = None,
) -> StackValidationPolicy:
    def run(args: StackValidationArgs, report: ReportViolation) -> None:
        by_urn = {r.urn: r for r in args.resources}
        config = args.get_config()
        exempted: list[dict[str, str]] = []

        def judge(message: str, urn: str | None = None) -> None:
            resource = by_urn.get(urn) if urn else None
            reason = exemption(name, resource.name, resource.urn, resource.props, config) if resource else None
            if reason is None:
                report(message, urn)
            else:
                exempted.append({"urn": str(urn), "message": message, "reason": reason})

        validate(args, judge)
        if exempted:
            _not_applicable(args, exempted)

    return StackValidationPolicy(name=name, description=description, validate=run, enforcement_level=level,
                                 config_schema=_schema(properties), remediation_steps=fix)  # fmt: skip
