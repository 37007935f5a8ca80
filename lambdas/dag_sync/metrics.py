"""One structured JSON log line per outcome, which is also its CloudWatch metric (Embedded Metric Format).

Why EMF and not ``cloudwatch:PutMetricData``: the function runs in the VPC (it mounts EFS), where the
monitoring API needs a NAT gateway or a ``monitoring`` interface endpoint that not every stack has; a
metric call that hangs or fails would then decide a deployment. Lambda ships stdout to CloudWatch Logs
outside the VPC, and CloudWatch extracts the metric from the line, so the log entry that gives the reason
and the count of it cannot disagree, and the role needs no metric permission.

Metrics (namespace ``AIRSTACK_METRICS_NAMESPACE``, default ``Airstack/DagSync``), each a Count of 1:
``Deployed`` {Team}; ``Rejected`` {Team, Reason}; ``Skipped`` {Team, Reason} with reason ``unchanged`` or
``stale``. ``Team`` is ``-`` when the event names no configured team, so a stranger's key cannot create
metrics (each dimension combination is a billed custom metric).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import IO, Any

DEFAULT_NAMESPACE = "Airstack/DagSync"
NO_TEAM = "-"


def emf_record(
    namespace: str, metric: str, dimensions: Mapping[str, str], fields: Mapping[str, Any], now: float | None = None
) -> dict[str, Any]:
    """A log record carrying ``metric`` = 1 with ``dimensions``; ``fields`` are plain log fields."""
    clash = set(fields) & ({metric, "_aws"} | set(dimensions))
    if clash:
        raise ValueError(f"log fields {sorted(clash)} would overwrite the metric's members")
    return {
        **fields,
        **dimensions,
        metric: 1,
        "_aws": {
            "Timestamp": int((time.time() if now is None else now) * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": [list(dimensions)],
                    "Metrics": [{"Name": metric, "Unit": "Count"}],
                }
            ],
        },
    }


def write(out: IO[str], record: Mapping[str, Any]) -> None:
    """One line on stdout, unprefixed: CloudWatch reads EMF only from lines that are a JSON object."""
    out.write(json.dumps(record, sort_keys=True, default=str) + "\n")
    out.flush()
