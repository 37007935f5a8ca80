"""Lookups offline: policy documents as the AWS provider builds them, recorded answers, computed ones."""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import pulumi
import pytest

from airstack.lookups import STACK_REFERENCE, Lookups, LookupsError, UnansweredLookup, read_lookups
from airstack.mocks import ACCOUNT_ID, AwsMocks
from airstack.policy_document import PolicyDocumentError, policy_document


def document(**args: Any) -> dict[str, Any]:
    return json.loads(policy_document(args)["json"])


# ---------------------------------------------------------------------------------------- policy documents


def test_defaults_version_effect_and_no_empty_sid() -> None:
    assert document(statements=[{"actions": ["s3:GetObject"], "resources": ["*"]}]) == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }


def test_sets_are_deduplicated_and_reverse_sorted_and_one_element_is_a_string() -> None:
    [statement] = document(statements=[{
        "sid": "Read", "actions": ["s3:GetObject", "s3:ListBucket", "s3:GetObject"],
        "notResources": ["arn:aws:s3:::b"], "notActions": ["iam:*"],
    }])["Statement"]  # fmt: skip
    assert statement == {"Sid": "Read", "Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetObject"],
                         "NotAction": "iam:*", "NotResource": "arn:aws:s3:::b"}  # fmt: skip
    assert list(statement) == ["Sid", "Effect", "Action", "NotAction", "NotResource"], "the provider's field order"


def test_principals_merge_by_type_and_a_lone_star_is_bare() -> None:
    [everyone] = document(statements=[{"principals": [{"type": "*", "identifiers": ["*"]}]}])["Statement"]
    assert everyone["Principal"] == "*"
    [aws_star] = document(statements=[{"principals": [{"type": "AWS", "identifiers": ["*"]}]}])["Statement"]
    assert aws_star["Principal"] == {"AWS": "*"}, "{AWS: *} is kept: IAM trust policies refuse a bare *"
    [merged] = document(statements=[{"principals": [
        {"type": "Service", "identifiers": ["ecs-tasks.amazonaws.com"]},
        {"type": "AWS", "identifiers": ["arn:aws:iam::1:root", "arn:aws:iam::2:root"]},
        {"type": "AWS", "identifiers": ["arn:aws:iam::3:root"]},
    ], "notPrincipals": [{"type": "AWS", "identifiers": ["arn:aws:iam::9:root"]}]}])["Statement"]  # fmt: skip
    assert merged["Principal"] == {"AWS": ["arn:aws:iam::2:root", "arn:aws:iam::1:root", "arn:aws:iam::3:root"],
                                   "Service": "ecs-tasks.amazonaws.com"}  # fmt: skip
    assert merged["NotPrincipal"] == {"AWS": "arn:aws:iam::9:root"}


def test_conditions_keep_value_order_merge_and_flatten() -> None:
    [statement] = document(statements=[{"conditions": [
        {"test": "StringEquals", "variable": "aws:SourceAccount", "values": ["2", "1"]},
        {"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]},
        {"test": "StringEquals", "variable": "aws:SourceAccount", "values": ["3"]},
    ]}])["Statement"]  # fmt: skip
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"},
                                      "StringEquals": {"aws:SourceAccount": ["2", "1", "3"]}}  # fmt: skip
    assert list(statement["Condition"]) == ["Bool", "StringEquals"], "sorted keys, as Go writes maps"


def test_variables_are_written_with_ampersand_and_become_dollar() -> None:
    [statement] = document(statements=[{"resources": ["arn:aws:s3:::b/&{aws:username}/*"]}])["Statement"]
    assert statement["Resource"] == "arn:aws:s3:::b/${aws:username}/*"
    with pytest.raises(PolicyDocumentError, match="not supported in document version 2008-10-17"):
        policy_document({"version": "2008-10-17", "statements": [{"resources": ["&{aws:username}"]}]})


def test_source_and_override_documents_merge_by_sid() -> None:
    source = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "A", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
        {"Sid": "B", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "*", "Principal": "*"}]})  # fmt: skip
    override = json.dumps({"Statement": [{"Sid": "B", "Effect": "Deny", "Action": "s3:PutObject", "Resource": "*"}]})
    result = document(sourcePolicyDocuments=[source], overridePolicyDocuments=[override], policyId="pid",
                      statements=[{"sid": "C", "actions": ["s3:ListBucket"], "resources": ["*"]}])  # fmt: skip
    assert result["Id"] == "pid"
    assert [(s["Sid"], s["Effect"]) for s in result["Statement"]] == [("A", "Allow"), ("B", "Deny"), ("C", "Allow")]
    with pytest.raises(PolicyDocumentError, match=r"duplicate Sid \(A\) in sourcePolicyDocuments"):
        policy_document({"sourcePolicyDocuments": [source, source]})


def test_json_minified_json_and_id_are_the_providers() -> None:
    result = policy_document({"statements": [{"actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::a<b>&c"]}]})
    assert result["json"].startswith('{\n  "Version": "2012-10-17",\n  "Statement": [\n    {\n')
    assert "\\u003c" in result["json"], "Go escapes <, > and &"
    assert "\\u0026" in result["minifiedJson"]
    assert result["minifiedJson"] == json.dumps(json.loads(result["json"]), separators=(",", ":")).replace(
        "<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")  # fmt: skip
    assert result["id"] == str(zlib.crc32(result["json"].encode()))
    assert result["statements"][0]["actions"] == ["s3:GetObject"], "the arguments come back too"


def test_snake_case_arguments_of_plain_dicts_are_understood() -> None:
    [statement] = document(statements=[{"not_actions": ["iam:*"], "resources": ["*"], "effect": "Deny"}])["Statement"]
    assert statement == {"Effect": "Deny", "NotAction": "iam:*", "Resource": "*"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"statements": [{"effect": "allow"}]}, 'effect must be "Allow" or "Deny"'),
        ({"statements": [{"sid": "no-dashes"}]}, "must only include alphanumeric characters"),
        ({"statements": [{"sid": "A"}, {"sid": "A"}]}, r"duplicate Sid \(A\)"),
        ({"version": "2020-01-01"}, "version must be one of"),
        ({"statements": [{"principals": [{"type": "AWS"}]}]}, "has no identifiers"),
        ({"sourcePolicyDocuments": ["{not json"]}, "is not valid JSON"),
    ],
)
def test_invalid_arguments_fail_as_the_provider_would(args: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyDocumentError, match=message):
        policy_document(args)


# ------------------------------------------------------------------------------------------ lookups file


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "lookups.yaml"
    path.write_text(text)
    return path


def test_the_first_entry_whose_args_match_answers(tmp_path: Path) -> None:
    lookups = read_lookups(write(tmp_path, """
lookups:
  - token: aws:ec2/getAmi:getAmi
    args: {mostRecent: true, owners: [amazon]}
    result: {id: ami-1}
  - token: aws:ec2/getAmi:getAmi
    result: {id: ami-any}
"""))  # fmt: skip
    assert lookups.find("aws:ec2/getAmi:getAmi", {"mostRecent": True, "owners": ["amazon"], "x": 1}) == {"id": "ami-1"}
    assert lookups.find("aws:ec2/getAmi:getAmi", {"mostRecent": False}) == {"id": "ami-any"}
    assert lookups.find("aws:ec2/getVpc:getVpc", {}) is None


def test_numbers_compare_as_numbers_and_booleans_as_booleans() -> None:
    lookups = Lookups((read_entry("aws:x/y:z", {"port": 443, "on": True}),))
    assert lookups.find("aws:x/y:z", {"port": 443.0, "on": True}) is not None
    assert lookups.find("aws:x/y:z", {"port": 443, "on": 1}) is None


def read_entry(token: str, args: dict[str, Any]) -> Any:
    from airstack.lookups import Answer

    return Answer(token, args, {"ok": True}, "test")


def test_json_is_accepted_as_well(tmp_path: Path) -> None:
    path = tmp_path / "lookups.json"
    path.write_text(json.dumps([{"token": "aws:route53/getZone:getZone", "result": {"zoneId": "Z1"}}]))
    assert read_lookups(path).find("aws:route53/getZone:getZone", {"name": "x"}) == {"zoneId": "Z1"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lookups: {token: x}", "`lookups` must be a list"),
        ("lookups:\n  - token: aws:a/b:c\n", "result must be a mapping"),
        ("lookups:\n  - token: aws:a/b:c\n    result: {}\n    answer: 1\n", "unknown keys answer"),
        ("lookups:\n  - token: aws:a/b:c\n    args: [1]\n    result: {}\n", "args must be a mapping"),
        ("answers: []", "unknown keys answers"),
        ("lookups: [\n", "neither YAML nor JSON"),
    ],
)
def test_a_malformed_file_names_the_entry(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(LookupsError, match=message):
        read_lookups(write(tmp_path, text))


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LookupsError, match="does not exist"):
        read_lookups(tmp_path / "nope.yaml")


# ------------------------------------------------------------------------------------- computed answers


def call(mocks: AwsMocks, token: str, **args: Any) -> dict[str, Any]:
    result, failures = mocks.call(pulumi.runtime.MockCallArgs(token=token, args=args, provider=""))
    assert failures == []
    return result


def test_account_region_partition_and_zones_agree_with_each_other() -> None:
    mocks = AwsMocks("cn-north-1")
    assert call(mocks, "aws:index/getCallerIdentity:getCallerIdentity")["arn"].startswith(
        f"arn:aws-cn:iam::{ACCOUNT_ID}:"
    )
    assert call(mocks, "aws:index/getPartition:getPartition")["dnsSuffix"] == "amazonaws.com.cn"
    region = call(mocks, "aws:index/getRegion:getRegion")
    assert (region["name"], region["region"], region["endpoint"]) == ("cn-north-1", "cn-north-1",
                                                                       "ec2.cn-north-1.amazonaws.com.cn")  # fmt: skip
    zones = call(mocks, "aws:index/getAvailabilityZones:getAvailabilityZones", excludeNames=["cn-north-1b"])
    assert zones["names"] == ["cn-north-1a", "cn-north-1c"]
    assert zones["zoneIds"] == ["cnn1-az1", "cnn1-az3"]


def test_arns_and_default_tags_are_computed() -> None:
    mocks = AwsMocks("eu-west-1", config={"aws:defaultTags": json.dumps({"tags": {"Owner": "x"}})})
    assert call(mocks, "aws:index/getDefaultTags:getDefaultTags")["tags"] == {"Owner": "x"}
    arn = call(mocks, "aws:index/getArn:getArn", arn="arn:aws:sqs:eu-west-1:111122223333:jobs")
    assert (arn["service"], arn["account"], arn["resource"]) == ("sqs", "111122223333", "jobs")


def test_a_recorded_answer_wins_and_anything_else_is_unanswered(tmp_path: Path) -> None:
    recorded = read_lookups(write(tmp_path, "lookups:\n  - token: aws:index/getRegion:getRegion\n"
                                            "    result: {name: recorded}\n"))  # fmt: skip
    mocks = AwsMocks("eu-west-1", recorded)
    assert call(mocks, "aws:index/getRegion:getRegion")["name"] == "recorded"
    with pytest.raises(UnansweredLookup, match=r"unanswered lookup `aws:route53/getZone:getZone`; answer it"):
        call(mocks, "aws:route53/getZone:getZone", name="example.com")
    assert [(u.token, u.args) for u in mocks.log.unanswered] == [
        ("aws:route53/getZone:getZone", {"name": "example.com"})
    ]


def test_a_stack_reference_is_answered_like_a_lookup(tmp_path: Path) -> None:
    lookups = read_lookups(write(tmp_path, f"lookups:\n  - token: {STACK_REFERENCE}\n    args: {{name: org/net/prod}}\n"
                                           "    result: {outputs: {vpcId: vpc-1}}\n"))  # fmt: skip
    mocks = AwsMocks("eu-west-1", lookups)
    args = pulumi.runtime.MockResourceArgs(typ=STACK_REFERENCE, name="net", inputs={"name": "org/net/prod"},
                                           provider="", resource_id="org/net/prod")  # fmt: skip
    resource_id, state = mocks.answer(args, preview=False)
    assert (resource_id, state["outputs"]) == ("org/net/prod", {"vpcId": "vpc-1"})
    with pytest.raises(UnansweredLookup):
        AwsMocks("eu-west-1").answer(args, preview=False)
