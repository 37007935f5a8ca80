"""Sidecars in the smoke: which containers are not Airflow, the CloudWatch agent's StatsD stand-in, metric checks.

The real Airflow sending its metrics to the stand-ins is tests/test_smoke_run.py (AIRSTACK_SMOKE=1).
"""

from __future__ import annotations

import json
import socket
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from airstack.offline import ProgramRun
from airstack.smoke.differences import local_environment
from airstack.smoke.layout import lay_out
from airstack.smoke.metric_checks import metric_checks
from airstack.smoke.plan import PlanError, SmokePlan, smoke_plan
from airstack.smoke.sidecars import (
    CLOUDWATCH_AGENT,
    Published,
    StatsdListener,
    WatchedMetric,
    agent_listener,
    published,
    repository,
    sidecar_kind,
    watched_metrics,
)
from tests.conftest import planned

DEV = smoke_plan(planned("dev"))
HEARTBEAT = "airflow.scheduler_heartbeat:1|c|#Service:scheduler"
"""What Airflow's DogStatsD client sends for one scheduler heartbeat, tagged as the stack renders it."""


def heartbeat_alarm(plan: SmokePlan) -> WatchedMetric:
    return next(w for w in plan.watched if w.alarm.endswith("scheduler-heartbeat"))


# ------------------------------------------------------------------------------------ which image is what


@pytest.mark.parametrize(
    ("image", "kind"),
    [
        ("public.ecr.aws/cloudwatch-agent/cloudwatch-agent:1.300062.0b1304", CLOUDWATCH_AGENT),
        (
            "111122223333.dkr.ecr.eu-west-1.amazonaws.com/dev-public/cloudwatch-agent/cloudwatch-agent:1.3",
            CLOUDWATCH_AGENT,
        ),
        ("amazon/cloudwatch-agent:latest", CLOUDWATCH_AGENT),
        ("registry.local:5000/amazon/cloudwatch-agent@sha256:abc", CLOUDWATCH_AGENT),
        ("111122223333.dkr.ecr.eu-west-1.amazonaws.com/airstack/airflow-core:acc-5d41", None),
        ("public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0", None),
        ("my-cloudwatch-agent:1", None),
    ],
)
def test_the_cloudwatch_agent_is_known_by_its_repository_wherever_it_is_pulled_from(
    image: str, kind: str | None
) -> None:
    assert sidecar_kind(image) == kind


def test_repository_drops_registry_tag_and_digest() -> None:
    assert repository("localhost:5000/a/b:1@sha256:x") == "a/b"
    assert repository("registry:5000/a/b") == "a/b"
    assert repository("a/b") == "a/b"


def _with_container(run: ProgramRun, service_family: str, extra: dict) -> ProgramRun:
    """``run`` with ``extra`` added to the task definition of ``service_family``."""
    resources = []
    for r in run.resources:
        if r.type == "aws:ecs/taskDefinition:TaskDefinition" and r.inputs.get("family", "").endswith(service_family):
            definitions = [*json.loads(r.inputs["containerDefinitions"]), extra]
            resources.append(replace(r, wire_inputs={**r.wire_inputs, "containerDefinitions": json.dumps(definitions)}))
        else:
            resources.append(r)
    return replace(run, resources=resources)


def test_a_container_of_an_unknown_image_is_refused_by_name_and_image() -> None:
    proxy = {"name": "proxy", "image": "docker.io/library/nginx:1.27", "essential": False, "environment": []}
    with pytest.raises(PlanError, match=r"api-server/proxy: image docker\.io/library/nginx:1\.27 has no stand-in"):
        smoke_plan(_with_container(planned("dev"), "api-server", proxy))


def test_an_airflow_container_of_another_image_is_refused_too() -> None:
    run = planned("dev")
    other = {
        "name": "helper",
        "image": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/airstack/airflow-core:other",
        "command": ["airflow", "version"],
        "environment": [{"name": "AIRFLOW__CORE__LOAD_EXAMPLES", "value": "False"}],
    }
    with pytest.raises(PlanError, match=r"run 2 images .*: the smoke runs one, built from image/"):
        smoke_plan(_with_container(run, "triggerer", other))


def test_an_agent_configured_elsewhere_than_in_its_environment_is_refused_by_name() -> None:
    agent = {"name": "agent", "image": "amazon/cloudwatch-agent:1", "essential": False, "environment": []}
    with pytest.raises(PlanError, match=r"triggerer/agent: .*reads its configuration from CW_CONFIG_CONTENT"):
        smoke_plan(_with_container(planned("dev"), "triggerer", agent))


# ---------------------------------------------------------------------------------- the agent's mapping


def test_the_rendered_agent_listens_on_the_tasks_localhost_and_publishes_to_the_stacks_namespace() -> None:
    agent = next(c for c in DEV.sidecars if c.task == "scheduler")
    assert agent_listener(agent.key, agent.environment) == StatsdListener(
        "127.0.0.1", 8125, "airstack/dev/airflow", "_"
    )
    scheduler = next(c for c in DEV.airflow_containers if c.key == "scheduler/scheduler").environment
    assert (scheduler["AIRFLOW__METRICS__STATSD_HOST"], scheduler["AIRFLOW__METRICS__STATSD_PORT"]) == (
        "127.0.0.1",
        "8125",
    )


def test_an_agent_without_statsd_listens_nowhere_and_defaults_are_the_agents() -> None:
    assert agent_listener("t/a", {"CW_CONFIG_CONTENT": json.dumps({"logs": {}})}) is None
    minimal = {"metrics": {"metrics_collected": {"statsd": {}}}}
    assert agent_listener("t/a", {"CW_CONFIG_CONTENT": json.dumps(minimal)}) == StatsdListener("", 8125, "CWAgent", "_")


def test_a_heartbeat_as_airflow_sends_it_is_the_metric_the_heartbeat_alarm_watches() -> None:
    watched = heartbeat_alarm(DEV)
    metric = published(HEARTBEAT, StatsdListener("127.0.0.1", 8125, "airstack/dev/airflow", "_"))
    assert metric is not None
    assert metric.matches(watched.namespace, watched.name, watched.dimensions)
    other_service = published(
        HEARTBEAT.replace("scheduler", "triggerer", 2), StatsdListener("", 1, "airstack/dev/airflow", "_")
    )
    assert other_service is not None
    assert not other_service.matches(watched.namespace, watched.name, watched.dimensions)


def test_statsd_lines_become_metrics_with_their_type_and_tags() -> None:
    listener = StatsdListener("", 8125, "ns", "_")
    assert published("airflow.ti.finish:1|c|@0.5|#Service:w,Queue:ml", listener) == Published(
        "ns", "airflow_ti_finish", (("Queue", "ml"), ("Service", "w"), ("metric_type", "counter"))
    )
    assert published("a.b:12.5|ms", listener) == Published("ns", "a_b", (("metric_type", "timing"),))
    assert published("_e{5,4}:title|text", listener) is None
    assert published("not a metric", listener) is None


def test_alarm_metrics_are_read_from_metric_queries_and_plain_alarms() -> None:
    plain = {"namespace": "AWS/SQS", "metricName": "Age", "dimensions": {"QueueName": "q"}}
    assert [w.label() for w in watched_metrics("a", plain)] == ["Age (QueueName=q)"]
    assert heartbeat_alarm(DEV).dimensions == {"Service": "scheduler", "metric_type": "counter"}


# ------------------------------------------------------------------------------------- the stand-in, live


def test_each_agent_stand_in_listens_where_its_tasks_airflow_sends_and_records_what_arrives(tmp_path: Path) -> None:
    layout = lay_out(DEV, tmp_path, Path(sys.executable))
    try:
        assert set(layout.agents) == {c.key for c in DEV.sidecars}
        scheduler = next(c for c in DEV.airflow_containers if c.key == "scheduler/scheduler")
        place = layout.places[scheduler.key]
        env = local_environment(scheduler, {}, place, layout.site, ["/opt/airflow"]).environment
        target = (env["AIRFLOW__METRICS__STATSD_HOST"], int(env["AIRFLOW__METRICS__STATSD_PORT"]))
        agent = layout.agents["scheduler/cloudwatch-agent"]
        assert target == agent.address == (place.task_address, 8125)
        assert len({a.address for a in layout.agents.values()}) == len(layout.agents), "one localhost per task"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto(f"{HEARTBEAT}\nairflow.executor.open_slots:4|g|#Service:scheduler".encode(), target)
        deadline = time.monotonic() + 5
        while sum(agent.metrics().values()) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        received = {key: a.metrics() for key, a in layout.agents.items()}
    finally:
        layout.close()
    assert {m.name for m in received["scheduler/cloudwatch-agent"]} == {
        "airflow_scheduler_heartbeat",
        "airflow_executor_open_slots",
    }
    assert not received["triggerer/cloudwatch-agent"]
    checks = {c.name: c for c in metric_checks(DEV, received, dict.fromkeys(received, "airstack/dev/airflow"))}
    assert checks["alarm airstack-dev-scheduler-heartbeat: its metric reaches a CloudWatch agent"].ok
    assert checks["scheduler: its metrics reach its CloudWatch agent"].ok
    silent = checks["worker-ml: its metrics reach its CloudWatch agent"]
    assert not silent.ok
    assert silent.components == ("worker-ml.worker",)


def test_a_heartbeat_tagged_for_another_service_fails_the_alarm_check_and_says_what_arrived() -> None:
    listener = StatsdListener("127.0.0.1", 8125, "airstack/dev/airflow", "_")
    wrong = published(HEARTBEAT.replace("Service:scheduler", "Service:sched"), listener)
    assert wrong is not None
    received = {c.key: Counter[Published]() for c in DEV.sidecars} | {"scheduler/cloudwatch-agent": Counter({wrong: 3})}
    checks = {c.name: c for c in metric_checks(DEV, received, dict.fromkeys(received, "airstack/dev/airflow"))}
    alarm = checks["alarm airstack-dev-scheduler-heartbeat: its metric reaches a CloudWatch agent"]
    assert not alarm.ok
    assert "scheduler.cloudwatch-agent got airflow_scheduler_heartbeat (Service=sched)" in alarm.detail
    assert alarm.components == ("scheduler.scheduler",)
    assert not checks["scheduler: its metrics reach its CloudWatch agent"].ok, "tagged with another service"
