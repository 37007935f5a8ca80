"""Which program run a smoke runs: the stack file with ``--config`` overrides, planned as ``airstack plan`` does.

A pilot-light standby (``dr.role: standby``, ``dr.active: false``) has no database and its services at zero: there
is nothing to run, so the smoke refuses it in one line and says how to smoke the standby as activated. An
activated standby refers to its primary (a stack reference) and reads the primary's secrets replicated into its
region, which it never creates itself: the smoke plans the primary from its stack file in the same project,
answers the stack reference with the primary's planned outputs, and gives those replicas stand-in values of the
primary's kinds (``smoke_plan(run, primary)``).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path

from airstack.lookups import Lookups
from airstack.offline import ProgramRun, run_program
from airstack.primaries import with_primary
from airstack.program_config import assemble
from airstack.project import read_project
from airstack.smoke.plan import PlanError, SmokePlan, smoke_plan
from airstack.stackfile import read_stack_file
from components.config import StackConfig
from components.recovery import is_standby, stack_reference_name

DR_KEY = "dr"


def pilot_light_message(stack: str, config: StackConfig) -> str:
    """One line: why a pilot light cannot be smoked, and the command that smokes it activated."""
    return (
        f"stack {config.stack} is a pilot-light standby of {config.dr.primary_stack} (dr.active is false): no "
        f"database and every service at zero, so there is nothing to run; smoke the standby as activated instead: "
        f"airstack smoke {shlex.quote(stack)} --config {DR_KEY}.active=true --config-path"
    )


def _primary(config: StackConfig, program_dir: Path, project: str) -> tuple[ProgramRun, Lookups]:
    """The primary planned from its stack file, and the answer to the standby's stack reference to it."""
    name = config.dr.primary_stack_name
    if name is None:
        raise PlanError(f"stack {config.stack} is a standby without a primary stack")
    primary = run_program(read_stack_file(name, program_dir), program_dir)
    return primary, with_primary(None, stack_reference_name(config, None, project), primary)


def plan_for_smoke(
    stack: str, program_dir: Path, overrides: Sequence[tuple[str, str]] = (), *, path: bool = False
) -> SmokePlan:
    """Plan ``stack`` (a name or a Pulumi.<name>.yaml path) with ``--config`` overrides for the smoke.

    ConfigError for an invalid config, ProgramConfigError for a bad override, ProgramError for a failing program,
    PlanError for what the smoke cannot run (a pilot light among it).
    """
    project = read_project(program_dir).name
    stack_file = assemble(read_stack_file(stack, program_dir), program_dir, project, overrides, path=path)
    config = stack_file.load()
    if is_standby(config) and not config.dr.active:
        raise PlanError(pilot_light_message(stack, config))
    if not is_standby(config):
        return smoke_plan(run_program(stack_file, program_dir))
    primary, lookups = _primary(config, program_dir, project)
    return smoke_plan(run_program(stack_file, program_dir, lookups=lookups), primary)
