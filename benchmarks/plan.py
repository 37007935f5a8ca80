"""Time `plan` per stack and for all four stacks in one call, next to the import floor; peak memory; and where
the time of one plan goes (the program under mocks, the pack through the engine's analyzer protocol — its own
servicer in-process and the pack started as the Pulumi CLI starts it, over gRPC — and pricing).

Each measurement runs in a fresh interpreter (``python benchmarks/plan.py [--repeat N]``) and reports the
median wall time. The import floor is the interpreter plus ``import pulumi, pulumi_aws`` and every aws module
the program uses (its resource classes, found by a first run). Programs run in forked children, in parallel.
Targets: all four stacks (policies and pricing included) within 2x of the floor (3x at most), peak RSS under
400 MB. Measured, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
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
    getattr(getattr(pulumi_aws, module + "_" if module == "lambda" else module), name)  # a keyword
pulumi_awsx.ec2.Vpc, pulumi_random.RandomPassword, pulumi_random.RandomBytes
"""
PLAN = """
from airstack.planning import plan_stacks
for plan in plan_stacks({stacks!r}):
    assert plan.exit_code == 0, plan
"""
REPORT = """
import json, resource, sys
rss = max(resource.getrusage(r).ru_maxrss for r in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
print(json.dumps({"rss_mb": rss / 1024}), file=sys.stderr)
"""
PHASES = """
import json, os, sys, time
from airstack.analysis import evaluate
from airstack.offline import run_program
from airstack.pack import read_pack_config, start_pack
from airstack.planning import pack_config_file
from airstack.pricing import estimate_stack
from airstack.stackfile import read_stack_file
import components.platform
stack_file = read_stack_file({stack!r})
config = stack_file.load()
start = time.perf_counter(); run = run_program(stack_file); program = time.perf_counter() - start
pack_config = read_pack_config(pack_config_file(config.environment))
with start_pack() as analyzer:
    evaluate(run, analyzer, pack_config)
    start = time.perf_counter(); evaluate(run, analyzer, pack_config); in_process = time.perf_counter() - start
with start_pack(python={python!r}) as analyzer:
    evaluate(run, analyzer, pack_config)
    start = time.perf_counter(); evaluate(run, analyzer, pack_config); grpc = time.perf_counter() - start
start = time.perf_counter(); estimate_stack(run, config); pricing = time.perf_counter() - start
print(json.dumps([program, in_process, grpc, pricing]))
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
    python = os.environ.get("AIRSTACK_PACK_PYTHON", sys.executable)
    print(f"\n{'one stack, by phase':<24}{'program':>10}{'pack':>10}{'pack gRPC':>10}{'pricing':>10}")
    for stack in ("dev", "acc", "prod", "dr"):
        samples = []
        for _ in range(args.repeat):
            done = subprocess.run(
                [sys.executable, "-c", PHASES.format(stack=stack, python=python)], capture_output=True, text=True,
                check=True,
            )  # fmt: skip
            samples.append(json.loads(done.stdout.strip().splitlines()[-1]))
        medians = [statistics.median(column) for column in zip(*samples, strict=True)]
        print(f"{stack:<24}" + "".join(f"{m:>10.2f}" for m in medians))


if __name__ == "__main__":
    main()
