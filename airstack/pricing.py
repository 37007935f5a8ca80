"""Monthly cost estimate of a recorded program run, from the resources it would create and a dated price table.

Priced from the resources themselves (task sizes, desired counts, NAT strategy, instance class), so the
estimate follows the program rather than a second description of it. Usage-driven costs use stated
assumptions, and every line item says which.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airstack.offline import ProgramRun

HOURS_PER_MONTH = 730.0
PRICE_FILE = Path(__file__).with_name("prices.json")


@dataclass(frozen=True)
class LineItem:
    item: str
    monthly_usd: float
    assumption: str

    def as_dict(self) -> dict[str, Any]:
        return {"item": self.item, "monthlyUsd": round(self.monthly_usd, 2), "assumption": self.assumption}


@dataclass(frozen=True)
class CostEstimate:
    items: list[LineItem]
    as_of: str
    region: str
    hours_on: float

    @property
    def monthly_usd(self) -> float:
        return round(sum(i.monthly_usd for i in self.items), 2)

    def as_dict(self) -> dict[str, Any]:
        return {
            "monthlyUsd": self.monthly_usd,
            "items": [i.as_dict() for i in self.items],
            "priceTable": {"asOf": self.as_of, "region": self.region},
            "hoursOnPerMonth": self.hours_on,
        }


def load_prices() -> dict[str, Any]:
    return json.loads(PRICE_FILE.read_text())


def _num(value: Any, default: float = 0.0) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _fargate(run: ProgramRun, p: dict[str, float], hours_on: float) -> list[LineItem]:
    items = []
    definitions = {r.outputs.get("arn"): r for r in run.by_type("aws:ecs/taskDefinition:TaskDefinition")}
    for service in run.by_type("aws:ecs/service:Service"):
        task = definitions.get(service.inputs.get("taskDefinition"))
        if task is None:
            continue
        count = _num(service.inputs.get("desiredCount"), 1)
        vcpu = _num(task.inputs.get("cpu")) / 1024
        memory = _num(task.inputs.get("memory")) / 1024
        arch = "arm" if (task.inputs.get("runtimePlatform") or {}).get("cpuArchitecture") == "ARM64" else "x86"
        hourly = vcpu * p[f"fargate.{arch}.vcpuHour"] + memory * p[f"fargate.{arch}.gbHour"]
        strategies = service.inputs.get("capacityProviderStrategies") or []
        spot = any(s.get("capacityProvider") == "FARGATE_SPOT" for s in strategies if isinstance(s, dict))
        if spot:
            hourly *= 1 - p["fargate.spotDiscount"]
        name = service.inputs.get("name", service.name)
        items.append(
            LineItem(
                f"Fargate {name} ({vcpu:g} vCPU, {memory:g} GB, {arch}{', Spot' if spot else ''})",
                hourly * count * hours_on,
                f"{count:g} task(s) x {hours_on:g} h; ${hourly:.4f}/task-hour"
                + (" with the typical Spot discount" if spot else ""),
            )
        )
    return items


def _network(run: ProgramRun, p: dict[str, float]) -> list[LineItem]:
    items = []
    for vpc in run.by_type("awsx:ec2:Vpc"):
        azs = int(_num(vpc.inputs.get("numberOfAvailabilityZones"), 3))
        strategy = str((vpc.inputs.get("natGateways") or {}).get("strategy", "OnePerAz"))
        nats = {"None": 0, "Single": 1, "OnePerAz": azs}.get(strategy, azs)
        if nats:
            items.append(
                LineItem(
                    f"NAT gateway x{nats} ({strategy})",
                    nats * (p["nat.hour"] + p["ipv4.hour"]) * HOURS_PER_MONTH + 20 * p["nat.gb"],
                    "always on, with its public IPv4; 20 GB processed (S3 goes through the free gateway endpoint)",
                )
            )
    endpoints = run.by_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    interface = [e for e in endpoints if e.inputs.get("vpcEndpointType") == "Interface"]
    if interface:
        azs = max(len(e.inputs.get("subnetIds") or []) for e in interface) or 1
        items.append(
            LineItem(
                f"Interface endpoints x{len(interface)}",
                len(interface) * azs * p["endpoint.azHour"] * HOURS_PER_MONTH,
                f"{azs} AZ(s) each, always on; data processing not included",
            )
        )
    return items


def _ingress(run: ProgramRun, p: dict[str, float]) -> list[LineItem]:
    items = []
    for alb in run.by_type("aws:lb/loadBalancer:LoadBalancer"):
        public = not alb.inputs.get("internal")
        subnets = len(alb.inputs.get("subnets") or []) or 2
        ipv4 = subnets * p["ipv4.hour"] * HOURS_PER_MONTH if public else 0.0
        items.append(
            LineItem(
                f"Application load balancer ({'internet-facing' if public else 'internal'})",
                (p["alb.hour"] + p["alb.lcuHour"]) * HOURS_PER_MONTH + ipv4,
                "always on, 1 LCU average" + (f", {subnets} public IPv4 addresses" if public else ""),
            )
        )
    return items


def _metastore(run: ProgramRun, p: dict[str, float]) -> list[LineItem]:
    items = []
    for db in run.by_type("aws:rds/instance:Instance"):
        klass = str(db.inputs.get("instanceClass"))
        multi = 2 if db.inputs.get("multiAz") else 1
        hourly = p.get(f"rds.{klass}.hour")
        storage = _num(db.inputs.get("allocatedStorage"), 20)
        if hourly is None:
            items.append(LineItem(f"RDS {klass}", 0.0, "no list price in the table: add it to prices.json"))
            continue
        items.append(
            LineItem(
                f"RDS PostgreSQL {klass}{' Multi-AZ' if multi == 2 else ''}, {storage:g} GB gp3",
                multi * (hourly * HOURS_PER_MONTH + storage * p["rds.gp3.gbMonth"]),
                "always on (RDS does not hibernate with the services); backups within the free allowance",
            )
        )
    return items


def _storage_and_services(run: ProgramRun, p: dict[str, float]) -> list[LineItem]:
    items = []
    queues = [q for q in run.by_type("aws:sqs/queue:Queue") if "dlq" not in q.name]
    if queues:
        items.append(
            LineItem(
                f"SQS ({len(queues)} broker queues)", len(queues) * p["sqs.millionRequests"], "1 M requests per queue"
            )
        )
    if run.by_type("aws:efs/fileSystem:FileSystem"):
        items.append(LineItem("EFS (DAG files)", 1 * p["efs.standard.gbMonth"], "1 GB of DAGs"))
    buckets = run.by_type("aws:s3/bucket:Bucket")
    if buckets:
        items.append(
            LineItem(f"S3 ({len(buckets)} buckets)", 50 * p["s3.standard.gbMonth"], "50 GB of logs and data in total")
        )
    secrets = run.by_type("aws:secretsmanager/secret:Secret")
    if secrets:
        items.append(
            LineItem(f"Secrets Manager x{len(secrets)}", len(secrets) * p["secretsmanager.secretMonth"], "per secret")
        )
    keys = run.by_type("aws:kms/key:Key")
    if keys:
        items.append(LineItem(f"KMS keys x{len(keys)}", len(keys) * p["kms.keyMonth"], "customer-managed keys"))
    groups = run.by_type("aws:cloudwatch/logGroup:LogGroup")
    alarms = run.by_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    if groups or alarms:
        items.append(
            LineItem(
                f"CloudWatch ({len(groups)} log groups, {len(alarms)} alarms)",
                5 * p["cloudwatch.logsGbIngested"] + len(alarms) * p["cloudwatch.alarmMonth"],
                "5 GB of container logs ingested",
            )
        )
    return items


def estimate(run: ProgramRun, hours_on: float = HOURS_PER_MONTH) -> CostEstimate:
    """Monthly estimate; ``hours_on`` is how long the Airflow services run (less when they hibernate)."""
    table = load_prices()
    p = {k: float(v["usd"]) for k, v in table["prices"].items()}
    items = [
        *_fargate(run, p, hours_on),
        *_network(run, p),
        *_ingress(run, p),
        *_metastore(run, p),
        *_storage_and_services(run, p),
    ]
    as_of = min(v["asOf"] for v in table["prices"].values())
    return CostEstimate(items=items, as_of=as_of, region=table["region"], hours_on=hours_on)


def mwaa_reference() -> float:
    """What the smallest always-on MWAA environment costs a month, for comparison."""
    return round(load_prices()["prices"]["mwaa.mw1.small.hour"]["usd"] * HOURS_PER_MONTH, 2)
