"""Evaluate the policy pack in-process over a recorded program run, as the Pulumi engine would.

Levels and per-policy properties come from the same ``policies/<env>.json`` files that
``pulumi preview --policy-pack-config`` takes: a policy's own entry, else ``all``, else its own default.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from airstack.offline import ProgramRun, Resource
from airstack.stackfile import PROJECT_ROOT

POLICY_DIR = PROJECT_ROOT / "policies"


def _policies() -> list[Policy]:
    import sys

    if str(POLICY_DIR) not in sys.path:
        sys.path.insert(0, str(POLICY_DIR))
    from airstack_policies import POLICIES

    return list(POLICIES)


@dataclass(frozen=True)
class Violation:
    policy: str
    level: str
    urn: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"policy": self.policy, "level": self.level, "urn": self.urn, "message": self.message}


@dataclass(frozen=True)
class PolicySettings:
    level: EnforcementLevel
    config: dict[str, Any]


def load_pack_config(path: Path | None) -> dict[str, Any]:
    if path is None or not path.is_file():
        return {}
    return json.loads(path.read_text())


def pack_config_for(environment: str | None) -> dict[str, Any]:
    """The pack config a stack of ``environment`` is checked with (``policies/<env>.json``)."""
    return load_pack_config(POLICY_DIR / f"{environment}.json") if environment else {}


def _schema_defaults(policy: Policy) -> dict[str, Any]:
    schema = policy.config_schema
    if schema is None:
        return {}
    return {k: v["default"] for k, v in schema.properties.items() if isinstance(v, Mapping) and "default" in v}


def settings_for(policy: Policy, pack_config: Mapping[str, Any]) -> PolicySettings:
    level = policy.enforcement_level or EnforcementLevel.MANDATORY
    config = _schema_defaults(policy)
    for key in ("all", policy.name):
        entry = pack_config.get(key)
        if isinstance(entry, str):
            level = EnforcementLevel(entry)
        elif isinstance(entry, Mapping):
            if "enforcementLevel" in entry:
                level = EnforcementLevel(entry["enforcementLevel"])
            if key == policy.name:
                config.update({k: v for k, v in entry.items() if k != "enforcementLevel"})
    return PolicySettings(level, config)


def _options(resource: Resource) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=resource.protect,
        ignore_changes=list(resource.ignore_changes),
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=resource.parent,
    )


def _stack_resources(run: ProgramRun) -> list[PolicyResource]:
    checked = [r for r in run.resources if r.type != "pulumi:pulumi:Stack"]
    by_urn: dict[str, PolicyResource] = {}
    for resource in checked:
        by_urn[resource.urn] = PolicyResource(
            resource_type=resource.type,
            props=resource.outputs if resource.custom else resource.inputs,
            urn=resource.urn,
            name=resource.name,
            opts=_options(resource),
            provider=None,
            parent=None,
            dependencies=[],
            property_dependencies={},
        )
    for resource in checked:
        policy_resource = by_urn[resource.urn]
        policy_resource.parent = by_urn.get(resource.parent or "")
        policy_resource.property_dependencies = {
            key: [by_urn[u] for u in urns if u in by_urn] for key, urns in resource.property_dependencies.items()
        }
        policy_resource.dependencies = sorted(
            {d for deps in policy_resource.property_dependencies.values() for d in deps}, key=lambda d: d.urn
        )
    return list(by_urn.values())


def _await(result: Any) -> None:
    if inspect.isawaitable(result):
        import asyncio

        async def wait() -> None:
            await result

        asyncio.run(wait())


def evaluate(
    run: ProgramRun, pack_config: Mapping[str, Any], policies: Iterable[Policy] | None = None
) -> list[Violation]:
    """Every violation of every enabled policy, in the order the engine would report them."""
    violations: list[Violation] = []
    chosen = list(policies) if policies is not None else _policies()
    stack_resources = _stack_resources(run)
    for policy in chosen:
        settings = settings_for(policy, pack_config)
        if settings.level == EnforcementLevel.DISABLED:
            continue
        level = "mandatory" if settings.level == EnforcementLevel.REMEDIATE else settings.level.value

        def reporter(urn_default: str | None, name: str = policy.name, lvl: str = level):  # noqa: ANN202
            def report(message: str, urn: str | None = None) -> None:
                violations.append(Violation(name, lvl, urn or urn_default, message))

            return report

        try:
            if isinstance(policy, ResourceValidationPolicy):
                for resource in run.resources:
                    if resource.type == "pulumi:pulumi:Stack":
                        continue
                    args = ResourceValidationArgs(
                        resource.type, resource.inputs, resource.urn, resource.name, _options(resource), None,
                        dict(settings.config),
                    )  # fmt: skip
                    try:
                        _await(policy.validate(args, reporter(resource.urn)))
                    except Exception as error:  # noqa: BLE001 (a rule's bug is reported, like the engine does)
                        if type(error).__name__ != "_NotApplicableError":
                            violations.append(_crash(policy.name, resource.urn, error))
            elif isinstance(policy, StackValidationPolicy):
                _await(policy.validate(StackValidationArgs(stack_resources, dict(settings.config)), reporter(None)))
        except Exception as error:  # noqa: BLE001
            if type(error).__name__ != "_NotApplicableError":
                violations.append(_crash(policy.name, None, error))
    return violations


def _crash(policy: str, urn: str | None, error: Exception) -> Violation:
    return Violation(policy, "mandatory", urn, f"policy failed to run: {type(error).__name__}: {error}")
