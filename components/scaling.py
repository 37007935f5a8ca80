"""How many tasks a service runs over time: hibernation schedules and each team's queue-driven workers.

Application Auto Scaling owns the count of these services (``desiredCount`` is ignored on them), and where
hibernation's scheduled actions move the target's bounds at night, ``up`` must not move them back.
The resources are children of the compute tier.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.common import child
from components.config import StackConfig, Team
from components.services import ServiceSpec

IDLE_MINUTES_BEFORE_SCALE_IN = 15


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
        _queue_scaling(scaling, spec.team, scaling.queue, target)
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
    scaling: ServiceScaling,
    name: str,
    target: aws.appautoscaling.Target,
    adjustment_type: str,
    cooldown: int,
    step: aws.appautoscaling.PolicyStepScalingPolicyConfigurationStepAdjustmentArgs,
) -> aws.appautoscaling.Policy:
    return aws.appautoscaling.Policy(
        name,
        policy_type="StepScaling",
        service_namespace=target.service_namespace,
        resource_id=target.resource_id,
        scalable_dimension=target.scalable_dimension,
        step_scaling_policy_configuration=aws.appautoscaling.PolicyStepScalingPolicyConfigurationArgs(
            adjustment_type=adjustment_type,
            cooldown=cooldown,
            metric_aggregation_type="Maximum",
            step_adjustments=[step],
        ),
        opts=child(scaling.parent),
    )


def _queue_scaling(
    scaling: ServiceScaling, team: Team, queue: aws.sqs.Queue, target: aws.appautoscaling.Target
) -> None:
    """Scale out while tasks wait; scale in to the minimum only when the queue is empty and idle.

    Fargate stops a task within 120 s, so scaling in while tasks run would kill them; a team's workers
    shrink only after its queue has had nothing visible or in flight for a while.
    """
    name = scaling.name
    scale_out = _step_policy(
        scaling,
        f"{name}-scale-out",
        target,
        "ChangeInCapacity",
        cooldown=120,
        step=aws.appautoscaling.PolicyStepScalingPolicyConfigurationStepAdjustmentArgs(
            metric_interval_lower_bound="0", scaling_adjustment=1
        ),
    )
    scale_in = _step_policy(
        scaling,
        f"{name}-scale-in",
        target,
        "ExactCapacity",
        cooldown=300,
        step=aws.appautoscaling.PolicyStepScalingPolicyConfigurationStepAdjustmentArgs(
            metric_interval_upper_bound="0", scaling_adjustment=team.workers.min
        ),
    )
    aws.cloudwatch.MetricAlarm(
        f"{name}-tasks-waiting",
        alarm_description=f"tasks wait in the {team.queue_name} queue: add a worker",
        namespace="AWS/SQS",
        metric_name="ApproximateNumberOfMessagesVisible",
        dimensions={"QueueName": queue.name},
        statistic="Maximum",
        period=60,
        evaluation_periods=1,
        threshold=1,
        comparison_operator="GreaterThanOrEqualToThreshold",
        alarm_actions=[scale_out.arn],
        tags=scaling.tags,
        opts=child(scaling.parent),
    )
    aws.cloudwatch.MetricAlarm(
        f"{name}-queue-idle",
        alarm_description=f"the {team.queue_name} queue is empty and nothing runs: back to the minimum",
        evaluation_periods=IDLE_MINUTES_BEFORE_SCALE_IN,
        threshold=0,
        comparison_operator="LessThanOrEqualToThreshold",
        metric_queries=[
            _sqs_metric("visible", "ApproximateNumberOfMessagesVisible", queue.name),
            _sqs_metric("running", "ApproximateNumberOfMessagesNotVisible", queue.name),
            aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id="busy", expression="visible + running", label="messages waiting or running", return_data=True
            ),
        ],
        alarm_actions=[scale_in.arn],
        tags=scaling.tags,
        opts=child(scaling.parent),
    )


def _sqs_metric(query_id: str, metric: str, queue_name: pulumi.Input[str]) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
    return aws.cloudwatch.MetricAlarmMetricQueryArgs(
        id=query_id,
        metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
            namespace="AWS/SQS",
            metric_name=metric,
            dimensions={"QueueName": queue_name},
            period=60,
            stat="Maximum",
        ),
        return_data=False,
    )
