"""Least privilege: no identity gets full access, and no resource policy lets the whole world in."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from airstack_policies._props import as_list, everyone_allowed, peek, statements
from airstack_policies._rules import resource_policy

_POLICY_DOCUMENTS = {
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/policy:Policy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
}
_MANAGED_ARNS = {
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "policyArn",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": "policyArn",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment": "policyArn",
    "aws:iam/policyAttachment:PolicyAttachment": "policyArn",
    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive": "policyArns",
    "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive": "policyArns",
    "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive": "policyArns",
    "aws:iam/role:Role": "managedPolicyArns",
}
FULL_ACCESS = re.compile(
    r"^arn:aws[a-z-]*:iam::aws:policy/(?:[\w+=,.@-]+/)*"
    r"(AdministratorAccess[\w-]*|PowerUserAccess|IAMFullAccess|[\w-]*FullAccess(?:V\d+)?)$"
)
"""AWS-managed policies that grant a whole service (``*FullAccess``), everything but IAM, or everything."""


def _wildcard(statement: dict[str, Any]) -> str | None:
    if statement.get("Effect") != "Allow":
        return None
    actions = [str(a) for a in as_list(statement.get("Action"))]
    resources = [str(r) for r in as_list(statement.get("Resource"))]
    for action in actions:
        if action == "*" or action.lower() == "iam:*":
            return action
        if action.endswith(":*") and "*" in resources:
            return f"{action} on *"
    if statement.get("NotAction") and "*" in resources:
        return "everything except " + ", ".join(str(a) for a in as_list(statement.get("NotAction"))) + " on *"
    return None


def _check_wildcards(args: ResourceValidationArgs, report: ReportViolation) -> None:
    documents = []
    if args.resource_type in _POLICY_DOCUMENTS:
        documents.append(args.props.get(_POLICY_DOCUMENTS[args.resource_type]))
    if args.resource_type == "aws:iam/role:Role":
        documents += [p.get("policy") for p in as_list(args.props.get("inlinePolicies")) if isinstance(p, Mapping)]
    for document in documents:
        for s in statements(document):
            found = _wildcard(s)
            if found:
                report(f"{args.name} allows {found}; whoever gets hold of these credentials can do the same", None)
    key = _MANAGED_ARNS.get(args.resource_type)
    if key is None:
        return
    for arn in as_list(args.props.get(key)):
        match = FULL_ACCESS.match(str(arn))
        if match:
            report(f"{args.name} attaches the AWS-managed {match.group(1)}, which grants "
                   f"{_what(match.group(1))}; grant the actions and resources it needs", None)  # fmt: skip


def _what(name: str) -> str:
    if name.startswith("AdministratorAccess"):
        return "every action on every resource"
    if name == "PowerUserAccess":
        return "every action but IAM management on every resource"
    if name == "IAMFullAccess":
        return "the power to create any identity with any permission"
    return "every action of a service on all of its resources"


iam_no_wildcard_admin = resource_policy(
    name="iam-no-wildcard-admin",
    description=(
        "A compromised workload runs with its role's permissions. No policy allows `*`, `iam:*` or `service:*` "
        "on every resource, and no identity gets AdministratorAccess, PowerUserAccess, IAMFullAccess or another "
        "AWS-managed *FullAccess policy (attached, or in managed_policy_arns)."
    ),
    fix=(
        "List the actions the workload calls and the ARNs it calls them on (aws.iam.get_policy_document helps), "
        "and attach that policy instead of a full-access managed policy."
    ),
    validate=_check_wildcards,
)

# -------------------------------------------------------------------------------------- resource policies

_RESOURCE_POLICIES = {
    "aws:ecr/repositoryPolicy:RepositoryPolicy": ("policy", "repository policy"),
    "aws:sqs/queuePolicy:QueuePolicy": ("policy", "queue policy"),
    "aws:sqs/queue:Queue": ("policy", "queue policy"),
    "aws:sns/topicPolicy:TopicPolicy": ("policy", "topic policy"),
    "aws:sns/topic:Topic": ("policy", "topic policy"),
    "aws:secretsmanager/secretPolicy:SecretPolicy": ("policy", "secret policy"),
    "aws:secretsmanager/secret:Secret": ("policy", "secret policy"),
    "aws:kms/key:Key": ("policy", "key policy"),
    "aws:kms/keyPolicy:KeyPolicy": ("policy", "key policy"),
    "aws:lambda/permission:Permission": ("principal", "invoke permission"),
}
"""Policies on resources reachable through AWS's public APIs (EFS file system policies need the VPC first)."""


def _check_resource_policies(args: ResourceValidationArgs, report: ReportViolation) -> None:
    entry = _RESOURCE_POLICIES.get(args.resource_type)
    if entry is None:
        return
    key, what = entry
    if key == "principal":
        narrowed = any(peek(args.props, k) for k in ("sourceArn", "sourceAccount", "principalOrgId"))
        if args.props.get("principal") == "*" and not narrowed:
            report(f"{args.name} lets anyone invoke {args.props.get('functionName')}; name the calling service "
                   "and its source ARN or account", None)  # fmt: skip
        return
    if peek(args.props, key) is None:
        return
    for s in statements(args.props.get(key)):
        if everyone_allowed(s):
            actions = ", ".join(str(a) for a in as_list(s.get("Action"))) or "every action"
            report(f"the {what} of {args.name} allows anyone ({actions}); any AWS account in the world can use "
                   "it", None)  # fmt: skip


resource_policies_not_public = resource_policy(
    name="resource-policies-not-public",
    description=(
        "A resource policy with Principal `*` lets every AWS account in the world use the resource: pull "
        "images from an ECR repository, read a secret, send to a queue or topic, use a key, invoke a function. "
        "Statements that allow `*` are narrowed by a condition on the caller (aws:SourceArn, aws:SourceAccount, "
        "aws:PrincipalOrgID and the like)."
    ),
    fix=(
        "Replace Principal `*` with the accounts, roles or services that need access, or add a condition on "
        "aws:PrincipalOrgID, aws:SourceAccount or aws:SourceArn; an intentionally public resource is exempted "
        "with a reason."
    ),
    validate=_check_resource_policies,
)

POLICIES = [iam_no_wildcard_admin, resource_policies_not_public]
