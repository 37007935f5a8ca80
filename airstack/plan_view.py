"""How a plan reads in a terminal: the component tree, what was not checked offline, violations, the estimate."""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from airstack.offline import Resource
from airstack.planning import NO_COST, Plan
from airstack.pricing import render_estimate


def _count_below(urn: str, children: dict[str | None, list[Resource]]) -> int:
    return sum(1 + _count_below(k.urn, children) for k in children.get(urn, []))


def _tree(plan: Plan) -> Tree:
    run = plan.run
    visible = [r for r in run.resources if not r.is_provider]
    children: dict[str | None, list[Resource]] = {}
    for resource in visible:
        children.setdefault(resource.parent, []).append(resource)
    root = next(r for r in visible if r.type == "pulumi:pulumi:Stack")
    title = f"[bold]{run.project}/{run.stack}[/bold]"
    if plan.config:
        title += f" ({plan.config.environment}, {plan.config.aws_region})"
    if run.preview:
        title += " [yellow]first preview: computed outputs unknown[/yellow]"
    tree = Tree(f"{title}: {len(visible) - 1} resources")

    def add(node: Tree, parent_urn: str) -> None:
        kids = sorted(children.get(parent_urn, []), key=lambda r: r.urn)
        for component in (k for k in kids if not k.custom and not k.remote):
            total = _count_below(component.urn, children)
            branch = node.add(f"[cyan]{component.name}[/cyan] [dim]{component.type}[/dim] ({total})")
            add(branch, component.urn)
        for remote in (k for k in kids if k.remote):
            node.add(
                f"[magenta]{remote.name}[/magenta] [dim]{remote.type}[/dim] [yellow](not expanded offline)[/yellow]"
            )
        leaves = [k for k in kids if k.custom]
        counts = Counter(k.type.split(":")[-1] if k.type.startswith("aws") else k.type for k in leaves)
        protected = sum(1 for k in leaves if k.protect)
        if counts:
            summary = ", ".join(f"{n} {t}" for t, n in sorted(counts.items()))
            node.add(f"[dim]{summary}{f' ({protected} protected)' if protected else ''}[/dim]")

    add(tree, root.urn)
    return tree


def print_plan(plan: Plan, out: Console) -> None:
    out.print(_tree(plan))
    for remote in plan.not_expanded:
        out.print(
            f"[yellow]Not checked offline:[/yellow] {remote.name} ({remote.type}) is a remote component; its "
            "children exist only under the real engine and the pack judges them at `pulumi preview`."
        )
    _print_policy_results(plan, out)
    if plan.show_cost:
        out.print(render_estimate(plan.cost))
    else:
        out.print(f"[dim]Cost: {NO_COST}.[/dim]")
    if plan.run.outputs:
        out.print(f"[dim]Outputs: {', '.join(sorted(plan.run.outputs))}[/dim]\n")


def _print_policy_results(plan: Plan, out: Console) -> None:
    if plan.violations:
        table = Table(title="Policy violations", show_lines=False, expand=False)
        for column in ("level", "policy", "resource", "message"):
            table.add_column(column, overflow="fold")
        for v in sorted(plan.violations, key=lambda v: (v.level != "mandatory", v.policy, v.urn)):
            colour = "red" if v.level == "mandatory" else "yellow"
            table.add_row(f"[{colour}]{v.level}[/{colour}]", v.policy, v.urn.split("::")[-1], v.message)
        out.print(table)
        _print_fixes(plan, out)
    else:
        ran = len(plan.analysis.ran())
        out.print(f"[green]Policy pack: no violations[/green] ({ran} of {len(plan.analysis.enabled)} rules decided)")
    if plan.exempted:
        table = Table(title="Exempted (intentional exceptions, with their reasons)", expand=False)
        for column in ("level", "policy", "resource", "finding", "reason"):
            table.add_column(column, overflow="fold")
        for e in plan.exempted:
            table.add_row(f"[dim]{e.level}[/dim]", e.policy, e.urn.split("::")[-1], e.message, e.reason)
        out.print(table)
    if plan.skipped:
        table = Table(title="Could not decide during preview (values not known yet)", expand=False)
        for column in ("policy", "resource", "reason"):
            table.add_column(column, overflow="fold")
        for s in plan.skipped:
            table.add_row(s.policy, (s.urn or "stack").split("::")[-1], s.reason)
        out.print(table)


def _print_fixes(plan: Plan, out: Console) -> None:
    """Each violated policy once: why it matters and how to fix it."""
    seen: dict[str, tuple[str, str]] = {}
    for v in sorted(plan.violations, key=lambda v: v.policy):
        seen.setdefault(v.policy, (v.description, v.fix))
    for policy, (description, fix) in seen.items():
        out.print(f"[bold]{policy}[/bold]: {description}", soft_wrap=True)
        if fix:
            out.print(f"  [green]How to fix:[/green] {fix}", soft_wrap=True)
