"""``plan``: validate a stack's config, run the real program under mocks, evaluate the pack, price it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airstack import wire
from airstack.analysis import Analysis, Skipped, Violation, evaluate
from airstack.offline import DEFAULT_TIMEOUT_SECONDS, ProgramRun, Resource, run_program
from airstack.pack import POLICY_DIR, Analyzer, read_pack_config
from airstack.pricing import HOURS_PER_MONTH, CostEstimate, estimate
from airstack.stackfile import PROJECT_ROOT, StackFile, read_stack_file
from components.config import StackConfig

NOT_EXPANDED = (
    "a remote component: its provider creates its children (subnets, route tables, NAT gateways, ...) only "
    "under the real engine, so they are neither listed nor checked offline"
)


@dataclass(frozen=True)
class Plan:
    stack_file: StackFile
    config: StackConfig | None
    """None for another program (``--program``), whose config airstack does not know."""
    run: ProgramRun
    analysis: Analysis
    cost: CostEstimate

    @property
    def violations(self) -> list[Violation]:
        return self.analysis.violations

    @property
    def skipped(self) -> list[Skipped]:
        return self.analysis.skipped

    @property
    def mandatory(self) -> list[Violation]:
        return self.analysis.mandatory

    @property
    def exit_code(self) -> int:
        return 1 if self.mandatory else 0

    @property
    def not_expanded(self) -> list[Resource]:
        return [r for r in self.run.resources if r.remote]

    def as_dict(self) -> dict[str, Any]:
        resources = sorted(self.run.resources, key=lambda r: r.urn)
        return {
            "stack": self.stack_file.stack,
            "file": str(self.stack_file.path),
            "environment": self.config.environment if self.config else None,
            "preview": self.run.preview,
            "resources": [resource_dict(r) for r in resources],
            "notExpandedOffline": [{"urn": r.urn, "type": r.type, "why": NOT_EXPANDED} for r in self.not_expanded],
            "violations": [v.as_dict() for v in sorted(self.violations, key=_violation_order)],
            "cantRunDuringPreview": [s.as_dict() for s in self.skipped],
            "policies": {
                "enabled": self.analysis.enabled,
                "ran": self.analysis.ran(),
                "levels": {name: c.level for name, c in sorted(self.analysis.config.items())},
            },
            "cost": self.cost.as_dict(),
            "outputs": self.run.outputs,
        }


def _violation_order(v: Violation) -> tuple[int, str, str, str]:
    return (0 if v.level == "mandatory" else 1, v.policy, v.urn, v.message)


def resource_dict(resource: Resource) -> dict[str, Any]:
    """One resource as deterministic JSON: masked secrets, unknowns as null with their paths listed."""
    unknown_inputs: list[str] = []
    unknown_outputs: list[str] = []
    secret_outputs = set(resource.additional_secret_outputs)
    return {
        "urn": resource.urn,
        "type": resource.type,
        "name": resource.name,
        "parent": resource.parent,
        "custom": resource.custom,
        "remote": resource.remote,
        "provider": resource.provider,
        "protect": resource.protect,
        "inputs": wire.display_view(resource.wire_inputs, unknowns=unknown_inputs),
        "outputs": wire.display_view(
            resource.wire_outputs, unknowns=unknown_outputs, masked=lambda path: path in secret_outputs
        ),
        "dependencies": sorted(set(resource.dependencies)),
        "propertyDependencies": {k: sorted(set(v)) for k, v in sorted(resource.property_dependencies.items())},
        "unknowns": {"inputs": unknown_inputs, "outputs": unknown_outputs},
    }


@dataclass(frozen=True)
class PlanOptions:
    preview: bool = False
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    pack_dir: Path = POLICY_DIR


def pack_config_file(environment: str | None, pack_dir: Path = POLICY_DIR) -> Path | None:
    """The pack config a stack of ``environment`` is checked with (``policies/<env>.json``), if there is one."""
    if not environment:
        return None
    path = pack_dir / f"{environment}.json"
    return path if path.is_file() else None


def _analyze(run: ProgramRun, analyzer: Analyzer, config_file: Path | None, stack_file: StackFile) -> Analysis:
    pack_config = read_pack_config(config_file) if config_file else {}
    return evaluate(run, analyzer, pack_config, stack_file.secret_keys)


def plan_stack(stack: str, analyzer: Analyzer, options: PlanOptions = PlanOptions()) -> Plan:
    """Plan one of this project's stacks (``dev`` or a path to a ``Pulumi.<name>.yaml``)."""
    stack_file = read_stack_file(stack)
    config = stack_file.load()  # raises ConfigError before anything runs
    run = run_program(stack_file, PROJECT_ROOT, preview=options.preview, timeout=options.timeout)
    hours = config.schedule.hours_on_per_month() if config.services_running else 0.0
    analysis = _analyze(run, analyzer, pack_config_file(config.environment, options.pack_dir), stack_file)
    return Plan(stack_file, config, run, analysis, estimate(run, hours))


def plan_program(
    program_dir: Path,
    stack_path: str,
    analyzer: Analyzer,
    pack_config: Path | None = None,
    options: PlanOptions = PlanOptions(),
) -> Plan:
    """Plan any Pulumi Python program with its own stack file, checked with this pack."""
    program_dir = program_dir.resolve()
    stack_file = read_stack_file(stack_path, program_dir)
    run = run_program(stack_file, program_dir, preview=options.preview, timeout=options.timeout)
    environment = wire.provider_view(stack_file.decoded).get("airstack:environment")
    config_file = pack_config or pack_config_file(environment if isinstance(environment, str) else None)
    return Plan(stack_file, None, run, _analyze(run, analyzer, config_file, stack_file), estimate(run, HOURS_PER_MONTH))
