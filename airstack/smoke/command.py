"""``airstack smoke STACK`` as a command: plan the stack, then run the smoke (``airstack.smoke.run.Smoke``).

Exit codes: 0 every check passed; 1 a check or a container failed; 2 the stack's config or program is invalid,
or it asks for something the smoke has no stand-in for; 3 the machine lacks what the smoke needs; 130
interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from airstack.offline import ProgramError
from airstack.program_config import ProgramConfigError, parse_assignments
from airstack.project import ProjectError
from airstack.smoke.brokers import check_broker
from airstack.smoke.plan import PlanError
from airstack.smoke.report import Timings
from airstack.smoke.run import EXIT_INVALID, Smoke
from airstack.smoke.stacks import plan_for_smoke
from airstack.stackfile import PROJECT_ROOT
from components.config import ConfigError


def run_smoke(
    stack: str,
    keep: bool = False,
    *,
    logs: Path | None = None,
    program_dir: Path = PROJECT_ROOT,
    console: Console | None = None,
    config: Sequence[str] = (),
    config_path: bool = False,
) -> int:
    """Plan ``stack`` (a name or a Pulumi.<name>.yaml path) with ``config`` (``KEY=VALUE`` overrides, as
    ``airstack plan --config``), run it locally, check it; return the exit code."""
    console = console or Console(soft_wrap=False, width=None if sys.stdout.isatty() else 160)
    timings = Timings()
    try:
        with timings.phase("plan (the program under mocks)"):
            plan = plan_for_smoke(stack, program_dir, parse_assignments(config), path=config_path)
            check_broker(plan)
    except (ConfigError, ProgramConfigError, ProjectError, ProgramError, PlanError) as error:
        console.print(str(error), markup=False, highlight=False, soft_wrap=True)  # a one-line message stays one
        return EXIT_INVALID
    return Smoke(plan, console, timings, keep=keep, logs_to=logs).run()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="airstack smoke",
        description="Run a stack's rendered Airflow on this machine against local stand-ins and check it works.",
    )
    parser.add_argument("stack", metavar="STACK", help="dev, acc, prod, dr or a Pulumi.<name>.yaml path")
    parser.add_argument("--keep", action="store_true", help="leave it running after the checks, until Ctrl-C")
    parser.add_argument("--logs", type=Path, metavar="DIR", help="copy every process's log here before cleaning up")
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a config value as `pulumi config set KEY VALUE` would (a KEY without ':' is the project's), as "
        "for `airstack plan`",
    )
    parser.add_argument(
        "--config-path",
        action="store_true",
        help="each --config KEY is a path into a structured value (dr.active), as `pulumi up --config-path`",
    )
    args = parser.parse_args(argv)
    return run_smoke(args.stack, keep=args.keep, logs=args.logs, config=args.config, config_path=args.config_path)
