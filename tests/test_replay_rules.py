"""The replay's own grammars and condition evaluation, checked directly: what AWS refuses, the replay refuses."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.replay import grammars, monitoring, policies, replication

LIFECYCLE_SELECTIONS = [
    # (one rule's selection, a fragment of the refusal): ECR's grammar beyond the example the stack sends
    ({"tagStatus": "untagged", "tagPrefixList": ["prod-"], "countType": "imageCountMoreThan", "countNumber": 5},
     "tagPrefixList is only for tagStatus tagged"),
    ({"tagStatus": "tagged", "tagPrefixList": ["prod-"], "tagPatternList": ["prod-*"],
      "countType": "imageCountMoreThan", "countNumber": 5}, "exactly one of tagPrefixList and tagPatternList"),
    ({"tagStatus": "tagged", "tagPatternList": ["*a*b*c*d*"], "countType": "imageCountMoreThan", "countNumber": 5},
     "at most four wildcards"),
    ({"tagStatus": "any", "countType": "sinceImagePushed", "countNumber": 7}, "counts in countUnit 'days'"),
    ({"tagStatus": "any", "countType": "sinceImagePulled", "countUnit": "days", "countNumber": 7},
     "is not imageCountMoreThan or sinceImagePushed"),
    ({"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 0}, "is a positive integer"),
]  # fmt: skip


@pytest.mark.parametrize(("selection", "fragment"), LIFECYCLE_SELECTIONS)
def test_an_ecr_lifecycle_rule_outside_the_grammar_is_refused(selection: dict[str, Any], fragment: str) -> None:
    accepted = {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 5}
    policy = {"rules": [{"rulePriority": 1, "selection": accepted, "action": {"type": "expire"}}]}
    assert grammars.lifecycle_policy_problems(json.dumps(policy)) == []
    policy["rules"][0]["selection"] = selection
    found = grammars.lifecycle_policy_problems(json.dumps(policy))
    assert any(fragment in p for p in found), found


CONDITIONS = [
    # (a condition block, whether it holds for a request from account 111122223333 with no organization)
    ({"StringEquals": {"aws:SourceAccount": "111122223333"}}, True),
    ({"StringNotEquals": {"aws:SourceAccount": "111122223333"}}, False),
    ({"StringEquals": {"aws:PrincipalOrgID": "o-1"}}, False),
    ({"StringNotEquals": {"aws:PrincipalOrgID": "o-1"}}, True),
    ({"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-1"}}, True),
    ({"Null": {"aws:PrincipalOrgID": "true"}}, True),
    ({"ArnLike": {"AWS:SourceArn": "arn:aws:logs:eu-west-1:111122223333:*"}}, True),
    ({"ArnLike": {"aws:SourceArn": "arn:aws:logs:eu-west-1:444455556666:*"}}, False),
    ({"Bool": {"aws:SecureTransport": "false"}}, False),
    ({"NumericLessThan": {"s3:max-keys": "10"}}, False),
]  # fmt: skip


@pytest.mark.parametrize(("condition", "holds"), CONDITIONS, ids=[json.dumps(c[0]) for c in CONDITIONS])
def test_resource_policy_conditions_are_evaluated_as_iam_does(condition: dict[str, Any], holds: bool) -> None:
    """Missing keys fail a positive operator and satisfy a negated one; keys are case-insensitive; an operator
    the replay does not evaluate never grants."""
    context = {"aws:SourceAccount": "111122223333", "aws:SourceArn": "arn:aws:logs:eu-west-1:111122223333:x",
               "aws:SecureTransport": "true"}  # fmt: skip
    assert policies.conditions_hold(condition, context) is holds


# ------------------------------------------------------------------------- operations and DR, checked directly

GOOD_DASHBOARD = {"widgets": [
    {"type": "text", "x": 0, "y": 0, "width": 24, "height": 1, "properties": {"markdown": "## x"}},
    {"type": "metric", "x": 0, "y": 1, "width": 12, "height": 6, "properties": {
        "metrics": [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "q", {"label": "waiting"}],
                    ["...", "q-dlq"], [".", "NumberOfMessagesSent", ".", "."], [{"expression": "m1 * 2"}]],
        "region": "eu-west-1", "stat": "p90", "period": 300, "view": "timeSeries"}},
]}  # fmt: skip
DASHBOARDS = [
    # (a change to the good body, a fragment of the refusal)
    (lambda b: b["widgets"][1].update(width=25), "not an integer in 1..24"),
    (lambda b: b["widgets"][1].update(x=18), "passes the grid's 24 columns"),
    (lambda b: b["widgets"][0]["properties"].pop("markdown"), "a text widget has markdown"),
    (lambda b: b["widgets"][1]["properties"].update(metrics=[]), "non-empty metrics array"),
    (lambda b: b["widgets"][1]["properties"]["metrics"].append(["AWS/SQS", "X", "QueueName"]), "(dimension, value)*"),
    (lambda b: b["widgets"][1]["properties"].update(period=90), "a multiple of 60"),
    (lambda b: b["widgets"][1]["properties"].update(region="eu-west-9"), "is not an AWS region"),
    (lambda b: b["widgets"][1]["properties"]["metrics"][0][-1].update(colour="#fff"), "unknown rendering option"),
    (lambda b: b.update(widgets=[b["widgets"][0]] * 501), "at most 500"),
    (lambda b: b.update(periodOverride="always"), "periodOverride"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "fragment"), DASHBOARDS, ids=[d[1] for d in DASHBOARDS])
def test_a_dashboard_body_outside_cloudwatchs_grammar_is_refused(change: Any, fragment: str) -> None:
    assert monitoring.dashboard_problems(json.dumps(GOOD_DASHBOARD)) == []
    body = copy.deepcopy(GOOD_DASHBOARD)
    change(body)
    found = monitoring.dashboard_problems(json.dumps(body))
    assert any(fragment in p for p in found), found


def test_a_dashboards_shorthand_metrics_are_resolved() -> None:
    assert monitoring.dashboard_metrics(json.dumps(GOOD_DASHBOARD)) == [
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "eu-west-1", {"QueueName": "q"}),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "eu-west-1", {"QueueName": "q-dlq"}),
        ("AWS/SQS", "NumberOfMessagesSent", "eu-west-1", {"QueueName": "q-dlq"}),
    ]


PATTERNS = [
    # (a filter pattern, whether CloudWatch Logs accepts it)
    ('{ $.status = "rejected" }', True),
    ('{ ($.status = "rejected" || $.status = "failed") && $.latency > 100 }', True),
    ("{ $.user.id IS NULL }", True),
    ("{ $.items[0] NOT EXISTS }", True),
    ("[ip, user, status = 5*, bytes > 1000]", True),
    ('ERROR -"timed out"', True),
    ('{ $.status = "rejected" ', False),
    ('{ status = "rejected" }', False),
    ('{ ($.a = 1 }', False),
    ('{ $.a = 1 && }', False),
    ("[ip, = 5]", False),
    ('ERROR "unclosed', False),
    ("x" * 1025, False),
]  # fmt: skip


@pytest.mark.parametrize(("pattern", "accepted"), PATTERNS, ids=[p[0][:40] for p in PATTERNS])
def test_metric_filter_patterns_are_parsed_as_cloudwatch_logs_does(pattern: str, accepted: bool) -> None:
    assert (monitoring.filter_pattern_problems(pattern) == []) is accepted


TRANSFORMATIONS = [
    # (pattern, transformation, a fragment of the refusal or None)
    ('{ $.ms > 0 }', {"name": "Latency", "namespace": "app", "value": "$.ms"}, None),
    ("[ip, user, bytes]", {"name": "Bytes", "namespace": "app", "value": "$bytes"}, None),
    ('{ $.ms > 0 }', {"name": "Latency", "namespace": "app", "value": "$ms"}, "names no field"),
    ("[ip, user, bytes]", {"name": "Bytes", "namespace": "app", "value": "$.bytes"}, "not a JSON pattern"),
    ('{ $.ms > 0 }', {"name": "Latency", "namespace": "app", "value": "ms"}, "neither a number nor a field"),
    ('{ $.ms > 0 }', {"name": "A*", "namespace": "app", "value": "1"}, "none of : * $"),
    ('{ $.ms > 0 }', {"name": "L", "namespace": "app", "value": "1", "defaultValue": 0,
                      "dimensions": {"Route": "$.route"}}, "no defaultValue"),
    ('{ $.ms > 0 }', {"name": "L", "namespace": "app", "value": "1",
                      "dimensions": {k: f"$.{k}" for k in "abcd"}}, "at most 3"),
]  # fmt: skip


@pytest.mark.parametrize(("pattern", "transformation", "fragment"), TRANSFORMATIONS,
                         ids=[str(t[2]) for t in TRANSFORMATIONS])  # fmt: skip
def test_metric_transformations_name_fields_the_pattern_selects(pattern: str, transformation: dict[str, Any],
                                                                 fragment: str | None) -> None:  # fmt: skip
    found = monitoring.metric_transformation_problems(pattern, transformation)
    assert found == [] if fragment is None else any(fragment in p for p in found), found


PULL_THROUGH = [
    # (prefix, upstream, credential, a fragment of the refusal or None)
    ("dev-public", "public.ecr.aws", None, None),
    ("ROOT", "quay.io", None, None),
    ("hub", "registry-1.docker.io", "arn:aws:secretsmanager:eu-west-1:111122223333:secret:ecr-pullthroughcache/hub",
     None),
    ("x", "public.ecr.aws", None, "2 to 30"),
    ("a" * 31, "public.ecr.aws", None, "2 to 30"),
    ("Dev", "public.ecr.aws", None, "2 to 30"),
    ("hub", "registry-1.docker.io", None, "needs a credentialArn"),
    ("hub", "docker.io", None, "no upstream registry ECR caches"),
    ("gh", "ghcr.io", "arn:aws:secretsmanager:eu-west-1:111122223333:secret:github", "ecr-pullthroughcache/"),
]  # fmt: skip


@pytest.mark.parametrize(("prefix", "upstream", "credential", "fragment"), PULL_THROUGH,
                         ids=[f"{p[0][:8]}-{p[1]}-{p[3]}" for p in PULL_THROUGH])  # fmt: skip
def test_pull_through_cache_rules_follow_ecrs_rules(prefix: str, upstream: str, credential: str | None,
                                                    fragment: str | None) -> None:  # fmt: skip
    found = replication.pull_through_cache_problems(prefix, upstream, credential)
    assert found == [] if fragment is None else any(fragment in p for p in found), found


TEMPLATE = {
    "prefix": "dev-public",
    "appliedFor": ["PULL_THROUGH_CACHE"],
    "encryptionConfiguration": {"encryptionType": "AES256"},
    "lifecyclePolicy": json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 5},
                    "action": {"type": "expire"},
                }
            ]
        }
    ),
}
TEMPLATES = [
    ({"prefix": "ROOT"}, None),
    ({"prefix": "-bad"}, "repository name parts"),
    ({"appliedFor": ["PULL_THROUGH_CACHE", "PULL_THROUGH_CACHE"]}, "each once"),
    ({"appliedFor": ["ON_PUSH"]}, "one or more of"),
    ({"encryptionConfiguration": {"encryptionType": "AES256", "kmsKey": "k"}}, "a kmsKey with encryptionType AES256"),
    ({"encryptionConfiguration": {"encryptionType": "KMS"}}, "needs a customRoleArn"),
    ({"resourceTags": [{"Key": "a", "Value": "b"}], "customRoleArn": "arn:aws:iam::111122223333:role/ecr"}, None),
    ({"lifecyclePolicy": "{}"}, "lifecyclePolicy:"),
    ({"repositoryPolicy": json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecr:Pull",
      "Principal": "*"}]})}, "repositoryPolicy:"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "fragment"), TEMPLATES, ids=[str(t[1]) for t in TEMPLATES])
def test_creation_templates_follow_ecrs_rules(change: dict[str, Any], fragment: str | None) -> None:
    found = replication.creation_template_problems({**TEMPLATE, **change})
    assert found == [] if fragment is None else any(fragment in p for p in found), found


REGISTRY_RULES = [
    ([{"destinations": [{"region": "eu-central-1", "registryId": "111122223333"}],
       "repositoryFilters": [{"filter": "airstack/airflow-core", "filterType": "PREFIX_MATCH"}]}], None),
    ([{"destinations": [{"region": "eu-west-1", "registryId": "444455556666"}]}], None),
    ([], "1 to 10"),
    ([{"destinations": [{"region": "eu-west-1", "registryId": "111122223333"}]}], "this registry itself"),
    ([{"destinations": [{"region": "eu-west-9", "registryId": "111122223333"}]}], "is not an AWS region"),
    ([{"destinations": []}], "without destinations"),
    ([{"destinations": [{"region": "eu-central-1", "registryId": "111122223333"}] * 26}], "at most 25"),
    ([{"destinations": [{"region": "eu-central-1", "registryId": "111122223333"}],
       "repositoryFilters": [{"filter": "airstack/*", "filterType": "PREFIX_MATCH"}]}], "PREFIX_MATCH of a repository"),
]  # fmt: skip


@pytest.mark.parametrize(("rules", "fragment"), REGISTRY_RULES, ids=[str(r[1]) for r in REGISTRY_RULES])
def test_registry_replication_follows_ecrs_rules(rules: list[dict[str, Any]], fragment: str | None) -> None:
    found = replication.registry_replication_problems(rules, "eu-west-1", "111122223333")
    assert found == [] if fragment is None else any(fragment in p for p in found), found


S3_RULE = {"ID": "to-dr", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": "task-logs/"},
           "DeleteMarkerReplication": {"Status": "Enabled"}, "Destination": {
               "Bucket": "arn:aws:s3:::dr-logs", "Metrics": {"Status": "Enabled", "EventThreshold": {"Minutes": 15}},
               "ReplicationTime": {"Status": "Enabled", "Time": {"Minutes": 15}}}}  # fmt: skip
S3_RULES = [
    (lambda r: None, None),
    (lambda r: r.update(Filter={"Tag": {"Key": "a", "Value": "b"}}), "no delete markers for a tag-based rule"),
    (lambda r: r.update(Filter={"Prefix": "a/", "Tag": {"Key": "a", "Value": "b"}}), "exactly one of Prefix"),
    (lambda r: r.pop("Priority"), "needs Priority and DeleteMarkerReplication"),
    (lambda r: r.pop("Filter"), "neither a Filter nor a Prefix"),
    (lambda r: r.update(ID="x" * 256), "at most 255"),
    (lambda r: r["Destination"].update(Bucket="arn:aws:s3:::prod-logs"), "the destination is the source bucket"),
    (lambda r: r["Destination"].update(Bucket="dr-logs"), "is not a bucket ARN"),
    (lambda r: r["Destination"]["ReplicationTime"]["Time"].update(Minutes=5), "time is 15 minutes"),
    (lambda r: r["Destination"].pop("Metrics"), "needs replication metrics enabled"),
    (lambda r: r["Destination"]["Metrics"]["EventThreshold"].update(Minutes=30), "event threshold is 15 minutes"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "fragment"), S3_RULES, ids=[str(r[1]) for r in S3_RULES])
def test_bucket_replication_rules_follow_s3s_rules(change: Any, fragment: str | None) -> None:
    rule = copy.deepcopy(S3_RULE)
    change(rule)
    found = replication.bucket_replication_problems("prod-logs", [rule])
    assert found == [] if fragment is None else any(fragment in p for p in found), found
    if fragment is None:
        twice = replication.bucket_replication_problems("prod-logs", [rule, rule])
        assert any("rule IDs repeat" in p for p in twice)
        assert any("priorities repeat" in p for p in twice)


PERMISSION_ONLY = ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags", "s3:GetObjectVersionForReplication",
                   "s3:GetReplicationConfiguration", "ecr:BatchImportUpstreamImage", "ecr:ReplicateImage"]  # fmt: skip


@pytest.mark.parametrize("action", PERMISSION_ONLY)
def test_permission_only_actions_are_known_and_typos_still_refused(action: str) -> None:
    assert policies.action_problems(action) == []
    assert policies.action_problems(action + "s") != []
