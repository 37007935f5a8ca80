"""The result of an estimate: line items with their assumptions, the prices they used, the MWAA comparison."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from airstack.pricing.table import Price

MWAA_REPLACES = frozenset({"compute", "database", "ingress", "messaging", "dags"})
"""Categories a managed Airflow (MWAA) environment provides itself; network, buckets, logs and keys remain."""


@dataclass(frozen=True)
class LineItem:
    item: str
    monthly_usd: float
    assumption: str
    category: str
    max_monthly_usd: float | None = None
    """What the line costs with every scaled service at its maximum all the time (only for scaled lines)."""

    @property
    def replaced_by_mwaa(self) -> bool:
        return self.category in MWAA_REPLACES

    def as_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "item": self.item,
            "monthlyUsd": round(self.monthly_usd, 2),
            "assumption": self.assumption,
            "category": self.category,
        }
        if self.max_monthly_usd is not None:
            entry["monthlyUsdAtMaxScale"] = round(self.max_monthly_usd, 2)
        return entry


def total(items: list[LineItem], *, at_max: bool = False) -> float:
    """The items' monthly sum in USD; ``at_max`` with each item at its maximum scale where it has one."""
    return round(
        sum(i.max_monthly_usd if at_max and i.max_monthly_usd is not None else i.monthly_usd for i in items), 2
    )


@dataclass(frozen=True)
class MwaaComparison:
    environment_class: str
    why: str
    items: list[LineItem]
    replaced_usd: float
    """What this stack spends on the parts an MWAA environment would provide."""
    replaced_usd_at_max: float

    @property
    def monthly_usd(self) -> float:
        return total(self.items)

    @property
    def monthly_usd_at_max(self) -> float:
        return total(self.items, at_max=True)

    def as_dict(self) -> dict[str, Any]:
        return {
            "service": "Amazon MWAA",
            "environmentClass": self.environment_class,
            "why": self.why,
            "monthlyUsd": self.monthly_usd,
            "monthlyUsdAtMaxScale": self.monthly_usd_at_max,
            "items": [i.as_dict() for i in self.items],
            "replacesUsd": round(self.replaced_usd, 2),
            "replacesUsdAtMaxScale": round(self.replaced_usd_at_max, 2),
            "replaces": sorted(MWAA_REPLACES),
            "differenceUsd": round(self.monthly_usd - self.replaced_usd, 2),
        }


@dataclass(frozen=True)
class CostEstimate:
    items: list[LineItem]
    region: str
    """The stack's region."""
    price_region: str
    """The region whose prices were used (the reference region when the stack's has no table)."""
    hours_on: float
    sources: list[Price]
    comparison: MwaaComparison | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def monthly_usd(self) -> float:
        return total(self.items)

    @property
    def monthly_usd_at_max(self) -> float:
        return total(self.items, at_max=True)

    @property
    def as_of(self) -> str:
        """The oldest date among the prices used: the estimate is no fresher than that."""
        return min((p.as_of for p in self.sources), default="")

    @property
    def approximate(self) -> list[Price]:
        return [p for p in self.sources if p.basis not in ("list", "rule")]

    def as_dict(self) -> dict[str, Any]:
        return {
            "monthlyUsd": self.monthly_usd,
            "monthlyUsdAtMaxScale": self.monthly_usd_at_max,
            "region": self.region,
            "priceRegion": self.price_region,
            "asOf": self.as_of,
            "hoursOnPerMonth": self.hours_on,
            "items": [i.as_dict() for i in self.items],
            "sources": [p.as_dict() for p in self.sources],
            "comparison": self.comparison.as_dict() if self.comparison else None,
            "notes": list(self.notes),
        }
