"""Small helpers every tier uses: child options, tags and IAM policy documents."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi


def child(parent: pulumi.Resource, *, protect: bool = False, **kwargs: Any) -> pulumi.ResourceOptions:
    """Options for a tier's child; ``protect`` is for stateful resources in prod and dr."""
    return pulumi.ResourceOptions(parent=parent, protect=protect, **kwargs)


def with_tags(tags: Mapping[str, str], **extra: str) -> dict[str, str]:
    merged = dict(tags)
    merged.update(extra)
    return merged


def assume_role_policy(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


def policy_document(statements: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)


def deny_insecure_transport(principal: Any, actions: str, resources: Sequence[str]) -> str:
    """A resource policy that refuses every request not made over TLS."""
    return policy_document(
        [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": principal,
                "Action": actions,
                "Resource": list(resources),
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ]
    )


def statement(actions: Sequence[str], resources: Sequence[str], **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": sorted(actions), "Resource": list(resources), **extra}
