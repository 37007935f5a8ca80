"""Monthly cost of a stack from the resources its program would create and dated per-region price tables.

Priced from the resources themselves (task sizes, counts, NAT strategy, instance class, replication), so the
estimate follows the program rather than a second description of it. Usage-driven costs use the stated
assumptions in ``usage.Usage``; every line item says which it used, and every price cites its page and date.
"""

from airstack.pricing.estimate import estimate, estimate_stack, mwaa_reference
from airstack.pricing.model import CostEstimate, LineItem, MwaaComparison
from airstack.pricing.render import render_estimate
from airstack.pricing.table import PRICE_DIR, Price, PriceDataError, PriceTable, read_price_file, regions
from airstack.pricing.usage import DEFAULT_USAGE, HOURS_PER_MONTH, Usage

__all__ = [
    "DEFAULT_USAGE",
    "HOURS_PER_MONTH",
    "PRICE_DIR",
    "CostEstimate",
    "LineItem",
    "MwaaComparison",
    "Price",
    "PriceDataError",
    "PriceTable",
    "Usage",
    "estimate",
    "estimate_stack",
    "mwaa_reference",
    "read_price_file",
    "regions",
    "render_estimate",
]
