"""Celery on SQS or Redis: what operators learn the hard way about visibility timeouts, timeouts and dead letters.

With ``task_acks_late`` (Airflow's default) a broker hands a task's message to another worker when the
visibility timeout ends before the task does, and the task runs twice. The longest task comes from the queue's
``airstack:longest-task-seconds`` tag (airstack's contract), from the process's own
``AIRFLOW__CORE__DEFAULT_TASK_EXECUTION_TIMEOUT`` (no task outlives it), or from the pack config's
``longestTaskSeconds`` for programs that say neither.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, StackValidationArgs

from airstack_policies._props import (
    BROKER_URL_ENV,
    CELERY_DEFAULT_VISIBILITY_SECONDS,
    LONGEST_TASK_TAG,
    QUEUE,
    QUEUES_ENV,
    ROLE_TAG,
    SQS_MAX_VISIBILITY_SECONDS,
    TASK_DEFINITION,
    TASK_TIMEOUT_ENV,
    TRANSPORT_OPTIONS_PREFIX,
    UNKNOWN,
    VISIBILITY_ENV,
    as_int,
    as_json,
    celery_broker,
    containers,
    depends_on,
    environment,
    is_airflow,
    is_unknown,
    items,
    peek,
    refers_to,
    secret_names,
    tags_of,
)
from airstack_policies._rules import resource_policy, stack_policy

DEAD_LETTER_ROLES = ("celery-dead-letter", "dead-letter")
"""Queues tagged as where failed messages end up (a dead-letter queue, a Lambda's failure destination)."""
REDRIVE_POLICY = "aws:sqs/redrivePolicy:RedrivePolicy"

_MARGIN = {"minimumMarginPercent": {"type": "integer", "default": 10, "minimum": 0}}
_LONGEST = {
    "longestTaskSeconds": {
        "type": "integer",
        "minimum": 1,
        "description": "the longest task of programs that neither tag their queues nor set a task timeout",
    }
}
SQS_DEFAULT_VISIBILITY_SECONDS = 30
VISIBILITY_BROKERS = ("sqs", "redis")


def _required(longest: int, margin: int) -> int:
    return math.ceil(longest * (100 + margin) / 100)


def _queue_visibility(queue: Any) -> int:
    value = peek(queue.props, "visibilityTimeoutSeconds")
    if value is UNKNOWN:
        return int(queue.props["visibilityTimeoutSeconds"])  # raises: the engine reports it can't decide yet
    seconds = as_int(value)
    return SQS_DEFAULT_VISIBILITY_SECONDS if seconds is None else seconds


def _check_visibility(args: StackValidationArgs, report: ReportViolation) -> None:
    margin = int(args.get_config().get("minimumMarginPercent", 10))
    queues = [r for r in args.resources if r.resource_type == QUEUE]
    longest: dict[str, int] = {}
    for queue in queues:
        tags = tags_of(queue.props)
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
        visibility = _queue_visibility(queue)
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

    _check_celery_processes(args, report, queues, longest, margin)
    _check_shared_redis(args, report, margin)


def _longest_of_process(env: dict[str, str], config: Any) -> tuple[int, str] | None:
    """The longest task a process may run, by its own settings or the pack config, with where it comes from."""
    timeout = as_int(env.get(TASK_TIMEOUT_ENV))
    if timeout is not None and timeout > 0:
        return timeout, f"its {TASK_TIMEOUT_ENV}"
    configured = as_int(config.get("longestTaskSeconds"))
    return (configured, "the pack config's longestTaskSeconds") if configured else None


def _check_celery_processes(
    args: StackValidationArgs, report: ReportViolation, queues: list[Any], longest: dict[str, int], margin: int
) -> None:
    """Every Celery process's own visibility timeout covers the longest task it may run."""
    config = args.get_config()
    for task_definition in args.resources:
        if task_definition.resource_type != TASK_DEFINITION:
            continue
        for container in containers(task_definition.props):
            env = environment(container)
            broker = celery_broker(env, secret_names(container))
            if broker not in VISIBILITY_BROKERS and not (broker and VISIBILITY_ENV in env):
                continue
            talks_to = _queues_of(env, queues) or _queues_depended_on(task_definition, queues, longest)
            if broker == "sqs":
                talks_to = talks_to or [q for q in queues if q.urn in longest]
            needed, why = 0, ""
            tagged = [q for q in talks_to if q.urn in longest]
            if tagged:
                needed = max(_required(longest[q.urn], margin) for q in tagged)
                why = f"its queues ({', '.join(sorted(q.name for q in tagged))}) carry tasks that need"
            own = _longest_of_process(env, config)
            if own and _required(own[0], margin) > needed:
                needed = _required(own[0], margin)
                why = f"{own[1]} lets tasks run {own[0]} s, which needs"
            label = f"container {container.get('name')} of {task_definition.name}"
            raw = env.get(VISIBILITY_ENV)
            value = as_int(raw)
            if raw is None and broker == "sqs":
                report(
                    f"{label} runs Celery on SQS without {VISIBILITY_ENV}; the Celery provider then silently uses "
                    f"{CELERY_DEFAULT_VISIBILITY_SECONDS} s, above SQS's {SQS_MAX_VISIBILITY_SECONDS} s. "
                    f"Set it to at least {max(needed, 1)} s",
                    task_definition.urn,
                )
                continue
            visibility = CELERY_DEFAULT_VISIBILITY_SECONDS if raw is None else value
            if visibility is None or (broker == "sqs" and visibility > SQS_MAX_VISIBILITY_SECONDS):
                report(
                    f"{label} sets {VISIBILITY_ENV}={raw}; SQS accepts at most {SQS_MAX_VISIBILITY_SECONDS} s",
                    task_definition.urn,
                )
            elif visibility < needed:
                setting = f"sets {VISIBILITY_ENV}={visibility}" if raw is not None else (
                    f"leaves {VISIBILITY_ENV} at Celery's default {visibility} s")  # fmt: skip
                report(
                    f"{label} {setting} but {why} at least {needed} s (+{margin}%); a running task would be "
                    "delivered again and run twice",
                    task_definition.urn,
                )


def _broker_of(container: dict[str, Any], env: dict[str, str]) -> str | None:
    """What identifies a process's broker: its URL, or the secret ECS reads the URL from."""
    if env.get(BROKER_URL_ENV):
        return env[BROKER_URL_ENV]
    for secret in items(container.get("secrets")):
        if isinstance(secret, Mapping) and secret.get("name") == BROKER_URL_ENV:
            source = secret.get("valueFrom")
            return f"secret {source}" if isinstance(source, str) and not is_unknown(source) else None
    return None


def _check_shared_redis(args: StackValidationArgs, report: ReportViolation, margin: int) -> None:
    """On one Redis broker every process's visibility timeout covers the longest task of any of them.

    kombu's Redis transport keeps the unacknowledged messages of all queues in one sorted set, and every consuming
    worker puts back those older than its *own* visibility timeout: a team whose tasks are short would redeliver
    another team's long task while it runs.
    """
    config = args.get_config()
    members: dict[str, list[tuple[str, int | None, int, Any]]] = {}
    for task_definition in args.resources:
        if task_definition.resource_type != TASK_DEFINITION:
            continue
        for container in containers(task_definition.props):
            env = environment(container)
            broker = _broker_of(container, env)
            if broker is None or celery_broker(env, secret_names(container)) != "redis":
                continue
            own = _longest_of_process(env, config)
            label = f"container {container.get('name')} of {task_definition.name}"
            visibility = as_int(env.get(VISIBILITY_ENV, CELERY_DEFAULT_VISIBILITY_SECONDS))
            members.setdefault(broker, []).append((label, visibility, own[0] if own else 0, task_definition))
    for group in members.values():
        longest_label, _, longest, _ = max(group, key=lambda m: m[2])
        needed = _required(longest, margin)
        for label, visibility, own, task_definition in group:
            # A process's own tasks are judged above; here only what another process on the broker needs.
            if visibility is None or visibility >= needed or _required(own, margin) > visibility:
                continue
            report(
                f"{label} sets {VISIBILITY_ENV}={visibility} but shares its Redis broker with {longest_label}, "
                f"whose tasks run up to {longest} s and need {needed} s (+{margin}%): any worker on a Redis broker "
                "puts back every queue's unacknowledged messages older than its own visibility timeout, so that "
                "task would run twice",
                task_definition.urn,
            )


def _queues_of(env: dict[str, str], queues: list[Any]) -> list[Any]:
    """The queues a process names in its predefined queues, matched by URL or, before they exist, by name.

    airstack's own setting maps names to URLs; Celery's (``..._TRANSPORT_OPTIONS__PREDEFINED_QUEUES``) maps
    names to ``{"url": ...}``.
    """
    urls: set[str] = set()
    for name in (QUEUES_ENV, f"{TRANSPORT_OPTIONS_PREFIX}PREDEFINED_QUEUES"):
        mapping = as_json(env.get(name, ""))
        for value in mapping.values() if isinstance(mapping, dict) else []:
            url = value.get("url") if isinstance(value, dict) else value
            if url:
                urls.add(str(url))
    if not urls:
        return []
    found = []
    for queue in queues:
        url, name = peek(queue.props, "url"), peek(queue.props, "name")
        by_url = isinstance(url, str) and url in urls
        by_name = isinstance(name, str) and any(u.rstrip("/").endswith("/" + name) for u in urls)
        if by_url or by_name:
            found.append(queue)
    return found


def _queues_depended_on(task_definition: Any, queues: list[Any], longest: dict[str, int]) -> list[Any]:
    return [q for q in queues if q.urn in longest and depends_on(task_definition, "containerDefinitions", q)]


sqs_visibility_covers_longest_task = stack_policy(
    name="sqs-visibility-covers-longest-task",
    description=(
        "A broker message becomes visible again when its visibility timeout ends, and Celery then runs the task "
        "twice. Each SQS queue and every Celery process on SQS or Redis need a visibility timeout of at least "
        "the longest task plus a margin (and on SQS at most 43200 s); on Redis, the longest task of any process "
        "on the same broker, since any worker there puts back every queue's unacknowledged messages."
    ),
    fix=(
        f"Raise the queue's visibility_timeout_seconds and the process's {VISIBILITY_ENV} to the longest task "
        f"plus the margin; bound tasks with {TASK_TIMEOUT_ENV}; split a task that needs more than SQS's 12 hours, "
        "or run it on a Redis broker."
    ),
    validate=_check_visibility,
    properties={**_MARGIN, **_LONGEST},
)


def _check_task_timeout(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != TASK_DEFINITION:
        return
    margin = int(args.get_config().get("minimumMarginPercent", 10))
    for container in containers(args.props):
        env = environment(container)
        if not is_airflow(container) or celery_broker(env, secret_names(container)) not in VISIBILITY_BROKERS:
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


airflow_task_timeout_bounded = resource_policy(
    name="airflow-task-timeout-bounded",
    description=(
        "Without a default task execution timeout a stuck task runs forever and outlives its broker's "
        f"visibility timeout. Every Airflow process running Celery on SQS or Redis sets {TASK_TIMEOUT_ENV} to a "
        "positive number of seconds that its visibility timeout covers with margin."
    ),
    fix=(
        f"Set {TASK_TIMEOUT_ENV} to the longest task in seconds, and {VISIBILITY_ENV} to at least that plus the margin."
    ),
    validate=_check_task_timeout,
    properties=_MARGIN,
)


def _redrive_targets(owner: Any, prop: str) -> tuple[bool, set[str], set[str]]:
    """Whether ``owner.<prop>`` sets a dead-letter target, and the URNs and ARNs it points at."""
    deps = {d.urn for d in owner.property_dependencies.get(prop) or [] if d.resource_type == QUEUE}
    value = peek(owner.props, prop)
    if value is UNKNOWN:
        if not deps:
            owner.props[prop]
        return True, deps, set()
    policy = as_json(value)
    arn = policy.get("deadLetterTargetArn") if isinstance(policy, dict) else None
    return bool(arn), deps, {str(arn)} if arn else set()


def _check_dead_letters(args: StackValidationArgs, report: ReportViolation) -> None:
    queues = [r for r in args.resources if r.resource_type == QUEUE]
    separate = [r for r in args.resources if r.resource_type == REDRIVE_POLICY]
    target_urns: set[str] = set()
    target_arns: set[str] = set()
    redriven: set[str] = set()
    for queue in queues:
        has, urns, arns = _redrive_targets(queue, "redrivePolicy")
        target_urns |= urns
        target_arns |= arns
        if has:
            redriven.add(queue.urn)
    for policy in separate:
        has, urns, arns = _redrive_targets(policy, "redrivePolicy")
        target_urns |= urns
        target_arns |= arns
        redriven |= {q.urn for q in queues if has and refers_to(policy, "queueUrl", q)}
    for queue in queues:
        arn = peek(queue.props, "arn")
        is_target = queue.urn in target_urns or (isinstance(arn, str) and arn in target_arns)
        if is_target or queue.urn in redriven or tags_of(queue.props).get(ROLE_TAG) in DEAD_LETTER_ROLES:
            continue
        report(
            f"queue {queue.name} has no redrivePolicy; a message that keeps failing its consumer is redelivered "
            "forever (and blocks or slows the queue)",
            queue.urn,
        )


sqs_dead_letter_queue = stack_policy(
    name="sqs-dead-letter-queue",
    description=(
        "A message that crashes every consumer that receives it is redelivered forever unless the queue has a "
        "dead-letter queue. Every queue that is not itself a dead-letter queue sets a redrivePolicy."
    ),
    fix=(
        "Create a second queue as the dead-letter queue and set redrive_policy to JSON with its "
        "deadLetterTargetArn and a maxReceiveCount (e.g. 5), or add an aws.sqs.RedrivePolicy."
    ),
    validate=_check_dead_letters,
)


def _check_sqs_encrypted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != QUEUE:
        return
    managed = peek(args.props, "sqsManagedSseEnabled")
    if managed is not False or peek(args.props, "kmsMasterKeyId"):
        # Unset means SQS's own default for new queues: SSE-SQS on.
        return
    report(
        f"queue {args.name} has sqsManagedSseEnabled False and no kmsMasterKeyId; its messages are stored unencrypted",
        None,
    )


sqs_encrypted = resource_policy(
    name="sqs-encrypted",
    description=(
        "Messages carry application data (task arguments, events). No queue turns encryption at rest off: "
        "sqsManagedSseEnabled stays on (SQS's default for new queues) unless a KMS key (kmsMasterKeyId) "
        "encrypts it."
    ),
    fix="Remove sqs_managed_sse_enabled=False, or set kms_master_key_id to a KMS key.",
    validate=_check_sqs_encrypted,
)

POLICIES = [sqs_visibility_covers_longest_task, airflow_task_timeout_bounded, sqs_dead_letter_queue, sqs_encrypted]
