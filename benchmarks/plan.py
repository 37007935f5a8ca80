"""Time `plan` per stack and for all four stacks in one process, next to the import floor; peak memory.

Each measurement runs in a fresh interpreter (``python benchmarks/plan.py [--repeat N]``) and reports the
median wall time. The import floor is the interpreter plus ``import pulumi, pulumi_aws`` and every aws module
the program uses (its resource classes, found by a first run). Targets: all four stacks (policies and
pricing included) within 2x of it, peak RSS under 400 MB.
Measured, never asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

CLASSES_USED = """
import json
from airstack.offline import run_program
from airstack.stackfile import read_stack_file
types = {r.type for s in ("dev", "acc", "prod", "dr") for r in run_program(read_stack_file(s)).resources}
print(json.dumps(sorted({(t.split(":")[1].split("/")[0], t.split(":")[2]) for t in types if t.startswith("aws:")})))
"""
FLOOR = """
import pulumi, pulumi_aws, pulumi_awsx, pulumi_random, pulumi_policy
for module, name in {classes!r}:
    getattr(getattr(pulumi_aws, module), name)
pulumi_awsx.ec2.Vpc, pulumi_random.RandomPassword, pulumi_random.RandomBytes
"""
PLAN = """
from airstack.planning import plan_stack
for stack in {stacks!r}:
    plan = plan_stack(stack)
    assert plan.exit_code == 0, plan.violations
"""
REPORT = """
import json, resource, sys
print(json.dumps({"rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), file=sys.stderr)
"""


def measure(code: str, repeat: int) -> tuple[float, float]:
    times, rss = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", code + REPORT], capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - start)
        rss.append(json.loads(done.stderr.strip().splitlines()[-1])["rss_mb"])
    return statistics.median(times), max(rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    # pulumi_aws loads lazily: the floor imports exactly the resource classes the stacks register.
    found = subprocess.run([sys.executable, "-c", CLASSES_USED], capture_output=True, text=True, check=True)
    classes = [tuple(c) for c in json.loads(found.stdout)]
    floor, floor_rss = measure(FLOOR.format(classes=classes), args.repeat)
    rows = [("import floor", floor, floor_rss)]
    for stack in ("dev", "acc", "prod", "dr"):
        rows.append((f"plan {stack}", *measure(PLAN.format(stacks=[stack]), args.repeat)))
    rows.append(("plan dev acc prod dr", *measure(PLAN.format(stacks=["dev", "acc", "prod", "dr"]), args.repeat)))
    print(f"{'measurement':<24}{'seconds':>10}{'x floor':>10}{'peak MB':>10}")
    for name, seconds, rss in rows:
        print(f"{name:<24}{seconds:>10.2f}{seconds / floor:>10.2f}{rss:>10.0f}")


if __name__ == "__main__":
    main()
