"""ElastiCache line items: node-based replication groups and clusters, always on, priced per node-hour.

A Redis broker (``broker.type: redis``) is one replication group: a primary plus its replicas, each a billed
node whatever it does. ElastiCache does not stop with hibernating services, so every node counts all month.
"""

from __future__ import annotations

from airstack.offline import Resource
from airstack.pricing.context import Context
from airstack.pricing.model import LineItem
from airstack.pricing.usage import HOURS_PER_MONTH
from airstack.pricing.values import flag, number, text

REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
CLUSTER = "aws:elasticache/cluster:Cluster"
SERVERLESS = "aws:elasticache/serverlessCache:ServerlessCache"
ENGINES = {"valkey": "Valkey", "redis": "Redis OSS", "memcached": "Memcached"}


def _nodes(group: Resource) -> tuple[int, str]:
    """The group's billed nodes, and how they were counted."""
    shards = number(group.inputs.get("numNodeGroups"))
    if shards:
        replicas = number(group.inputs.get("replicasPerNodeGroup")) or 0
        return int(shards * (1 + replicas)), f"{shards:g} shards x (1 primary + {replicas:g} replicas)"
    nodes = int(number(group.inputs.get("numCacheClusters")) or 1)
    replicas = f"{nodes - 1} replica{'s' if nodes != 2 else ''}" if nodes > 1 else "no replica"
    return nodes, f"1 primary + {replicas}"


def cache_items(ctx: Context) -> list[LineItem]:
    p = ctx.prices
    items = []
    groups = [(g, *_nodes(g)) for g in ctx.run.by_type(REPLICATION_GROUP)]
    clusters = [
        (c, int(number(c.inputs.get("numCacheNodes")) or 1), "cache nodes")
        for c in ctx.run.by_type(CLUSTER)
        if not c.inputs.get("replicationGroupId")  # a member of a group is counted with the group
    ]
    for resource, nodes, how in [*groups, *clusters]:
        engine = text(resource.inputs.get("engine")) or "redis"
        node_type = text(resource.inputs.get("nodeType"))
        name = text(resource.inputs.get("replicationGroupId")) or text(resource.inputs.get("clusterId"))
        multi = " Multi-AZ" if flag(resource.inputs.get("multiAzEnabled")) else ""
        label = (
            f"ElastiCache {ENGINES.get(engine, engine)} {name or resource.name} {node_type or '(node type unknown)'}"
        )
        label += f" x{nodes}{multi}"
        key = f"elasticache.{engine}.{node_type}.hour"
        if node_type is None:
            items.append(LineItem(label, 0.0, "node type unknown before deployment: not priced", "messaging"))
        elif not p.has(key):
            where = f"airstack/pricing/prices/{p.region}.json"
            items.append(
                LineItem(label, 0.0, f"no price for {engine} {node_type} in {where}: add it there", "messaging")
            )
        else:
            snapshots = number(resource.inputs.get("snapshotRetentionLimit")) or 0
            kept = f"; {snapshots:g} days of snapshots not counted" if snapshots else "; no snapshots kept"
            items.append(
                LineItem(
                    label,
                    nodes * p.usd(key) * HOURS_PER_MONTH,
                    f"{how}, always on (ElastiCache does not hibernate with the services){kept}; replication "
                    "traffic between AZs not counted",
                    "messaging",
                )
            )
    for cache in ctx.run.by_type(SERVERLESS):
        ctx.notes.append(f"ElastiCache Serverless {cache.name} is not in the price table (priced per GB-hour and ECPU)")
    return items
