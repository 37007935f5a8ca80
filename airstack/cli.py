"""The ``airstack`` command: plan and validate stacks where there is no cloud account or Pulumi CLI.

Exit codes: 0 clean; 1 a mandatory policy violation; 2 the input cannot be planned (an invalid stack config or
pack config, a failing, hanging or inconsistent program); 3 airstack itself could not run (the policy pack did
not start, an internal error).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from airstack.ci_formats import to_github_annotations, to_sarif
from airstack.offline import DEFAULT_TIMEOUT_SECONDS
from airstack.pack import PackError
from airstack.parity import parity
from airstack.plan_view import print_plan
from airstack.planning import Plan, PlanFailure, PlanOptions, plan_stacks
from airstack.policy_selection import parse_names
from airstack.pricing import render_estimate
from airstack.program_config import ProgramConfigError, parse_assignments
from airstack.program_env import INSIDE_ENV, EnvironmentProblem, ensure_environment, program_requirements, run_inside
from airstack.stackfile import STACK_NAMES, read_stack_file
from components.config import ConfigError

EXIT_OK, EXIT_VIOLATION, EXIT_INVALID, EXIT_INTERNAL = 0, 1, 2, 3
DESCRIPTION = "Plan and validate airstack stacks where there is no cloud account or Pulumi CLI."
PACK_PYTHON_ENV = "AIRSTACK_PACK_PYTHON"
FORMATS = ("table", "json", "github", "sarif")
EXIT_CODES = """exit codes:
  0  clean: no mandatory violation (advisory ones may be reported)
  1  a mandatory policy violation
  2  the input cannot be planned: an invalid stack config, pack config, lookups file or exemption, a failing,
     hanging or inconsistent program, a lookup nothing answered, requirements that cannot be installed
  3  airstack itself could not run (the policy pack did not start, uv is missing, an internal error)"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="airstack", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True)

    plan = commands.add_parser(
        "plan",
        help="run the program under mocks, check the policy pack, price the stack",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    plan.add_argument("stacks", nargs="+", metavar="STACK", help="dev, acc, prod, dr or a Pulumi.<name>.yaml path")
    plan.add_argument("--json", action="store_true", help="print JSON (one object, or a list for several stacks)")
    plan.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="table (default), json, github (annotations for GitHub Actions) or sarif (code scanning)",
    )
    plan.add_argument("--output", type=Path, metavar="FILE", help="write the formatted result to FILE")
    plan.add_argument(
        "--preview",
        action="store_true",
        help="plan as the first `pulumi preview` of a new stack sees it: computed outputs (ids, ARNs) unknown",
    )
    plan.add_argument("--program", type=Path, metavar="DIR", help="plan another Pulumi Python program instead")
    plan.add_argument(
        "--with",
        dest="with_",
        action="append",
        default=[],
        metavar="PKG",
        help="a package the program needs besides its requirements.txt/pyproject.toml (repeatable); what airstack's "
        "environment lacks is installed with uv into a cached environment (AIRSTACK_CACHE_DIR)",
    )
    plan.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a config value as `pulumi config set KEY VALUE` would (a KEY without ':' is the project's)",
    )
    plan.add_argument(
        "--config-path",
        action="store_true",
        help="each --config KEY is a path into a structured value (dr.active, teams[0].concurrency), as "
        "`pulumi up --config-path`",
    )
    plan.add_argument(
        "--lookups",
        type=Path,
        metavar="FILE",
        help="recorded answers to the program's lookups (YAML/JSON: lookups: [{token, args, result}]); a lookup "
        "that is neither computed offline nor answered here fails the plan with exit 2",
    )
    plan.add_argument("--policy-config", type=Path, metavar="FILE", help="pack config (default policies/<env>.json)")
    plan.add_argument("--only", action="append", default=[], metavar="POLICY,...", help="evaluate only these policies")
    plan.add_argument(
        "--skip", action="append", default=[], metavar="POLICY,...", help="do not evaluate these policies"
    )
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

    cost = commands.add_parser("cost", help="the monthly estimate with its assumptions and price sources")
    cost.add_argument("stacks", nargs="+", metavar="STACK")
    cost.add_argument("--json", action="store_true", help="print JSON")
    cost.add_argument("--sources", action="store_true", help="list every price used with its source and date")

    commands.add_parser("dags", help="`airstack dags release --team T ...`: check, zip and upload one team's DAGs")
    commands.add_parser("smoke", help="run a stack's rendered Airflow locally against real stand-ins, and check it")

    diff = commands.add_parser("diff", help="what a change does: two stacks, or a stack against a git revision")
    diff.add_argument("stacks", nargs="+", metavar="STACK", help="BASE TARGET, or one STACK with --rev")
    diff.add_argument("--rev", metavar="GITREV", help="compare STACK as this revision had it with the work tree")
    diff.add_argument("--preview", action="store_true", help="plan both sides as a first preview of a new stack")
    diff.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    diff.add_argument("--max-chars", type=int, default=15_000, metavar="N", help="cap the Markdown (default 15000)")
    diff.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, metavar="SECONDS")
    diff.add_argument("--program", type=Path, metavar="DIR", help="compare two stacks of another Pulumi program")

    parity = commands.add_parser("parity", help="what differs between the stacks, at a glance")
    parity.add_argument("stacks", nargs="*", metavar="STACK", help="default: dev acc prod dr")
    parity.add_argument("--json", action="store_true", help="print JSON")
    parity.add_argument("--all", action="store_true", help="also show what is the same everywhere")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:  # `airstack plan dev | head`: the reader left; that is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception:  # noqa: BLE001 (CI must tell "airstack broke" from "the stack has violations")
        traceback.print_exc()
        print("airstack could not run: an internal error (the traceback above); exit 3", file=sys.stderr)
        return EXIT_INTERNAL


DELEGATED = {
    ("dags", "release"): "airstack.dag_release",  # the DAG pipeline's step: validate, zip and upload a team's DAGs
    ("smoke",): "airstack.smoke",  # its own options and exit codes (see `airstack smoke --help`)
}
"""Commands with a parser of their own: everything after the command is theirs."""


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    for prefix, module in DELEGATED.items():
        if tuple(argv[: len(prefix)]) == prefix:
            return importlib.import_module(module).main(argv[len(prefix) :])
    args = _parser().parse_args(argv)
    out = Console(soft_wrap=False, width=160 if not sys.stdout.isatty() else None)
    err = Console(stderr=True, soft_wrap=True)
    if args.command == "validate":
        return _validate(args.stacks, out, err)
    if args.command == "plan":
        return _plan(args, out, err, argv)
    handlers = {"cost": _cost, "parity": _parity, "diff": _diff}
    return handlers[args.command](args, out, err)


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


def _fail(args: argparse.Namespace, fmt: str, err: Console, kind: str, message: str, code: int) -> int:
    err.print(message, markup=False, highlight=False)
    if fmt == "json":
        _emit(args, json.dumps({"stack": None, "error": {"kind": kind, "message": message}}, indent=2))
    return code


def _in_program_environment(args: argparse.Namespace, fmt: str, err: Console, argv: list[str]) -> int | None:
    """The exit code of the plan run in the program's own environment, or None to plan right here."""
    if args.with_ and not args.program:
        return _fail(args, fmt, err, "requirements", "--with adds packages for another program: use it with --program",
                     EXIT_INVALID)  # fmt: skip
    if not args.program or os.environ.get(INSIDE_ENV):
        return None
    try:
        requirements = program_requirements(args.program.resolve(), args.with_)
        if requirements.satisfied:
            return None
        err.print(f"the program needs {', '.join(requirements.needed)}: planning it in a cached environment with "
                  "them", markup=False, highlight=False)  # fmt: skip
        return run_inside(ensure_environment(requirements, args.program.resolve()), argv)
    except EnvironmentProblem as error:
        return _fail(args, fmt, err, "requirements", str(error), error.exit_code)


def _plan(args: argparse.Namespace, out: Console, err: Console, argv: list[str]) -> int:
    fmt = args.format or ("json" if args.json else "table")
    elsewhere = _in_program_environment(args, fmt, err, argv)
    if elsewhere is not None:
        return elsewhere
    try:
        overrides = tuple(parse_assignments(args.config))
    except ProgramConfigError as error:
        return _fail(args, fmt, err, "config", str(error), EXIT_INVALID)
    options = PlanOptions(
        preview=args.preview,
        timeout=args.timeout,
        pack_python=args.pack_python,
        program_dir=args.program,
        policy_config=args.policy_config,
        lookups=args.lookups,
        config=overrides,
        config_path=args.config_path,
        only=tuple(parse_names(args.only)),
        skip=tuple(parse_names(args.skip)),
    )
    try:
        results = plan_stacks(args.stacks, options)
    except PackError as error:
        err.print(f"airstack could not run the policy pack: {error}", markup=False, highlight=False)
        if fmt == "json":
            _emit(args, json.dumps({"stack": None, "error": {"kind": "pack", "message": str(error)}}, indent=2))
        return EXIT_INTERNAL
    code = EXIT_OK
    for result in results:
        if isinstance(result, PlanFailure):
            err.print(result.message, markup=False, highlight=False)
            code = max(code, EXIT_INVALID)
            continue
        code = max(code, result.exit_code)
        if fmt == "table":
            print_plan(result, out)
    documents = [r.as_dict() for r in results]
    if fmt == "json":
        _emit(args, json.dumps(documents[0] if len(documents) == 1 else documents, indent=2))
    elif fmt == "sarif":
        descriptions = {p.name: p.description for r in results if isinstance(r, Plan) for p in r.analysis.policies}
        _emit(args, json.dumps(to_sarif(documents, descriptions, root=Path.cwd()), indent=2))
    elif fmt == "github":
        _emit(args, "\n".join(to_github_annotations(documents, root=Path.cwd())))
    return code


def _emit(args: argparse.Namespace, text: str) -> None:
    if getattr(args, "output", None):
        args.output.write_text(text + "\n", encoding="utf-8")
    else:
        print(text)


def _cost(args: argparse.Namespace, out: Console, err: Console) -> int:
    results = plan_stacks(args.stacks)
    code, documents = EXIT_OK, []
    for result in results:
        if isinstance(result, PlanFailure):
            err.print(result.message, markup=False, highlight=False)
            code = EXIT_INVALID
            continue
        documents.append({"stack": result.stack_file.stack, **result.cost.as_dict()})
        if not args.json:
            out.print(f"[bold]{result.stack_file.stack}[/bold]")
            out.print(render_estimate(result.cost, sources=args.sources))
    if args.json:
        print(json.dumps(documents[0] if len(documents) == 1 else documents, indent=2))
    return code


def _parity(args: argparse.Namespace, out: Console, err: Console) -> int:
    try:
        configs = [read_stack_file(s).load() for s in (args.stacks or STACK_NAMES)]
    except ConfigError as error:
        err.print(str(error), markup=False, highlight=False)
        return EXIT_INVALID
    result = parity(configs)
    if args.json:
        print(json.dumps(result.as_dict(include_same=args.all), indent=2))
    else:
        out.print(result.table(show_same=args.all))
    return EXIT_OK


def _diff(args: argparse.Namespace, out: Console, err: Console) -> int:
    from airstack.diff.command import DiffRequest, run_diff

    request = DiffRequest(args.stacks, args.rev, args.preview, args.timeout, args.json, args.max_chars, args.program)
    code, text = run_diff(request)
    if code != EXIT_OK:
        err.print(text, markup=False, highlight=False)
    else:
        print(text)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
