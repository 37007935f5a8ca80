"""The monthly estimate of a recorded program run: the resources it would create, priced in its own region."""

from __future__ import annotations

from airstack.offline import ProgramRun
from airstack.pricing import mwaa
from airstack.pricing.caches import cache_items
from airstack.pricing.compute import fargate_items
from airstack.pricing.context import Context
from airstack.pricing.infra import database_items, ingress_items, network_items
from airstack.pricing.metrics import airflow_metric_items
from airstack.pricing.model import CostEstimate
from airstack.pricing.replication import replication_items
from airstack.pricing.services import (
    edge_items,
    messaging_items,
    mwaa_environment_items,
    observability_items,
    security_items,
    storage_items,
)
from airstack.pricing.table import PriceTable
from airstack.pricing.usage import DEFAULT_USAGE, HOURS_PER_MONTH, Usage
from components.config import StackConfig


def estimate(
    run: ProgramRun,
    hours_on: float = HOURS_PER_MONTH,
    config: StackConfig | None = None,
    usage: Usage = DEFAULT_USAGE,
) -> CostEstimate:
    """Monthly estimate in ``run.region``'s prices.

    ``hours_on`` is how long the Airflow services run a month (less when they hibernate); everything else is
    always on. With the stack's ``config`` the estimate also compares with MWAA of similar capacity.
    """
    table = PriceTable.for_region(run.region)
    ctx = Context(run, table, usage, hours_on)
    if table.fallback:
        ctx.notes.append(
            f"no price table for {run.region}: {table.region} prices used "
            f"(add airstack/pricing/prices/{run.region}.json)"
        )
    items = [
        *fargate_items(ctx),
        *network_items(ctx),
        *ingress_items(ctx),
        *database_items(ctx),
        *cache_items(ctx),
        *storage_items(ctx),
        *messaging_items(ctx),
        *security_items(ctx),
        *observability_items(ctx),
        *airflow_metric_items(ctx),
        *edge_items(ctx),
        *replication_items(ctx),
        *mwaa_environment_items(ctx),
    ]
    comparison = mwaa.compare(ctx, config, items) if config is not None else None
    used = {**table.used}
    sources = [*table.used.values()]
    for other in ctx.other_tables.values():
        sources += [p for k, p in other.used.items() if other.region != table.region or k not in used]
    sources.sort(key=lambda p: (p.region != table.region, p.region, p.key))
    return CostEstimate(items, run.region, table.region, hours_on, sources, comparison, ctx.notes)


def estimate_stack(run: ProgramRun, config: StackConfig, usage: Usage = DEFAULT_USAGE) -> CostEstimate:
    """An airstack stack's estimate: its hibernation hours, its DR standby at zero, the MWAA comparison."""
    hours = config.schedule.hours_on_per_month() if config.services_running else 0.0
    return estimate(run, hours, config, usage)


def mwaa_reference(region: str = "us-east-1") -> float:
    """What the smallest multi-worker MWAA environment (mw1.small) costs a month, always on, in ``region``."""
    return round(PriceTable.for_region(region).usd("mwaa.mw1.small.environmentHour") * HOURS_PER_MONTH, 2)
