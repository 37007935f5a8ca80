"""Evaluate a policy pack over a program run exactly as the Pulumi engine does.

The engine calls the pack's analyzer with one ``AnalyzeRequest`` per registered resource (its inputs, options
and provider) while it steps through the program, and with one ``AnalyzeStackRequest`` at the end (every
resource's outputs — for a component its registered outputs — with parent, dependencies and property
dependencies). Values are marshalled with unknowns as the engine's sentinel, secrets wrapped and resource
references as IDs. This module builds those messages from a recorded run, sends them to an ``Analyzer``
(the pack's servicer in-process, or the pack over gRPC) and reads the diagnostics as the engine reads them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2

from airstack import wire
from airstack.exemptions import Exempted, exempted_findings
from airstack.offline import ProgramRun, Resource
from airstack.pack import (
    PROTO_TO_LEVEL,
    Analyzer,
    PolicyConfig,
    PolicyInfo,
    configure_request,
    policies_of,
    reconcile_config,
)

CANT_RUN_PREFIX = "can't run policy '"


@dataclass(frozen=True)
class Violation:
    policy: str
    level: str
    """``mandatory`` or ``advisory`` (``remediate`` is reported as mandatory, as the engine does)."""
    urn: str
    message: str
    """The rule's own message (the engine prints it after the policy's description)."""
    description: str = ""
    fix: str = ""
    """How to fix it: the policy's remediation steps."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "level": self.level,
            "urn": self.urn,
            "message": self.message,
            "description": self.description,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class Skipped:
    """A rule that could not decide because a value it read is not known yet ("can't run during preview")."""

    policy: str
    urn: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"policy": self.policy, "urn": self.urn, "reason": self.reason}


@dataclass
class Analysis:
    policies: list[PolicyInfo]
    config: dict[str, PolicyConfig]
    violations: list[Violation] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    not_applicable: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def enabled(self) -> list[str]:
        return [p.name for p in self.policies if self.config[p.name].level != "disabled"]

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == "mandatory"]

    @property
    def exempted(self) -> list[Exempted]:
        """Findings the pack did not report because the resource is exempted from the policy, with the reason."""
        return exempted_findings(self.not_applicable, {name: c.level for name, c in self.config.items()})

    def ran(self) -> list[str]:
        """Enabled policies that decided everywhere (none of their evaluations was skipped)."""
        skipped = {s.policy for s in self.skipped}
        return [name for name in self.enabled if name not in skipped]


# ---------------------------------------------------------------------------------------------- requests


def _struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(dict(values))
    return struct


def _options(resource: Resource) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=resource.protect,
        ignoreChanges=list(resource.ignore_changes),
        deleteBeforeReplace=bool(resource.delete_before_replace),
        deleteBeforeReplaceDefined=resource.delete_before_replace is not None,
        additionalSecretOutputs=list(resource.additional_secret_outputs),
        aliases=list(resource.aliases),
        customTimeouts=analyzer_pb2.AnalyzerResourceOptions.CustomTimeouts(),
        parent=resource.parent or "",
    )


def _provider(resource: Resource, by_urn: Mapping[str, Resource]) -> analyzer_pb2.AnalyzerProviderResource | None:
    if not resource.provider:
        return None
    urn = resource.provider.rsplit("::", 1)[0]
    provider = by_urn.get(urn)
    if provider is None:
        return None
    return analyzer_pb2.AnalyzerProviderResource(
        type=provider.type, properties=_struct(wire.analyzer_view(provider.wire_inputs)), urn=urn, name=provider.name
    )


def analyze_requests(run: ProgramRun) -> list[analyzer_pb2.AnalyzeRequest]:
    """One request per registration, in registration order, with the inputs as the engine marshals them."""
    by_urn = {r.urn: r for r in run.resources}
    requests = []
    for resource in run.resources:
        request = analyzer_pb2.AnalyzeRequest(
            type=resource.type,
            properties=_struct(wire.analyzer_view(resource.wire_inputs)),
            urn=resource.urn,
            name=resource.name,
            options=_options(resource),
        )
        provider = _provider(resource, by_urn)
        if provider is not None:
            request.provider.CopyFrom(provider)
        requests.append(request)
    return requests


def analyze_stack_request(run: ProgramRun) -> analyzer_pb2.AnalyzeStackRequest:
    """Every resource's final state: outputs (components: registered outputs), parent and dependencies."""
    by_urn = {r.urn: r for r in run.resources}
    request = analyzer_pb2.AnalyzeStackRequest()
    for resource in run.resources:
        item = analyzer_pb2.AnalyzerResource(
            type=resource.type,
            properties=_struct(wire.analyzer_view(resource.wire_outputs)),
            urn=resource.urn,
            name=resource.name,
            options=_options(resource),
            parent=resource.parent or "",
            dependencies=list(resource.dependencies),
        )
        for key, urns in resource.property_dependencies.items():
            if urns:
                item.propertyDependencies[key].urns.extend(urns)
        provider = _provider(resource, by_urn)
        if provider is not None:
            item.provider.CopyFrom(provider)
        request.resources.append(item)
    return request


def stack_configure_request(run: ProgramRun, secret_keys: Iterable[str] = ()) -> Any:
    return analyzer_pb2.AnalyzerStackConfigureRequest(
        stack=run.stack,
        project=run.project,
        organization="organization",
        dry_run=run.preview,
        config=dict(run.config),
        config_secret_keys=sorted(secret_keys),
        tags={"pulumi:project": run.project, "pulumi:runtime": "python"},
    )


# -------------------------------------------------------------------------------------------- evaluation


def _initial_config(info: Any) -> dict[str, Any]:
    initial: dict[str, Any] = {}
    for name, config in info.initialConfig.items():
        entry: dict[str, Any] = dict(struct_to_dict(config.properties))
        if config.enforcementLevel is not None:
            entry["enforcementLevel"] = PROTO_TO_LEVEL[config.enforcementLevel]
        initial[name] = entry
    return initial


def struct_to_dict(struct: struct_pb2.Struct) -> dict[str, Any]:
    from google.protobuf import json_format

    return json_format.MessageToDict(struct)


def _own_message(diagnostic: Any) -> str:
    prefix = f"{diagnostic.description}\n"
    message = diagnostic.message
    return message[len(prefix) :] if diagnostic.description and message.startswith(prefix) else message


def _level(diagnostic: Any) -> str:
    level = PROTO_TO_LEVEL.get(diagnostic.enforcementLevel, "advisory")
    return "mandatory" if level == "remediate" else level


def evaluate(
    run: ProgramRun, analyzer: Analyzer, pack_config: Mapping[str, Any] | None = None, secret_keys: Iterable[str] = ()
) -> Analysis:
    """Configure the pack as the engine does, then analyze every resource and the stack."""
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    policies = policies_of(info)
    config = reconcile_config(policies, _initial_config(info), pack_config or {})
    analyzer.Configure(configure_request(config))
    analyzer.ConfigureStack(stack_configure_request(run, secret_keys))
    analysis = Analysis(policies=policies, config=config)
    fixes = {p.name: p.fix for p in policies}

    def read(response: Any, urn_for: Any, resource_urn: str | None) -> None:
        for diagnostic in response.diagnostics:
            message = _own_message(diagnostic)
            if diagnostic.message.startswith(CANT_RUN_PREFIX):
                reason = message.split(" during preview: ", 1)[-1]
                analysis.skipped.append(Skipped(diagnostic.policyName, resource_urn, reason))
                continue
            urn = urn_for(diagnostic.urn)
            violation = Violation(diagnostic.policyName, _level(diagnostic), urn, message, diagnostic.description,
                                  fixes.get(diagnostic.policyName, ""))  # fmt: skip
            analysis.violations.append(violation)
        for item in response.not_applicable:
            analysis.not_applicable.append((item.policy_name, resource_urn or "", item.reason))

    for request in analyze_requests(run):
        # The engine files a resource policy's violation under the resource it analyzed.
        read(analyzer.Analyze(request), lambda _urn, urn=request.urn: urn, request.urn)
    known = {r.urn for r in run.resources}
    stack_urn = run.stack_urn
    read(analyzer.AnalyzeStack(analyze_stack_request(run)), lambda urn: urn if urn in known else stack_urn, None)
    return analysis
