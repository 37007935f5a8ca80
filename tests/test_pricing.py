"""The monthly estimate, from resources and the dated price table, tested on small hand-made runs."""

from __future__ import annotations

import json

import pytest

from airstack.offline import ProgramRun, Resource
from airstack.pricing import HOURS_PER_MONTH, PRICE_FILE, estimate, mwaa_reference
from airstack.stackfile import read_stack_file


def resource(typ: str, logical: str, **inputs: object) -> Resource:
    return Resource(f"urn:{typ}::{logical}", typ, logical, None, True, dict(inputs),
                    {**inputs, "arn": f"arn:{logical}"}, False, None)  # fmt: skip


def service(cpu: str, memory: str, arch: str, count: int, spot: bool = False) -> list[Resource]:
    task = resource("aws:ecs/taskDefinition:TaskDefinition", "td", cpu=cpu, memory=memory,
                    runtimePlatform={"cpuArchitecture": arch})  # fmt: skip
    svc = resource("aws:ecs/service:Service", "svc", name="worker", taskDefinition="arn:td", desiredCount=count,
                   capacityProviderStrategies=[{"capacityProvider": "FARGATE_SPOT" if spot else "FARGATE"}])  # fmt: skip
    return [task, svc]


def run(*resources: Resource) -> ProgramRun:
    return ProgramRun("t", "p", list(resources), {})


def test_every_price_has_a_date_and_a_source() -> None:
    table = json.loads(PRICE_FILE.read_text())
    assert table["region"] == "us-east-1"
    for key, price in table["prices"].items():
        assert price["asOf"], key
        assert price["source"].startswith("https://aws.amazon.com/"), key
        assert price["usd"] > 0, key


def test_fargate_by_architecture_count_hours_and_spot() -> None:
    arm = estimate(run(*service("1024", "2048", "ARM64", 2)))
    assert arm.monthly_usd == pytest.approx((0.03238 + 2 * 0.00356) * 2 * HOURS_PER_MONTH, abs=0.01)
    x86_half_time = estimate(run(*service("1024", "2048", "X86_64", 1)), hours_on=365)
    assert x86_half_time.monthly_usd == pytest.approx((0.04048 + 2 * 0.004445) * 365, abs=0.01)
    spot = estimate(run(*service("1024", "2048", "X86_64", 1, spot=True)), hours_on=365)
    assert spot.monthly_usd == pytest.approx(x86_half_time.monthly_usd * 0.3, abs=0.01)


def test_nat_follows_the_vpc_strategy() -> None:
    one = estimate(
        run(resource("awsx:ec2:Vpc", "vpc", numberOfAvailabilityZones=3, natGateways={"strategy": "Single"}))
    )
    per_az = estimate(run(resource("awsx:ec2:Vpc", "vpc", numberOfAvailabilityZones=3,
                                   natGateways={"strategy": "OnePerAz"})))  # fmt: skip
    none = estimate(run(resource("awsx:ec2:Vpc", "vpc", numberOfAvailabilityZones=3, natGateways={"strategy": "None"})))
    hourly = (0.045 + 0.005) * HOURS_PER_MONTH
    assert per_az.monthly_usd - one.monthly_usd == pytest.approx(2 * hourly, abs=0.01)
    assert none.items == []


def test_multi_az_doubles_the_database_and_unknown_classes_say_so() -> None:
    single = estimate(
        run(resource("aws:rds/instance:Instance", "db", instanceClass="db.t4g.small", allocatedStorage=20))
    )
    multi = estimate(run(resource("aws:rds/instance:Instance", "db", instanceClass="db.t4g.small", allocatedStorage=20,
                                  multiAz=True)))  # fmt: skip
    assert single.monthly_usd == pytest.approx(0.032 * HOURS_PER_MONTH + 20 * 0.115, abs=0.01)
    assert multi.monthly_usd == pytest.approx(2 * single.monthly_usd, abs=0.01)
    unknown = estimate(run(resource("aws:rds/instance:Instance", "db", instanceClass="db.r7g.large")))
    assert unknown.items[0].assumption == "no list price in the table: add it to prices.json"


def test_hibernation_hours_and_the_mwaa_reference() -> None:
    assert read_stack_file("dev").load().schedule.hours_on_per_month() == pytest.approx(13 * 21.7, abs=0.1)
    assert read_stack_file("prod").load().schedule.hours_on_per_month() == HOURS_PER_MONTH
    assert mwaa_reference() == pytest.approx(357.7, abs=0.1)
