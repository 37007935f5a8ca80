"""Celery on SQS: what operators learn the hard way about visibility timeouts, timeouts and dead letters."""

from __future__ import annotations

import math
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from airstack_policies._props import (
    CELERY_DEFAULT_VISIBILITY_SECONDS,
    LONGEST_TASK_TAG,
    QUEUE,
    QUEUES_ENV,
    ROLE_TAG,
    SQS_MAX_VISIBILITY_SECONDS,
    TASK_DEFINITION,
    TASK_TIMEOUT_ENV,
    VISIBILITY_ENV,
    as_int,
    as_json,
    containers,
    environment,
    is_airflow,
    is_celery_on_sqs,
    tags_of,
)

_MARGIN_SCHEMA = PolicyConfigSchema(
    properties={"minimumMarginPercent": {"type": "integer", "default": 10, "minimum": 0}}
)
SQS_DEFAULT_VISIBILITY_SECONDS = 30


def _required(longest: int, margin: int) -> int:
    return math.ceil(longest * (100 + margin) / 100)


def _queue_visibility(props: Any) -> int:
    value = as_int(props.get("visibilityTimeoutSeconds"))
    return SQS_DEFAULT_VISIBILITY_SECONDS if value is None else value


def _check_visibility(args: StackValidationArgs, report: ReportViolation) -> None:
    margin = int(args.get_config().get("minimumMarginPercent", 10))
    queues = [r for r in args.resources if r.resource_type == QUEUE]
    longest: dict[str, int] = {}
    by_url: dict[str, Any] = {}
    for queue in queues:
        tags = tags_of(queue.props)
        if isinstance(queue.props.get("url"), str):
            by_url[queue.props["url"]] = queue
        seconds = as_int(tags.get(LONGEST_TASK_TAG))
        if seconds is None:
            if tags.get(ROLE_TAG) == "celery-broker":
                report(
                    f"queue {queue.name} is a Celery broker queue without a {LONGEST_TASK_TAG} tag, so nothing "
                    "shows that its visibility timeout covers its tasks; tag it with its longest task in seconds",
                    queue.urn,
                )
            continue
        longest[queue.urn] = seconds
        needed = _required(seconds, margin)
        visibility = _queue_visibility(queue.props)
        if needed > SQS_MAX_VISIBILITY_SECONDS:
            report(
                f"queue {queue.name} carries tasks of up to {seconds} s, which need a visibility timeout of "
                f"{needed} s: more than SQS's maximum {SQS_MAX_VISIBILITY_SECONDS} s. Split the task or use a "
                "Redis broker for it",
                queue.urn,
            )
        elif visibility < needed:
            report(
                f"queue {queue.name} has visibilityTimeoutSeconds {visibility}, but its longest task is {seconds} s "
                f"and needs at least {needed} s (+{margin}%); a running task would be delivered again and run twice",
                queue.urn,
            )

    _check_celery_processes(args, report, queues, longest, by_url, margin)


def _check_celery_processes(
    args: StackValidationArgs,
    report: ReportViolation,
    queues: list[Any],
    longest: dict[str, int],
    by_url: dict[str, Any],
    margin: int,
) -> None:
    """Every Celery process's own visibility timeout covers the longest task of each queue it uses."""
    for task_definition in args.resources:
        if task_definition.resource_type != TASK_DEFINITION:
            continue
        for container in containers(task_definition.props):
            env = environment(container)
            if not is_celery_on_sqs(env):
                continue
            talks_to = _queues_of(env, by_url) or [q for q in queues if q.urn in longest]
            needed = max((_required(longest[q.urn], margin) for q in talks_to if q.urn in longest), default=0)
            label = f"container {container.get('name')} of {task_definition.name}"
            raw = env.get(VISIBILITY_ENV)
            value = as_int(raw)
            if raw is None:
                report(
                    f"{label} runs Celery on SQS without {VISIBILITY_ENV}; the Celery provider then silently uses "
                    f"{CELERY_DEFAULT_VISIBILITY_SECONDS} s, above SQS's {SQS_MAX_VISIBILITY_SECONDS} s. "
                    f"Set it to at least {max(needed, 1)} s",
                    task_definition.urn,
                )
            elif value is None or value > SQS_MAX_VISIBILITY_SECONDS:
                report(
                    f"{label} sets {VISIBILITY_ENV}={raw}; SQS accepts at most {SQS_MAX_VISIBILITY_SECONDS} s",
                    task_definition.urn,
                )
            elif value < needed:
                names = ", ".join(sorted(q.name for q in talks_to if q.urn in longest))
                report(
                    f"{label} sets {VISIBILITY_ENV}={value} but its queues ({names}) carry tasks that need at "
                    f"least {needed} s; a running task would be delivered again and run twice",
                    task_definition.urn,
                )


def _queues_of(env: dict[str, str], by_url: dict[str, Any]) -> list[Any]:
    mapping = as_json(env.get(QUEUES_ENV, ""))
    if not isinstance(mapping, dict):
        return []
    return [by_url[url] for url in mapping.values() if url in by_url]


sqs_visibility_covers_longest_task = StackValidationPolicy(
    name="sqs-visibility-covers-longest-task",
    description=(
        "An SQS message becomes visible again when the visibility timeout ends, and Celery then runs the task "
        "twice. Each queue and every Celery process that uses it need a visibility timeout of at least the "
        "queue's longest task plus a margin, and at most SQS's 43200 s. Fix: raise visibilityTimeoutSeconds and "
        f"{VISIBILITY_ENV}, or split the task."
    ),
    validate=_check_visibility,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=_MARGIN_SCHEMA,
)


def _check_task_timeout(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != TASK_DEFINITION:
        return
    margin = int(args.get_config().get("minimumMarginPercent", 10))
    for container in containers(args.props):
        env = environment(container)
        if not is_airflow(container) or not is_celery_on_sqs(env):
            continue
        raw = env.get(TASK_TIMEOUT_ENV)
        timeout = as_int(raw)
        label = f"container {container.get('name')} of {args.name}"
        if timeout is None or timeout <= 0:
            report(
                f"{label} has {TASK_TIMEOUT_ENV}={raw!r}; set it to the longest task in seconds so that a task "
                "cannot outlive its queue's visibility timeout",
                None,
            )
            continue
        visibility = as_int(env.get(VISIBILITY_ENV))
        if visibility is not None and _required(timeout, margin) > visibility:
            report(
                f"{label} lets tasks run {timeout} s, but {VISIBILITY_ENV} is {visibility} s; tasks need "
                f"{_required(timeout, margin)} s of visibility (+{margin}%), or a shorter timeout",
                None,
            )


airflow_task_timeout_bounded = ResourceValidationPolicy(
    name="airflow-task-timeout-bounded",
    description=(
        "Without a default task execution timeout a stuck task runs forever and outlives its SQS visibility "
        f"timeout. Every Celery process sets {TASK_TIMEOUT_ENV} to a positive number of seconds that its "
        "visibility timeout covers with margin."
    ),
    validate=_check_task_timeout,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=_MARGIN_SCHEMA,
)


def _check_dead_letters(args: StackValidationArgs, report: ReportViolation) -> None:
    queues = [r for r in args.resources if r.resource_type == QUEUE]
    targets: set[str] = set()
    for queue in queues:
        policy = as_json(queue.props.get("redrivePolicy"))
        if isinstance(policy, dict) and policy.get("deadLetterTargetArn"):
            targets.add(str(policy["deadLetterTargetArn"]))
        for dep in queue.property_dependencies.get("redrivePolicy") or []:
            targets.add(dep.urn)
    for queue in queues:
        is_target = queue.urn in targets or str(queue.props.get("arn")) in targets
        if is_target or tags_of(queue.props).get(ROLE_TAG) == "celery-dead-letter":
            continue
        policy = as_json(queue.props.get("redrivePolicy"))
        if not (isinstance(policy, dict) and policy.get("deadLetterTargetArn")):
            report(
                f"queue {queue.name} has no redrivePolicy; a task message that keeps killing its worker is "
                "redelivered forever. Give it a dead-letter queue (deadLetterTargetArn, maxReceiveCount)",
                queue.urn,
            )


sqs_dead_letter_queue = StackValidationPolicy(
    name="sqs-dead-letter-queue",
    description=(
        "A message that crashes every worker that receives it is redelivered forever unless the queue has a "
        "dead-letter queue. Every queue that is not itself a dead-letter queue sets a redrivePolicy."
    ),
    validate=_check_dead_letters,
    enforcement_level=EnforcementLevel.MANDATORY,
)


def _check_sqs_encrypted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != QUEUE:
        return
    if args.props.get("sqsManagedSseEnabled") is True or args.props.get("kmsMasterKeyId"):
        return
    report(
        f"queue {args.name} has sqsManagedSseEnabled {args.props.get('sqsManagedSseEnabled')!r} and no "
        "kmsMasterKeyId; it must set sqsManagedSseEnabled True or a kmsMasterKeyId (task arguments travel in "
        "these messages)",
        None,
    )


sqs_encrypted = ResourceValidationPolicy(
    name="sqs-encrypted",
    description=(
        "Celery messages carry task arguments. Every queue is encrypted at rest with SSE-SQS "
        "(sqsManagedSseEnabled) or a KMS key (kmsMasterKeyId)."
    ),
    validate=_check_sqs_encrypted,
    enforcement_level=EnforcementLevel.MANDATORY,
)

POLICIES = [sqs_visibility_covers_longest_task, airflow_task_timeout_bounded, sqs_dead_letter_queue, sqs_encrypted]
