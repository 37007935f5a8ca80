"""In-memory stores (ElastiCache for Valkey or Redis OSS): encrypted on the wire and at rest, and never open.

A Redis that serves as a Celery broker holds every queued task's message (and Airflow 3's task tokens in them);
as a cache or session store it holds application data. Without TLS its traffic, AUTH included, crosses the VPC
in clear; without an AUTH token or a user group anyone who reaches its port reads and changes everything.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from airstack_policies._props import UNKNOWN, items, peek
from airstack_policies._rules import resource_policy

REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
ENCRYPTED_AT_REST_BY_DEFAULT = ("valkey",)
"""ElastiCache encrypts a new Valkey replication group at rest unless told not to; Redis OSS only when told to."""


def _decided(props: Any, key: str) -> Any:
    value = peek(props, key)
    if value is UNKNOWN:
        return props[key]  # raises: the engine reports that the rule cannot decide yet
    return value


def _authenticated(props: Any) -> bool:
    token = peek(props, "authToken") or peek(props, "authTokenWo")
    return bool(token) or any(g for g in items(peek(props, "userGroupIds")) if g)


def _check_cache(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != REPLICATION_GROUP:
        return
    props = args.props
    if peek(props, "globalReplicationGroupId"):
        return  # a Global Datastore's secondary takes both encryptions from its primary
    label = f"replication group {args.name}"
    transit = _decided(props, "transitEncryptionEnabled")
    if transit is not True:
        report(f"{label} has transitEncryptionEnabled {transit!r}: clients, replicas and AUTH talk in clear", None)
    elif _decided(props, "transitEncryptionMode") == "preferred":
        report(f'{label} has transitEncryptionMode "preferred": its nodes still accept plain-text connections', None)
    at_rest = _decided(props, "atRestEncryptionEnabled")
    engine = _decided(props, "engine") or "redis"
    if at_rest is False or (at_rest is None and engine not in ENCRYPTED_AT_REST_BY_DEFAULT):
        report(
            f"{label} ({engine}) has atRestEncryptionEnabled {at_rest!r}: its data, swap and snapshots are stored "
            "in clear, and it cannot be changed after creation",
            None,
        )
    if not _authenticated(props):
        report(
            f"{label} has neither an authToken nor userGroupIds (RBAC or IAM authentication): anyone who reaches "
            "its port can read and change every key",
            None,
        )


elasticache_encrypted_and_authenticated = resource_policy(
    name="elasticache-encrypted-and-authenticated",
    description=(
        "A Valkey or Redis OSS replication group holds data (a Celery broker: every queued task). It requires TLS "
        '(transit encryption, not "preferred"), is encrypted at rest, and admits only clients that authenticate '
        "(an AUTH token, or RBAC/IAM through a user group)."
    ),
    fix=(
        "Create the replication group with transit_encryption_enabled=True (leave transit_encryption_mode unset "
        'or "required"), at_rest_encryption_enabled=True (optionally kms_key_id), and an auth_token from '
        "pulumi_random kept in Secrets Manager, or user_group_ids. At-rest encryption can only be chosen at "
        "creation: migrate to a new group."
    ),
    validate=_check_cache,
)

POLICIES = [elasticache_encrypted_and_authenticated]
