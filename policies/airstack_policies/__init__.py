"""The airstack CrossGuard rules, importable without starting the pack's gRPC server."""

from pulumi_policy import Policy

from airstack_policies import (
    baseline,
    buckets,
    caches,
    databases,
    identity,
    network,
    root_filesystems,
    secrets,
    sqs,
    workloads,
)
from airstack_policies._rules import EXEMPT_TAG, EXEMPTED_PREFIX

PACK_NAME = "airstack"
POLICIES: list[Policy] = [
    *sqs.POLICIES,
    *buckets.POLICIES,
    *databases.POLICIES,
    *caches.POLICIES,
    *secrets.POLICIES,
    *network.POLICIES,
    *identity.POLICIES,
    *workloads.POLICIES,
    *baseline.POLICIES,
    *root_filesystems.POLICIES,
]

__all__ = ["EXEMPTED_PREFIX", "EXEMPT_TAG", "PACK_NAME", "POLICIES"]
