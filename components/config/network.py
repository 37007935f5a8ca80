"""``airstack:network``: the VPC block, its Availability Zones, NAT gateways and interface endpoints."""

from __future__ import annotations

import ipaddress
from collections import Counter
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, Field, Strict, ValidationInfo, field_validator, model_validator

from components.config._base import Bool, Int, _Model, context_value
from components.config.aws import AVAILABILITY_ZONES_FOR_NEW_ACCOUNTS, reserved_overlap


def _cidr(value: str) -> str:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"not an IPv4 CIDR block like 10.20.0.0/16 ({exc})") from None
    return str(network)


Cidr = Annotated[str, Strict(), AfterValidator(_cidr)]

InterfaceEndpoint = Literal[
    "ecr.api", "ecr.dkr", "logs", "secretsmanager", "sqs", "sts", "kms", "elasticfilesystem", "monitoring"
]
INTERFACE_ENDPOINTS: tuple[str, ...] = get_args(InterfaceEndpoint)
NAT_FREE_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "sqs", "sts")
"""What private subnets need to reach when they have no NAT gateway."""


def duplicates(values: list[str] | tuple[str, ...]) -> list[str]:
    return sorted(v for v, n in Counter(values).items() if n > 1)


class Network(_Model):
    cidr: Cidr
    az_count: Int = Field(default=2, ge=2, le=3)
    nat_strategy: Literal["none", "single", "onePerAz"] = "single"
    interface_endpoints: tuple[InterfaceEndpoint, ...] = ()
    restrict_egress: Bool | None = None
    """Airflow's tasks reach only what they talk to (endpoints, S3, the database, the Execution API) instead of
    anywhere; unset: on when the interface endpoints cover every AWS API they need."""
    worker_egress_cidrs: tuple[Cidr, ...] = ()
    """Where DAGs may connect on 443 when egress is restricted (data sources, APIs; 0.0.0.0/0 for anywhere)."""

    @property
    def reaches_cloudwatch_metrics(self) -> bool:
        """Tasks can call CloudWatch's API (PutMetricData): through its interface endpoint, or a NAT gateway
        where egress is open."""
        if "monitoring" in self.interface_endpoints:
            return True
        return self.nat_strategy != "none" and not self.egress_restricted

    @property
    def egress_restricted(self) -> bool:
        covered = all(e in self.interface_endpoints for e in NAT_FREE_ENDPOINTS)
        return self.restrict_egress if self.restrict_egress is not None else covered

    @field_validator("cidr")
    @classmethod
    def _usable_block(cls, value: str) -> str:
        network = ipaddress.IPv4Network(value)
        if not 16 <= network.prefixlen <= 22:
            raise ValueError("the VPC needs a /16 to /22 block to fit public, private and isolated subnets")
        reserved = reserved_overlap(network)
        if reserved:
            raise ValueError(f"a VPC cannot use this block: it {reserved}; use a private range such as 10.0.0.0/8")
        return value

    @field_validator("az_count")
    @classmethod
    def _zones_in_region(cls, value: int, info: ValidationInfo) -> int:
        region = context_value(info, "region")
        available = AVAILABILITY_ZONES_FOR_NEW_ACCOUNTS.get(region) if isinstance(region, str) else None
        if available is not None and value > available:
            raise ValueError(f"{region} offers {available} Availability Zones to most accounts")
        return value

    @field_validator("interface_endpoints")
    @classmethod
    def _unique_endpoints(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        repeated = duplicates(value)
        if repeated:
            raise ValueError(
                f"{', '.join(repeated)} listed more than once; a VPC takes one endpoint per service "
                "(a second one with private DNS is refused)"
            )
        return value

    @model_validator(mode="after")
    def _restricted_egress_needs_endpoints(self) -> Network:
        missing = [e for e in NAT_FREE_ENDPOINTS if e not in self.interface_endpoints]
        if self.restrict_egress and missing:
            raise ValueError(
                "restrictEgress keeps Airflow's tasks off the NAT gateway, so they reach AWS only through interface "
                "endpoints; add " + ", ".join(missing)
            )
        return self

    @model_validator(mode="after")
    def _nat_free_needs_endpoints(self) -> Network:
        missing = [e for e in NAT_FREE_ENDPOINTS if e not in self.interface_endpoints]
        if self.nat_strategy == "none" and missing:
            raise ValueError(
                "natStrategy none leaves private subnets without internet access; add interface endpoints "
                + ", ".join(missing)
            )
        return self
