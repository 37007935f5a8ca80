"""Dated price tables, one JSON file per region under ``prices/``; adding a region is adding a file.

Every entry carries the page it comes from, the date it was taken and its ``basis``: ``list`` (the published
list price), ``rule`` (derived by the pricing page's own rule, such as Multi-AZ = 2 x Single-AZ), ``approximate``
(not checked against the page on that date) or ``typical`` (a value that floats, such as the Spot discount).
An estimate records which entries it used, so its output can cite them.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

PRICE_DIR = Path(__file__).with_name("prices")
REFERENCE_REGION = "us-east-1"
BASES = ("list", "rule", "approximate", "typical")


class PriceDataError(Exception):
    """A price file is missing an entry or has one that is malformed."""


@dataclass(frozen=True)
class Price:
    key: str
    amount: float
    """USD for prices; a plain number for factors (a discount, a free allowance)."""
    unit: str
    basis: str
    as_of: str
    source: str
    region: str
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "price": self.key,
            "region": self.region,
            "amount": self.amount,
            "unit": self.unit,
            "basis": self.basis,
            "asOf": self.as_of,
            "source": self.source,
        }
        if self.note:
            entry["note"] = self.note
        return entry


def _entry(path: Path, region: str, section: str, key: str, raw: Any) -> Price:
    field_name = "usd" if section == "prices" else "value"
    where = f"{path.name}: {section}.{key}"
    if not isinstance(raw, dict):
        raise PriceDataError(f"{where} is not an object")
    amount = raw.get(field_name)
    if isinstance(amount, bool) or not isinstance(amount, int | float) or amount < 0:
        raise PriceDataError(f"{where}.{field_name} must be a number >= 0, not {amount!r}")
    if raw.get("basis") not in BASES:
        raise PriceDataError(f"{where}.basis must be one of {', '.join(BASES)}, not {raw.get('basis')!r}")
    source = raw.get("source")
    if not isinstance(source, str) or not source.startswith("https://"):
        raise PriceDataError(f"{where}.source must be the https URL of the pricing page")
    try:
        dt.date.fromisoformat(str(raw.get("asOf")))
    except ValueError:
        raise PriceDataError(f"{where}.asOf must be a date like 2026-11-27, not {raw.get('asOf')!r}") from None
    if not isinstance(raw.get("unit"), str) or not raw["unit"]:
        raise PriceDataError(f"{where}.unit is missing")
    return Price(key, float(amount), raw["unit"], raw["basis"], raw["asOf"], source, region, raw.get("note"))


@cache
def _load(region: str) -> tuple[dict[str, Price], dict[str, Price], str]:
    return read_price_file(PRICE_DIR / f"{region}.json")


def read_price_file(path: Path) -> tuple[dict[str, Price], dict[str, Price], str]:
    """Prices, factors and location name of one ``<region>.json``; PriceDataError names what is wrong."""
    region = path.stem
    try:
        document = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise PriceDataError(f"{path.name} is not valid JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("region") != region:
        found = document.get("region") if isinstance(document, dict) else None
        raise PriceDataError(f"{path.name} says region {found!r}; the file name says {region}")
    sections = {}
    for section in ("prices", "factors"):
        raw = document.get(section)
        if not isinstance(raw, dict):
            raise PriceDataError(f"{path.name} has no {section!r} object")
        sections[section] = {k: _entry(path, region, section, k, v) for k, v in raw.items()}
    return sections["prices"], sections["factors"], str(document.get("location", region))


def regions() -> list[str]:
    """Regions that have a price table."""
    return sorted(p.stem for p in PRICE_DIR.glob("*.json"))


@dataclass
class PriceTable:
    """One region's prices, for one estimate: it remembers which entries were used."""

    region: str
    """The region whose prices these are (the reference region when the requested one has no table)."""
    requested_region: str
    location: str
    _prices: dict[str, Price]
    _factors: dict[str, Price]
    used: dict[str, Price] = field(default_factory=dict)

    @classmethod
    def for_region(cls, region: str) -> PriceTable:
        priced = region if region in regions() else REFERENCE_REGION
        prices, factors, location = _load(priced)
        return cls(priced, region, location, prices, factors)

    @property
    def fallback(self) -> bool:
        return self.region != self.requested_region

    def has(self, key: str) -> bool:
        return key in self._prices

    def usd(self, key: str) -> float:
        """A price in USD per its unit; raises KeyError for a key the table lacks (a defect in the caller)."""
        price = self._prices[key]
        self.used[key] = price
        return price.amount

    def factor(self, key: str) -> float:
        factor = self._factors[key]
        self.used[key] = factor
        return factor.amount

    def keys(self) -> list[str]:
        return sorted(self._prices)

    def entries(self) -> list[Price]:
        return [*self._prices.values(), *self._factors.values()]
