"""The replay's calls for Application Auto Scaling, CloudWatch alarms and log groups."""

from __future__ import annotations

import itertools
from typing import Any

from airstack.offline import Resource
from tests.replay import Inputs, Replay, handles, rules
from tests.replay.shapes import kv, physical_name, prune

# ---------------------------------------------------------------------------------- Application Auto Scaling


@handles("aws:appautoscaling/target:Target")
def scalable_target(rp: Replay, r: Resource, i: Inputs) -> None:
    low, high = i["minCapacity"], i["maxCapacity"]
    rp.expect(r, "scaling", low <= high, f"minCapacity {low} is above maxCapacity {high}")
    suspended = i.get("suspendedState")
    answer = rp.call(r, "application-autoscaling", "register_scalable_target", ServiceNamespace=i["serviceNamespace"],
                     ResourceId=i["resourceId"], ScalableDimension=i["scalableDimension"], MinCapacity=low,
                     MaxCapacity=high, RoleARN=i.get("roleArn"), Tags=i.get("tags"),
                     SuspendedState=prune({"DynamicScalingInSuspended": suspended.get("dynamicScalingInSuspended"),
                                           "DynamicScalingOutSuspended": suspended.get("dynamicScalingOutSuspended"),
                                           "ScheduledScalingSuspended": suspended.get("scheduledScalingSuspended")})
                     if suspended else None)  # fmt: skip
    rp.bind(r.outputs.get("arn"), answer.get("ScalableTargetARN"))
    rp.facts.setdefault("scalable_max", {})[i["resourceId"]] = high


def _bound(value: Any) -> float | None:
    return None if value in (None, "") else float(value)


@handles("aws:appautoscaling/policy:Policy")
def scaling_policy(rp: Replay, r: Resource, i: Inputs) -> None:
    step = i.get("stepScalingPolicyConfiguration")
    tracking = i.get("targetTrackingScalingPolicyConfiguration")
    steps = [prune({"MetricIntervalLowerBound": _bound(s.get("metricIntervalLowerBound")),
                    "MetricIntervalUpperBound": _bound(s.get("metricIntervalUpperBound")),
                    "ScalingAdjustment": s["scalingAdjustment"]}) for s in (step or {}).get("stepAdjustments", [])]  # fmt: skip
    intervals = sorted((s.get("MetricIntervalLowerBound", float("-inf")), s.get("MetricIntervalUpperBound", float("inf")))
                       for s in steps)  # fmt: skip
    for (_, upper), (lower, _) in itertools.pairwise(intervals):
        rp.expect(r, "scaling", upper <= lower, f"step adjustments overlap: {intervals}")
    answer = rp.call(
        r, "application-autoscaling", "put_scaling_policy", PolicyName=physical_name(r, i),
        ServiceNamespace=i["serviceNamespace"], ResourceId=i["resourceId"], ScalableDimension=i["scalableDimension"],
        PolicyType=i.get("policyType"),
        StepScalingPolicyConfiguration=prune({
            "AdjustmentType": step.get("adjustmentType"), "Cooldown": step.get("cooldown"),
            "MetricAggregationType": step.get("metricAggregationType"),
            "MinAdjustmentMagnitude": step.get("minAdjustmentMagnitude"), "StepAdjustments": steps,
        }) if step else None,
        TargetTrackingScalingPolicyConfiguration=prune({
            "TargetValue": tracking["targetValue"], "DisableScaleIn": tracking.get("disableScaleIn"),
            "ScaleInCooldown": tracking.get("scaleInCooldown"), "ScaleOutCooldown": tracking.get("scaleOutCooldown"),
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": tracking["predefinedMetricSpecification"]["predefinedMetricType"],
                "ResourceLabel": tracking["predefinedMetricSpecification"].get("resourceLabel"),
            } if tracking.get("predefinedMetricSpecification") else None,
        }) if tracking else None,
    )  # fmt: skip
    rp.bind(r.outputs.get("arn"), answer.get("PolicyARN"))


@handles("aws:appautoscaling/scheduledAction:ScheduledAction")
def scheduled_action(rp: Replay, r: Resource, i: Inputs) -> None:
    action = i["scalableTargetAction"]
    rp.check(r, "schedule", rules.schedule_problems(i["schedule"], i.get("timezone")))
    low, high = action.get("minCapacity"), action.get("maxCapacity")
    rp.expect(r, "scaling", low is None or high is None or low <= high, f"minCapacity {low} above maxCapacity {high}")
    if high is not None:
        ceiling = rp.facts.setdefault("scalable_max", {})
        ceiling[i["resourceId"]] = max(ceiling.get(i["resourceId"], 0), high)
    rp.call(r, "application-autoscaling", "put_scheduled_action", ServiceNamespace=i["serviceNamespace"],
            ScheduledActionName=physical_name(r, i), ResourceId=i["resourceId"], ScalableDimension=i["scalableDimension"],
            Schedule=i["schedule"], Timezone=i.get("timezone"), StartTime=i.get("startTime"), EndTime=i.get("endTime"),
            ScalableTargetAction=prune({"MinCapacity": low, "MaxCapacity": high}))  # fmt: skip


# ---------------------------------------------------------------------------------------------- alarms


def _dimensions(dimensions: dict[str, str] | None) -> list[dict[str, str]] | None:
    return [{"Name": k, "Value": v} for k, v in dimensions.items()] if dimensions else None


@handles("aws:cloudwatch/metricAlarm:MetricAlarm")
def metric_alarm(rp: Replay, r: Resource, i: Inputs) -> None:
    queries = i.get("metricQueries") or []
    rp.expect(r, "alarm", bool(i.get("metricName")) != bool(queries), "exactly one of metricName and metricQueries")
    if queries:
        returned = [q["id"] for q in queries if q.get("returnData")]
        rp.expect(r, "alarm", len(returned) == 1, f"exactly one metric query returns data, not {returned}")
    periods = [i.get("period")] + [(q.get("metric") or {}).get("period") for q in queries]
    for period in filter(None, periods):
        rp.expect(r, "alarm", period in (10, 20, 30) or period % 60 == 0, f"period {period}: 10, 20, 30 or n × 60")
        rp.expect(r, "alarm", period * i["evaluationPeriods"] <= 7 * 86400, "the evaluation range exceeds 7 days")
    for action in [*(i.get("alarmActions") or []), *(i.get("okActions") or []),
                   *(i.get("insufficientDataActions") or [])]:  # fmt: skip
        rp.expect(r, "alarm-action", rp.exists(action) or ":automate:" in action, f"action {action} does not exist")
    region = rp.region_of(r)
    named = [(i.get("namespace"), i.get("metricName"), i.get("dimensions"))] + [
        (q["metric"].get("namespace"), q["metric"].get("metricName"), q["metric"].get("dimensions"))
        for q in queries if q.get("metric")
    ]  # fmt: skip
    alarmed = [(ns, m, region, dict(d or {})) for ns, m, d in named if ns and m]
    rp.facts.setdefault("metrics_alarmed", []).append((r, alarmed))
    metrics = [prune({
        "Id": q["id"], "Expression": q.get("expression"), "Label": q.get("label"), "ReturnData": q.get("returnData"),
        "Period": q.get("period"), "AccountId": q.get("accountId"),
        "MetricStat": {"Metric": prune({"Namespace": q["metric"].get("namespace"), "MetricName": q["metric"]["metricName"],
                                        "Dimensions": _dimensions(q["metric"].get("dimensions"))}),
                       "Period": q["metric"]["period"], "Stat": q["metric"]["stat"], "Unit": q["metric"].get("unit")}
        if q.get("metric") else None,
    }) for q in queries]  # fmt: skip
    rp.call(r, "cloudwatch", "put_metric_alarm", AlarmName=physical_name(r, i), AlarmDescription=i.get("alarmDescription"),
            ActionsEnabled=i.get("actionsEnabled"), AlarmActions=i.get("alarmActions"), OKActions=i.get("okActions"),
            InsufficientDataActions=i.get("insufficientDataActions"), MetricName=i.get("metricName"),
            Namespace=i.get("namespace"), Statistic=i.get("statistic"), ExtendedStatistic=i.get("extendedStatistic"),
            Dimensions=_dimensions(i.get("dimensions")), Period=i.get("period"), Unit=i.get("unit"),
            EvaluationPeriods=i["evaluationPeriods"], DatapointsToAlarm=i.get("datapointsToAlarm"),
            Threshold=i.get("threshold"), ThresholdMetricId=i.get("thresholdMetricId"),
            ComparisonOperator=i["comparisonOperator"], TreatMissingData=i.get("treatMissingData"),
            EvaluateLowSampleCountPercentile=i.get("evaluateLowSampleCountPercentiles"), Metrics=metrics or None,
            Tags=kv(i.get("tags")))  # fmt: skip


@handles("aws:cloudwatch/logGroup:LogGroup")
def log_group(rp: Replay, r: Resource, i: Inputs) -> None:
    name = physical_name(r, i)
    days = i.get("retentionInDays")
    rp.expect(r, "log-retention", days in (None, 0) or days in rules.LOG_RETENTION_DAYS,
              f"retentionInDays {days} is not one of {sorted(rules.LOG_RETENTION_DAYS)}")  # fmt: skip
    rp.call(r, "logs", "create_log_group", logGroupName=name, kmsKeyId=i.get("kmsKeyId"), tags=i.get("tags"),
            logGroupClass=i.get("logGroupClass"))  # fmt: skip
    if days:
        rp.call(r, "logs", "put_retention_policy", logGroupName=name, retentionInDays=days)
    rp.facts.setdefault("log_groups", set()).add((rp.region_of(r), name))
