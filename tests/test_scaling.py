"""Each team's workers follow its backlog: bounds per team, the scaling alarms' math evaluated, hibernation intact."""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest

from airstack.offline import ProgramRun, Resource, run_program
from airstack.pricing import estimate_stack
from airstack.stackfile import read_stack_file
from components.worker_scaling import BANDS, SCALE_IN_MINUTES, scale_in_steps, scale_out_steps
from tests.conftest import STACKS, of_type, planned, stack_file_with, stack_values

TARGET = "aws:appautoscaling/target:Target"
POLICY = "aws:appautoscaling/policy:Policy"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def target_of(run: ProgramRun, service: str) -> Resource:
    [target] = [t for t in of_type(run, TARGET) if t.inputs["resourceId"].endswith(f"/{service}")]
    return target


def alarm(run: ProgramRun, team: str, kind: str) -> Resource:
    [found] = [a for a in of_type(run, ALARM) if a.name == f"compute-worker-{team}-{kind}"]
    return found


def evaluate(alarm_resource: Resource, visible: float | None, running: float | None, desired: float | None) -> float:
    """The alarm's metric math for one minute, as CloudWatch computes it (``None``: no datapoint)."""
    functions = {
        "CEIL": math.ceil,
        "FILL": lambda value, default: default if value is None else value,
        "IF": lambda condition, yes, no: yes if condition else no,
    }
    [query] = [q for q in alarm_resource.inputs["metricQueries"] if q.get("returnData")]
    values = {"visible": visible, "running": running, "desired": desired}
    return eval(query["expression"], {"__builtins__": {}}, {**functions, **values})


def adjustment(policy: Resource, value: float, threshold: float = 1) -> int:
    """The change of workers a step policy makes for the alarm's value (bounds are relative to the threshold)."""
    for step in policy.inputs["stepScalingPolicyConfiguration"]["stepAdjustments"]:
        lower = float(step.get("metricIntervalLowerBound", "-inf"))
        upper = float(step.get("metricIntervalUpperBound", "inf"))
        if lower <= value - threshold < upper:
            return int(step["scalingAdjustment"])
    raise AssertionError(f"no step for {value}")


@pytest.mark.parametrize("stack", STACKS)
def test_each_teams_workers_scale_within_its_bounds(stack: str) -> None:
    run, config = planned(stack), read_stack_file(stack).load()
    for team in config.teams:
        target = target_of(run, f"worker-{team.name}")
        bounds = (target.inputs["minCapacity"], target.inputs["maxCapacity"])
        if config.services_running:
            assert bounds == (team.workers.min, team.workers.max)
        else:
            assert bounds == (0, 0), "a standby keeps its workers at zero"
        policies = [p for p in of_type(run, POLICY) if p.inputs["resourceId"] == target.inputs["resourceId"]]
        assert len(policies) == (2 if config.services_running else 0)


@pytest.mark.parametrize("stack", [s for s in STACKS if s != "dr"])
def test_work_waiting_adds_the_workers_it_needs_within_a_minute(stack: str) -> None:
    run, config = planned(stack), read_stack_file(stack).load()
    [cluster] = of_type(run, "aws:ecs/cluster:Cluster")
    for team in config.teams:
        short = alarm(run, team.name, "workers-short")
        assert (short.inputs["evaluationPeriods"], short.inputs["datapointsToAlarm"]) == (1, 1)
        queries = {q["id"]: q for q in short.inputs["metricQueries"]}
        assert {q["metric"]["period"] for q in queries.values() if "metric" in q} == {60}
        assert queries["visible"]["metric"]["dimensions"] == {"QueueName": f"airstack-{stack}-{team.queue_name}"}
        assert queries["desired"]["metric"]["dimensions"] == {
            "ClusterName": cluster.outputs["name"],
            "ServiceName": f"worker-{team.name}",
        }
        [policy] = [p for p in of_type(run, POLICY) if p.outputs["arn"] in short.inputs["alarmActions"]]
        c = team.concurrency
        # From zero workers, one task waiting needs one worker.
        assert evaluate(short, visible=1, running=0, desired=0) == 1
        assert adjustment(policy, 1) == 1
        # Enough waiting for three workers at once, two already desired: one more.
        assert evaluate(short, visible=3 * c - 2, running=2, desired=2) == 1
        # Nothing short while the desired workers can take every task.
        assert evaluate(short, visible=c, running=c, desired=2) < 1
        # A burst far above the maximum adds a band at once, never more than the maximum allows.
        burst = evaluate(short, visible=1000 * c, running=0, desired=0)
        assert 1 <= adjustment(policy, burst) <= max(team.workers.max, 1)


@pytest.mark.parametrize("stack", [s for s in STACKS if s != "dr"])
def test_idle_workers_stop_soon_but_never_while_work_waits(stack: str) -> None:
    run, config = planned(stack), read_stack_file(stack).load()
    for team in config.teams:
        idle = alarm(run, team.name, "workers-idle")
        assert (idle.inputs["evaluationPeriods"], idle.inputs["datapointsToAlarm"]) == (SCALE_IN_MINUTES, 3)
        [policy] = [p for p in of_type(run, POLICY) if p.outputs["arn"] in idle.inputs["alarmActions"]]
        c, most = team.concurrency, team.workers.max
        # All idle at the maximum: the largest band goes at once (Application Auto Scaling keeps the minimum).
        assert evaluate(idle, visible=0, running=0, desired=most) == most
        assert adjustment(policy, most) == -max(b for b in BANDS if b <= most)
        # One worker's worth of tasks fewer than the workers: one goes (task protection keeps the busy ones).
        assert evaluate(idle, visible=0, running=(most - 1) * c, desired=most) == 1
        assert adjustment(policy, 1) == -1
        # Work waiting: no scale-in, however many workers are desired.
        assert evaluate(idle, visible=1, running=0, desired=most) == 0
        # No data at all (a quiet queue, no Container Insights datapoint yet): nothing to remove.
        assert evaluate(idle, visible=None, running=None, desired=None) == 0


@pytest.mark.parametrize("most", [1, 2, 5, 12, 50])
def test_step_bands_cover_every_shortfall_once(most: int) -> None:
    steps = scale_out_steps(most)
    assert steps[0].lower == 0
    assert steps[-1].upper is None
    for before, after in itertools.pairwise(steps):
        assert before.upper == after.lower, "contiguous bands, none overlapping"
    assert all(0 < s.adjustment <= most for s in steps)
    assert [s.adjustment for s in steps] == [b for b in BANDS if b <= most]
    assert [-s.adjustment for s in scale_in_steps(most)] == [s.adjustment for s in steps]


def test_hibernation_keeps_owning_the_bounds_with_backlog_scaling() -> None:
    run, config = planned("dev"), read_stack_file("dev").load()
    actions = of_type(run, "aws:appautoscaling/scheduledAction:ScheduledAction")
    for team in config.teams:
        target = target_of(run, f"worker-{team.name}")
        assert set(target.ignore_changes) == {"minCapacity", "maxCapacity"}
        mine = {a.name.rsplit("-", 1)[1]: a for a in actions if a.inputs["resourceId"] == target.inputs["resourceId"]}
        assert mine["stop"].inputs["scalableTargetAction"] == {"minCapacity": 0, "maxCapacity": 0}
        assert mine["start"].inputs["scalableTargetAction"] == {
            "minCapacity": team.workers.min,
            "maxCapacity": team.workers.max,
        }


def test_hibernation_shows_in_the_cost() -> None:
    config = read_stack_file("dev").load()
    hibernating = estimate_stack(planned("dev"), config)
    values: dict[str, Any] = stack_values("dev")
    values["airstack:schedule"] = {"hibernate": False}
    always_file = stack_file_with("dev", values)
    always = estimate_stack(run_program(always_file), always_file.load())
    assert hibernating.hours_on == config.schedule.hours_on_per_month() < always.hours_on == 730

    def fargate(estimate: Any) -> float:
        return sum(i.monthly_usd for i in estimate.items if i.item.startswith("Fargate"))

    assert fargate(hibernating) == pytest.approx(fargate(always) * hibernating.hours_on / 730, rel=0.01)
    assert hibernating.monthly_usd < always.monthly_usd
