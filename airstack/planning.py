"""``plan``: validate a stack's config, run the real program under mocks, evaluate the pack, price it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airstack.offline import ProgramRun, run_program
from airstack.policy_eval import Violation, evaluate, load_pack_config, pack_config_for
from airstack.pricing import HOURS_PER_MONTH, CostEstimate, estimate
from airstack.stackfile import PROJECT_ROOT, StackFile, read_stack_file
from components.config import StackConfig


@dataclass(frozen=True)
class Plan:
    stack_file: StackFile
    config: StackConfig | None
    """None for another program (``--program``), whose config airstack does not know."""
    run: ProgramRun
    violations: list[Violation]
    cost: CostEstimate

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == "mandatory"]

    @property
    def exit_code(self) -> int:
        return 1 if self.mandatory else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack_file.stack,
            "file": str(self.stack_file.path),
            "environment": self.config.environment if self.config else None,
            "resources": [
                {
                    "urn": r.urn,
                    "type": r.type,
                    "name": r.name,
                    "parent": r.parent,
                    "inputs": r.masked_inputs(),
                    "protect": r.protect,
                    "provider": r.provider,
                }
                for r in self.run.resources
            ],
            "violations": [v.as_dict() for v in self.violations],
            "cost": self.cost.as_dict(),
            "outputs": self.run.outputs,
        }


def plan_stack(stack: str) -> Plan:
    """Plan one of this project's stacks (``dev`` or a path to a ``Pulumi.<name>.yaml``)."""
    stack_file = read_stack_file(stack)
    config = stack_file.load()  # raises ConfigError before anything runs
    run = run_program(stack_file, PROJECT_ROOT)
    hours = config.schedule.hours_on_per_month() if config.services_running else 0.0
    return Plan(stack_file, config, run, evaluate(run, pack_config_for(config.environment)), estimate(run, hours))


def plan_program(program_dir: Path, stack_path: str, pack_config: Path | None = None) -> Plan:
    """Plan any Pulumi Python program with its own stack file, checked with this pack."""
    program_dir = program_dir.resolve()
    stack_file = read_stack_file(stack_path, program_dir)
    run = run_program(stack_file, program_dir)
    environment = stack_file.decoded.get("airstack:environment")
    config = load_pack_config(pack_config) if pack_config else pack_config_for(environment)
    return Plan(stack_file, None, run, evaluate(run, config), estimate(run, HOURS_PER_MONTH))
