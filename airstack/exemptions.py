"""Intentional exceptions to the policy pack: read back from the pack's answers, and checked before it runs.

The pack honours exemptions itself (so that ``pulumi preview`` and ``airstack plan`` agree): a resource tagged
``airstack:exempt = "<policy> [<policy> ...]: <reason>"``, or listed in a policy's pack config
``exemptions: [{resource, reason}]``. An exempted finding comes back as the policy being not applicable with
``exempted: [{urn, message, reason}]``; here it becomes an ``Exempted`` finding, reported beside the violations.

airstack is stricter than the engine about the tag, as about the pack config: a tag without a reason, or naming
a policy the pack does not have, is an error before anything is evaluated.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

EXEMPT_TAG = "airstack:exempt"
EXEMPTED_PREFIX = "exempted: "
_NAMES = re.compile(r"[\s,]+")


class ExemptionError(Exception):
    """An exemption tag is malformed: no reason, no policy, or a policy the pack does not have."""


@dataclass(frozen=True)
class Exempted:
    policy: str
    level: str
    """The level the finding would have had."""
    urn: str
    message: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"policy": self.policy, "level": self.level, "urn": self.urn, "message": self.message,
                "reason": self.reason}  # fmt: skip


def parse_tag(value: str) -> tuple[list[str], str]:
    """``"a b: reason"`` -> (["a", "b"], "reason"), as the pack reads it."""
    names, _, reason = value.partition(":")
    return [n for n in _NAMES.split(names.strip()) if n], reason.strip()


def exempted_findings(not_applicable: Iterable[tuple[str, str, str]], levels: Mapping[str, str]) -> list[Exempted]:
    """The exempted findings among the pack's not-applicable answers ``(policy, resource urn, reason)``;
    ``levels`` is each policy's configured level."""
    known = set(levels)
    found = []
    for policy, urn, reason in not_applicable:
        if policy not in known or not reason.startswith(EXEMPTED_PREFIX):
            continue
        try:
            entries = json.loads(reason[len(EXEMPTED_PREFIX) :])
        except ValueError:
            continue
        level = levels[policy]
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict):
                found.append(Exempted(policy, "mandatory" if level == "remediate" else level,
                                      str(entry.get("urn") or urn), str(entry.get("message", "")),
                                      str(entry.get("reason", ""))))  # fmt: skip
    return sorted(found, key=lambda e: (e.policy, e.urn, e.message))


def check_tags(resources: Iterable[Any], policy_names: Iterable[str]) -> None:
    """Refuse exemption tags that would exempt nothing: no reason, no policy, or a policy the pack lacks.

    ``resources`` are the run's resources (``urn``, ``name`` and provider-view ``inputs``).
    """
    names = set(policy_names)
    problems = []
    for resource in resources:
        tags = resource.inputs.get("tags") if isinstance(resource.inputs, Mapping) else None
        value = tags.get(EXEMPT_TAG) if isinstance(tags, Mapping) else None
        if value is None:
            continue
        policies, reason = parse_tag(str(value))
        where = f"{resource.name} ({resource.urn})"
        unknown = [p for p in policies if p not in names]
        if not policies:
            problems.append(f"{where}: the {EXEMPT_TAG} tag {value!r} names no policy")
        elif unknown:
            problems.append(f"{where}: the {EXEMPT_TAG} tag names {', '.join(unknown)}, which the pack does not have")
        if policies and not reason:
            problems.append(f"{where}: the {EXEMPT_TAG} tag exempts {', '.join(policies)} without a reason")
    if problems:
        raise ExemptionError(
            "invalid exemptions (write the tag as `<policy> [<policy> ...]: <reason>`): " + "; ".join(problems)
        )
