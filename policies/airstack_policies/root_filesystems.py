"""Containers whose root file system is read-only (AWS Foundational Security Best Practices ECS.5).

A container that can write to its root can change its own code and configuration: a compromised process (a DAG
that should not, a dependency gone bad) persists there for the life of the task and hides among the image's
files. With ``readonlyRootFilesystem`` it writes only to the volumes mounted for it.

A container whose image cannot run read-only is exempted by itself, not with its whole task: a container
definition's ``dockerLabels`` entry ``airstack:exempt`` = ``"<policy> [<policy> ...]: <reason>"``, read like the
tag. Its finding comes back as exempted, with the reason, as the tag's and the pack config's do.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from airstack_policies._props import TASK_DEFINITION, containers
from airstack_policies._rules import EXEMPT_TAG, _not_applicable, parse_exempt_tag, resource_policy

POLICY = "ecs-readonly-root-filesystem"


def _container_exemption(container: dict[str, Any]) -> str | None:
    labels = container.get("dockerLabels")
    value = labels.get(EXEMPT_TAG) if isinstance(labels, dict) else None
    if not isinstance(value, str):
        return None
    names, reason = parse_exempt_tag(value)
    return reason if POLICY in names and reason else None


def _check(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != TASK_DEFINITION:
        return
    exempted = []
    found = 0
    for container in containers(args.props):
        value = container.get("readonlyRootFilesystem")
        if value is True:
            continue
        message = (
            f"container {container.get('name')} of {args.name} has readonlyRootFilesystem {value!r}: a process in "
            "it can change the container's own code and configuration"
        )
        reason = _container_exemption(container)
        if reason is None:
            report(message, None)
            found += 1
        else:
            exempted.append({"urn": args.urn, "message": message, "reason": reason})
    if exempted and not found:
        _not_applicable(args, exempted)


ecs_readonly_root_filesystem = resource_policy(
    name=POLICY,
    description=(
        "ECS containers run with a read-only root file system (FSBP ECS.5), so that a compromised process cannot "
        "change the container's code or configuration; each writes only to the volumes mounted for it."
    ),
    fix=(
        'Set "readonlyRootFilesystem": true in the container definition and mount task storage (a volume with '
        "no host or EFS configuration) at each path the process must write (e.g. /tmp, its log directory); "
        "the image should declare those paths as VOLUMEs owned by the container's user. A container whose image "
        'cannot run read-only: dockerLabels {"airstack:exempt": "ecs-readonly-root-filesystem: <reason>"}.'
    ),
    validate=_check,
)

POLICIES = [ecs_readonly_root_filesystem]
