"""Network, load balancer and database line items: always on, priced per hour plus stated traffic and data."""

from __future__ import annotations

from airstack.offline import Resource
from airstack.pricing.context import Context
from airstack.pricing.model import LineItem
from airstack.pricing.usage import HOURS_PER_MONTH
from airstack.pricing.values import flag, is_unknown, mapping, number, sequence, text

H = HOURS_PER_MONTH
_NAT_COUNT = {"None": 0, "Single": 1}  # OnePerAz (awsx's default): one per AZ


def network_items(ctx: Context) -> list[LineItem]:
    p, usage = ctx.prices, ctx.usage
    items = []
    azs, azs_from = ctx.az_count()
    nats, how = 0, []
    for vpc in ctx.run.by_type("awsx:ec2:Vpc"):
        strategy = text(mapping(vpc.inputs.get("natGateways")).get("strategy")) or "OnePerAz"
        vpc_azs = int(number(vpc.inputs.get("numberOfAvailabilityZones")) or azs)
        count = _NAT_COUNT.get(strategy, vpc_azs)
        nats += count
        how.append(f"{count} from the VPC's {strategy} strategy")
    # awsx gives each of its NAT gateways an Elastic IP that is invisible offline; declared gateways have
    # their own `aws.ec2.Eip`, priced below.
    public_nats = nats
    declared = ctx.run.by_type("aws:ec2/natGateway:NatGateway")
    if declared:
        nats += len(declared)
        how.append(f"{len(declared)} declared directly")
    if nats:
        hourly = nats * p.usd("nat.hour") + public_nats * p.usd("ipv4.hour")
        items.append(
            LineItem(
                f"NAT gateways x{nats}",
                hourly * H + usage.nat_gb * p.usd("nat.gb"),
                f"{'; '.join(how)}; always on, with their public IPv4 addresses; {usage.nat_gb:g} GB processed "
                "(S3 goes through the free gateway endpoint)",
                "network",
            )
        )
    eips = ctx.run.by_type("aws:ec2/eip:Eip")
    if eips:
        items.append(
            LineItem(
                f"Elastic IPs x{len(eips)}", len(eips) * p.usd("ipv4.hour") * H, "public IPv4, always on", "network"
            )
        )
    endpoints = [
        e
        for e in ctx.run.by_type("aws:ec2/vpcEndpoint:VpcEndpoint")
        if text(e.inputs.get("vpcEndpointType")) == "Interface"
    ]
    if endpoints:
        enis, assumed = 0, False
        for endpoint in endpoints:
            subnets = sequence(endpoint.inputs.get("subnetIds"))
            if subnets:
                enis += len(subnets)
            else:
                enis, assumed = enis + azs, True
        services = ", ".join(sorted(_service_short_name(text(e.inputs.get("serviceName"))) for e in endpoints))
        per_az = f"{enis} AZ-endpoints" + (f" ({azs} AZs from {azs_from} where subnets are unknown)" if assumed else "")
        items.append(
            LineItem(
                f"Interface endpoints x{len(endpoints)} ({services})",
                enis * p.usd("endpoint.azHour") * H + usage.endpoint_gb * p.usd("endpoint.gb"),
                f"{per_az}, always on; {usage.endpoint_gb:g} GB processed",
                "network",
            )
        )
    return items


def _service_short_name(service: str | None) -> str:
    """``com.amazonaws.eu-west-1.ecr.api`` -> ``ecr.api``."""
    parts = (service or "?").split(".")
    return ".".join(parts[3:]) if len(parts) > 3 and parts[0] == "com" else parts[-1]


ENGINES = {"postgres": "PostgreSQL", "mysql": "MySQL", "mariadb": "MariaDB"}


def ingress_items(ctx: Context) -> list[LineItem]:
    p, usage = ctx.prices, ctx.usage
    items = []
    for lb in ctx.run.by_type("aws:lb/loadBalancer:LoadBalancer"):
        kind = text(lb.inputs.get("loadBalancerType")) or "application"
        name = text(lb.inputs.get("name")) or lb.name
        if kind != "application":
            ctx.notes.append(f"{kind} load balancer {name} is not in the price table")
            continue
        internal = flag(lb.inputs.get("internal"))
        public = not internal
        subnets = sequence(lb.inputs.get("subnets")) or sequence(lb.inputs.get("subnetMappings"))
        azs, azs_from = (len(subnets), "its subnets") if subnets else ctx.az_count()
        cost = (p.usd("alb.hour") + usage.alb_lcu * p.usd("alb.lcuHour")) * H
        assumption = f"always on, {usage.alb_lcu:g} LCU average"
        if public:
            cost += azs * p.usd("ipv4.hour") * H
            assumption += f", {azs} public IPv4 addresses (one per AZ, from {azs_from})"
            if internal is None and "internal" in lb.inputs:
                assumption += "; internal unknown before deployment, priced as internet-facing"
        items.append(
            LineItem(
                f"Application load balancer {name} ({'internet-facing' if public else 'internal'})",
                cost,
                assumption,
                "ingress",
            )
        )
    return items


def _backup_gb(ctx: Context, data_gb: float, retention_days: float) -> float:
    """Backups hold a full copy of the data plus each retained day's changes."""
    return data_gb * (1 + ctx.usage.db_daily_change * retention_days)


def database_items(ctx: Context) -> list[LineItem]:
    p, usage = ctx.prices, ctx.usage
    items = []
    for db in ctx.run.by_type("aws:rds/instance:Instance"):
        engine = text(db.inputs.get("engine")) or "postgres"
        klass = text(db.inputs.get("instanceClass"))
        multi = flag(db.inputs.get("multiAz"))
        deployment = "multiAz" if multi else "singleAz"
        label = f"RDS {ENGINES.get(engine, engine)} {klass or '(class unknown)'}{' Multi-AZ' if multi else ''}"
        key = f"rds.{engine}.{klass}.{deployment}.hour"
        multi_note = (
            "; Multi-AZ unknown before deployment, priced Single-AZ" if multi is None and "multiAz" in db.inputs else ""
        )
        if klass is None:
            items.append(LineItem(label, 0.0, "instance class unknown before deployment: not priced", "database"))
        elif not p.has(key):
            where = f"airstack/pricing/prices/{p.region}.json"
            items.append(LineItem(label, 0.0, f"no price for {engine} {klass} in {where}: add it there", "database"))
        else:
            items.append(
                LineItem(
                    label,
                    p.usd(key) * H,
                    f"always on (RDS does not hibernate with the services){multi_note}",
                    "database",
                )
            )
        allocated = number(db.inputs.get("allocatedStorage"))
        storage_note = ""
        if allocated is None:
            allocated, storage_note = 20.0, " (allocatedStorage unknown before deployment: assumed 20 GB)"
        storage_type = text(db.inputs.get("storageType")) or "gp3"
        if storage_type not in ("gp3", "gp2"):
            storage_note += f"; {storage_type} priced at the gp3 rate, provisioned IOPS not included"
        items.append(
            LineItem(
                f"RDS storage {allocated:g} GB {storage_type}{' Multi-AZ' if multi else ''}",
                allocated * p.usd(f"rds.gp3.{deployment}.gbMonth"),
                f"provisioned storage{' on primary and standby' if multi else ''}{storage_note}; "
                f"autoscaling above {allocated:g} GB is not counted",
                "database",
            )
        )
        retention = number(db.inputs.get("backupRetentionPeriod"))
        retention = 7.0 if retention is None else retention  # RDS's own default when unset
        if retention:
            data = allocated * usage.db_used_fraction
            backups = _backup_gb(ctx, data, retention)
            free = allocated * p.factor("rds.backup.freeFractionOfStorage")
            billed = max(0.0, backups - free)
            items.append(
                LineItem(
                    f"RDS backups ({retention:g} days)",
                    billed * p.usd("rds.backup.gbMonth"),
                    f"{data:g} GB of data ({usage.db_used_fraction:.0%} of allocated) + {usage.db_daily_change:.0%} "
                    f"daily change x {retention:g} days = {backups:g} GB; free up to {free:g} GB "
                    f"(100% of provisioned storage); {billed:g} GB billed",
                    "database",
                )
            )
    for replication in ctx.run.by_type(
        "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"
    ):
        items.append(_replication_item(ctx, replication))
    return items


def _replication_item(ctx: Context, replication: Resource) -> LineItem:
    usage = ctx.usage
    source = None
    for urn in replication.property_dependencies.get("sourceDbInstanceArn", []):
        source = ctx.resource(urn)
    instances = ctx.run.by_type("aws:rds/instance:Instance")
    if source is None:
        arn = replication.inputs.get("sourceDbInstanceArn")
        source = next((i for i in instances if i.outputs.get("arn") == arn and not is_unknown(arn)), None)
    source = source or (instances[0] if len(instances) == 1 else None)
    allocated = number(source.inputs.get("allocatedStorage")) if source else None
    assumed = "" if allocated is not None else " (source storage unknown: assumed 20 GB)"
    allocated = allocated if allocated is not None else 20.0
    retention = number(replication.inputs.get("retentionPeriod")) or 7.0
    destination = ctx.provider_region(replication) or text(
        mapping(ctx.config_value("airstack:dr")).get("replicaRegion")
    )
    target = ctx.table_for(destination) if destination else ctx.prices
    data = allocated * usage.db_used_fraction
    stored = _backup_gb(ctx, data, retention)
    transferred = data * usage.db_daily_change * 30.4
    cost = stored * target.usd("rds.backup.gbMonth") + transferred * ctx.prices.usd("transfer.interRegion.gb")
    where = destination or "another region"
    fallback = f" (no price table for {destination}: {target.region} prices)" if target.fallback else ""
    return LineItem(
        f"RDS backups replicated to {where}",
        cost,
        f"{stored:g} GB of replicated backups ({retention:g} days) stored in {where} with no free allowance{fallback}; "
        f"{transferred:g} GB of daily changes a month sent across regions, after a first full copy of {data:g} GB"
        f"{assumed}",
        "replication",
    )
