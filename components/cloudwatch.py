"""CloudWatch alarm queries from the pure ``MetricQuery`` data (the one place that knows Pulumi's shapes)."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi_aws as aws

from components.metric_math import MetricQuery


def alarm_queries(queries: Sequence[MetricQuery]) -> list[aws.cloudwatch.MetricAlarmMetricQueryArgs]:
    found = []
    for query in queries:
        if query.expression is not None:
            found.append(
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id=query.id, expression=query.expression, label=query.label, return_data=query.returned
                )
            )
            continue
        if query.metric is None:
            raise ValueError(f"query {query.id} has neither a metric nor an expression")
        found.append(
            aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id=query.id,
                metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                    namespace=query.namespace,
                    metric_name=query.metric,
                    dimensions=dict(query.dimensions),
                    period=query.period,
                    stat=query.stat,
                ),
                return_data=query.returned,
            )
        )
    return found
