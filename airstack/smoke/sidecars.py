"""Containers that do not run the stack's Airflow image, and what the smoke puts in their place. Pure.

A task's containers run the stack's Airflow image (built locally from image/) or a sidecar the smoke knows by its
image. The one it knows is the CloudWatch agent (ECR Public ``cloudwatch-agent/cloudwatch-agent``, directly or
through a pull-through cache, or Docker Hub's ``amazon/cloudwatch-agent``): its stand-in is a StatsD listener
where the agent's configuration (``CW_CONFIG_CONTENT``) makes it listen, which records every metric it receives
under the name and dimensions the agent would publish it with (``airstack.smoke.statsd``). Any other image is
refused by name: the smoke never leaves a container out silently.

The agent, as configured by its ``statsd`` section: it listens on ``service_address`` (default ``:8125``), joins
a metric's dotted name with ``metric_separator`` (default ``_``), turns DogStatsD tags into dimensions, adds a
``metric_type`` dimension (counter, gauge, timing, set) and publishes to ``metrics.namespace`` (default
``CWAgent``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CLOUDWATCH_AGENT = "cloudwatch-agent"
"""The kind of a container whose image is the CloudWatch agent."""
AIRFLOW = "airflow"
"""The kind of a container that runs the stack's Airflow image."""
AGENT_REPOSITORIES = ("cloudwatch-agent/cloudwatch-agent", "amazon/cloudwatch-agent")
AGENT_CONFIG_ENV = "CW_CONFIG_CONTENT"
DEFAULT_NAMESPACE = "CWAgent"
DEFAULT_STATSD_PORT = 8125
DEFAULT_SEPARATOR = "_"
METRIC_TYPES = {"c": "counter", "g": "gauge", "ms": "timing", "h": "timing", "d": "timing", "s": "set"}
"""StatsD type -> the agent's ``metric_type`` dimension."""


class SidecarError(Exception):
    """A sidecar's definition has no stand-in; the message names the container."""


def repository(image: str) -> str:
    """``registry/path/name:tag@digest`` -> ``path/name`` (the registry is the first part when it has a dot)."""
    reference = image.split("@", 1)[0]
    name, _, tag = reference.rpartition(":")
    if not name or "/" in tag:  # no tag (the colon was a registry port)
        name = reference
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    return "/".join(parts)


def sidecar_kind(image: str) -> str | None:
    """The sidecar an image is, if the smoke has a stand-in for it."""
    path = repository(image)
    if any(path == known or path.endswith(f"/{known}") for known in AGENT_REPOSITORIES):
        return CLOUDWATCH_AGENT
    return None


@dataclass(frozen=True)
class StatsdListener:
    """Where a CloudWatch agent listens for StatsD, and how it names what it publishes."""

    host: str
    """As configured: empty means every interface."""
    port: int
    namespace: str
    separator: str


def agent_listener(container: str, environment: Mapping[str, str]) -> StatsdListener | None:
    """The StatsD listener a CloudWatch agent's configuration asks for; None when it collects no StatsD."""
    raw = environment.get(AGENT_CONFIG_ENV)
    if raw is None:
        raise SidecarError(
            f"{container}: the CloudWatch agent's stand-in reads its configuration from {AGENT_CONFIG_ENV}, "
            "which the container does not set (a configuration from SSM has no stand-in in the smoke)"
        )
    try:
        config = json.loads(raw)
    except ValueError as error:
        raise SidecarError(f"{container}: {AGENT_CONFIG_ENV} is not JSON ({error})") from None
    metrics = config.get("metrics") if isinstance(config, dict) else None
    collected = metrics.get("metrics_collected") if isinstance(metrics, dict) else None
    statsd = collected.get("statsd") if isinstance(collected, dict) else None
    if not isinstance(statsd, dict):
        return None
    address = str(statsd.get("service_address") or f":{DEFAULT_STATSD_PORT}")
    host, _, port = address.rpartition(":")
    if not port.isdigit():
        raise SidecarError(f"{container}: statsd service_address {address!r} is not host:port")
    return StatsdListener(
        host=host.strip("[]"),
        port=int(port),
        namespace=str(metrics.get("namespace") or DEFAULT_NAMESPACE),  # type: ignore[union-attr]
        separator=str(statsd.get("metric_separator", DEFAULT_SEPARATOR)),
    )


@dataclass(frozen=True)
class Published:
    """A metric as the agent publishes it to CloudWatch."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    """Sorted (name, value) pairs."""

    def matches(self, namespace: str, name: str, dimensions: Mapping[str, str]) -> bool:
        return (self.namespace, self.name, self.dimensions) == (namespace, name, tuple(sorted(dimensions.items())))


_LINE = re.compile(r"^(?P<name>[^:|#\s]+):(?P<value>[^|]*)\|(?P<type>[a-z]+)(?P<rest>(\|[^|]*)*)$")


def published(line: str, listener: StatsdListener) -> Published | None:
    """The metric one StatsD/DogStatsD line becomes in CloudWatch; None for what is not a metric line."""
    match = _LINE.match(line.strip())
    if match is None or match.group("type") not in METRIC_TYPES:
        return None
    dimensions = {"metric_type": METRIC_TYPES[match.group("type")]}
    for part in match.group("rest").split("|"):
        if part.startswith("#"):
            for tag in filter(None, part[1:].split(",")):
                key, _, value = tag.partition(":")
                dimensions[key] = value
    name = match.group("name").replace(".", listener.separator)
    return Published(listener.namespace, name, tuple(sorted(dimensions.items())))


def lines(datagram: bytes) -> list[str]:
    """A StatsD datagram holds one metric per line."""
    return [line for line in datagram.decode("utf-8", errors="replace").splitlines() if line.strip()]


# ------------------------------------------------------------------------------------ what alarms watch


@dataclass(frozen=True)
class WatchedMetric:
    """A metric one of the stack's alarms watches."""

    alarm: str
    namespace: str
    name: str
    dimensions: Mapping[str, str]

    def label(self) -> str:
        dims = ", ".join(f"{k}={v}" for k, v in sorted(self.dimensions.items()))
        return f"{self.name} ({dims})" if dims else self.name


def watched_metrics(alarm_name: str, inputs: Mapping[str, Any]) -> list[WatchedMetric]:
    """The metrics a CloudWatch metric alarm's inputs watch: its own metric, or those of its metric queries."""
    metrics = [inputs, *(q.get("metric") for q in inputs.get("metricQueries") or [] if isinstance(q, Mapping))]
    return [
        WatchedMetric(alarm_name, str(m["namespace"]), str(m["metricName"]), _dims(m.get("dimensions")))
        for m in metrics
        if isinstance(m, Mapping) and m.get("metricName") and m.get("namespace")
    ]


def _dims(value: object) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, Mapping) else {}
