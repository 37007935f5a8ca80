"""The config's AWS facts match their sources, and what the config accepts fits AWS's limits in the real program."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import botocore.session
import pulumi_aws
import pytest
from pulumi_aws.config import vars as provider_vars

from airstack.offline import run_program
from components import naming
from components.config import ConfigError, StackConfig, load_stack_config
from components.config.aws import (
    AWS_PROVIDER_KEYS,
    RDS_POSTGRES_INSTANCE_CLASSES,
    REGION_PARTITION,
    repository_problem,
    tag_text_problem,
)
from components.config.limits import capacity_problems
from tests.conftest import stack_file_with, stack_values


def load(stack: str, values: dict[str, Any]) -> StackConfig:
    return load_stack_config(values, stack=stack, source=f"Pulumi.{stack}.yaml")


def problem_keys(stack: str, values: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(stack, values)
    return [p.key for p in caught.value.problems]


# ------------------------------------------------------------------------------------------ the lists


def test_regions_are_the_providers_with_botocores_partitions() -> None:
    assert set(REGION_PARTITION) == {r.value for r in pulumi_aws.Region}
    endpoints = botocore.session.get_session().get_data("endpoints")
    botocore_partition = {r: p["partition"] for p in endpoints["partitions"] for r in p["regions"]}
    assert {r: botocore_partition[r] for r in REGION_PARTITION if r in botocore_partition} == {
        r: p for r, p in REGION_PARTITION.items() if r in botocore_partition
    }


def test_provider_keys_are_what_pulumi_aws_reads() -> None:
    properties = [n for n in dir(provider_vars._ExportableConfig) if not n.startswith("_")]
    camel = {re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), n) for n in properties}
    assert set(AWS_PROVIDER_KEYS) == camel


@pytest.mark.parametrize("family", ["t4g", "t3", "m6g", "m7g", "m6i", "m7i", "r6g", "r7g", "r6i", "r7i"])
def test_the_common_instance_families_are_offered(family: str) -> None:
    assert {f"db.{family}.large", f"db.{family}.xlarge"} <= RDS_POSTGRES_INSTANCE_CLASSES


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("Cost Center", True, None),
        ("données/équipe@x:y=z+1_2.3-4", False, None),
        ("", True, "a tag key cannot be empty"),
        ("", False, None),
        ("AWS:Owner", True, "the aws: prefix is reserved"),
        ("a,b", False, "(not ',')"),
        ("x" * 257, False, "at most 256 characters"),
    ],
)
def test_tag_rules(text: str, key: bool, problem: str | None) -> None:
    found = tag_text_problem(text, key=key)
    assert (found is None) if problem is None else (found is not None and problem in found)


@pytest.mark.parametrize(
    ("repository", "ok"),
    [
        ("111122223333.dkr.ecr.eu-west-1.amazonaws.com/airstack/airflow-core", True),
        ("apache/airflow", True),
        ("public.ecr.aws/docker/library/python", True),
        ("localhost:5000/airflow", True),
        ("registry.example.com:443/team__x/air.flow", True),
        ("111122223333.dkr.ecr.eu-west-1.amazonaws.com/a", False),  # ECR names have 2-256 characters
        ("apache/Airflow", False),
        ("apache//airflow", False),
        ("apache/airflow:3.1", False),
        ("", False),
    ],
)
def test_image_repositories(repository: str, ok: bool) -> None:
    assert (repository_problem(repository) is None) == ok


# ------------------------------------------------------------------------------------- derived names


def test_bucket_names_bound_the_stack_name_in_the_longest_region() -> None:
    values = stack_values("dev")
    values["aws:region"] = "ap-southeast-5"
    values["airstack:image"]["repository"] = "apache/airflow"
    values["airstack:ingress"]["certificateArn"] = values["airstack:ingress"]["certificateArn"].replace(
        "eu-west-1", "ap-southeast-5"
    )
    assert load("s" * 21, values)  # airstack-<21>-logs-<12 digits>-ap-southeast-5 is 63 characters
    assert problem_keys("s" * 22, values) == ["stack name"]


def test_queue_names_bound_stack_and_queue_together() -> None:
    values = stack_values("dev")
    values["airstack:teams"][0]["queue"] = "q" * 32
    stack = "s" * 26  # airstack-<26>-<32>-dlq is 9 + 26 + 1 + 32 + 4 = 72 characters
    assert load(stack, values)
    assert problem_keys("s" * 40, values) == ["stack name", "airstack:teams[0].queue"]


def test_what_the_config_accepts_fits_in_the_real_program() -> None:
    """A config at the limits runs through the program; every name it derives is within AWS's limits."""
    values = stack_values("dev")
    values["airstack:teams"] = [
        {"name": "t" * 31, "queue": "q" * 30, "longestTask": "1h"},
        {"name": "u" * 31, "longestTask": "1h"},
    ]
    stack = "s" * 22  # the longest that fits `bucket_prefix` (37) and the bucket name (63) in eu-west-1
    load(stack, values)
    run = run_program(replace(stack_file_with("dev", values), stack=stack))
    auto_named = {"aws:iam/role:Role": 64, "aws:lb/loadBalancer:LoadBalancer": 32, "aws:lb/targetGroup:TargetGroup": 32}
    for resource in run.resources:
        if resource.type in auto_named and "name" not in resource.inputs:
            assert len(naming.auto_name(resource.name)) <= auto_named[resource.type], resource.name
    for queue in run.by_type("aws:sqs/queue:Queue"):
        assert len(queue.inputs["name"]) <= 80
    for bucket in run.by_type("aws:s3/bucket:Bucket"):
        inputs = bucket.inputs
        assert len(inputs["bucket"]) <= 63 if "bucket" in inputs else len(inputs["bucketPrefix"]) <= 37


# -------------------------------------------------------------------------------------------- team count


def many(count: int) -> list[dict[str, Any]]:
    return [{"name": f"team{i:03d}-" + "x" * 23, "longestTask": "1h"} for i in range(count)]


def test_the_team_count_it_reports_is_the_count_that_fits() -> None:
    values = stack_values("prod")
    values["airstack:teams"] = many(120)
    with pytest.raises(ConfigError) as caught:
        load("prod", values)
    counts = [int(m) for p in caught.value.problems for m in re.findall(r"at most (\d+) teams fit", p.message)]
    fits = min(counts)
    values["airstack:teams"] = many(fits)
    assert capacity_problems(load("prod", values)) == []
    values["airstack:teams"] = many(fits + 1)
    assert problem_keys("prod", values) == ["airstack:teams"]


def test_the_real_stacks_are_far_from_the_team_limits() -> None:
    for stack in ("dev", "prod"):
        assert capacity_problems(load(stack, stack_values(stack))) == []
