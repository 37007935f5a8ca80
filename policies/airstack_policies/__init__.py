"""The airstack CrossGuard rules, importable without starting the pack's gRPC server."""

from pulumi_policy import Policy

from airstack_policies import sqs, storage, workloads

PACK_NAME = "airstack"
POLICIES: list[Policy] = [*sqs.POLICIES, *storage.POLICIES, *workloads.POLICIES]

__all__ = ["PACK_NAME", "POLICIES"]
