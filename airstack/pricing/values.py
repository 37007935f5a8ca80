"""Read resource inputs that may not be known before deployment, without ever raising.

A preview leaves some inputs unknown: the engine sends Pulumi's unknown sentinel string, the Python SDK may hand
back its ``Unknown`` marker. Every reader here returns ``None`` for those (and for values of the wrong shape),
so a line item can say what it had to assume instead of the estimate crashing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pulumi.output import Unknown

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""What the engine puts where a value is not known before deployment (``pulumi.runtime.rpc.UNKNOWN``)."""


def is_unknown(value: Any) -> bool:
    return isinstance(value, Unknown) or (isinstance(value, str) and value == UNKNOWN)


def number(value: Any) -> float | None:
    """A finite number from a number or numeric string; ``None`` for unknowns, booleans and anything else."""
    if isinstance(value, bool) or is_unknown(value):
        return None
    if isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str):
        try:
            result = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return result if math.isfinite(result) else None


def flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def text(value: Any) -> str | None:
    return value if isinstance(value, str) and not is_unknown(value) else None


def mapping(value: Any) -> Mapping[str, Any]:
    """The value if it is a mapping, else an empty one (unknown objects have no known keys)."""
    return value if isinstance(value, Mapping) else {}


def sequence(value: Any) -> Sequence[Any] | None:
    """The value if it is a list (its items may still be unknown); ``None`` for an unknown or missing list."""
    return value if isinstance(value, list | tuple) else None


_CPU = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(vcpu)?\s*$", re.IGNORECASE)
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(gb|mib|mb)?\s*$", re.IGNORECASE)


def fargate_vcpu(value: Any) -> float | None:
    """ECS task ``cpu``: CPU units (``"1024"``) or vCPUs (``"1 vCPU"``), as vCPUs."""
    if is_unknown(value) or isinstance(value, bool):
        return None
    match = _CPU.match(str(value)) if isinstance(value, str | int | float) else None
    if match is None:
        return None
    amount = float(match.group(1))
    return amount if match.group(2) else amount / 1024


def fargate_gb(value: Any) -> float | None:
    """ECS task ``memory``: MiB (``"2048"``) or GB (``"2 GB"``), as GB."""
    if is_unknown(value) or isinstance(value, bool):
        return None
    match = _MEMORY.match(str(value)) if isinstance(value, str | int | float) else None
    if match is None:
        return None
    amount = float(match.group(1))
    return amount if (match.group(2) or "").lower() == "gb" else amount / 1024
