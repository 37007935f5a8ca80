"""Airflow's StatsD metrics published by a CloudWatch agent sidecar: custom metrics, billed per metric-month.

A custom metric is a name with one set of dimensions in a namespace. Counted from the task definitions: a task with
a ``cloudwatch-agent`` container whose configuration (``CW_CONFIG_CONTENT``) listens for StatsD publishes what the
task's Airflow processes send it. Each Airflow container names what it sends (``metrics_allow_list``) and the tags
that become dimensions (``statsd_datadog_tags``: its service, a worker's queue). Which allowed metric each kind of
process emits is Airflow's behaviour, kept in ``EMITTED_BY``; the agent's ``metric_type`` dimension adds no
combination (each metric has one type) and ``omit_hostname`` keeps tasks of one service on the same metric.
"""

from __future__ import annotations

import json
from typing import Any

from airstack.offline import Resource
from airstack.pricing.compute import task_definition
from airstack.pricing.context import TASK_DEFINITION, Context
from airstack.pricing.model import LineItem
from airstack.pricing.usage import HOURS_PER_MONTH
from airstack.pricing.values import flag, mapping, sequence, text

AGENT_CONTAINER = "cloudwatch-agent"
AGENT_CONFIG_ENV = "CW_CONFIG_CONTENT"
METRICS_ON = "AIRFLOW__METRICS__STATSD_ON"
ALLOW_LIST = "AIRFLOW__METRICS__METRICS_ALLOW_LIST"
PROCESS_TAGS = "AIRFLOW__METRICS__STATSD_DATADOG_TAGS"
DISABLED_TAGS = "AIRFLOW__METRICS__STATSD_DISABLED_TAGS"

EMITTED_BY = (
    ("scheduler", "scheduler"),
    ("executor.", "scheduler"),
    ("dagrun.", "scheduler"),
    ("pool.", "scheduler"),
    ("triggerer", "triggerer"),
    ("triggers.", "triggerer"),
    ("dag_processor", "dag-processor"),
    ("dag_processing.", "dag-processor"),
    ("ti_", "worker"),
    ("ti.", "worker"),
    ("task.", "worker"),
)
"""Airflow 3 metric-name prefixes and the process that sends them (the executor's run inside the scheduler, task
successes and failures in the worker that ran the task)."""
PROCESSES = ("scheduler", "dag-processor", "triggerer", "worker")


def _containers(task: Resource) -> list[dict[str, Any]]:
    raw = task.inputs.get("containerDefinitions")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            return []
    return [dict(mapping(c)) for c in sequence(raw) or []]


def _environment(container: dict[str, Any]) -> dict[str, str]:
    found = {}
    for entry in sequence(container.get("environment")) or []:
        name, value = text(mapping(entry).get("name")), text(mapping(entry).get("value"))
        if name and value is not None:
            found[name] = value
    return found


def _statsd_namespace(agent: dict[str, Any]) -> tuple[str | None, bool]:
    """The namespace the agent publishes StatsD metrics to (None when it does not listen for StatsD), and whether
    it adds each task's host name as a dimension."""
    try:
        config = mapping(json.loads(_environment(agent).get(AGENT_CONFIG_ENV, "")))
    except json.JSONDecodeError:
        return None, False
    metrics = mapping(config.get("metrics"))
    per_host = flag(mapping(config.get("agent")).get("omit_hostname")) is not True
    if "statsd" not in mapping(metrics.get("metrics_collected")):
        return None, per_host
    return text(metrics.get("namespace")) or "CWAgent", per_host


def _process(container: dict[str, Any], tags: dict[str, str]) -> str | None:
    name = text(container.get("name")) or ""
    service = tags.get("Service", "")
    for process in PROCESSES:
        if process in (name, service) or service.startswith(f"{process}-"):
            return process
    return None


def _emits(process: str | None, allowed: str) -> bool:
    """Whether ``process`` sends the allowed metric; one no prefix places is counted for every process."""
    owner = next((who for prefix, who in EMITTED_BY if allowed.startswith(prefix)), None)
    return owner is None or owner == process


def _published(task: Resource, tasks: int) -> tuple[set[tuple[str, str, frozenset[tuple[str, str]]]], list[str]]:
    """The distinct (namespace, metric, dimensions) the agents of ``tasks`` copies of a task publish, and caveats."""
    containers = _containers(task)
    agent = next((c for c in containers if text(c.get("name")) == AGENT_CONTAINER), None)
    namespace, per_host = _statsd_namespace(agent) if agent else (None, False)
    if namespace is None:
        return set(), []
    hosts = [frozenset({("host", f"task-{n}")}) for n in range(max(1, tasks))] if per_host else [frozenset()]
    metrics: set[tuple[str, str, frozenset[tuple[str, str]]]] = set()
    caveats = []
    for container in containers:
        env = _environment(container)
        if container is agent or not flag(env.get(METRICS_ON)):
            continue
        tags = dict(t.split(":", 1) for t in env.get(PROCESS_TAGS, "").split(",") if ":" in t)
        allowed = [a.strip() for a in env.get(ALLOW_LIST, "").split(",") if a.strip()]
        if not allowed:
            caveats.append(f"{text(container.get('name'))} has no metrics allow list: its metrics are not counted")
            continue
        if not env.get(DISABLED_TAGS):
            caveats.append(f"{text(container.get('name'))} keeps per-DAG tags: counted once, each DAG adds more")
        process = _process(container, tags)
        metrics |= {(namespace, a, frozenset(tags.items()) | h) for a in allowed if _emits(process, a) for h in hosts}
    if per_host:
        caveats.append("the agent adds each task's host name: a set per task counted, each replaced task adds one")
    return metrics, caveats


def airflow_metric_items(ctx: Context) -> list[LineItem]:
    running: dict[str, float] = {}
    for service, count in ctx.service_tasks():
        task = task_definition(ctx, service)
        if task is not None:
            running[task.urn] = running.get(task.urn, 0.0) + count
    always: set[tuple[str, str, frozenset[tuple[str, str]]]] = set()
    scaled: set[tuple[str, str, frozenset[tuple[str, str]]]] = set()
    caveats: list[str] = []
    for task in ctx.run.by_type(TASK_DEFINITION):
        published, notes = _published(task, int(running.get(task.urn, 0.0)))
        (always if running.get(task.urn) else scaled).update(published)
        caveats += notes
    scaled -= always
    if not always and not scaled:
        return []
    price = ctx.prices.usd("cloudwatch.customMetricMonth")
    share = ctx.hours_on / HOURS_PER_MONTH
    total = len(always) + len(scaled)
    assumption = (
        f"{total} metric names x dimension sets (allowed names each process sends, x its Service and Queue tags), "
        f"an estimate; {len(always)} published {ctx.hours_on:g} h"
    )
    if scaled:
        assumption += f", {len(scaled)} only while a service scaled to zero runs (not counted)"
    return [
        LineItem(
            f"Airflow metrics ({total} custom)",
            len(always) * share * price,
            "; ".join([assumption, *sorted(set(caveats))]),
            "observability",
            total * share * price if scaled else None,
        )
    ]
