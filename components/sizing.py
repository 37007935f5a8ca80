"""Pure sizing rules: Fargate task sizes, SQS visibility and task timeouts, durations.

Everything here is a plain function of plain values so that the config model, the components and the
policy pack derive the same numbers from the same code.
"""

from __future__ import annotations

import math
import re

SQS_MAX_VISIBILITY_SECONDS = 43_200
"""SQS rejects a visibility timeout above 12 h; Celery silently uses 86400 s when none is configured."""

CLOUDWATCH_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip


def _steps(start: int, stop: int, step: int) -> tuple[int, ...]:
    return tuple(range(start, stop + 1, step))


FARGATE_MEMORY_BY_CPU: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: _steps(1024, 4096, 1024),
    1024: _steps(2048, 8192, 1024),
    2048: _steps(4096, 16384, 1024),
    4096: _steps(8192, 30720, 1024),
    8192: _steps(16384, 61440, 4096),
    16384: _steps(32768, 122880, 8192),
}


def fargate_memory_choices(cpu: int) -> str:
    """Human description of the memory values Fargate accepts for ``cpu`` (or of the valid cpu values)."""
    if cpu not in FARGATE_MEMORY_BY_CPU:
        return "cpu must be one of " + ", ".join(str(c) for c in FARGATE_MEMORY_BY_CPU)
    options = FARGATE_MEMORY_BY_CPU[cpu]
    if len(options) <= 4:
        return f"with cpu {cpu}, memory must be one of " + ", ".join(str(m) for m in options)
    step = options[1] - options[0]
    return f"with cpu {cpu}, memory must be {options[0]}-{options[-1]} in steps of {step}"


def is_valid_fargate_size(cpu: int, memory: int) -> bool:
    return memory in FARGATE_MEMORY_BY_CPU.get(cpu, ())


_DURATION = re.compile(r"^(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$")


def parse_duration(text: str) -> int:
    """Parse ``8h``, ``2h30m``, ``45m`` or ``90s`` into seconds; raise ValueError otherwise."""
    match = _DURATION.match(text.strip())
    if not text.strip() or match is None:
        raise ValueError(f"{text!r} is not a duration like 8h, 2h30m, 45m or 90s")
    hours, minutes, seconds = (int(match.group(k) or 0) for k in ("h", "m", "s"))
    total = hours * 3600 + minutes * 60 + seconds
    if total <= 0:
        raise ValueError(f"{text!r} must be longer than zero")
    return total


def format_duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else "", f"{secs}s" if secs else ""]
    return "".join(parts) or "0s"


def visibility_timeout_seconds(longest_task_seconds: int, margin_percent: int) -> int:
    """The SQS visibility timeout a queue needs so that its longest task is not delivered twice."""
    return math.ceil(longest_task_seconds * (100 + margin_percent) / 100)


def longest_task_that_fits(margin_percent: int) -> int:
    """The longest task (seconds) whose visibility timeout still fits under SQS's 12 h limit."""
    return math.floor(SQS_MAX_VISIBILITY_SECONDS * 100 / (100 + margin_percent))


def subnet_masks(vpc_prefix: int, az_count: int) -> dict[str, int]:
    """CIDR masks per subnet tier: private gets half of each AZ's block, public and isolated an eighth each."""
    az_bits = math.ceil(math.log2(az_count))
    az_prefix = vpc_prefix + az_bits
    return {"private": az_prefix + 1, "public": az_prefix + 3, "isolated": az_prefix + 3}
