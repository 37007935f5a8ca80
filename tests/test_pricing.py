"""The monthly estimate: dated per-region prices, hand-computed small runs, the real stacks, MWAA comparison."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pulumi.output import Unknown
from rich.console import Console

from airstack.offline import ProgramRun, Resource
from airstack.pricing import (
    HOURS_PER_MONTH,
    PRICE_DIR,
    PriceDataError,
    PriceTable,
    estimate,
    estimate_stack,
    read_price_file,
    regions,
    render_estimate,
)
from airstack.pricing.values import UNKNOWN
from airstack.stackfile import STACK_NAMES, read_stack_file
from tests.conftest import planned

SERVICE, TASK = "aws:ecs/service:Service", "aws:ecs/taskDefinition:TaskDefinition"


def resource(typ: str, logical: str, provider: str | None = None, **inputs: object) -> Resource:
    urn = f"urn:pulumi:t::p::{typ}::{logical}"
    return Resource(urn, typ, logical, None, True, dict(inputs), {**inputs, "arn": f"arn:{logical}"}, False, provider)


def service(name: str, cpu: str, memory: str, arch: str, count: object, spot: bool = False) -> list[Resource]:
    task = resource(TASK, f"{name}-td", cpu=cpu, memory=memory, runtimePlatform={"cpuArchitecture": arch})
    svc = resource(
        SERVICE,
        name,
        name=name,
        taskDefinition=f"arn:{name}-td",
        desiredCount=count,
        capacityProviderStrategies=[{"capacityProvider": "FARGATE_SPOT" if spot else "FARGATE"}],
    )
    return [task, svc]


def run(*resources: Resource, region: str = "eu-west-1", **config: str) -> ProgramRun:
    return ProgramRun("t", "p", list(resources), {}, {"aws:region": region, **config})


def fargate(est: object) -> float:
    return sum(i.monthly_usd for i in est.items if i.item.startswith("Fargate"))  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------------ price data


def test_every_region_the_stacks_use_has_a_complete_dated_and_sourced_table() -> None:
    used = {"us-east-1"}
    for stack in STACK_NAMES:
        config = read_stack_file(stack).load()
        used |= {config.aws_region, *filter(None, [config.dr.replica_region, config.dr.primary_region])}
    assert used == {"us-east-1", "eu-west-1", "eu-central-1"}
    assert used <= set(regions())
    reference_prices, reference_factors, _ = read_price_file(PRICE_DIR / "us-east-1.json")
    for region in regions():
        prices, factors, location = read_price_file(PRICE_DIR / f"{region}.json")
        assert set(prices) == set(reference_prices), region  # adding a region means pricing everything
        assert set(factors) == set(reference_factors), region
        assert location
        assert location != region
        for price in [*prices.values(), *factors.values()]:
            assert price.source.startswith("https://aws.amazon.com/"), price.key
            assert price.basis in ("list", "rule", "approximate", "typical"), price.key
            if price.basis == "approximate":
                assert price.note, f"{region} {price.key}: say how an approximate price was made"


def test_the_regions_really_differ_where_aws_prices_differ() -> None:
    ireland, frankfurt, virginia = (PriceTable.for_region(r) for r in ("eu-west-1", "eu-central-1", "us-east-1"))
    assert ireland.usd("nat.hour") == 0.048
    assert virginia.usd("nat.hour") == 0.045
    assert frankfurt.usd("fargate.x86.vcpuHour") > ireland.usd("fargate.x86.vcpuHour")
    assert frankfurt.usd("cloudwatch.logs.ingestedGb") > ireland.usd("cloudwatch.logs.ingestedGb")
    multi, single = (ireland.usd(f"rds.postgres.db.t4g.medium.{d}.hour") for d in ("multiAz", "singleAz"))
    assert multi == pytest.approx(2 * single)


def test_a_malformed_price_file_is_named_with_what_is_wrong(tmp_path: Path) -> None:
    document = json.loads((PRICE_DIR / "eu-west-1.json").read_text())
    document["region"] = "xx-test-1"
    document["prices"]["nat.hour"]["source"] = "aws pricing page"
    bad = tmp_path / "xx-test-1.json"
    bad.write_text(json.dumps(document))
    with pytest.raises(PriceDataError, match=r"xx-test-1.json: prices.nat.hour.source must be the https URL"):
        read_price_file(bad)
    bad.write_text(json.dumps({**document, "region": "eu-west-1"}))
    with pytest.raises(PriceDataError, match="says region 'eu-west-1'; the file name says xx-test-1"):
        read_price_file(bad)


# --------------------------------------------------------------------------------------- hand-made runs


def small_run(region: str = "eu-west-1") -> ProgramRun:
    return run(
        *service("api", "1024", "2048", "ARM64", 2),
        *service("worker-a", "1 vCPU", "2 GB", "X86_64", 1, spot=True),
        resource(
            "aws:appautoscaling/target:Target",
            "scaling",
            serviceNamespace="ecs",
            resourceId="service/c/worker-a",
            minCapacity=1,
            maxCapacity=3,
        ),
        resource("awsx:ec2:Vpc", "vpc", natGateways={"strategy": "Single"}, numberOfAvailabilityZones=UNKNOWN),
        resource(
            "aws:ec2/vpcEndpoint:VpcEndpoint",
            "logs",
            vpcEndpointType="Interface",
            subnetIds=UNKNOWN,
            serviceName=f"com.amazonaws.{region}.logs",
        ),
        resource("aws:lb/loadBalancer:LoadBalancer", "alb", internal=True, loadBalancerType="application"),
        resource(
            "aws:rds/instance:Instance",
            "db",
            engine="postgres",
            instanceClass="db.t4g.small",
            multiAz=True,
            allocatedStorage=20,
            backupRetentionPeriod=7,
        ),
        resource("aws:secretsmanager/secret:Secret", "s1"),
        resource("aws:secretsmanager/secret:Secret", "s2"),
        region=region,
        **{"airstack:network": json.dumps({"azCount": 2})},
    )


def test_small_run_costs_what_a_hand_computation_says() -> None:
    # eu-west-1 prices, 365 h of services a month:
    #   api       ARM 1 vCPU 2 GB x2: (0.03238 + 2*0.00356) * 2 * 365              = 28.835
    #   worker-a  x86 1 vCPU 2 GB Spot: (0.04048 + 2*0.004445) * 0.3 * 365         =  5.406
    #   NAT Single: (0.048 + 0.005 IPv4) * 730 + 20 GB * 0.048                      = 39.650
    #   1 interface endpoint, subnets unknown -> azCount 2: 2*0.011*730 + 10*0.01  = 16.160
    #   internal ALB: (0.0252 + 1 LCU * 0.008) * 730                                = 24.236
    #   RDS db.t4g.small Multi-AZ: 0.068 * 730                                      = 49.640
    #   gp3 20 GB Multi-AZ: 20 * 0.254                                              =  5.080
    #   backups 7 days: 10 GB data * 1.35 = 13.5 GB <= 20 GB free                   =  0
    #   2 secrets: 2*0.40 + 10,000 calls * 0.05/10k                                 =  0.850
    #                                                                        total = 169.857
    est = estimate(small_run(), hours_on=365)
    assert est.monthly_usd == pytest.approx(169.86, abs=0.02)
    # at most 3 Spot workers: 3 * 0.014811 * 365 = 16.218 instead of 5.406
    assert est.monthly_usd_at_max == pytest.approx(169.857 - 5.406 + 16.218, abs=0.02)
    endpoint = next(i for i in est.items if i.item.startswith("Interface endpoints"))
    assert "2 AZs from airstack:network azCount where subnets are unknown" in endpoint.assumption
    assert est.region == est.price_region == "eu-west-1"
    assert est.as_of == "2026-11-27"


def test_the_stack_region_prices_the_run() -> None:
    ireland, frankfurt = estimate(small_run("eu-west-1"), 365), estimate(small_run("eu-central-1"), 365)
    assert frankfurt.monthly_usd > ireland.monthly_usd
    # Frankfurt: (0.03725 + 2*0.00409) * 2 * 365 + (0.04656 + 2*0.00511) * 0.3 * 365
    assert fargate(frankfurt) == pytest.approx(33.165 + 6.217, abs=0.01)
    assert {p.region for p in frankfurt.sources} == {"eu-central-1"}
    elsewhere = estimate(small_run("ap-southeast-2"), 365)
    assert elsewhere.price_region == "us-east-1"
    assert "no price table for ap-southeast-2: us-east-1 prices used" in elsewhere.notes[0]


def test_hibernation_hours_scale_only_the_fargate_lines() -> None:
    always, hibernating = estimate(small_run(), HOURS_PER_MONTH), estimate(small_run(), 282.1)
    assert fargate(hibernating) == pytest.approx(fargate(always) * 282.1 / HOURS_PER_MONTH, abs=0.01)
    rest = [i.monthly_usd for i in always.items if not i.item.startswith("Fargate")]
    assert rest == [i.monthly_usd for i in hibernating.items if not i.item.startswith("Fargate")]


@pytest.mark.parametrize("unknown", [UNKNOWN, Unknown()], ids=["sentinel", "sdk-marker"])
def test_unknown_inputs_are_stated_never_a_crash(unknown: object) -> None:
    est = estimate(
        run(
            resource(TASK, "td", cpu=unknown, memory=unknown),
            resource(SERVICE, "svc", name="svc", taskDefinition=unknown, desiredCount=unknown),
            *service("known", "512", "1024", "ARM64", unknown),
            resource("awsx:ec2:Vpc", "vpc", natGateways=unknown, numberOfAvailabilityZones=unknown),
            resource("aws:ec2/vpcEndpoint:VpcEndpoint", "e", vpcEndpointType="Interface", subnetIds=[unknown, unknown]),
            resource("aws:lb/loadBalancer:LoadBalancer", "alb", internal=unknown, subnets=unknown),
            resource(
                "aws:rds/instance:Instance",
                "db",
                instanceClass=unknown,
                multiAz=unknown,
                allocatedStorage=unknown,
                backupRetentionPeriod=unknown,
            ),
            resource("aws:rds/instance:Instance", "db2", instanceClass="db.t4g.micro", allocatedStorage=unknown),
            resource("aws:cloudwatch/logGroup:LogGroup", "lg", retentionInDays=unknown),
            resource("aws:sqs/queue:Queue", "q", name=unknown, tags=unknown),
        ),
        730,
    )
    said = {i.item: i.assumption for i in est.items}
    assert said["Fargate svc"] == "task size unknown before deployment: not priced"
    assert said["Fargate known (0.5 vCPU, 1 GB, ARM64)"].startswith("1 task (desiredCount unknown before deployment)")
    assert said["RDS PostgreSQL (class unknown)"] == "instance class unknown before deployment: not priced"
    assert "(allocatedStorage unknown before deployment: assumed 20 GB)" in said["RDS storage 20 GB gp3"]
    assert "internal unknown before deployment, priced as internet-facing" in next(
        a for i, a in said.items() if i.startswith("Application load balancer")
    )
    assert "NAT gateways x2" in said  # awsx's default OnePerAz over the 2 AZs assumed
    assert est.monthly_usd > 0


def test_unpriced_instance_classes_say_where_to_add_them() -> None:
    est = estimate(run(resource("aws:rds/instance:Instance", "db", instanceClass="db.x2g.large")))
    assert est.items[0].monthly_usd == 0
    assert est.items[0].assumption == (
        "no price for postgres db.x2g.large in airstack/pricing/prices/eu-west-1.json: add it there"
    )


def test_backups_beyond_the_free_allowance_are_billed() -> None:
    # 100 GB allocated, 50 GB data, 35 days: 50 * (1 + 0.05*35) = 137.5 GB; 37.5 GB beyond the 100 free * 0.095
    est = estimate(
        run(
            resource(
                "aws:rds/instance:Instance",
                "db",
                instanceClass="db.t4g.micro",
                allocatedStorage=100,
                backupRetentionPeriod=35,
            )
        )
    )
    backups = next(i for i in est.items if i.item.startswith("RDS backups"))
    assert backups.monthly_usd == pytest.approx(37.5 * 0.095)


def test_a_declared_mwaa_environment_is_priced() -> None:
    est = estimate(
        run(
            resource(
                "aws:mwaa/environment:Environment", "env", environmentClass="mw1.small", minWorkers=2, maxWorkers=5
            ),
            region="us-east-1",
        )
    )
    # 0.49 * 730 + 1 extra worker * 0.055 * 730
    assert est.monthly_usd == pytest.approx(357.70 + 40.15)


# ------------------------------------------------------------------------------------------ real stacks


@pytest.fixture(scope="module")
def estimates() -> dict[str, object]:
    return {s: estimate_stack(planned(s), read_stack_file(s).load()) for s in STACK_NAMES}


def test_real_stacks_cost_prod_over_acc_over_dev_and_the_standby_less_than_prod(estimates: dict) -> None:
    costs = {s: e.monthly_usd for s, e in estimates.items()}
    assert costs["prod"] > costs["acc"] > costs["dev"] > 0
    assert costs["dr"] < costs["prod"]
    assert fargate(estimates["dr"]) == 0  # the standby runs no Airflow services
    assert {e.price_region for e in estimates.values()} == {"eu-west-1", "eu-central-1"}
    assert estimates["dr"].price_region == "eu-central-1"


def test_prod_prices_its_backup_replication_in_the_replica_region(estimates: dict) -> None:
    line = next(i for i in estimates["prod"].items if i.item == "RDS backups replicated to eu-central-1")
    assert line.monthly_usd > 0
    assert ("eu-central-1", "rds.backup.gbMonth") in {(p.region, p.key) for p in estimates["prod"].sources}
    assert not any("replicated" in i.item for i in estimates["dev"].items)


def test_dev_hibernates_so_its_services_cost_a_fraction_of_always_on(estimates: dict) -> None:
    config = read_stack_file("dev").load()
    always = estimate(planned("dev"), HOURS_PER_MONTH, config)
    assert fargate(estimates["dev"]) == pytest.approx(
        fargate(always) * config.schedule.hours_on_per_month() / HOURS_PER_MONTH, abs=0.01
    )


def test_the_mwaa_comparison_picks_a_class_that_fits_and_says_why(estimates: dict) -> None:
    dev, prod = estimates["dev"].comparison, estimates["prod"].comparison
    assert dev.environment_class == "mw1.small"
    # prod's ml workers have 16 GB: only an mw1.xlarge worker (24 GB) holds one
    assert prod.environment_class == "mw1.xlarge"
    assert "largest worker here (ml: 4 vCPU, 16 GB)" in prod.why
    assert "96 concurrent tasks" in prod.why  # 6*8 + 4*4 + 2*16
    assert prod.replaced_usd < estimates["prod"].monthly_usd
    assert estimate(planned("dev"), 282.1).comparison is None  # only with a stack config


def test_json_and_table_say_the_same_thing(estimates: dict) -> None:
    document = estimates["prod"].as_dict()
    assert document["region"] == "eu-west-1"
    assert document["asOf"] == "2026-11-27"
    assert document["monthlyUsd"] == pytest.approx(sum(i["monthlyUsd"] for i in document["items"]), abs=0.05)
    assert all({"item", "monthlyUsd", "assumption"} <= set(i) for i in document["items"])
    assert all(s["source"].startswith("https://") and s["asOf"] for s in document["sources"])
    assert document["comparison"]["environmentClass"] == "mw1.xlarge"
    console = Console(record=True, width=200)
    console.print(render_estimate(estimates["prod"], sources=True))
    text = console.export_text()
    assert f"Monthly estimate: ${document['monthlyUsd']:,.2f} (eu-west-1 prices as of 2026-11-27" in text
    assert "Managed Airflow (MWAA mw1.xlarge)" in text
    assert "https://aws.amazon.com/fargate/pricing/" in text
