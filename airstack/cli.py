"""The ``airstack`` command: plan and validate stacks where there is no cloud account or Pulumi CLI.

Exit codes: 0 clean; 1 a mandatory policy violation; 2 the input cannot be planned (an invalid stack config or
pack config, a failing, hanging or inconsistent program); 3 airstack itself could not run (the policy pack did
not start, an internal error).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from airstack.offline import DEFAULT_TIMEOUT_SECONDS, ProgramError
from airstack.pack import Analyzer, PackError, start_pack
from airstack.plan_view import print_plan
from airstack.planning import Plan, PlanOptions, plan_program, plan_stack
from airstack.project import ProjectError
from airstack.stackfile import read_stack_file
from components.config import ConfigError

EXIT_OK, EXIT_VIOLATION, EXIT_INVALID, EXIT_INTERNAL = 0, 1, 2, 3
DESCRIPTION = "Plan and validate airstack stacks where there is no cloud account or Pulumi CLI."
PACK_PYTHON_ENV = "AIRSTACK_PACK_PYTHON"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="airstack", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True)

    plan = commands.add_parser("plan", help="run the program under mocks, check the policy pack, price the stack")
    plan.add_argument("stacks", nargs="+", metavar="STACK", help="dev, acc, prod, dr or a Pulumi.<name>.yaml path")
    plan.add_argument("--json", action="store_true", help="print JSON (one object, or a list for several stacks)")
    plan.add_argument(
        "--preview",
        action="store_true",
        help="plan as the first `pulumi preview` of a new stack sees it: computed outputs (ids, ARNs) unknown",
    )
    plan.add_argument("--program", type=Path, metavar="DIR", help="plan another Pulumi Python program instead")
    plan.add_argument("--policy-config", type=Path, metavar="FILE", help="pack config (default policies/<env>.json)")
    plan.add_argument(
        "--pack-python",
        metavar="PYTHON",
        default=os.environ.get(PACK_PYTHON_ENV),
        help=f"start the pack with this interpreter as the Pulumi CLI does and query it over gRPC "
        f"(default ${PACK_PYTHON_ENV}; unset: the pack's own servicer in this process)",
    )
    plan.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help=f"stop a program that has not finished after this long (default {DEFAULT_TIMEOUT_SECONDS:g})",
    )

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


@contextlib.contextmanager
def _pack(python: str | None) -> Iterator[Analyzer]:
    with start_pack(python=python) as analyzer:
        yield analyzer


def _plan(args: argparse.Namespace, out: Console, err: Console) -> int:
    documents: list[dict[str, Any]] = []
    code = EXIT_OK
    options = PlanOptions(preview=args.preview, timeout=args.timeout)
    try:
        with _pack(args.pack_python) as analyzer:
            for stack in args.stacks:
                try:
                    plan = _plan_one(args, stack, analyzer, options)
                except (ConfigError, ProgramError, ProjectError, PackError) as error:
                    kind = {ConfigError: "config", ProgramError: "program", ProjectError: "project"}.get(
                        type(error), "pack-config"
                    )
                    err.print(str(error), markup=False, highlight=False)
                    documents.append({"stack": stack, "error": {"kind": kind, "message": str(error)}})
                    code = max(code, EXIT_INVALID)
                    continue
                documents.append(plan.as_dict())
                code = max(code, plan.exit_code)
                if not args.json:
                    print_plan(plan, out)
    except PackError as error:
        err.print(f"airstack could not run the policy pack: {error}", markup=False, highlight=False)
        documents.append({"stack": None, "error": {"kind": "pack", "message": str(error)}})
        code = EXIT_INTERNAL
    if args.json:
        print(json.dumps(documents[0] if len(documents) == 1 else documents, indent=2, sort_keys=False))
    return code


def _plan_one(args: argparse.Namespace, stack: str, analyzer: Analyzer, options: PlanOptions) -> Plan:
    if args.program:
        return plan_program(args.program, stack, analyzer, args.policy_config, options)
    return plan_stack(stack, analyzer, options)


if __name__ == "__main__":
    raise SystemExit(main())
