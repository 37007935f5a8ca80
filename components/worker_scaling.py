"""A team's workers against its backlog, as pure data: the metric math of the scaling alarms and the step bands.

``backlog_queries`` reads, per minute, the team queue's visible and in-flight messages (SQS) and the worker
service's desired count (Container Insights), and returns one of:

- ``shortfall`` = workers needed - desired workers, where needed = ceil((visible + in flight) / concurrency);
- ``excess`` = desired workers - needed, or 0 while any task waits (a worker never stops while work waits for one).

Steps add or remove a whole band of workers at once, so a burst of a hundred tasks does not take a hundred minutes:
bands start at 1, 2, 3, 4, 6, 8, 12, ... and each adds (or removes) its lower end. A band never overshoots, and what
it leaves is taken by the next minute's evaluation; Application Auto Scaling keeps the count within the bounds.
Dimension values may be Pulumi outputs: nothing here looks at them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from components.metric_math import MetricQuery

SCALE_OUT_COOLDOWN_SECONDS = 120
"""About how long a Fargate worker takes to start and take tasks: no second band for the same shortfall before."""
SCALE_IN_COOLDOWN_SECONDS = 60
SCALE_IN_MINUTES = 3
"""Minutes without waiting tasks and with more workers than needed before idle ones stop."""
BANDS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48)
Backlog = Literal["shortfall", "excess"]


@dataclass(frozen=True)
class Step:
    """A band of the alarm's metric, relative to the alarm threshold (1), and the change of workers it makes."""

    lower: float
    upper: float | None
    adjustment: int


def _bands(most: int) -> list[int]:
    return [b for b in BANDS if b <= max(most, 1)]


def scale_out_steps(most: int) -> list[Step]:
    """Add the lower end of the shortfall's band (the alarm fires at a shortfall of 1)."""
    bands = _bands(most)
    return [
        Step(lower=b - 1, upper=(bands[i + 1] - 1) if i + 1 < len(bands) else None, adjustment=b)
        for i, b in enumerate(bands)
    ]


def scale_in_steps(most: int) -> list[Step]:
    """Remove the lower end of the excess's band (the alarm fires at an excess of 1)."""
    return [Step(s.lower, s.upper, -s.adjustment) for s in scale_out_steps(most)]


def backlog_queries(
    queue_name: Any, cluster_name: Any, service: str, concurrency: int, result: Backlog
) -> list[MetricQuery]:
    """The metric math of one scaling alarm of a team's workers; the last query is the alarm's value."""
    queue = {"QueueName": queue_name}
    needed = f"CEIL((FILL(visible, 0) + FILL(running, 0)) / {concurrency})"
    expressions = {
        "shortfall": (f"{needed} - FILL(desired, 0)", "workers needed beyond those desired"),
        "excess": (f"IF(FILL(visible, 0) > 0, 0, FILL(desired, 0) - {needed})", "idle workers while nothing waits"),
    }
    expression, label = expressions[result]
    return [
        MetricQuery("visible", namespace="AWS/SQS", metric="ApproximateNumberOfMessagesVisible", dimensions=queue),
        MetricQuery("running", namespace="AWS/SQS", metric="ApproximateNumberOfMessagesNotVisible", dimensions=queue),
        MetricQuery(
            "desired",
            namespace="ECS/ContainerInsights",
            metric="DesiredTaskCount",
            dimensions={"ClusterName": cluster_name, "ServiceName": service},
        ),
        MetricQuery(result, expression=expression, label=label, returned=True),
    ]
