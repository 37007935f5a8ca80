"""Whether Airflow's metrics reach the CloudWatch agents (their stand-ins) as the stack's alarms expect. Pure.

Two checks a user cares about: every metric an alarm watches in an agent's namespace (the scheduler's heartbeat:
without it the alarm fires although the scheduler runs) arrives at an agent with the alarm's name and dimensions;
and each agent receives its own task's metrics (a worker's task successes, the jobs' heartbeats).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from airstack.smoke.model import Container, SmokePlan
from airstack.smoke.report import Check
from airstack.smoke.sidecars import Published, WatchedMetric


def _label(metric: Published) -> str:
    dims = ", ".join(f"{k}={v}" for k, v in metric.dimensions if k != "metric_type")
    return f"{metric.name} ({dims})" if dims else metric.name


def _summary(received: Counter[Published], limit: int = 8, *, dimensions: bool = True) -> str:
    names = sorted({_label(m) if dimensions else m.name for m in received})
    more = f", and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more if names else "nothing"


def watched_metric_check(
    watched: WatchedMetric,
    received: Mapping[str, Counter[Published]],
    names: Mapping[str, str],
    senders: Sequence[str] = (),
) -> Check:
    """One alarm's metric: which agent received it how often, or what the agents received instead."""
    arrived = {
        key: sum(n for m, n in metrics.items() if m.matches(watched.namespace, watched.name, watched.dimensions))
        for key, metrics in received.items()
    }
    where = [f"{n}× at {names[key]}" for key, n in arrived.items() if n]
    name = f"alarm {watched.alarm}: its metric reaches a CloudWatch agent"
    if where:
        return Check(name, True, f"{watched.label()}: {', '.join(where)}")
    seen = "; ".join(f"{names[key]} got {_summary(metrics)}" for key, metrics in received.items())
    detail = f"{watched.label()} never arrived ({seen or 'no agent received anything'})"
    return Check(name, False, detail, tuple(senders))


def agent_check(agent: Container, received: Counter[Published], task_airflow: Sequence[Container]) -> Check:
    """An agent receives its own task's metrics (tagged with its service, as the rendered tags say)."""
    task = agent.task
    name = f"{task}: its metrics reach its CloudWatch agent"
    ours = Counter({m: n for m, n in received.items() if dict(m.dimensions).get("Service", task) == task})
    components = tuple(f"{c.task}.{c.name}" for c in task_airflow)
    if not ours:
        other = f" (it received only {_summary(received)})" if received else ""
        return Check(name, False, f"no metric from {', '.join(components) or task} arrived{other}", components)
    return Check(name, True, f"{sum(ours.values())} received: {_summary(ours, dimensions=False)}")


def metric_checks(
    plan: SmokePlan, received: Mapping[str, Counter[Published]], namespaces: Mapping[str, str]
) -> list[Check]:
    """``received``: agent container key -> what its stand-in recorded; ``namespaces``: key -> its namespace."""
    if not received:
        return []
    names = {c.key: f"{c.task}.{c.name}" for c in plan.sidecars}
    checks = [
        watched_metric_check(w, received, names, _senders(plan, w.dimensions.get("Service")))
        for w in plan.watched
        if w.namespace in set(namespaces.values())
    ]
    for agent in plan.sidecars:
        if agent.key in received:
            task_airflow = [c for c in plan.airflow_containers if c.task == agent.task and c.essential]
            checks.append(agent_check(agent, received[agent.key], task_airflow))
    return checks


def _senders(plan: SmokePlan, service: str | None) -> list[str]:
    """The processes of the service a metric is tagged with, whose logs explain why it did not arrive."""
    return [f"{c.task}.{c.name}" for c in plan.airflow_containers if c.task == service and c.essential]
