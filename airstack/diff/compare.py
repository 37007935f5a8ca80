"""The difference between two plan documents: resources, violations, cost and outputs, and its summary line.

Pure: two documents in, one ``PlanDiff`` out. Resources are matched by URN without the stack, so two stacks of
one program compare resource by resource. A resource's inputs decide whether it changed (outputs are the
provider's business), together with ``protect``; the replacement table decides how a change is applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from airstack.diff.document import PlanDocument, PlanResource, PlanViolation
from airstack.diff.replacement import classify
from airstack.diff.values import Change, diff_properties

ACTION_ORDER = {"replace": 0, "delete": 1, "update": 2, "new-version": 3, "create": 4}
CENT = 0.005


@dataclass(frozen=True)
class ResourceDiff:
    key: str
    urn: str
    type: str
    name: str
    group: str
    action: str
    """``create``, ``delete``, ``update``, ``replace`` or ``new-version``."""
    changes: tuple[Change, ...] = ()
    because: tuple[str, ...] = ()
    """For ``replace``/``new-version``: the changed inputs that force it."""
    label: str = ""
    protect_before: bool = False
    protect_after: bool = False
    remote: bool = False

    @property
    def blocked(self) -> bool:
        """`pulumi up` refuses: the deployed resource is protected and this would delete it."""
        return self.protect_before and self.action in ("replace", "delete")

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "component": self.group,
            "action": self.action,
            "changes": [c.as_dict() for c in self.changes],
        }
        if self.because:
            out["forcedBy"] = list(self.because)
        if self.label:
            out["label"] = self.label
        if self.action in ("update", "replace", "new-version") and self.protect_before != self.protect_after:
            out["protect"] = {"old": self.protect_before, "new": self.protect_after}
        if self.blocked:
            out["blockedByProtect"] = True
        if self.remote:
            out["notExpandedOffline"] = True
        return out


@dataclass(frozen=True)
class ViolationDiff:
    new: tuple[PlanViolation, ...] = ()
    resolved: tuple[PlanViolation, ...] = ()
    changed: tuple[tuple[PlanViolation, PlanViolation], ...] = ()
    """(before, after) of a policy still violated by the same resource, with another message or level."""

    def as_dict(self) -> dict[str, Any]:
        def one(v: PlanViolation) -> dict[str, Any]:
            return {"policy": v.policy, "level": v.level, "resource": v.resource, "message": v.message}

        return {
            "new": [one(v) for v in self.new],
            "resolved": [one(v) for v in self.resolved],
            "changed": [{**one(a), "oldLevel": b.level, "oldMessage": b.message} for b, a in self.changed],
        }


@dataclass(frozen=True)
class CostItemDiff:
    item: str
    before: float | None
    after: float | None

    @property
    def delta(self) -> float:
        return (self.after or 0.0) - (self.before or 0.0)


@dataclass(frozen=True)
class CostDiff:
    before: float | None
    after: float | None
    items: tuple[CostItemDiff, ...] = ()

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    @property
    def changed(self) -> bool:
        return (self.delta is not None and abs(self.delta) >= CENT) or bool(self.items)

    def as_dict(self) -> dict[str, Any]:
        delta = self.delta
        return {
            "monthlyUsdBefore": self.before,
            "monthlyUsdAfter": self.after,
            "deltaUsd": None if delta is None else round(delta, 2),
            "items": [
                {"item": i.item, "before": i.before, "after": i.after, "deltaUsd": round(i.delta, 2)}
                for i in self.items
            ],
        }


@dataclass(frozen=True)
class PlanDiff:
    base: str
    target: str
    resources: tuple[ResourceDiff, ...]
    violations: ViolationDiff
    cost: CostDiff
    outputs: tuple[Change, ...]
    notes: tuple[str, ...] = field(default=())

    def count(self, *actions: str) -> int:
        return sum(1 for r in self.resources if r.action in actions)

    @property
    def empty(self) -> bool:
        return not (
            self.resources
            or self.violations.new
            or self.violations.resolved
            or self.violations.changed
            or self.cost.changed
            or self.outputs
        )

    @property
    def summary(self) -> str:
        return summary_line(self)

    def as_dict(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "target": self.target,
            "summary": self.summary,
            "counts": {
                "added": self.count("create"),
                "changed": self.count("update", "replace", "new-version"),
                "removed": self.count("delete"),
                "replaced": self.count("replace"),
                "newVersions": self.count("new-version"),
                "blockedByProtect": sum(1 for r in self.resources if r.blocked),
                "newViolations": len(self.violations.new),
                "resolvedViolations": len(self.violations.resolved),
            },
            "resources": [r.as_dict() for r in self.resources],
            "violations": self.violations.as_dict(),
            "cost": self.cost.as_dict(),
            "outputs": [c.as_dict() for c in self.outputs],
            "notes": list(self.notes),
        }


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def money(amount: float, *, signed: bool = False) -> str:
    sign = ("+" if amount >= 0 else "-") if signed else ("-" if amount < 0 else "")
    return f"{sign}${abs(amount):,.2f}"


def summary_line(diff: PlanDiff) -> str:
    """``+3 ~2 -1, 1 replaced, 1 new violation, 1 resolved violation, +$41.20/month``, or ``no changes``.

    The grammar, part by part, each only when it is not zero, joined by ", ":
    resources as ``+added ~changed -removed`` (changed counts updates, replacements and new versions; zero
    counts left out, e.g. ``+3`` or ``~1 -2``); ``N replaced``; ``N new violation(s)``; ``N resolved
    violation(s)``; the monthly cost delta as ``+$41.20/month`` or ``-$3.10/month`` (to the cent). When none
    of these differ but something else does: ``no resource changes, `` and what did (``N output(s) changed``,
    ``N violation(s) changed``: still violated, with another message or level; ``cost line items changed``).
    When nothing differs: ``no changes``.
    """
    parts: list[str] = []
    counts = [("+", diff.count("create")), ("~", diff.count("update", "replace", "new-version")),
              ("-", diff.count("delete"))]  # fmt: skip
    resources = " ".join(f"{sign}{n}" for sign, n in counts if n)
    if resources:
        parts.append(resources)
    if replaced := diff.count("replace"):
        parts.append(f"{replaced} replaced")
    if diff.violations.new:
        parts.append(_plural(len(diff.violations.new), "new violation"))
    if diff.violations.resolved:
        parts.append(_plural(len(diff.violations.resolved), "resolved violation"))
    delta = diff.cost.delta
    if delta is not None and abs(delta) >= CENT:
        parts.append(f"{money(delta, signed=True)}/month")
    if parts:
        return ", ".join(parts)
    if diff.outputs:
        parts.append(f"{_plural(len(diff.outputs), 'output')} changed")
    if diff.violations.changed:
        parts.append(f"{_plural(len(diff.violations.changed), 'violation')} changed")
    if diff.cost.items:
        parts.append("cost line items changed")
    return ", ".join(["no resource changes", *parts]) if parts else "no changes"


def compare(base: PlanDocument, target: PlanDocument, *, base_label: str, target_label: str) -> PlanDiff:
    resources = [*_resource_diffs(base, target)]
    resources.sort(key=lambda r: (r.group, ACTION_ORDER[r.action], r.name, r.key))
    notes = _notes(base, target)
    return PlanDiff(
        base=base_label,
        target=target_label,
        resources=tuple(resources),
        violations=_violation_diff(base.violations, target.violations),
        cost=_cost_diff(base, target),
        outputs=tuple(diff_properties(base.outputs, target.outputs)),
        notes=tuple(notes),
    )


def _resource_diffs(base: PlanDocument, target: PlanDocument) -> list[ResourceDiff]:
    out: list[ResourceDiff] = []
    for key, new in target.resources.items():
        old = base.resources.get(key)
        if old is None:
            out.append(_whole(new, "create", target.group_of(key)))
            continue
        changed = _changed(old, new, target.group_of(key))
        if changed is not None:
            out.append(changed)
    for key, old in base.resources.items():
        if key not in target.resources:
            out.append(_whole(old, "delete", base.group_of(key)))
    return out


def _whole(resource: PlanResource, action: str, group: str) -> ResourceDiff:
    return ResourceDiff(
        key=resource.key,
        urn=resource.urn,
        type=resource.type,
        name=resource.name,
        group=group,
        action=action,
        protect_before=resource.protect if action == "delete" else False,
        protect_after=resource.protect if action == "create" else False,
        remote=resource.remote,
    )


def _changed(old: PlanResource, new: PlanResource, group: str) -> ResourceDiff | None:
    changes = tuple(diff_properties(old.inputs, new.inputs))
    if not changes and old.protect == new.protect:
        return None
    verdict = classify(new.type, (c.top for c in changes))
    action = verdict.action if changes else "update"
    return ResourceDiff(
        key=new.key,
        urn=new.urn,
        type=new.type,
        name=new.name,
        group=group,
        action=action,
        changes=changes,
        because=verdict.because if action == verdict.action else (),
        label=verdict.label,
        protect_before=old.protect,
        protect_after=new.protect,
        remote=new.remote,
    )


def _violation_diff(before: list[PlanViolation], after: list[PlanViolation]) -> ViolationDiff:
    """Same policy, resource and message: unchanged. Same policy and resource otherwise: still violated, changed
    (a message with the offending value in it changes with the value). Whatever is left is new or resolved."""
    old, new = list(before), list(after)
    for v in list(new):
        match = next((o for o in old if (o.policy, o.key, o.message, o.level) == (v.policy, v.key, v.message, v.level)),
                     None)  # fmt: skip
        if match is not None:
            old.remove(match)
            new.remove(v)
    changed = []
    for v in list(new):
        match = next((o for o in old if (o.policy, o.key) == (v.policy, v.key)), None)
        if match is not None:
            old.remove(match)
            new.remove(v)
            changed.append((match, v))
    order = {"mandatory": 0, "advisory": 1}

    def sort(items: list[PlanViolation]) -> tuple[PlanViolation, ...]:
        return tuple(sorted(items, key=lambda v: (order.get(v.level, 2), v.policy, v.resource, v.message)))

    return ViolationDiff(new=sort(new), resolved=sort(old), changed=tuple(changed))


def _cost_diff(base: PlanDocument, target: PlanDocument) -> CostDiff:
    items = []
    for item in dict.fromkeys([*base.cost_items, *target.cost_items]):
        before, after = base.cost_items.get(item), target.cost_items.get(item)
        if abs((after or 0.0) - (before or 0.0)) >= CENT:
            items.append(CostItemDiff(item, before, after))
    items.sort(key=lambda i: (-abs(i.delta), i.item))
    return CostDiff(base.cost_total, target.cost_total, tuple(items))


def _notes(base: PlanDocument, target: PlanDocument) -> list[str]:
    notes = [*base.notes, *target.notes]
    if base.preview is not None and target.preview is not None and base.preview != target.preview:
        notes.append("one side was planned as a first preview (outputs unknown) and the other as deployed")
    return notes
