"""``plan``: validate a stack's config, run the real program under mocks, evaluate the pack, price it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf import empty_pb2

from airstack import wire
from airstack.analysis import Analysis, Skipped, Violation, evaluate
from airstack.exemptions import Exempted, ExemptionError, check_tags
from airstack.isolation import Job, run_programs
from airstack.lookups import Lookups, LookupsError, read_lookups
from airstack.offline import DEFAULT_TIMEOUT_SECONDS, ProgramError, ProgramRun, Resource
from airstack.pack import POLICY_DIR, Analyzer, PackError, policies_of, read_pack_config, start_pack
from airstack.policy_selection import select
from airstack.pricing import CostEstimate, estimate, estimate_stack
from airstack.primaries import answered, primary_reference, with_primary
from airstack.program_config import ProgramConfigError, assemble, missing_config_hint
from airstack.program_env import preload_sdks
from airstack.project import ProjectError, read_project
from airstack.stackfile import PROJECT_ROOT, StackFile, read_stack_file
from components.config import ConfigError, StackConfig

NO_COST = (
    "not estimated for another program: airstack's price model covers what an airstack stack is made of, so a "
    "total for this program would silently leave out every resource it does not price"
)
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
    def exempted(self) -> list[Exempted]:
        return self.analysis.exempted

    @property
    def exit_code(self) -> int:
        return 1 if self.mandatory else 0

    @property
    def show_cost(self) -> bool:
        """The estimate (and the MWAA comparison) means something only for airstack's own stacks."""
        return self.config is not None

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
            "exempted": [e.as_dict() for e in self.exempted],
            "cantRunDuringPreview": [s.as_dict() for s in self.skipped],
            "policies": {
                "enabled": self.analysis.enabled,
                "ran": self.analysis.ran(),
                "levels": {name: c.level for name, c in sorted(self.analysis.config.items())},
            },
            "cost": self.cost.as_dict() if self.show_cost else None,
            **({} if self.show_cost else {"costNote": NO_COST}),
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
    lookups: Path | None = None
    """Recorded answers to the program's lookups (``--lookups``)."""
    config: tuple[tuple[str, str], ...] = ()
    """``--config key=value`` overrides, in order."""
    config_path: bool = False
    """``--config-path``: each override's key is a path into a structured value."""
    only: tuple[str, ...] = ()
    """Evaluate only these policies (``--only``)."""
    skip: tuple[str, ...] = ()
    """Do not evaluate these policies (``--skip``)."""


@dataclass(frozen=True)
class PlanFailure:
    """A stack that could not be planned: ``kind`` is config, project, program, lookup, lookups, pack-config or
    exemption."""

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
        stack_file = assemble(
            read_stack_file(stack), PROJECT_ROOT, "airstack", options.config, path=options.config_path
        )
        config = stack_file.load()  # raises ConfigError before anything runs
        return _Target(stack, stack_file, config, config.environment)
    program_dir = options.program_dir.resolve()
    stack_file = read_stack_file(stack, program_dir)
    try:
        project = read_project(program_dir).name
    except ProjectError:
        project = program_dir.name  # reported once for all stacks below
    stack_file = assemble(stack_file, program_dir, project, options.config, path=options.config_path)
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
        except (ConfigError, ProgramConfigError) as error:
            results[index] = PlanFailure(stack, "config", str(error))
    program_dir = (options.program_dir or PROJECT_ROOT).resolve()
    project, lookups, failure = _shared_inputs(program_dir, options)
    if failure is not None:
        for index in targets:
            results[index] = PlanFailure(stacks[index], *failure)
        targets = {}
    preload = _preload if options.program_dir is None else lambda: preload_sdks(program_dir)
    outcomes = _run_targets(targets, program_dir, project, lookups, options, preload)
    runs: dict[int, ProgramRun] = {}
    for index, outcome in outcomes.items():
        if isinstance(outcome, ProgramError):
            hint = missing_config_hint(str(outcome), targets[index].stack_file.config, project)
            results[index] = PlanFailure(stacks[index], outcome.kind, str(outcome) + hint)
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
                except ExemptionError as error:
                    results[index] = PlanFailure(target.name, "exemption", str(error))
    return [results[i] for i in range(len(stacks))]


def _run_targets(
    targets: dict[int, _Target],
    program_dir: Path,
    project: str,
    lookups: Lookups | None,
    options: PlanOptions,
    preload: Any,
) -> dict[int, ProgramRun | ProgramError]:
    """Run every target's program; an activated standby after its primary, whose plan answers its reference."""
    references = {
        i: ref
        for i, t in targets.items()
        if t.config is not None and (ref := primary_reference(t.config, project)) and not answered(lookups, ref[0])
    }
    primaries = sorted({primary for _, primary in references.values()})
    first = [i for i in targets if i not in references]
    jobs = [Job(targets[i].stack_file, program_dir, options.preview, options.timeout, lookups) for i in first]
    # The primary as deployed (its outputs known), with its own stack file: no overrides of the standby's.
    jobs += [
        Job(
            assemble(read_stack_file(p, program_dir), program_dir, project),
            program_dir,
            False,
            options.timeout,
            lookups,
        )
        for p in primaries
    ]
    done = run_programs(jobs, preload=preload)
    outcomes = dict(zip(first, done[: len(first)], strict=True))
    planned = dict(zip(primaries, done[len(first) :], strict=True))
    later = []
    for i, (reference, primary) in references.items():
        run = planned[primary]
        if isinstance(run, ProgramError):
            outcomes[i] = ProgramError(f"its primary {primary}, planned to answer its stack reference: {run}")
        else:
            later.append((i, with_primary(lookups, reference, run)))
    jobs = [Job(targets[i].stack_file, program_dir, options.preview, options.timeout, answers) for i, answers in later]
    outcomes |= dict(zip([i for i, _ in later], run_programs(jobs, preload=preload) if jobs else [], strict=True))
    return {i: outcomes[i] for i in targets}


def _shared_inputs(program_dir: Path, options: PlanOptions) -> tuple[str, Lookups | None, tuple[str, str] | None]:
    """The project's name and the lookups file, read once for every stack; or why no stack can be planned."""
    try:
        project = read_project(program_dir).name
    except ProjectError as error:
        return program_dir.name, None, ("project", str(error))
    try:
        return project, (read_lookups(options.lookups) if options.lookups else None), None
    except LookupsError as error:
        return project, None, ("lookups", str(error))


def _analyzed(target: _Target, run: ProgramRun, analyzer: Analyzer, options: PlanOptions) -> Plan:
    config_file = options.policy_config or pack_config_file(target.environment, options.pack_dir)
    pack_config = read_pack_config(config_file) if config_file else {}
    names = [p.name for p in policies_of(analyzer.GetAnalyzerInfo(empty_pb2.Empty()))]
    if options.only or options.skip:
        pack_config = select(pack_config, names, options.only, options.skip)
    check_tags(run.resources, names)
    analysis = evaluate(run, analyzer, pack_config, target.stack_file.secret_keys)
    config = target.config
    cost = estimate(run) if config is None else estimate_stack(run, config)
    return Plan(target.stack_file, config, run, analysis, cost)
