"""One query of a CloudWatch alarm or dashboard: a metric, or metric math over the other queries. Pure data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PERIOD_SECONDS = 60


@dataclass(frozen=True)
class MetricQuery:
    id: str
    expression: str | None = None
    label: str | None = None
    namespace: str | None = None
    metric: str | None = None
    dimensions: Mapping[str, Any] = field(default_factory=dict)
    """Dimension values may be Pulumi outputs (queue names, ARN suffixes): nothing here looks at them."""
    stat: str = "Maximum"
    period: int = PERIOD_SECONDS
    returned: bool = False
    """The alarm's value (exactly one query of an alarm returns data)."""


def metric(query_id: str, namespace: str, name: str, dimensions: Mapping[str, Any], stat: str = "Maximum",
           period: int = PERIOD_SECONDS, returned: bool = False) -> MetricQuery:  # fmt: skip
    return MetricQuery(query_id, namespace=namespace, metric=name, dimensions=dimensions, stat=stat, period=period,
                       returned=returned)  # fmt: skip


def expression(query_id: str, text: str, label: str) -> MetricQuery:
    return MetricQuery(query_id, expression=text, label=label, returned=True)
