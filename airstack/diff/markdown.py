"""A ``PlanDiff`` as Markdown for a pull-request comment.

The first line is the summary (``+3 ~2 -1, 1 replaced, ...``), alone; a diff with nothing in it is the single
line ``no changes``. Then what `pulumi up` would refuse (protected resources deleted or replaced), the changed
resources grouped by component with their input changes, new and resolved violations, the cost delta, and
changed stack outputs. Long lists fold into ``<details>``, and the whole stays under ``max_chars``: GitHub
refuses comments over 65,536 characters, and the preview workflow posts all four stacks in one comment.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable

from airstack.diff.compare import ACTION_ORDER, CostDiff, PlanDiff, ResourceDiff, ViolationDiff, money
from airstack.diff.document import PlanViolation
from airstack.diff.values import Change, render

DEFAULT_MAX_CHARS = 15_000
"""A quarter of GitHub's comment limit (65,536), with room for the headings of four stacks."""
FOLD_RESOURCES = 8
FOLD_CHANGES = 10
MAX_NAMED_GROUPS = 8
SYMBOL = {"create": "+", "delete": "-", "update": "~", "replace": "+-", "new-version": "~"}
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")


def render_markdown(diff: PlanDiff, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    if diff.empty:
        return "no changes"
    head = _head(diff)
    tail_caps = 25
    while True:
        tail = [*_violations(diff.violations, tail_caps), *_cost(diff.cost, tail_caps),
                *_outputs(diff.outputs, tail_caps), *_notes(diff.notes)]  # fmt: skip
        fixed = len(head) + sum(len(block) + 2 for block in tail)
        if fixed <= max_chars // 2 or tail_caps <= 3:
            break
        tail_caps //= 2
    budget = max(max_chars - fixed - 400, 0)
    body = _resources(diff, budget)
    text = "\n\n".join([head, *body, *tail])
    if len(text) > max_chars:  # only when even the short forms do not fit: cut at a line
        cut = text.rfind("\n", 0, max_chars - 80)
        text = text[: max(cut, 0)] + "\n\n… (cut to fit a comment; `airstack diff --json` has everything)"
    return text


# ------------------------------------------------------------------------------------------------- head


def _head(diff: PlanDiff) -> str:
    lines = [diff.summary, "", f"{_escape(diff.base)} → {_escape(diff.target)}"]
    blocked = [r for r in diff.resources if r.blocked]
    if blocked:
        lines += ["", "> [!CAUTION]", "> **`pulumi up` will refuse this**: protected resources would be deleted."]
        for r in blocked:
            how = f"**replaced** ({_because(r)})" if r.action == "replace" else "**deleted**"
            lines.append(f"> - {_code(r.name)} ({_code(r.type)}) would be {how}")
        lines.append("> Unprotect on purpose (`pulumi state unprotect`) after a backup, or change the program.")
    providers = [r for r in diff.resources if r.type.startswith("pulumi:providers:") and r.action == "replace"]
    for r in providers:
        lines += ["", "> [!WARNING]", f"> The {_code(r.type.rsplit(':', 1)[-1])} provider is replaced "
                  f"({_because(r)}): every resource it manages is replaced with it."]  # fmt: skip
    return "\n".join(lines)


def _because(r: ResourceDiff) -> str:
    names = ", ".join(_code(t) for t in r.because)
    if r.action == "new-version":
        return f"{names} changed"
    return f"{names} {'forces' if len(r.because) == 1 else 'force'} a new resource" if names else "type changed"


# --------------------------------------------------------------------------------------------- resources


def _resources(diff: PlanDiff, budget: int) -> list[str]:
    grouped: dict[str, list[ResourceDiff]] = defaultdict(list)
    for r in diff.resources:
        grouped[r.group].append(r)
    # The most serious first (protected, replaced, deleted), so a cut drops the least important.
    groups = sorted(grouped.items(), key=lambda g: (min(_severity(r) for r in g[1]), g[0]))
    blocks: list[str] = []
    used = 0
    left: list[ResourceDiff] = []
    left_groups: list[str] = []
    for group, members in groups:
        if left:
            left += members
            left_groups.append(group)
            continue
        entries = [_resource(r) for r in members]
        heading = f"#### {_escape(group)} ({_counts(members)})"
        fold = len(members) > FOLD_RESOURCES
        count = _fitting(entries, budget - used - len(_group_block(heading, [], fold, len(members))) - 2)
        if count < len(entries):
            left += members[count:]
            left_groups.append(group)
        if count > 0:
            block = _group_block(heading, entries[:count], fold, len(members))
            blocks.append(block)
            used += len(block) + 2
    if left:
        where = ", ".join(_escape(g) for g in left_groups[:MAX_NAMED_GROUPS])
        if len(left_groups) > MAX_NAMED_GROUPS:
            where += f" and {len(left_groups) - MAX_NAMED_GROUPS} more components"
        blocks.append(
            f"… and {len(left)} more changed resources not shown here ({_counts(left)}, in {where}); "
            "`airstack diff --json` lists every change."
        )
    return blocks


def _severity(r: ResourceDiff) -> int:
    return -1 if r.blocked else ACTION_ORDER[r.action]


def _fitting(entries: list[str], room: int) -> int:
    """How many of the entries, in order, fit in ``room`` characters (one newline between them)."""
    size = 0
    for count, entry in enumerate(entries):
        size += len(entry) + 1
        if size > room:
            return count
    return len(entries)


def _group_block(heading: str, entries: list[str], fold: bool, total: int) -> str:
    body = "\n".join(entries)
    if fold:
        body = f"<details><summary>{total} resources</summary>\n\n{body}\n\n</details>"
    return f"{heading}\n\n{body}"


def _counts(members: Iterable[ResourceDiff]) -> str:
    counter = Counter({"create": "+", "delete": "-"}.get(r.action, "~") for r in members)
    return " ".join(f"{sign}{counter[sign]}" for sign in ("+", "~", "-") if counter[sign])


def _resource(r: ResourceDiff) -> str:
    line = f"- `{SYMBOL[r.action]}` **{_code(r.name)}** {_code(r.type)}"
    if r.action == "replace":
        line += f" **replaced** ({_because(r)})"
    elif r.action == "new-version":
        line += f" {r.label}"
    if r.action in ("update", "replace", "new-version") and r.protect_before != r.protect_after:
        line += " · protect " + ("on" if r.protect_after else "off")
    elif r.action == "create" and r.protect_after:
        line += " · protected"
    if r.remote:
        line += " · its children are created by its provider and are not listed offline"
    changes = [_change(c, forces=r.action == "replace" and c.top in r.because) for c in r.changes]
    if not changes:
        return line
    listed = "\n".join(f"  - {c}" for c in changes)
    if len(changes) > FOLD_CHANGES:
        return f"{line}\n  <details><summary>{len(changes)} changes</summary>\n\n{listed}\n\n  </details>"
    return f"{line}\n{listed}"


def _change(c: Change, *, forces: bool) -> str:
    path = _code(c.path)
    if c.kind == "secret":
        text = f"{path}: secret changed"
    elif c.kind == "added":
        text = f"{path}: added {_code(render(c.new))}"
    elif c.kind == "removed":
        text = f"{path}: removed (was {_code(render(c.old))})"
    elif _plain_list(c.old) and _plain_list(c.new):
        text = f"{path}: {_list_change(c.old, c.new)}"
    else:
        text = f"{path}: {_code(render(c.old))} → {_code(render(c.new))}"
    return text + (" · **forces replacement**" if forces else "")


def _plain_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str | int | float | bool) for v in value)


def _list_change(old: list[object], new: list[object]) -> str:
    """A list of plain values by what joined and what left (policy resources, subnets, CIDRs)."""
    added = [v for v in new if v not in old]
    removed = [v for v in old if v not in new]
    if not added and not removed:
        return f"reordered {_code(render(old))} → {_code(render(new))}"
    parts = [f"+ {_code(render(v))}" for v in added] + [f"− {_code(render(v))}" for v in removed]
    return ", ".join(parts)


# -------------------------------------------------------------------------------------------------- rest


def _violations(v: ViolationDiff, cap: int) -> list[str]:
    lines: list[str] = []
    for kind, items in (("new", v.new), ("resolved", v.resolved)):
        lines += [f"- **{kind}** {_violation(x)}" for x in items[:cap]]
        if len(items) > cap:
            lines.append(f"- … and {len(items) - cap} more {kind}")
    for b, a in v.changed[:cap]:
        was = f" (was {b.level})" if a.level != b.level else ""
        lines.append(f"- **changed**{was} {_violation(a)}")
    if not lines:
        return []
    return ["#### Policy violations\n\n" + "\n".join(lines)]


def _violation(v: PlanViolation) -> str:
    where = f" on {_code(v.resource)}" if v.resource else ""
    message = _escape(v.message.replace("\n", " "))
    if len(message) > 240:
        message = message[:239] + "…"
    return f"{v.level} {_code(v.policy)}{where}: {message}"


def _cost(cost: CostDiff, cap: int) -> list[str]:
    if not cost.changed:
        return []
    delta = cost.delta
    if cost.before is None or cost.after is None or delta is None:
        heading = "#### Cost: not comparable (one side has no estimate)"
    else:
        heading = f"#### Cost: {money(cost.before)} → {money(cost.after)} a month ({money(delta, signed=True)})"
    if not cost.items:
        return [heading]
    rows = ["| Line item | Before | After | Change |", "| --- | ---: | ---: | ---: |"]
    for item in cost.items[:cap]:
        before = "—" if item.before is None else money(item.before)
        after = "—" if item.after is None else money(item.after)
        rows.append(f"| {_escape(item.item)} | {before} | {after} | {money(item.delta, signed=True)} |")
    if len(cost.items) > cap:
        rows.append(f"| … and {len(cost.items) - cap} more | | | |")
    return [heading + "\n\n" + "\n".join(rows)]


def _outputs(outputs: tuple[Change, ...], cap: int) -> list[str]:
    if not outputs:
        return []
    lines = [f"- {_change(c, forces=False)}" for c in outputs[:cap]]
    if len(outputs) > cap:
        lines.append(f"- … and {len(outputs) - cap} more")
    return ["#### Stack outputs\n\n" + "\n".join(lines)]


def _notes(notes: Iterable[str]) -> list[str]:
    return [f"<sub>{_escape(n)}</sub>" for n in notes]


def _escape(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _code(text: str) -> str:
    """Inline code that survives backticks in the text."""
    text = text.replace("\n", " ")
    if "`" not in text:
        return f"`{text}`"
    fence = "``" if "``" not in text else "```"
    return f"{fence} {text} {fence}"
