"""AWS's names as the replay checks them: the IAM actions of each service prefix (botocore's operations and the
permission-only actions), botocore's services, the regions."""

from __future__ import annotations

import fnmatch
import functools
import re
from typing import Any

import botocore.session

# fmt: off
_EXTRA_IAM_ACTIONS: dict[str, frozenset[str]] = {
    # Permissions that are not API operations of the service's model: "permission only" actions and actions named
    # differently from the operation they authorize, as the Service Authorization Reference lists them
    # (docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html, ..._amazonelasticcontainer
    # registry.html; ECR's pull through cache: AmazonECR/latest/userguide/pull-through-cache-iam.html). Only
    # actions of services the program uses: any other unknown action (a typo) still fails.
    "s3": frozenset({
        "listbucket", "listbucketversions", "listbucketmultipartuploads", "listmultipartuploadparts",
        "getobjectversion", "deleteobjectversion", "getobjectversiontagging", "putobjectversiontagging",
        "getobjectversionacl", "putobjectversionacl", "listallmybuckets", "getbucketpolicystatus",
        # Replication: what the replication role does (permission only), and the bucket's replication settings
        # (GetBucketReplication / PutBucketReplication / DeleteBucketReplication authorize as these).
        "replicateobject", "replicatedelete", "replicatetags", "getobjectversionforreplication",
        "objectowneroverridetobucketowner", "initiatereplication",
        "getreplicationconfiguration", "putreplicationconfiguration",
        # Settings whose operations carry another name (GetBucketLifecycleConfiguration, PutBucketEncryption...).
        "getlifecycleconfiguration", "putlifecycleconfiguration", "getencryptionconfiguration",
        "putencryptionconfiguration", "getbucketobjectlockconfiguration", "putbucketobjectlockconfiguration",
    }),
    "elasticfilesystem": frozenset({"clientmount", "clientwrite", "clientrootaccess"}),
    "rds-db": frozenset({"connect"}),
    "ssmmessages": frozenset({"createcontrolchannel", "createdatachannel", "opencontrolchannel", "opendatachannel"}),
    # Pull through cache (a task's first pull imports the upstream image) and cross-region replication.
    "ecr": frozenset({"batchcheckavailability", "batchimportupstreamimage", "replicateimage"}),
    "iam": frozenset({"passrole"}),
    "lambda": frozenset({"invokefunction", "invokefunctionurl"}),
}
# fmt: on


# IAM service prefixes that are not the name of the service's botocore model.
_MODELS_OF_PREFIX = {
    "elasticfilesystem": ("efs",), "elasticloadbalancing": ("elbv2", "elb"), "states": ("stepfunctions",),
    "execute-api": ("apigateway", "apigatewaymanagementapi"), "es": ("es", "opensearch"),
}  # fmt: skip


@functools.cache
def _iam_actions(prefix: str) -> frozenset[str] | None:
    """The action names (lowercase) of an IAM service prefix: its model's operations, and permissions without one."""
    session = _session()
    models = [m for m in _MODELS_OF_PREFIX.get(prefix, (prefix,)) if m in service_names()]
    if not models and prefix not in _EXTRA_IAM_ACTIONS:
        return None
    names: list[list[str]] = [session.get_service_model(m).operation_names for m in models]  # pyright: ignore[reportAssignmentType]
    ops = {op.lower() for group in names for op in group}
    return frozenset(ops | _EXTRA_IAM_ACTIONS.get(prefix, frozenset()))


@functools.cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@functools.cache
def service_names() -> frozenset[str]:
    """botocore's service names (without loading their models)."""
    return frozenset(_session().get_available_services())


def action_problems(action: Any) -> list[str]:
    if not isinstance(action, str):
        return [f"action {action!r} is not a string"]
    if action == "*":
        return []
    prefix, sep, name = action.partition(":")
    if not sep or not re.fullmatch(r"[a-z0-9-]+", prefix) or not re.fullmatch(r"[A-Za-z0-9*?]+", name):
        return [f"action {action!r} is not service:Action"]
    known = _iam_actions(prefix)
    if known is None:
        return [f"action {action!r}: no AWS service has the IAM prefix {prefix!r}"]
    if not any(fnmatch.fnmatchcase(op, name.lower()) for op in known):
        return [f"action {action!r}: {prefix} has no such action"]
    return []


@functools.cache
def known_regions() -> frozenset[str]:
    session = _session()
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        regions.update(session.get_available_regions("ec2", partition_name=partition))
    return frozenset(regions)
