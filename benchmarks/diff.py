"""Time `airstack diff`: two stacks, and a stack against a git revision, split into program runs and the diff.

``python benchmarks/diff.py [--repeat N] [--base dev] [--target acc] [--rev HEAD]`` reports medians of N runs:

- two stacks: planning both (the programs under mocks, in parallel, with the pack and pricing), then the diff
  itself (comparing the documents) and rendering (Markdown and JSON);
- against a revision: exporting the revision (``git archive``), the revision's own airstack planning the
  stack (a fresh interpreter), planning the work tree here, both at once as the command runs them, and the
  diff with rendering;
- each form end to end as a user runs it (``airstack diff ...`` in a fresh interpreter).

Results go to benchmarks/DIFF_RESULTS.txt. Measured, never asserted.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from airstack.diff.command import DiffRequest, diff_sides, plan_against_revision, plan_documents, plan_pair, run_diff
from airstack.diff.compare import compare
from airstack.diff.markdown import render_markdown
from airstack.diff.revision import commit_of, exported, locate, start_plan
from airstack.stackfile import PROJECT_ROOT

RESULTS = Path(__file__).with_name("DIFF_RESULTS.txt")


def median_of(repeat: int, action: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def end_to_end(argv: list[str], repeat: int) -> float:
    def once() -> None:
        subprocess.run([sys.executable, "-m", "airstack.cli", *argv], check=True, capture_output=True, cwd=PROJECT_ROOT)

    return median_of(repeat, once)[0]


def two_stacks(base: str, target: str, repeat: int) -> list[tuple[str, float, str]]:
    plans, (old, new) = median_of(repeat, lambda: plan_documents([base, target]))
    compared, diff = median_of(repeat, lambda: compare(old.document, new.document, base_label=base, target_label=""))
    markdown, text = median_of(repeat, lambda: render_markdown(diff))
    as_json, _ = median_of(repeat, lambda: json.dumps(diff.as_dict(), indent=2))
    whole, _ = median_of(repeat, lambda: diff_sides(plan_pair(base, target, False, 120.0)))
    label = f"{base} → {target}"
    return [
        (f"{label}: plan both (programs, pack, pricing)", plans, f"{len(old.document.resources)} + "
         f"{len(new.document.resources)} resources"),
        (f"{label}: compare the documents", compared, f"{len(diff.resources)} changed resources"),
        (f"{label}: render Markdown", markdown, f"{len(text):,} characters, summary `{diff.summary}`"),
        (f"{label}: render JSON", as_json, ""),
        (f"{label}: plan both + compare, in process", whole, ""),
        (f"{label}: `airstack diff {base} {target}` end to end", end_to_end(["diff", base, target], repeat),
         "fresh interpreter"),
    ]  # fmt: skip


def against_revision(stack: str, rev: str, repeat: int) -> list[tuple[str, float, str]]:
    located = locate(stack)
    commit = commit_of(located.repository, rev)

    def export_only() -> None:
        with exported(located.repository, commit):
            pass

    def revision_only() -> dict[str, Any]:
        with exported(located.repository, commit) as tree:
            launch = start_plan(tree, located, rev, commit, preview=False, timeout=600)
            assert launch is not None, f"{located.stack_path} does not exist at {rev}"
            return launch.wait()

    export, _ = median_of(repeat, export_only)
    revision, _ = median_of(repeat, revision_only)
    work_tree, _ = median_of(repeat, lambda: plan_documents([stack]))
    both, sides = median_of(repeat, lambda: plan_against_revision(stack, rev, False, 120.0))
    compared, diff = median_of(repeat, lambda: diff_sides(sides))
    rendered, _ = median_of(repeat, lambda: render_markdown(diff))
    _, (code, _text) = median_of(1, lambda: run_diff(DiffRequest([stack], rev)))
    label = f"{stack} --rev {rev}"
    return [
        (f"{label}: export the revision (git archive)", export, commit[:12]),
        (f"{label}: the revision's airstack plans the stack", revision, "fresh interpreter, its own code"),
        (f"{label}: plan the work tree here", work_tree, ""),
        (f"{label}: both at once, as the command runs them", both, "revision in a child, work tree here"),
        (f"{label}: compare + render Markdown", compared + rendered, f"summary `{diff.summary}`, exit {code}"),
        (f"{label}: `airstack diff {stack} --rev {rev}` end to end", end_to_end(["diff", stack, "--rev", rev], repeat),
         "fresh interpreter"),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--base", default="dev")
    parser.add_argument("--target", default="acc")
    parser.add_argument("--rev", default="HEAD")
    args = parser.parse_args()
    rows = two_stacks(args.base, args.target, args.repeat) + against_revision(args.base, args.rev, args.repeat)
    width = max(len(name) for name, _, _ in rows)
    today = datetime.date.today().isoformat()
    lines = [
        f"# python benchmarks/diff.py --repeat {args.repeat}, {today}, {os.cpu_count()} cores, median seconds",
        f"# load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())} (other work on the machine)",
        f"{'measurement':<{width}}  seconds  note",
        *(f"{name:<{width}}  {seconds:7.3f}  {note}" for name, seconds, note in rows),
    ]
    text = "\n".join(lines) + "\n"
    RESULTS.write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main()
