"""What differs between stacks (dev, acc, prod, dr) at a glance, from their validated configs.

Curated rows say what matters in words (NAT gateways, Multi-AZ, hibernation hours, DR role); every config field
no curated row covers still shows under "Other settings", so a new field can never differ unseen.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.table import Table

from components import thresholds
from components.config import ServiceSize, StackConfig, Team, WorkerSize

ABSENT = "—"


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    values: dict[str, str]

    @property
    def same(self) -> bool:
        return len(set(self.values.values())) <= 1

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "values": dict(self.values), "same": self.same}


@dataclass(frozen=True)
class Section:
    name: str
    rows: list[Row]

    @property
    def differing(self) -> list[Row]:
        return [r for r in self.rows if not r.same]


@dataclass(frozen=True)
class Parity:
    stacks: list[str]
    sections: list[Section]

    @property
    def differing(self) -> int:
        return sum(len(s.differing) for s in self.sections)

    @property
    def identical(self) -> int:
        return sum(len(s.rows) for s in self.sections) - self.differing

    def as_dict(self, *, include_same: bool = True) -> dict[str, Any]:
        return {
            "stacks": list(self.stacks),
            "differing": self.differing,
            "identical": self.identical,
            "sections": [
                {"name": s.name, "rows": [r.as_dict() for r in s.rows if include_same or not r.same]}
                for s in self.sections
            ],
        }

    def table(self, *, show_same: bool = False) -> Table:
        """Rows that differ are shown in full; identical ones collapse into one line per section."""
        table = Table(
            title=f"Parity of {', '.join(self.stacks)}: {self.differing} settings differ, {self.identical} identical",
            title_justify="left",
        )
        table.add_column("setting", style="bold")
        for stack in self.stacks:
            table.add_column(stack, overflow="fold")
        for section in self.sections:
            table.add_row(f"[cyan]{section.name}[/cyan]", *[""] * len(self.stacks), end_section=False)
            for row in section.rows:
                if row.same and not show_same:
                    continue
                style = "dim" if row.same else None
                table.add_row(f"  {row.label}", *(row.values[s] for s in self.stacks), style=style)
            same = [r.label for r in section.rows if r.same]
            if same and not show_same:
                table.add_row(f"  [dim]identical: {', '.join(same)}[/dim]", *[""] * len(self.stacks))
            table.add_section()
        return table


# ------------------------------------------------------------------------------------------- formatting


def _show(value: Any) -> str:
    if value is None:
        return ABSENT
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_show(v) for v in value) if value else "none"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_show(v)}" for k, v in sorted(value.items())) if value else "none"
    return str(value)


def _size(size: ServiceSize | WorkerSize) -> str:
    text = f"{size.cpu / 1024:g} vCPU, {size.memory / 1024:g} GB, {size.architecture}"
    if isinstance(size, ServiceSize):
        text += f" x{size.count}"
    if isinstance(size, WorkerSize) and size.spot:
        text += ", Spot"
    return text


def _nat_gateways(config: StackConfig) -> int:
    return {"none": 0, "single": 1}.get(config.network.nat_strategy, config.network.az_count)


def _certificate(config: StackConfig) -> str:
    ingress = config.ingress
    if ingress.certificate_arn:
        return ingress.certificate_arn.split(":")[3] + " …" + ingress.certificate_arn[-6:]
    return f"created in hosted zone {ingress.hosted_zone_id}"


def _hibernation(config: StackConfig) -> str:
    schedule = config.schedule
    if not schedule.hibernate:
        return "always on"
    days = "weekdays" if schedule.weekdays_only else "every day"
    return f"{schedule.start_at}-{schedule.stop_at} {days} ({schedule.timezone})"


def _alarms(config: StackConfig) -> str:
    """The thresholds that differ by environment, in a line (``components.thresholds``)."""
    return (
        f"tasks wait {thresholds.queue_wait_minutes(config)} min, a core service short "
        f"{thresholds.service_down_minutes(config)} min, no heartbeat {thresholds.heartbeat_minutes(config)} min, "
        f"{thresholds.alb_5xx(config)} 5xx in 5 min"
    )


def _redis(config: StackConfig) -> str | None:
    redis = config.broker.redis
    if redis is None:
        return None
    nodes = f"{redis.nodes} node{'s' if redis.nodes > 1 else ''}"
    return f"{redis.engine} {redis.version}, {redis.node_type} x {nodes}{', Multi-AZ' if redis.multi_az else ''}"


def _dr(config: StackConfig) -> str:
    dr = config.dr
    if dr.role == "primary":
        return f"primary, backups to {dr.replica_region}"
    if dr.role == "standby":
        return f"standby of {dr.primary_stack} ({dr.primary_region}){', ACTIVE' if dr.active else ''}"
    return "none"


# ------------------------------------------------------------------------------------------------ rows

Getter = Callable[[StackConfig], Any]
_ROWS: tuple[tuple[str, str, str, Getter, tuple[str, ...]], ...] = (
    # section, key, label, getter, config paths the row covers
    ("General", "environment", "environment", lambda c: c.environment, ("environment", "stack")),
    ("General", "awsRegion", "region", lambda c: c.aws_region, ("awsRegion",)),
    ("General", "image.tag", "image tag", lambda c: c.image.tag, ("image.tag",)),
    ("General", "image.repository", "image repository", lambda c: c.image.repository, ("image.repository",)),
    ("General", "tags", "tags", lambda c: c.tags, ("tags",)),
    ("Network", "network.cidr", "VPC CIDR", lambda c: c.network.cidr, ("network.cidr",)),
    ("Network", "network.azCount", "availability zones", lambda c: c.network.az_count, ("network.azCount",)),
    ("Network", "network.natStrategy", "NAT strategy", lambda c: c.network.nat_strategy, ("network.natStrategy",)),
    ("Network", "network.natGateways", "NAT gateways", _nat_gateways, ()),
    ("Network", "network.interfaceEndpoints", "interface endpoints",
     lambda c: c.network.interface_endpoints, ("network.interfaceEndpoints",)),
    ("Metastore", "metastore.instanceClass", "instance class",
     lambda c: c.metastore.instance_class, ("metastore.instanceClass",)),
    ("Metastore", "metastore.storage", "storage",
     lambda c: f"{c.metastore.allocated_storage_gb} GB"
     + (f" (autoscaling to {c.metastore.max_allocated_storage_gb} GB)" if c.metastore.max_allocated_storage_gb else ""),
     ("metastore.allocatedStorageGb", "metastore.maxAllocatedStorageGb")),
    ("Metastore", "metastore.multiAz", "Multi-AZ", lambda c: c.metastore.multi_az, ("metastore.multiAz",)),
    ("Metastore", "metastore.backupRetentionDays", "backup retention",
     lambda c: f"{c.metastore.backup_retention_days} days", ("metastore.backupRetentionDays",)),
    ("Metastore", "metastore.engineVersion", "PostgreSQL version",
     lambda c: c.metastore.engine_version, ("metastore.engineVersion",)),
    ("Metastore", "metastore.performanceInsights", "Performance Insights",
     lambda c: c.metastore.performance_insights, ("metastore.performanceInsights",)),
    ("Metastore", "metastore.autoMinorVersionUpgrade", "automatic minor upgrades",
     lambda c: c.metastore.auto_minor_version_upgrade, ("metastore.autoMinorVersionUpgrade",)),
    ("Broker", "broker.type", "broker", lambda c: c.broker.type, ("broker.type",)),
    ("Broker", "broker.visibilityMarginPercent", "visibility margin",
     lambda c: f"{c.broker.visibility_margin_percent}%", ("broker.visibilityMarginPercent",)),
    ("Broker", "broker.maxVisibilityTimeout", "longest visibility timeout",
     lambda c: f"{c.max_visibility_timeout} s", ()),
    ("Broker", "broker.redis", "ElastiCache replication group", _redis, ("broker.redis",)),
    ("Compute", "components.apiServer", "api-server",
     lambda c: _size(c.components.api_server), ("components.apiServer",)),
    ("Compute", "components.scheduler", "scheduler",
     lambda c: _size(c.components.scheduler), ("components.scheduler",)),
    ("Compute", "components.dagProcessor", "dag-processor",
     lambda c: _size(c.components.dag_processor), ("components.dagProcessor",)),
    ("Compute", "components.triggerer", "triggerer",
     lambda c: _size(c.components.triggerer), ("components.triggerer",)),
    ("Compute", "components.worker", "worker (default)",
     lambda c: _size(c.components.worker), ("components.worker",)),
    ("Teams", "teams", "teams", lambda c: [t.name for t in c.teams], ("teams",)),
    ("Logs and data", "logs.retentionDays", "log retention",
     lambda c: f"{c.logs.retention_days} days", ("logs.retentionDays",)),
    ("Logs and data", "buckets.versioning", "bucket versioning",
     lambda c: c.bucket_versioning, ("buckets.versioning",)),
    ("Logs and data", "buckets.logsExpirationDays", "task logs kept",
     lambda c: f"{c.buckets.logs_expiration_days} days", ("buckets.logsExpirationDays",)),
    ("Logs and data", "buckets.artifactsExpirationDays", "DAG releases kept",
     lambda c: f"{c.buckets.artifacts_expiration_days} days", ("buckets.artifactsExpirationDays",)),
    ("Logs and data", "buckets.noncurrentVersionDays", "old versions kept",
     lambda c: f"{c.buckets.noncurrent_version_days} days", ("buckets.noncurrentVersionDays",)),
    ("Alerting", "alerting.emails", "alert emails", lambda c: c.alerting.emails, ("alerting.emails",)),
    ("Alerting", "alerting.webhookUrl", "webhook",
     lambda c: "set (secret)" if c.alerting.webhook_url else None, ("alerting.webhookUrl",)),
    ("Alerting", "monitoring.thresholds", "alarms", _alarms, ("monitoring",)),
    ("Alerting", "monitoring.airflowMetrics", "Airflow metrics in CloudWatch", thresholds.airflow_metrics, ()),
    ("Ingress", "ingress.internetFacing", "internet-facing",
     lambda c: c.ingress.internet_facing, ("ingress.internetFacing",)),
    ("Ingress", "ingress.allowedCidrs", "allowed CIDRs", lambda c: c.ingress.allowed_cidrs, ("ingress.allowedCidrs",)),
    ("Ingress", "ingress.domain", "domain", lambda c: c.ingress.domain, ("ingress.domain",)),
    ("Ingress", "ingress.waf", "web ACL (AWS managed rules)", lambda c: c.ingress.web_acl, ("ingress.waf",)),
    ("Network", "network.restrictEgress", "egress limited to what Airflow talks to",
     lambda c: c.network.egress_restricted, ("network.restrictEgress",)),
    ("Network", "network.workerEgressCidrs", "where DAGs may connect",
     lambda c: c.network.worker_egress_cidrs or ("anywhere" if not c.network.egress_restricted else "nowhere"),
     ("network.workerEgressCidrs",)),
    ("General", "image.manageRepository", "owns the image repository", lambda c: c.image.manage_repository,
     ("image.manageRepository",)),
    ("Ingress", "ingress.certificateArn", "certificate", _certificate,
     ("ingress.certificateArn", "ingress.hostedZoneId")),
    ("General", "deployment.waitForSteadyState", "`up` waits for healthy services",
     lambda c: c.wait_for_steady_state, ("deployment.waitForSteadyState",)),
    ("General", "awsDefaultTags", "provider default tags", lambda c: c.aws_default_tags.tags, ("awsDefaultTags.tags",)),
    ("Schedule", "schedule", "services run", _hibernation, ("schedule",)),
    ("Schedule", "schedule.hoursOnPerMonth", "hours on a month",
     lambda c: f"{c.schedule.hours_on_per_month() if c.services_running else 0:g}", ()),
    ("Protection", "protected", "stateful resources protected", lambda c: c.protected, ()),
    ("Protection", "metastore.deletionProtection", "database deletion protection",
     lambda c: c.metastore.deletion_protection, ("metastore.deletionProtection",)),
    ("Disaster recovery", "dr", "DR role", _dr, ("dr",)),
    ("Disaster recovery", "dr.servicesRunning", "Airflow services running", lambda c: c.services_running, ()),
)  # fmt: skip


def _team_rows(configs: Sequence[StackConfig]) -> list[tuple[str, str, Getter]]:
    names: list[str] = []
    for config in configs:
        names += [t.name for t in config.teams if t.name not in names]

    def team(config: StackConfig, name: str) -> Team | None:
        return next((t for t in config.teams if t.name == name), None)

    def workers(name: str) -> Getter:
        def get(c: StackConfig) -> str | None:
            t = team(c, name)
            return f"{t.workers.min}-{t.workers.max} x {t.concurrency} tasks" if t else None

        return get

    def tasks(name: str) -> Getter:
        def get(c: StackConfig) -> str | None:
            t = team(c, name)
            return f"longest {t.longest_task}, visibility {c.visibility_timeout(t)} s" if t else None

        return get

    def size(name: str) -> Getter:
        def get(c: StackConfig) -> str | None:
            t = team(c, name)
            return _size(c.worker_size(t)) + ("" if t.worker_size else " (default)") if t else None

        return get

    def routing(name: str) -> Getter:
        def get(c: StackConfig) -> str | None:
            t = team(c, name)
            return f"queue {t.queue_name}, dags/{t.directory}" if t else None

        return get

    rows = []
    for name in names:
        rows += [
            (f"teams.{name}.workers", f"{name}: workers", workers(name)),
            (f"teams.{name}.tasks", f"{name}: tasks", tasks(name)),
            (f"teams.{name}.size", f"{name}: worker size", size(name)),
            (f"teams.{name}.routing", f"{name}: routing", routing(name)),
        ]
    return rows


def _flatten(value: Any, prefix: str = "") -> Iterable[tuple[str, Any]]:
    if isinstance(value, Mapping) and value:
        for key, inner in value.items():
            yield from _flatten(inner, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, value


def _covered(path: str, prefixes: Iterable[str]) -> bool:
    return any(path == p or path.startswith(p + ".") for p in prefixes)


def parity(configs: Sequence[StackConfig]) -> Parity:
    """Compare validated stack configs, in the order given (stack names from each config)."""
    if not configs:
        raise ValueError("parity needs at least one stack config")
    stacks = [c.stack for c in configs]
    sections: dict[str, list[Row]] = {}

    def add(section: str, key: str, label: str, getter: Getter) -> None:
        row = Row(key, label, {c.stack: _show(getter(c)) for c in configs})
        sections.setdefault(section, []).append(row)

    covered: list[str] = []
    for section, key, label, getter, paths in _ROWS:
        add(section, key, label, getter)
        covered += paths
        if key == "teams":
            for team_key, team_label, team_getter in _team_rows(configs):
                add(section, team_key, team_label, team_getter)
    dumps = {c.stack: dict(_flatten(c.model_dump(by_alias=True, mode="json"))) for c in configs}
    others = sorted({p for d in dumps.values() for p in d if not _covered(p, covered)})
    for path in others:
        values = {s: _show(json.dumps(d[path]) if isinstance(d.get(path), list) else d.get(path))
                  for s, d in dumps.items()}  # fmt: skip
        sections.setdefault("Other settings", []).append(Row(path, path, values))
    return Parity(stacks, [Section(name, rows) for name, rows in sections.items()])
