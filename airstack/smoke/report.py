"""What the smoke shows: the differences at the start, progress while services come up, the report at the end."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from airstack.smoke.differences import Change


@dataclass
class Timings:
    phases: list[tuple[str, float]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.monotonic()
        try:
            yield
        finally:
            self.phases.append((name, time.monotonic() - start))

    @property
    def total(self) -> float:
        return time.monotonic() - self.started


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    components: tuple[str, ...] = ()
    """Processes whose log tail explains a failure."""


@dataclass
class MemorySampler:
    """Samples the memory of every process below the smoke, and keeps the peak."""

    sample: object
    interval: float = 1.0
    peak: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.wait(self.interval):
                with contextlib.suppress(Exception):
                    self.peak = max(self.peak, int(self.sample()))  # type: ignore[operator]

        self._thread = threading.Thread(target=loop, daemon=True, name="memory")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)


STATE_STYLE = {"waiting": "dim", "starting": "yellow", "ready": "green", "done": "green", "failed": "red"}


@dataclass
class Board:
    """One line per component and its state; live on a terminal, a line per change elsewhere (CI logs)."""

    console: Console
    states: dict[str, tuple[str, str, float]] = field(default_factory=dict)
    _live: Live | None = None
    _started: float = field(default_factory=time.monotonic)

    def set(self, component: str, state: str, note: str = "") -> None:
        previous = self.states.get(component)
        if previous and previous[:2] == (state, note):
            return
        self.states[component] = (state, note, time.monotonic())
        if self._live is not None:
            self._live.update(self._render())
        else:
            style = STATE_STYLE.get(state, "")
            elapsed = time.monotonic() - self._started
            self.console.print(f"  [{elapsed:5.1f}s] {component}: [{style}]{state}[/{style}] {note}".rstrip())

    def _render(self) -> Table:
        table = Table(show_header=False, box=None, padding=(0, 1))
        now = time.monotonic()
        for component, (state, note, since) in self.states.items():
            style = STATE_STYLE.get(state, "")
            table.add_row(component, Text(state, style=style), f"{now - since:4.0f}s", note)
        return table

    @contextlib.contextmanager
    def live(self) -> Iterator[None]:
        if not self.console.is_terminal:
            yield
            return
        with Live(self._render(), console=self.console, refresh_per_second=4, transient=False) as live:
            self._live = live
            try:
                yield
            finally:
                live.update(self._render())
                self._live = None


def differences_table(rows: Sequence[tuple[str, str, str]]) -> Table:
    table = Table(title="How this differs from the cloud", show_lines=False, expand=False)
    table.add_column("difference", style="cyan", no_wrap=True)
    table.add_column("in the cloud", overflow="fold")
    table.add_column("here", overflow="fold")
    for key, cloud, local in rows:
        table.add_row(key, cloud, local)
    return table


def changes_table(changes: dict[str, tuple[Sequence[Change], bool]]) -> Table:
    """Per container, the variables the differences add (+) or change (~), and whether its command changed
    (paths): names only, never values."""
    table = Table(title="Environment changes per container (names only)", expand=False)
    table.add_column("container", style="cyan", no_wrap=True)
    table.add_column("variables", overflow="fold")
    for container, (items, command) in changes.items():
        names = [f"{'+' if c.added else '~'}{c.variable}" for c in items] + (["~(command: paths)"] if command else [])
        table.add_row(container, ", ".join(names))
    return table


def report(
    console: Console,
    stack: str,
    timings: Timings,
    checks: Sequence[Check],
    peak_memory: int,
    processes: int,
    tails: dict[str, str],
) -> None:
    table = Table(title=f"airstack smoke {stack}", expand=False)
    table.add_column("check")
    table.add_column("", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for check in checks:
        table.add_row(check.name, "[green]ok[/green]" if check.ok else "[red]FAILED[/red]", check.detail)
    phases = Table(title="Timings", expand=False)
    phases.add_column("phase")
    phases.add_column("seconds", justify="right")
    for name, seconds in timings.phases:
        phases.add_row(name, f"{seconds:.1f}")
    phases.add_row("[bold]total[/bold]", f"[bold]{timings.total:.1f}[/bold]")
    console.print(Group(table, phases))
    console.print(
        f"Peak memory of the smoke's {processes} processes (PSS): {peak_memory / 2**30:.2f} GiB; "
        f"wall time {timings.total:.0f} s"
    )
    for component, text in tails.items():
        console.rule(f"[red]{component}: last lines of its log")
        console.print(text, markup=False, highlight=False)
