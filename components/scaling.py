"""How many tasks a service runs over time: hibernation schedules and each team's backlog-driven workers.

Application Auto Scaling owns the count of these services (``desiredCount`` is ignored on them), and where
hibernation's scheduled actions move the target's bounds at night, ``up`` must not move them back.
The resources are children of the compute tier; the step bands and metric math are pure (``worker_scaling``).

A team's workers follow its backlog: the workers it needs are its queue's waiting and running tasks divided by
the tasks one worker runs at once (``ceil((visible + in flight) / concurrency)``; Celery acknowledges a task when it
ends, so a running task's message stays in flight). Step scaling, not target tracking: target tracking cannot
scale a service out from zero tasks (its proportional rule multiplies the current count) and waits three minutes
of breaching data before it adds a task, and fifteen before it removes one. Here:

- out: one minute in which the team needs more workers than its desired count adds the shortfall (in bands);
- in: ``SCALE_IN_MINUTES`` in which nothing waits and the desired count is above what is needed removes the
  excess. A worker running a task has ECS task scale-in protection (the image's hook), so scale-in stops only
  idle workers; a protected one finishes its tasks and is stopped then. Celery shuts down warm on SIGTERM, with
  the 120 s Fargate allows (the worker's ``stopTimeout``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.cloudwatch import alarm_queries
from components.common import child
from components.config import StackConfig, Team
from components.services import ServiceSpec
from components.worker_scaling import (
    SCALE_IN_COOLDOWN_SECONDS,
    SCALE_IN_MINUTES,
    SCALE_OUT_COOLDOWN_SECONDS,
    Backlog,
    Step,
    backlog_queries,
    scale_in_steps,
    scale_out_steps,
)


def scaled(config: StackConfig, spec: ServiceSpec) -> bool:
    """Whether Application Auto Scaling owns the service's task count (team workers, hibernating stacks)."""
    return spec.team is not None or config.schedule.hibernate


@dataclass(frozen=True)
class ServiceScaling:
    parent: pulumi.Resource
    name: str
    """The service's logical name; scaling resources are named from it."""
    config: StackConfig
    spec: ServiceSpec
    running: int
    """Tasks while the service runs (its minimum)."""
    cluster_name: pulumi.Input[str]
    service: aws.ecs.Service
    queue: aws.sqs.Queue | None
    tags: Mapping[str, str]


def scale_service(scaling: ServiceScaling) -> aws.appautoscaling.Target:
    config, spec = scaling.config, scaling.spec
    low = scaling.running
    high = spec.team.workers.max if spec.team else low
    hibernates = config.schedule.hibernate
    target = aws.appautoscaling.Target(
        f"{scaling.name}-scaling",
        service_namespace="ecs",
        scalable_dimension="ecs:service:DesiredCount",
        resource_id=pulumi.Output.concat("service/", scaling.cluster_name, "/", scaling.service.name),
        min_capacity=low,
        max_capacity=high if config.services_running else 0,
        # At night the scheduled actions hold the bounds at zero: an `up` after a refresh must not undo that.
        opts=child(scaling.parent, ignore_changes=["minCapacity", "maxCapacity"] if hibernates else None),
    )
    if hibernates:
        _hibernation(scaling, target, low, high)
    if spec.team is not None and scaling.queue is not None and config.services_running:
        _backlog_scaling(scaling, spec.team, scaling.queue, target)
    return target


def _hibernation(scaling: ServiceScaling, target: aws.appautoscaling.Target, low: int, high: int) -> None:
    schedule = scaling.config.schedule
    days = "MON-FRI" if schedule.weekdays_only else "*"
    for action, clock, minimum, maximum in (("stop", schedule.stop_at, 0, 0), ("start", schedule.start_at, low, high)):
        hour, minute = (int(x) for x in clock.split(":"))
        aws.appautoscaling.ScheduledAction(
            f"{scaling.name}-{action}",
            service_namespace=target.service_namespace,
            resource_id=target.resource_id,
            scalable_dimension=target.scalable_dimension,
            schedule=f"cron({minute} {hour} ? * {days} *)",
            timezone=schedule.timezone,
            scalable_target_action=aws.appautoscaling.ScheduledActionScalableTargetActionArgs(
                min_capacity=minimum, max_capacity=maximum
            ),
            opts=child(scaling.parent),
        )


def _step_policy(
    scaling: ServiceScaling, name: str, target: aws.appautoscaling.Target, cooldown: int, steps: list[Step]
) -> aws.appautoscaling.Policy:
    return aws.appautoscaling.Policy(
        name,
        policy_type="StepScaling",
        service_namespace=target.service_namespace,
        resource_id=target.resource_id,
        scalable_dimension=target.scalable_dimension,
        step_scaling_policy_configuration=aws.appautoscaling.PolicyStepScalingPolicyConfigurationArgs(
            adjustment_type="ChangeInCapacity",
            cooldown=cooldown,
            metric_aggregation_type="Maximum",
            step_adjustments=[
                aws.appautoscaling.PolicyStepScalingPolicyConfigurationStepAdjustmentArgs(
                    metric_interval_lower_bound=_bound(s.lower),
                    metric_interval_upper_bound=_bound(s.upper),
                    scaling_adjustment=s.adjustment,
                )
                for s in steps
            ],
        ),
        opts=child(scaling.parent),
    )


def _bound(value: float | None) -> str | None:
    return None if value is None else f"{value:g}"


def _backlog_scaling(
    scaling: ServiceScaling, team: Team, queue: aws.sqs.Queue, target: aws.appautoscaling.Target
) -> None:
    name, service = scaling.name, scaling.spec.service
    most = team.workers.max
    scale_out = _step_policy(scaling, f"{name}-scale-out", target, SCALE_OUT_COOLDOWN_SECONDS, scale_out_steps(most))
    scale_in = _step_policy(scaling, f"{name}-scale-in", target, SCALE_IN_COOLDOWN_SECONDS, scale_in_steps(most))
    plans: tuple[tuple[str, str, Backlog, int, aws.appautoscaling.Policy], ...] = (
        ("workers-short", f"the {team.queue_name} queue needs more workers than run: add them", "shortfall", 1,
         scale_out),
        ("workers-idle", f"nothing waits in the {team.queue_name} queue and fewer workers would do: stop idle ones",
         "excess", SCALE_IN_MINUTES, scale_in),
    )  # fmt: skip
    for alarm, why, result, minutes, policy in plans:
        queries = backlog_queries(queue.name, scaling.cluster_name, service, team.concurrency, result)
        aws.cloudwatch.MetricAlarm(
            f"{name}-{alarm}",
            alarm_description=why,
            evaluation_periods=minutes,
            datapoints_to_alarm=minutes,
            threshold=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data="notBreaching",
            metric_queries=alarm_queries(queries),
            alarm_actions=[policy.arn],
            tags=scaling.tags,
            opts=child(scaling.parent),
        )
