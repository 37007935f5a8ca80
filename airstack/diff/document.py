"""A plan document (``airstack plan --json``), read tolerantly: today's shape and the older ones.

Documents come from this process or from an older revision's own code, so fields may be missing: before
2026-11-27 resources had no ``custom``/``remote``/``outputs``/``unknowns``, violations no ``description``, and the
cost had ``priceTable`` where it now has ``region``/``asOf``. Only what a diff needs is read: each resource's
identity, parent, protection and inputs; violations; the cost total and line items; the stack's outputs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

STACK_TYPE = "pulumi:pulumi:Stack"
PLATFORM_TYPE = "airstack:platform:AirflowPlatform"
"""The one component that holds every tier: resources are grouped by the tier under it."""
PROVIDERS = "providers"
STACK_GROUP = "stack"


class DocumentError(ValueError):
    """Not a plan document."""


def resource_key(urn: str) -> str:
    """A URN without its stack, so that ``dev`` and ``prod`` (or two files of one stack) line up.

    Default providers are named after the plugin version (``default_7_51_1``); a version bump is a change of
    that provider, not a new one. The stack resource is named after the stack: two stacks have one each.
    """
    parts = urn.split("::")
    if len(parts) < 4 or not parts[0].startswith("urn:pulumi:"):
        return urn
    project, qualified_type, name = parts[1], parts[2], "::".join(parts[3:])
    # Offline runs before 2026-11-27 prefixed the stack's type, as Pulumi's mocks do; the engine does not.
    qualified_type = qualified_type.removeprefix(f"{STACK_TYPE}$")
    if qualified_type.startswith("pulumi:providers:") and name.startswith("default"):
        name = "default"
    if qualified_type == STACK_TYPE:
        name = ""
    return f"{project}::{qualified_type}::{name}"


@dataclass(frozen=True)
class PlanResource:
    key: str
    urn: str
    type: str
    name: str
    parent: str | None
    """The parent's key."""
    protect: bool
    remote: bool
    inputs: Mapping[str, Any]


@dataclass(frozen=True)
class PlanViolation:
    policy: str
    level: str
    key: str
    """The resource's key, or empty for a stack-level violation."""
    resource: str
    """The resource's name as people know it (the last URN segment)."""
    message: str


@dataclass(frozen=True)
class PlanDocument:
    stack: str | None
    resources: dict[str, PlanResource]
    violations: list[PlanViolation]
    cost_total: float | None
    cost_items: dict[str, float]
    outputs: Mapping[str, Any]
    preview: bool | None = None
    notes: list[str] = field(default_factory=list)

    def group_of(self, key: str) -> str:
        """The component a resource belongs to: the tier under the platform, else its top-level parent."""
        chain: list[PlanResource] = []
        seen: set[str] = set()
        current: str | None = key
        while current is not None and current in self.resources and current not in seen:
            seen.add(current)
            chain.append(self.resources[current])
            current = self.resources[current].parent
        chain.reverse()
        if chain and chain[0].type == STACK_TYPE:
            chain = chain[1:]
            if not chain:
                return STACK_GROUP
        elif chain and chain[0].type.startswith("pulumi:providers:"):
            return PROVIDERS
        if not chain:
            return STACK_GROUP
        if chain[0].type == PLATFORM_TYPE and len(chain) > 1:
            return chain[1].name
        return chain[0].name


EMPTY = PlanDocument(stack=None, resources={}, violations=[], cost_total=0.0, cost_items={}, outputs={})
"""A stack that does not exist yet: everything in the other document is new."""


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def read_plan_document(document: Any) -> PlanDocument:
    """The parts of a plan document a diff needs; DocumentError when it is not one."""
    if isinstance(document, list) and len(document) == 1:
        document = document[0]
    if not isinstance(document, Mapping) or not isinstance(document.get("resources"), list):
        raise DocumentError("not an airstack plan document (no `resources` list)")
    remote = {
        str(r.get("urn"))
        for r in document.get("notExpandedOffline") or []
        if isinstance(r, Mapping) and r.get("urn") is not None
    }
    raws = {r["urn"]: r for r in document["resources"] if isinstance(r, Mapping) and isinstance(r.get("urn"), str)}
    keys = _Keys(raws)
    resources: dict[str, PlanResource] = {}
    for urn, raw in raws.items():
        parent = raw.get("parent")
        inputs = raw.get("inputs")
        resource = PlanResource(
            key=keys.of(urn),
            urn=urn,
            type=keys.type_of(urn),
            name=keys.name_of(urn),
            parent=keys.of(parent) if isinstance(parent, str) and parent else None,
            protect=bool(raw.get("protect", False)),
            remote=bool(raw.get("remote", urn in remote)),
            inputs=inputs if isinstance(inputs, Mapping) else {},
        )
        resources[resource.key] = resource
    raw_cost = document.get("cost")
    cost: Mapping[str, Any] = raw_cost if isinstance(raw_cost, Mapping) else {}
    items: dict[str, float] = defaultdict(float)
    for item in cost.get("items") or []:
        if isinstance(item, Mapping) and isinstance(item.get("item"), str):
            amount = _number(item.get("monthlyUsd"))
            if amount is not None:
                items[item["item"]] += amount
    outputs = document.get("outputs")
    return PlanDocument(
        stack=document.get("stack") if isinstance(document.get("stack"), str) else None,
        resources=resources,
        violations=_violations(document.get("violations"), keys),
        cost_total=_number(cost.get("monthlyUsd")),
        cost_items=dict(items),
        outputs=outputs if isinstance(outputs, Mapping) else {},
        preview=document.get("preview") if isinstance(document.get("preview"), bool) else None,
    )


class _Keys:
    """Each resource's key: its URN as the engine forms it, without the stack, rebuilt from the parents.

    The engine's URN qualifies a type with the types of all its ancestors below the stack; offline runs before
    2026-11-27 wrote only the parent's (as Pulumi's mocks do). Rebuilding the chain from the document's own
    parent links gives both the same key.
    """

    def __init__(self, raws: Mapping[str, Mapping[str, Any]]) -> None:
        self.raws = raws
        self.memo: dict[str, str] = {}

    def type_of(self, urn: str) -> str:
        raw = self.raws.get(urn, {})
        return str(raw.get("type") or urn.split("::")[2].rsplit("$", 1)[-1] if urn.count("::") >= 3 else urn)

    def name_of(self, urn: str) -> str:
        return str(self.raws.get(urn, {}).get("name") or urn.rsplit("::", 1)[-1])

    def _chain(self, urn: str) -> list[str]:
        types: list[str] = []
        seen: set[str] = set()
        current = self.raws.get(urn, {}).get("parent")
        while isinstance(current, str) and current in self.raws and current not in seen:
            seen.add(current)
            if self.type_of(current) == STACK_TYPE:
                break
            types.append(self.type_of(current))
            current = self.raws[current].get("parent")
        return [*reversed(types), self.type_of(urn)]

    def of(self, urn: str) -> str:
        if urn not in self.memo:
            if urn not in self.raws:
                self.memo[urn] = resource_key(urn)
            else:
                project = urn.split("::")[1] if urn.count("::") >= 3 else ""
                qualified = "$".join(self._chain(urn))
                self.memo[urn] = resource_key(f"urn:pulumi:_::{project}::{qualified}::{self.name_of(urn)}")
        return self.memo[urn]


def _violations(raw: Any, keys: _Keys) -> list[PlanViolation]:
    found = []
    for v in raw if isinstance(raw, list) else []:
        if not isinstance(v, Mapping):
            continue
        urn = v.get("urn") if isinstance(v.get("urn"), str) else ""
        found.append(
            PlanViolation(
                policy=str(v.get("policy", "?")),
                level=str(v.get("level", "advisory")),
                key=keys.of(urn) if urn else "",
                resource=urn.rsplit("::", 1)[-1] if urn else "",
                message=str(v.get("message", "")),
            )
        )
    return found
