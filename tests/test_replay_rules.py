"""The replay's own grammars and condition evaluation, checked directly: what AWS refuses, the replay refuses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.replay import grammars, policies

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
