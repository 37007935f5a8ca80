"""Copies in another region: secret replicas, S3, ECR and EFS replication, and the pull-through cache.

Each is priced from the replicating resource's own inputs: where the copy lives (its destination region, priced
with that region's table), what it holds (the usage model's stored GB) and what crosses regions a month (the
usage model's new GB, at the source region's inter-region transfer price).
"""

from __future__ import annotations

import re

from airstack.offline import Resource
from airstack.pricing.context import Context
from airstack.pricing.model import LineItem
from airstack.pricing.table import PriceTable
from airstack.pricing.values import mapping, sequence, text

SECRET = "aws:secretsmanager/secret:Secret"
S3_REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
ECR_REPLICATION = "aws:ecr/replicationConfiguration:ReplicationConfiguration"
EFS_REPLICATION = "aws:efs/replicationConfiguration:ReplicationConfiguration"
PULL_THROUGH_CACHE = "aws:ecr/pullThroughCacheRule:PullThroughCacheRule"
BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
REPOSITORY = "aws:ecr/repository:Repository"

S3_REPLICATION_METRICS = 4
"""What S3 publishes per rule with replication metrics on (bytes and operations pending, latency, operations
failed), billed as CloudWatch custom metrics."""

_REGION = re.compile(r"(?<![a-z])((?:us|eu|ap|ca|sa|me|af|il|mx)-(?:gov-)?[a-z]+-\d)(?![\d])")


def _enabled(value: object) -> bool:
    return text(mapping(value).get("status")) == "Enabled"


def _table(ctx: Context, region: str | None) -> tuple[PriceTable, str]:
    """The price table of a copy's region, and what to add to the assumption about it."""
    if region is None:
        return ctx.prices, f" (its region unknown: {ctx.prices.region} prices)"
    table = ctx.table_for(region)
    return table, f" (no price table for {region}: {table.region} prices)" if table.fallback else ""


def _transfer(ctx: Context, region: str | None, gb: float) -> float:
    """What copying ``gb`` to ``region`` costs the source: nothing within its own region."""
    return 0.0 if region == ctx.prices.requested_region else gb * ctx.prices.usd("transfer.interRegion.gb")


def replication_items(ctx: Context) -> list[LineItem]:
    return [
        *_secret_replicas(ctx),
        *(_s3_item(ctx, r) for r in ctx.run.by_type(S3_REPLICATION)),
        *(item for r in ctx.run.by_type(ECR_REPLICATION) for item in _ecr_items(ctx, r)),
        *(_efs_item(ctx, r) for r in ctx.run.by_type(EFS_REPLICATION)),
        *_pull_through_cache(ctx),
    ]


def _secret_replicas(ctx: Context) -> list[LineItem]:
    """A replica is billed as a secret of its own, in its region."""
    by_region: dict[str | None, int] = {}
    for secret in ctx.run.by_type(SECRET):
        for replica in sequence(secret.inputs.get("replicas")) or []:
            region = text(mapping(replica).get("region"))
            by_region[region] = by_region.get(region, 0) + 1
    items = []
    for region, count in sorted(by_region.items(), key=lambda kv: kv[0] or ""):
        table, fallback = _table(ctx, region)
        items.append(
            LineItem(
                f"Secrets Manager replicas x{count} ({region or 'region unknown'})",
                count * table.usd("secretsmanager.secretMonth"),
                f"each replica billed as a secret-month in its region{fallback}; its API calls are in the "
                "Secrets Manager line",
                "replication",
            )
        )
    return items


def _bucket_region(ctx: Context, arn: str | None) -> tuple[str | None, str]:
    """A destination bucket's region: its resource's in this run, else the region its name carries."""
    name = (arn or "").removeprefix("arn:aws:s3:::")
    for bucket in (b for kind in BUCKETS for b in ctx.run.by_type(kind)):
        if name and text(bucket.inputs.get("bucket")) == name:
            return ctx.provider_region(bucket) or ctx.prices.requested_region, "the destination bucket's"
    found = _REGION.findall(name)
    return (found[-1], "read from the destination bucket's name") if found else (None, "")


def _s3_item(ctx: Context, config: Resource) -> LineItem:
    p, usage = ctx.prices, ctx.usage
    rules = [
        mapping(r) for r in sequence(config.inputs.get("rules")) or [] if text(mapping(r).get("status")) != "Disabled"
    ]
    destinations = {text(mapping(r.get("destination")).get("bucket")) for r in rules}
    timed = {
        text(mapping(r.get("destination")).get("bucket"))
        for r in rules
        if _enabled(mapping(r.get("destination")).get("replicationTime"))
    }
    metrics = sum(1 for r in rules if _enabled(mapping(r.get("destination")).get("metrics")))
    buckets = sum(len(ctx.run.by_type(kind)) for kind in BUCKETS) or 1
    new = usage.s3_new_gb / buckets
    cost, where = 0.0, []
    for arn in sorted(destinations, key=str):
        region, how = _bucket_region(ctx, arn)
        _, fallback = _table(ctx, region)
        # The copies are stored in the destination bucket, priced with it by whichever stack declares it.
        cost += _transfer(ctx, region, new)
        where.append(f"{region or 'another region'}{f' ({how})' if how else ''}{fallback}")
    regions = sorted({_bucket_region(ctx, arn)[0] or "?" for arn in destinations})
    assumption = (
        f"{new:.1f} GB new a month ({usage.s3_new_gb:g} GB over {buckets} bucket(s); prefix filters not applied) "
        f"copied to {', '.join(where) or 'nowhere'}: inter-region transfer (none within the region); the copies' "
        "storage is the destination bucket's, priced by the stack that declares it"
    )
    if timed:
        cost += len(timed) * new * p.usd("s3.rtc.gb")
        assumption += f"; Replication Time Control on every GB copied to {len(timed)} destination(s)"
    if metrics:
        cost += metrics * S3_REPLICATION_METRICS * p.usd("cloudwatch.customMetricMonth")
        assumption += f"; replication metrics: {S3_REPLICATION_METRICS} custom metrics per rule x{metrics}"
    assumption += "; requests not counted"
    return LineItem(f"S3 replication {config.name} → {', '.join(regions)}", cost, assumption, "replication")


def _ecr_items(ctx: Context, config: Resource) -> list[LineItem]:
    """Replicated repositories are created by ECR in each destination: their storage is this stack's."""
    usage = ctx.usage
    rules = sequence(mapping(config.inputs.get("replicationConfiguration")).get("rules")) or []
    names = [text(r.inputs.get("name")) or r.name for r in ctx.run.by_type(REPOSITORY)]
    copies: dict[str | None, set[str]] = {}
    for rule in rules:
        filters = [text(mapping(f).get("filter")) or "" for f in sequence(mapping(rule).get("repositoryFilters")) or []]
        matched = {n for n in names if not filters or any(n.startswith(f) for f in filters)}
        for destination in sequence(mapping(rule).get("destinations")) or []:
            region = text(mapping(destination).get("region"))
            copies.setdefault(region, set()).update(matched)
    items = []
    for region, repositories in sorted(copies.items(), key=lambda kv: kv[0] or ""):
        table, fallback = _table(ctx, region)
        count = len(repositories)
        kind = "repository" if count == 1 else "repositories"
        assumption = (
            f"{count} {kind} of this stack match the rules: {usage.image_gb:g} GB of images kept in each replica"
            f"{fallback}; {usage.image_pushed_gb:g} GB pushed a month, inter-region transfer (none within the region)"
        )
        storage = usage.image_gb * table.usd("ecr.storageGbMonth")
        items.append(
            LineItem(
                f"ECR replication → {region or '?'} x{count}",
                count * (storage + _transfer(ctx, region, usage.image_pushed_gb)),
                assumption if count else "no repository of this stack matches the rule's filters",
                "replication",
            )
        )
    return items


def _efs_item(ctx: Context, config: Resource) -> LineItem:
    usage = ctx.usage
    destination = mapping(config.inputs.get("destination"))
    region = text(destination.get("region")) or ctx.provider_region(config)
    table, fallback = _table(ctx, region)
    one_zone = "; One Zone destination priced as Standard" if text(destination.get("availabilityZoneName")) else ""
    transfer = _transfer(ctx, region, usage.efs_write_gb)
    written = f"{usage.efs_write_gb:g} GB written a month, inter-region transfer (none within the region)"
    if destination.get("fileSystemId"):
        # An existing file system (a standby's): its storage is priced by the stack that declares it.
        return LineItem(f"EFS replication {config.name} → {region or '?'}", transfer,
                        f"{written}; into an existing file system, priced by the stack that declares it",
                        "replication")  # fmt: skip
    return LineItem(
        f"EFS replication {config.name} → {region or '?'}",
        usage.efs_gb * table.usd("efs.standard.gbMonth") + transfer,
        f"{usage.efs_gb:g} GB of DAG files in the file system replication creates{fallback}{one_zone}; {written}",
        "replication",
    )


def _pull_through_cache(ctx: Context) -> list[LineItem]:
    rules = ctx.run.by_type(PULL_THROUGH_CACHE)
    if not rules:
        return []
    upstreams = sorted({text(r.inputs.get("upstreamRegistryUrl")) or "?" for r in rules})
    return [
        LineItem(
            f"ECR pull-through cache x{len(rules)}",
            len(rules) * ctx.usage.pull_through_cache_gb * ctx.prices.usd("ecr.storageGbMonth"),
            f"about {ctx.usage.pull_through_cache_gb:g} GB of cached images per rule (from {', '.join(upstreams)}) "
            "in the stack's registry",
            "delivery",
        )
    ]
