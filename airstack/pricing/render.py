"""The estimate as rich renderables for ``airstack cost`` and ``airstack plan``."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from airstack.pricing.model import CostEstimate, MwaaComparison


def _usd(amount: float) -> str:
    return f"{amount:,.2f}"


def estimate_table(estimate: CostEstimate) -> Table:
    prices = f"{estimate.price_region} prices as of {estimate.as_of}"
    approximate = len(estimate.approximate)
    if approximate:
        prices += f"; {approximate} of {len(estimate.sources)} approximate"
    table = Table(title=f"Monthly estimate: ${_usd(estimate.monthly_usd)} ({prices})", title_justify="left")
    table.add_column("item")
    table.add_column("USD/month", justify="right")
    table.add_column("assumption", overflow="fold")
    for item in estimate.items:
        table.add_row(item.item, _usd(item.monthly_usd), item.assumption)
    if estimate.monthly_usd_at_max != estimate.monthly_usd:
        table.caption = f"With every scaled service at its maximum all the time: ${_usd(estimate.monthly_usd_at_max)}"
    return table


def comparison_table(comparison: MwaaComparison) -> Table:
    difference = comparison.monthly_usd - comparison.replaced_usd
    verdict = "more" if difference > 0 else "less"
    table = Table(
        title=(
            f"Managed Airflow (MWAA {comparison.environment_class}): ${_usd(comparison.monthly_usd)}/month, "
            f"${_usd(abs(difference))} {verdict} than the ${_usd(comparison.replaced_usd)} this stack spends on what "
            "it would replace"
        ),
        title_justify="left",
        caption=comparison.why,
    )
    table.add_column("item")
    table.add_column("USD/month", justify="right")
    table.add_column("assumption", overflow="fold")
    for item in comparison.items:
        table.add_row(item.item, _usd(item.monthly_usd), item.assumption)
    return table


def render_estimate(estimate: CostEstimate, *, sources: bool = False) -> RenderableType:
    """The line items, the MWAA comparison when there is one, notes, and (with ``sources``) every price cited."""
    parts: list[RenderableType] = [estimate_table(estimate)]
    if estimate.comparison is not None:
        parts.append(comparison_table(estimate.comparison))
    for note in estimate.notes:
        parts.append(Text(f"note: {note}", style="yellow"))
    if sources:
        table = Table(title="Prices used", title_justify="left")
        for column in ("price", "region", "amount", "unit", "basis", "as of", "source"):
            table.add_column(column, overflow="fold")
        for price in estimate.sources:
            table.add_row(
                price.key, price.region, f"{price.amount:g}", price.unit, price.basis, price.as_of, price.source
            )
        parts.append(table)
    return Group(*parts)
