"""The ``airstack`` command: plan and validate stacks where there is no cloud account or Pulumi CLI.

Exit codes: 0 clean, 1 a mandatory policy violation, 2 an invalid stack config or a failing program.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from airstack.offline import ProgramError
from airstack.planning import Plan, plan_program, plan_stack
from airstack.pricing import mwaa_reference
from airstack.stackfile import read_stack_file
from components.config import ConfigError

EXIT_OK, EXIT_VIOLATION, EXIT_INVALID = 0, 1, 2
DESCRIPTION = "Plan and validate airstack stacks where there is no cloud account or Pulumi CLI."


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="airstack", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True)

    plan = commands.add_parser("plan", help="run the program under mocks, check the policy pack, price the stack")
    plan.add_argument("stacks", nargs="+", metavar="STACK", help="dev, acc, prod, dr or a Pulumi.<name>.yaml path")
    plan.add_argument("--json", action="store_true", help="print JSON (one object, or a list for several stacks)")
    plan.add_argument("--program", type=Path, metavar="DIR", help="plan another Pulumi Python program instead")
    plan.add_argument("--policy-config", type=Path, metavar="FILE", help="pack config for --program runs")

    validate = commands.add_parser("validate", help="validate stack configuration only")
    validate.add_argument("stacks", nargs="+", metavar="STACK")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    out = Console(soft_wrap=False, width=160 if not sys.stdout.isatty() else None)
    err = Console(stderr=True, soft_wrap=True)
    if args.command == "validate":
        return _validate(args.stacks, out, err)
    return _plan(args, out, err)


def _validate(stacks: Sequence[str], out: Console, err: Console) -> int:
    code = EXIT_OK
    for stack in stacks:
        try:
            config = read_stack_file(stack).load()
        except ConfigError as error:
            err.print(str(error), markup=False, highlight=False)
            code = EXIT_INVALID
            continue
        teams = ", ".join(
            f"{t.name} ({t.longest_task}, visibility {config.visibility_timeout(t)} s)" for t in config.teams
        )
        out.print(f"[green]ok[/green] {stack}: {config.environment} in {config.aws_region}; teams {teams}")
    return code


def _plan(args: argparse.Namespace, out: Console, err: Console) -> int:
    plans: list[Plan] = []
    code = EXIT_OK
    for stack in args.stacks:
        try:
            plan = plan_program(args.program, stack, args.policy_config) if args.program else plan_stack(stack)
        except (ConfigError, ProgramError) as error:
            err.print(str(error), markup=False, highlight=False)
            code = EXIT_INVALID
            continue
        plans.append(plan)
        code = max(code, plan.exit_code)
        if not args.json:
            _print_plan(plan, out)
    if args.json:
        documents = [p.as_dict() for p in plans]
        print(json.dumps(documents[0] if len(args.stacks) == 1 and documents else documents, indent=2, default=str))
    return code


def _print_plan(plan: Plan, out: Console) -> None:
    run = plan.run
    children: dict[str | None, list] = {}
    for resource in run.resources:
        children.setdefault(resource.parent, []).append(resource)
    root = next(r for r in run.resources if r.type == "pulumi:pulumi:Stack")
    title = f"[bold]{run.project}/{run.stack}[/bold]"
    if plan.config:
        title += f" ({plan.config.environment}, {plan.config.aws_region})"
    tree = Tree(f"{title}: {len(run.resources) - 1} resources")

    def add(node: Tree, parent_urn: str) -> None:
        kids = children.get(parent_urn, [])
        components = [k for k in kids if not k.custom and k.type != "awsx:ec2:Vpc"]
        leaves = [k for k in kids if k.custom or k.type == "awsx:ec2:Vpc"]
        for component in components:
            total = _count_below(component.urn, children)
            branch = node.add(f"[cyan]{component.name}[/cyan] [dim]{component.type}[/dim] ({total})")
            add(branch, component.urn)
        counts = Counter(k.type.split(":")[-1] if k.type.startswith("aws") else k.type for k in leaves)
        protected = sum(1 for k in leaves if k.protect)
        if counts:
            summary = ", ".join(f"{n} {t}" for t, n in sorted(counts.items()))
            node.add(f"[dim]{summary}{f' ({protected} protected)' if protected else ''}[/dim]")

    add(tree, root.urn)
    out.print(tree)

    if plan.violations:
        table = Table(title="Policy violations", show_lines=False, expand=False)
        for column in ("level", "policy", "resource", "message"):
            table.add_column(column, overflow="fold")
        for v in plan.violations:
            colour = "red" if v.level == "mandatory" else "yellow"
            table.add_row(f"[{colour}]{v.level}[/{colour}]", v.policy, (v.urn or "stack").split("::")[-1], v.message)
        out.print(table)
    else:
        out.print("[green]Policy pack: no violations[/green]")

    cost = plan.cost
    table = Table(title=f"Monthly estimate: ${cost.monthly_usd:,.2f} (prices as of {cost.as_of}, {cost.region})")
    table.add_column("item")
    table.add_column("USD/month", justify="right")
    table.add_column("assumption", overflow="fold")
    for item in cost.items:
        table.add_row(item.item, f"{item.monthly_usd:,.2f}", item.assumption)
    out.print(table)
    out.print(f"[dim]For comparison: the smallest MWAA environment is about ${mwaa_reference():,.0f}/month.[/dim]")
    if plan.config is None:
        return
    outputs = ", ".join(f"{k}" for k in run.outputs)
    out.print(f"[dim]Outputs: {outputs}[/dim]\n")


def _count_below(urn: str, children: dict[str | None, list]) -> int:
    return sum(1 + _count_below(k.urn, children) for k in children.get(urn, []))


if __name__ == "__main__":
    raise SystemExit(main())
