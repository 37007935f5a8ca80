"""The managed-Airflow comparison: the MWAA environment of similar capacity, and what it would cost here.

Capacity comes from the stack's validated config (scheduler size and count, each team's worker size, maximum
workers and concurrency), so the comparison exists only for airstack stacks, where it means something.
MWAA runs one shared worker pool of its class's size; the class is the smallest whose worker fits this stack's
largest worker and whose scheduler fits this stack's scheduler, with enough workers for the peak.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from airstack.pricing.context import Context
from airstack.pricing.model import LineItem, MwaaComparison
from airstack.pricing.usage import HOURS_PER_MONTH
from components.config import StackConfig

CLASSES_SOURCE = "https://docs.aws.amazon.com/mwaa/latest/userguide/environment-class.html"


@dataclass(frozen=True)
class MwaaClass:
    name: str
    scheduler_vcpu: float
    scheduler_gb: float
    worker_vcpu: float
    worker_gb: float
    tasks_per_worker: int
    """Default concurrent tasks per worker (``celery.worker_autoscale``)."""
    max_workers: int
    included_schedulers: int
    max_schedulers: int


# From the MWAA user guide's environment class table (CLASSES_SOURCE). mw1.micro runs scheduler and worker in one
# container and cannot add workers or schedulers.
CLASSES = (
    MwaaClass("mw1.micro", 1, 3, 1, 3, 3, 1, 1, 1),
    MwaaClass("mw1.small", 1, 2, 1, 2, 5, 25, 2, 5),
    MwaaClass("mw1.medium", 2, 4, 2, 4, 10, 25, 2, 5),
    MwaaClass("mw1.large", 4, 8, 4, 8, 20, 25, 2, 5),
    MwaaClass("mw1.xlarge", 8, 24, 8, 24, 40, 25, 2, 5),
    MwaaClass("mw1.2xlarge", 16, 48, 16, 48, 80, 25, 2, 5),
)


@dataclass(frozen=True)
class Load:
    tasks: int
    vcpu: float
    gb: float

    def workers(self, klass: MwaaClass) -> int:
        """Workers of ``klass`` that hold this many concurrent tasks, vCPUs and GB (at least the included one)."""
        needed = max(self.tasks / klass.tasks_per_worker, self.vcpu / klass.worker_vcpu, self.gb / klass.worker_gb, 1.0)
        return math.ceil(needed - 1e-9)


@dataclass(frozen=True)
class Capacity:
    schedulers: int
    scheduler_vcpu: float
    scheduler_gb: float
    largest_worker: tuple[str, float, float]
    peak: Load
    baseline: Load

    @classmethod
    def from_config(cls, config: StackConfig) -> Capacity:
        scheduler = config.components.scheduler
        sizes = {t.name: config.worker_size(t) for t in config.teams}
        largest = max(config.teams, key=lambda t: (sizes[t.name].memory, sizes[t.name].cpu))

        def load(count: dict[str, int]) -> Load:
            return Load(
                tasks=sum(count[t.name] * t.concurrency for t in config.teams),
                vcpu=sum(count[t.name] * sizes[t.name].cpu / 1024 for t in config.teams),
                gb=sum(count[t.name] * sizes[t.name].memory / 1024 for t in config.teams),
            )

        return cls(
            schedulers=max(1, scheduler.count),
            scheduler_vcpu=scheduler.cpu / 1024,
            scheduler_gb=scheduler.memory / 1024,
            largest_worker=(largest.name, sizes[largest.name].cpu / 1024, sizes[largest.name].memory / 1024),
            peak=load({t.name: t.workers.max for t in config.teams}),
            baseline=load({t.name: t.workers.min for t in config.teams}),
        )

    def fits(self, klass: MwaaClass) -> bool:
        _, vcpu, gb = self.largest_worker
        return (
            klass.worker_vcpu >= vcpu
            and klass.worker_gb >= gb
            and klass.scheduler_vcpu >= self.scheduler_vcpu
            and klass.scheduler_gb >= self.scheduler_gb
            and self.peak.workers(klass) <= klass.max_workers
            and self.schedulers <= klass.max_schedulers
        )


def choose_class(capacity: Capacity) -> tuple[MwaaClass, bool]:
    """The smallest class that fits, and whether one did (else the largest, at its limits)."""
    for klass in CLASSES:
        if capacity.fits(klass):
            return klass, True
    return CLASSES[-1], False


def _why(capacity: Capacity, klass: MwaaClass, fitted: bool, hours_on: float) -> str:
    team, vcpu, gb = capacity.largest_worker
    peak, base = capacity.peak, capacity.baseline
    head = (
        f"{klass.name} is the smallest class whose worker ({klass.worker_vcpu:g} vCPU, {klass.worker_gb:g} GB, "
        f"{klass.tasks_per_worker} tasks) fits the largest worker here ({team}: {vcpu:g} vCPU, {gb:g} GB) and whose "
        f"scheduler ({klass.scheduler_vcpu:g} vCPU, {klass.scheduler_gb:g} GB) fits this scheduler "
        f"({capacity.scheduler_vcpu:g} vCPU, {capacity.scheduler_gb:g} GB)"
        if fitted
        else f"no MWAA class fits this stack (largest worker {team}: {vcpu:g} vCPU, {gb:g} GB; "
        f"{peak.tasks} concurrent tasks); compared with {klass.name} at its limits"
    )
    text = (
        f"{head}. At peak every team at its maximum runs {peak.tasks} concurrent tasks on {peak.vcpu:g} vCPU and "
        f"{peak.gb:g} GB: {peak.workers(klass)} {klass.name} workers; at the minimum {base.tasks} tasks: "
        f"{base.workers(klass)} worker(s), the first included. {capacity.schedulers} scheduler(s), "
        f"{klass.included_schedulers} included. MWAA shares one worker pool between teams (no per-team isolation) "
        "and cannot hibernate"
    )
    if hours_on < HOURS_PER_MONTH:
        text += f"; this stack runs its Airflow services {hours_on:g} h a month"
    return text + "."


def compare(ctx: Context, config: StackConfig, items: list[LineItem]) -> MwaaComparison | None:
    """MWAA of similar capacity in the stack's region, against this stack's lines that MWAA would replace."""
    p, hours = ctx.prices, ctx.hours_on
    capacity = Capacity.from_config(config)
    klass, fitted = choose_class(capacity)
    if not p.has(f"mwaa.{klass.name}.environmentHour"):
        ctx.notes.append(f"no MWAA price for {klass.name} in the {p.region} table: no comparison")
        return None
    environment = p.usd(f"mwaa.{klass.name}.environmentHour") * HOURS_PER_MONTH
    worker_key, scheduler_key = f"mwaa.{klass.name}.workerHour", f"mwaa.{klass.name}.schedulerHour"
    worker_hour = p.usd(worker_key) if p.has(worker_key) else 0.0
    base_extra = capacity.baseline.workers(klass) - 1
    peak_extra = capacity.peak.workers(klass) - 1
    extra_schedulers = max(0, capacity.schedulers - klass.included_schedulers)
    lines = [
        LineItem(
            f"MWAA {klass.name} environment",
            environment,
            f"always on ({HOURS_PER_MONTH:g} h): scheduler(s), web server and one worker included",
            "managed-airflow",
        ),
        LineItem(
            "MWAA additional workers",
            base_extra * worker_hour * hours,
            f"{base_extra} beyond the included one x {hours:g} h; up to {peak_extra} at peak",
            "managed-airflow",
            peak_extra * worker_hour * hours,
        ),
    ]
    if extra_schedulers:
        lines.append(
            LineItem(
                "MWAA additional schedulers",
                extra_schedulers * p.usd(scheduler_key) * HOURS_PER_MONTH,
                f"{extra_schedulers} beyond the {klass.included_schedulers} included, always on",
                "managed-airflow",
            )
        )
    lines.append(
        LineItem(
            "MWAA metadata database",
            ctx.usage.mwaa_metadb_gb * p.usd("mwaa.metadb.gbMonth"),
            f"{ctx.usage.mwaa_metadb_gb:g} GB stored",
            "managed-airflow",
        )
    )
    replaced = [i for i in items if i.replaced_by_mwaa]
    return MwaaComparison(
        environment_class=klass.name,
        why=_why(capacity, klass, fitted, hours),
        items=lines,
        replaced_usd=sum(i.monthly_usd for i in replaced),
        replaced_usd_at_max=sum(
            i.max_monthly_usd if i.max_monthly_usd is not None else i.monthly_usd for i in replaced
        ),
    )
