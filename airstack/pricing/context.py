"""What every line-item builder reads: the run, the region's prices, the usage assumptions, the hours on."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from airstack.offline import ProgramRun, Resource
from airstack.pricing.table import PriceTable
from airstack.pricing.usage import Usage
from airstack.pricing.values import mapping, number, text

TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
SERVICE = "aws:ecs/service:Service"


@dataclass
class Context:
    run: ProgramRun
    prices: PriceTable
    usage: Usage
    hours_on: float
    notes: list[str] = field(default_factory=list)
    other_tables: dict[str, PriceTable] = field(default_factory=dict)
    """Price tables of other regions an estimate touched (where backups are replicated to)."""

    def __post_init__(self) -> None:
        self._by_urn = {r.urn: r for r in self.run.resources}

    def resource(self, urn: str) -> Resource | None:
        return self._by_urn.get(urn)

    def config_value(self, key: str) -> Any:
        """A decoded stack config value (``airstack:network``) from the run, or None."""
        raw = self.run.config.get(key)
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except (TypeError, json.JSONDecodeError):
            return raw

    def az_count(self) -> tuple[int, str]:
        """How many AZs the stack spans, and where that number came from (for the assumption text)."""
        configured = number(mapping(self.config_value("airstack:network")).get("azCount"))
        if configured:
            return int(configured), "airstack:network azCount"
        for vpc in self.run.by_type("awsx:ec2:Vpc"):
            azs = number(vpc.inputs.get("numberOfAvailabilityZones"))
            if azs:
                return int(azs), "the VPC's numberOfAvailabilityZones"
        return 2, "assumed 2 AZs (not known before deployment)"

    def table_for(self, region: str) -> PriceTable:
        if region == self.prices.requested_region:
            return self.prices
        if region not in self.other_tables:
            self.other_tables[region] = PriceTable.for_region(region)
        return self.other_tables[region]

    def provider_region(self, resource: Resource) -> str | None:
        """Where a resource lives when not in the stack's region: its own ``region`` (pulumi-aws v7), else the
        region of the explicit provider it uses."""
        own = text(resource.inputs.get("region"))
        if own:
            return own
        reference = resource.provider or ""
        for urn in (reference, reference.rsplit("::", 1)[0]):  # a reference is `<urn>::<id>`
            provider = self._by_urn.get(urn)
            if provider is not None:
                return text(provider.inputs.get("region"))
        return None

    def service_tasks(self) -> list[tuple[Resource, float]]:
        """ECS services with their baseline task count (unknown counts taken as 1)."""
        tasks = []
        for service in self.run.by_type(SERVICE):
            count = number(service.inputs.get("desiredCount"))
            if count is None:
                count = 1.0 if "desiredCount" in service.inputs else 0.0
            tasks.append((service, count))
        return tasks
