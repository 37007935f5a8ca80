"""Where every task and container of a smoke lives: addresses, ports, directories, and the log-server forwarders."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from airstack.smoke.containers import container_dir
from airstack.smoke.differences import ContainerPlace, Site, airflow_command, listener_of, rendered_port
from airstack.smoke.network import LOOPBACK, Bound, Forwarder, allocate_addresses, free_port
from airstack.smoke.plan import PlanError, SmokePlan
from airstack.smoke.sidecars import CLOUDWATCH_AGENT, SidecarError, StatsdListener, agent_listener
from airstack.smoke.statsd import AgentStandIn

SITE_DIR = Path(__file__).resolve().parent / "site"
"""Holds the task-address module, put on every container's PYTHONPATH."""


@dataclass
class Layout:
    site: Site
    places: dict[str, ContainerPlace]
    """Container key -> where it lives."""
    moto_port: int
    database_port: int
    forwarders: list[Forwarder] = field(default_factory=list)
    agents: dict[str, AgentStandIn] = field(default_factory=dict)
    """Container key of a CloudWatch agent -> its stand-in (listening from the start)."""

    @property
    def api_url(self) -> str:
        return self.site.api_url

    def close(self) -> None:
        for forwarder in self.forwarders:
            forwarder.close()
        for agent in self.agents.values():
            agent.close()


def agent_listeners(plan: SmokePlan) -> dict[str, StatsdListener]:
    """Container key -> where each CloudWatch agent of the plan listens for StatsD (agents that collect none: none)."""
    found = {}
    for c in plan.sidecars:
        if c.kind != CLOUDWATCH_AGENT:
            raise PlanError(f"{c.key}: the smoke has no stand-in for a {c.kind} sidecar")
        try:
            listener = agent_listener(c.key, c.environment)
        except SidecarError as error:
            raise PlanError(str(error)) from None
        if listener is not None:
            found[c.key] = listener
    return found


def _start_agents(
    plan: SmokePlan, statsd: dict[str, StatsdListener], addresses: dict[str, str], sockets: Bound
) -> dict[str, AgentStandIn]:
    agents = {}
    for c in plan.sidecars:
        if c.key in statsd:
            sock = sockets[(addresses[c.task], statsd[c.key].port, "udp")]
            agents[c.key] = AgentStandIn(f"{c.task}.{c.name}", sock, statsd[c.key])
            agents[c.key].start()
    return agents


def lay_out(plan: SmokePlan, run_dir: Path, python: Path) -> Layout:
    """A loopback address per task, a free port per Airflow server, a directory per container and volume.

    The log servers' forwarders and the CloudWatch agents' stand-ins are started (their sockets are bound here, so
    no other process takes them).
    """
    containers = plan.containers
    listeners = {c.key: listener_of(c) for c in containers}
    forwarded: dict[str, list[int]] = {}
    for c in containers:
        listener = listeners[c.key]
        if listener is not None and not listener.bindable:
            forwarded.setdefault(c.task, []).append(rendered_port(c, listener))
    statsd = agent_listeners(plan)
    datagrams = {t.service: [statsd[c.key].port for c in t.containers if c.key in statsd] for t in plan.tasks}
    addresses, sockets = allocate_addresses([t.service for t in plan.tasks], forwarded, datagram_ports=datagrams)
    ports = {key: free_port() for key, listener in listeners.items() if listener is not None}
    forwarders = []
    agents: dict[str, AgentStandIn] = {}
    try:
        for c in containers:
            listener = listeners[c.key]
            if listener is not None and not listener.bindable:
                forwarder = Forwarder(
                    sockets[(addresses[c.task], rendered_port(c, listener), "tcp")], (LOOPBACK, ports[c.key])
                )
                forwarder.start()
                forwarders.append(forwarder)
        agents.update(_start_agents(plan, statsd, addresses, sockets))
        api = [c for c in containers if airflow_command(c)[:1] == ("api-server",)]
        if not api:
            raise PlanError("the stack has no api-server container: the smoke drives Airflow through its API")
        aliases = []
        for task in plan.tasks:
            for alias in task.aliases:
                behind = [
                    c for c in task.containers if any(p.name == alias.port_name for p in c.ports) and c.key in ports
                ]
                if not behind:
                    raise PlanError(
                        f"Service Connect alias {alias.dns_name}: no Airflow server behind {alias.port_name}"
                    )
                aliases.append((alias, f"http://{LOOPBACK}:{ports[behind[0].key]}"))
    except BaseException:
        for forwarder in forwarders:
            forwarder.close()
        for agent in agents.values():
            agent.close()
        for sock in sockets.values():
            with contextlib.suppress(OSError):
                sock.close()
        raise
    moto_port, database_port = free_port(), free_port()
    site = Site(
        moto_url=f"http://{LOOPBACK}:{moto_port}",
        region=plan.region,
        api_url=f"http://{LOOPBACK}:{ports[api[0].key]}",
        aliases=tuple(aliases),
        python_bin=str(python.parent),
        site_dir=str(SITE_DIR),
    )
    volumes = {m.volume: str(run_dir / "volumes" / m.volume) for c in containers for m in c.mounts}
    with_agent = {c.task for c in plan.sidecars if c.key in agents}
    places = {
        c.key: ContainerPlace(
            root=str(container_dir(run_dir, c) / "root"),
            task_address=addresses[c.task],
            listener_port=ports.get(c.key),
            volumes={m.volume: volumes[m.volume] for m in c.mounts},
            localhost_is_task=c.task in with_agent,
        )
        for c in containers
    }
    return Layout(site, places, moto_port, database_port, forwarders, agents)
