"""``plan``: validate a stack's config, run the real program under mocks, evaluate the pack, price it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airstack import wire
from airstack.analysis import Analysis, Skipped, Violation, evaluate
from airstack.isolation import Job, run_programs
from airstack.offline import DEFAULT_TIMEOUT_SECONDS, ProgramError, ProgramRun, Resource
from airstack.pack import POLICY_DIR, Analyzer, PackError, read_pack_config, start_pack
from airstack.pricing import CostEstimate, estimate, estimate_stack
from airstack.project import ProjectError, read_project
from airstack.stackfile import PROJECT_ROOT, StackFile, read_stack_file
from components.config import ConfigError, StackConfig

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
    pack_python: str | None = None
    """Start the pack with this interpreter and query it over gRPC; None: the pack's servicer in this process."""
    program_dir: Path | None = None
    """Plan another Pulumi Python program (its stack files by path) instead of this project."""
    policy_config: Path | None = None
    """The pack config to check with; default ``policies/<environment>.json``."""


@dataclass(frozen=True)
class PlanFailure:
    """A stack that could not be planned: ``kind`` is config, project, program or pack-config."""

    stack: str
    kind: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"stack": self.stack, "error": {"kind": self.kind, "message": self.message}}


def pack_config_file(environment: str | None, pack_dir: Path = POLICY_DIR) -> Path | None:
    """The pack config a stack of ``environment`` is checked with (``policies/<env>.json``), if there is one."""
    if not environment:
        return None
    path = pack_dir / f"{environment}.json"
    return path if path.is_file() else None


@dataclass(frozen=True)
class _Target:
    name: str
    stack_file: StackFile
    config: StackConfig | None
    environment: str | None


def _target(stack: str, options: PlanOptions) -> _Target:
    if options.program_dir is None:
        stack_file = read_stack_file(stack)
        config = stack_file.load()  # raises ConfigError before anything runs
        return _Target(stack, stack_file, config, config.environment)
    stack_file = read_stack_file(stack, options.program_dir.resolve())
    environment = wire.provider_view(stack_file.decoded).get("airstack:environment")
    return _Target(stack, stack_file, None, environment if isinstance(environment, str) else None)


def _preload() -> None:
    """Import this project's program modules once, before the per-stack processes are forked."""
    import components.platform  # noqa: F401


def plan_stacks(stacks: Sequence[str], options: PlanOptions = PlanOptions()) -> list[Plan | PlanFailure]:
    """Plan each stack: validate, run the programs (in parallel, isolated), then evaluate the pack and price."""
    results: dict[int, Plan | PlanFailure] = {}
    targets: dict[int, _Target] = {}
    for index, stack in enumerate(stacks):
        try:
            targets[index] = _target(stack, options)
        except ConfigError as error:
            results[index] = PlanFailure(stack, "config", str(error))
    program_dir = (options.program_dir or PROJECT_ROOT).resolve()
    try:
        read_project(program_dir)
    except ProjectError as error:
        for index in targets:
            results[index] = PlanFailure(stacks[index], "project", str(error))
        targets = {}
    jobs = [Job(t.stack_file, program_dir, options.preview, options.timeout) for t in targets.values()]
    outcomes = run_programs(jobs, preload=None if options.program_dir else _preload)
    runs: dict[int, ProgramRun] = {}
    for index, outcome in zip(targets, outcomes, strict=True):
        if isinstance(outcome, ProgramError):
            results[index] = PlanFailure(stacks[index], "program", str(outcome))
        else:
            runs[index] = outcome
    if runs:
        with start_pack(options.pack_dir, options.pack_python) as analyzer:
            for index, run in runs.items():
                target = targets[index]
                try:
                    results[index] = _analyzed(target, run, analyzer, options)
                except PackError as error:
                    results[index] = PlanFailure(target.name, "pack-config", str(error))
    return [results[i] for i in range(len(stacks))]


def _analyzed(target: _Target, run: ProgramRun, analyzer: Analyzer, options: PlanOptions) -> Plan:
    config_file = options.policy_config or pack_config_file(target.environment, options.pack_dir)
    pack_config = read_pack_config(config_file) if config_file else {}
    analysis = evaluate(run, analyzer, pack_config, target.stack_file.secret_keys)
    config = target.config
    cost = estimate(run) if config is None else estimate_stack(run, config)
    return Plan(target.stack_file, config, run, analysis, cost)
