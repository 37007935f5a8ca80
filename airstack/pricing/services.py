"""Usage-priced services: DAG storage, buckets, queues, secrets, keys, logs and alarms, MWAA environments."""

from __future__ import annotations

import math

from airstack.pricing.compute import task_hours, worker_task_hours
from airstack.pricing.context import Context
from airstack.pricing.model import LineItem
from airstack.pricing.usage import HOURS_PER_MONTH
from airstack.pricing.values import mapping, number, sequence, text

H = HOURS_PER_MONTH


def storage_items(ctx: Context) -> list[LineItem]:
    p, usage = ctx.prices, ctx.usage
    items = []
    systems = ctx.run.by_type("aws:efs/fileSystem:FileSystem")
    if systems:
        elastic = [f for f in systems if text(f.inputs.get("throughputMode")) == "elastic"]
        cost = len(systems) * usage.efs_gb * p.usd("efs.standard.gbMonth")
        assumption = f"{usage.efs_gb:g} GB of DAG files per file system (Standard)"
        if elastic:
            cost += len(elastic) * (
                usage.efs_read_gb * p.usd("efs.elastic.readGb") + usage.efs_write_gb * p.usd("efs.elastic.writeGb")
            )
            assumption += f"; Elastic Throughput: {usage.efs_read_gb:g} GB read, {usage.efs_write_gb:g} GB written"
        items.append(LineItem(f"EFS x{len(systems)}", cost, assumption, "dags"))
    backed_up = [
        b
        for b in ctx.run.by_type("aws:efs/backupPolicy:BackupPolicy")
        if text(mapping(b.inputs.get("backupPolicy")).get("status")) == "ENABLED"
    ]
    if backed_up:
        items.append(
            LineItem(
                f"EFS backups x{len(backed_up)}",
                len(backed_up) * usage.efs_gb * p.usd("backup.efs.warmGbMonth"),
                f"AWS Backup keeps about {usage.efs_gb:g} GB per file system (warm storage)",
                "dags",
            )
        )
    buckets = [*ctx.run.by_type("aws:s3/bucket:Bucket"), *ctx.run.by_type("aws:s3/bucketV2:BucketV2")]
    if buckets:
        items.append(
            LineItem(
                f"S3 x{len(buckets)}",
                usage.s3_gb * p.usd("s3.standard.gbMonth")
                + usage.s3_put_thousands * p.usd("s3.put.thousandRequests")
                + usage.s3_get_thousands * p.usd("s3.get.thousandRequests"),
                f"{usage.s3_gb:g} GB of task logs and data in total (Standard); "
                f"{usage.s3_put_thousands * 1000:,.0f} PUT and {usage.s3_get_thousands * 1000:,.0f} GET requests",
                "storage",
            )
        )
    return items


def _dead_letter(queue_name: str, tags: dict) -> bool:
    return queue_name.endswith(("-dlq", "-dead-letter")) or "dead-letter" in str(tags.get("airstack:role", ""))


def messaging_items(ctx: Context) -> list[LineItem]:
    p, usage = ctx.prices, ctx.usage
    queues = ctx.run.by_type("aws:sqs/queue:Queue")
    if not queues:
        return []
    broker = [
        q for q in queues if not _dead_letter(text(q.inputs.get("name")) or q.name, dict(mapping(q.inputs.get("tags"))))
    ]
    free = p.factor("sqs.freeRequestsPerMonth")
    if not broker:
        # Celery runs on another broker (Redis): only dead letters, which are rare.
        return [
            LineItem(
                f"SQS ({len(queues)} dead-letter, no broker queue)",
                0.0,
                f"occasional requests only, within the first {free:,.0f} a month that are free",
                "messaging",
            )
        ]
    polls = worker_task_hours(ctx) * 3600 / usage.sqs_poll_seconds
    messages = 3 * usage.task_runs_per_month
    billed = max(0.0, polls + messages - free)
    return [
        LineItem(
            f"SQS ({len(broker)} broker queues, {len(queues) - len(broker)} dead-letter)",
            billed / 1e6 * p.usd("sqs.standard.millionRequests"),
            f"{polls:,.0f} receive calls from running workers (one per {usage.sqs_poll_seconds:g} s each) + "
            f"{usage.task_runs_per_month:,.0f} task runs x 3 requests; first {free:,.0f} a month free "
            "(per account, counted as if this stack had it alone)",
            "messaging",
        )
    ]


def security_items(ctx: Context) -> list[LineItem]:
    p, usage = ctx.prices, ctx.usage
    items = []
    secrets = ctx.run.by_type("aws:secretsmanager/secret:Secret")
    if secrets:
        items.append(
            LineItem(
                f"Secrets Manager x{len(secrets)}",
                len(secrets) * p.usd("secretsmanager.secretMonth")
                + usage.secrets_calls / 1e4 * p.usd("secretsmanager.tenThousandCalls"),
                f"per secret-month; {usage.secrets_calls:,.0f} API calls (tasks read their secrets when they start)",
                "security",
            )
        )
    keys = ctx.run.by_type("aws:kms/key:Key")
    if keys:
        items.append(
            LineItem(
                f"KMS keys x{len(keys)}",
                len(keys) * p.usd("kms.keyMonth") + usage.kms_requests / 1e4 * p.usd("kms.tenThousandRequests"),
                f"customer managed keys; {usage.kms_requests:,.0f} requests",
                "security",
            )
        )
    return items


def _alarm_metrics(alarm_inputs: dict) -> tuple[int, int]:
    """Standard and high-resolution alarm metrics of one alarm.

    CloudWatch bills an alarm per metric it evaluates (a metric-math alarm counts each metric it reads), at the
    high-resolution price where that metric's period is under 60 seconds.
    """
    queries = [mapping(mapping(q).get("metric")) for q in sequence(alarm_inputs.get("metricQueries")) or []]
    periods = [number(m.get("period")) for m in queries if m] or [number(alarm_inputs.get("period"))]
    high = sum(1 for period in periods if period is not None and period < 60)
    return len(periods) - high, high


def observability_items(ctx: Context) -> list[LineItem]:
    p, usage = ctx.prices, ctx.usage
    items = []
    groups = ctx.run.by_type("aws:cloudwatch/logGroup:LogGroup")
    if groups:
        ingested = usage.logs_gb_per_task_month * task_hours(ctx) / H
        retentions = [number(g.inputs.get("retentionInDays")) for g in groups]
        known = [r for r in retentions if r]
        months = max(known) / 30.4 if known and len(known) == len(retentions) else 12.0
        kept = "" if known and len(known) == len(retentions) else " (a group keeps logs forever: 12 months counted)"
        stored = ingested * months
        items.append(
            LineItem(
                f"CloudWatch Logs ({len(groups)} log groups)",
                ingested * p.usd("cloudwatch.logs.ingestedGb") + stored * p.usd("cloudwatch.logs.storedGbMonth"),
                f"{ingested:.2f} GB ingested ({usage.logs_gb_per_task_month:g} GB per task-month of running tasks); "
                f"{stored:.2f} GB stored at {months:.1f} months' retention{kept}",
                "observability",
            )
        )
    alarms = ctx.run.by_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    dashboards = ctx.run.by_type("aws:cloudwatch/dashboard:Dashboard")
    if alarms or dashboards:
        counted = [_alarm_metrics(a.inputs) for a in alarms]
        standard, high = sum(c[0] for c in counted), sum(c[1] for c in counted)
        free = p.factor("cloudwatch.freeDashboardsPerMonth") if dashboards else 0.0
        billed = max(0.0, len(dashboards) - free)
        assumption = f"{standard} alarm metrics (a metric-math alarm counts each metric it reads)"
        if high:
            assumption += f" and {high} high-resolution"
        if dashboards:
            assumption += (
                f"; {billed:g} dashboard(s) billed, the first {free:g} a month free "
                "(per account, counted as if this stack had it alone)"
            )
        items.append(
            LineItem(
                f"CloudWatch alarms x{len(alarms)}" + (f", dashboards x{len(dashboards)}" if dashboards else ""),
                standard * p.usd("cloudwatch.alarmMetricMonth")
                + (high * p.usd("cloudwatch.highResAlarmMetricMonth") if high else 0.0)
                + billed * p.usd("cloudwatch.dashboardMonth"),
                assumption,
                "observability",
            )
        )
    services = ctx.service_tasks()
    insights = [
        c
        for c in ctx.run.by_type("aws:ecs/cluster:Cluster")
        if any(
            text(mapping(s).get("name")) == "containerInsights"
            and text(mapping(s).get("value")) in ("enabled", "enhanced")
            for s in sequence(c.inputs.get("settings")) or []
        )
    ]
    if insights:
        # Metrics are billed by the hour they are published: task-level ones only while tasks run.
        always = len(insights) * usage.container_insights_cluster_metrics
        always += len(services) * usage.container_insights_service_metrics
        running = sum(1 for _, count in services if count) * usage.container_insights_task_metrics
        metric_months = always + running * ctx.hours_on / H
        items.append(
            LineItem(
                "Container Insights",
                metric_months * p.usd("cloudwatch.customMetricMonth"),
                f"about {always} metrics all month ({usage.container_insights_cluster_metrics} per cluster, "
                f"{usage.container_insights_service_metrics} per service) and {running} while tasks run "
                f"({usage.container_insights_task_metrics} per running service, {ctx.hours_on:g} h), an "
                "approximation; its performance log events are not counted",
                "observability",
            )
        )
    return items


def mwaa_environment_items(ctx: Context) -> list[LineItem]:
    """A program that declares MWAA environments itself (priced, not compared)."""
    p = ctx.prices
    items = []
    for env in ctx.run.by_type("aws:mwaa/environment:Environment"):
        klass = text(env.inputs.get("environmentClass")) or "mw1.small"
        key = f"mwaa.{klass}.environmentHour"
        if not p.has(key):
            items.append(LineItem(f"MWAA {klass}", 0.0, f"no price for {klass} in the table", "managed-airflow"))
            continue
        low = number(env.inputs.get("minWorkers")) or 1
        high = number(env.inputs.get("maxWorkers")) or 10
        extra_key = f"mwaa.{klass}.workerHour"
        extra = p.usd(extra_key) if p.has(extra_key) else 0.0
        base = p.usd(key) * H + max(0.0, low - 1) * extra * H
        items.append(
            LineItem(
                f"MWAA environment {text(env.inputs.get('name')) or env.name} ({klass})",
                base,
                f"always on; {low:g} worker(s) (the first included), up to {high:g}",
                "managed-airflow",
                base + max(0.0, high - low) * extra * H if high > low else None,
            )
        )
    return items


def ceil_div(a: float, b: float) -> int:
    return max(0, math.ceil(a / b - 1e-9))


def edge_items(ctx: Context) -> list[LineItem]:
    """The baseline's own costs: the web ACL, the VPC's flow logs, the image repository."""
    p, usage = ctx.prices, ctx.usage
    items = []
    acls = ctx.run.by_type("aws:wafv2/webAcl:WebAcl")
    if acls:
        rules = sum(len(sequence(a.inputs.get("rules")) or ()) for a in acls)
        items.append(
            LineItem(
                f"WAF web ACL x{len(acls)}",
                len(acls) * p.usd("waf.webAclMonth")
                + rules * p.usd("waf.ruleMonth")
                + usage.waf_million_requests * p.usd("waf.millionRequests"),
                f"{rules} managed rule groups; {usage.waf_million_requests:g} M requests a month",
                "ingress",
            )
        )
    flow_logs = ctx.run.by_type("aws:ec2/flowLog:FlowLog")
    if flow_logs:
        items.append(
            LineItem(
                f"VPC flow logs x{len(flow_logs)}",
                len(flow_logs) * usage.flow_logs_gb * p.usd("vpc.flowLogs.s3DeliveryGb"),
                f"{usage.flow_logs_gb:g} GB of records a month delivered to S3 (their storage is in the S3 line)",
                "network",
            )
        )
    repositories = ctx.run.by_type("aws:ecr/repository:Repository")
    if repositories:
        items.append(
            LineItem(
                f"ECR x{len(repositories)}",
                len(repositories) * usage.image_gb * p.usd("ecr.storageGbMonth"),
                f"{usage.image_gb:g} GB of core images kept (the lifecycle policy expires the rest)",
                "delivery",
            )
        )
    return items
