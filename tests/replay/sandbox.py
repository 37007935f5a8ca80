"""The in-process moto a replay runs in: the mocks' account, the AWS-managed policies the stacks attach, AWS's
behaviour where moto departs from it (``motofixes``), and the planned heap kept out of the collector's way."""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import os
import re
from collections.abc import Iterator
from unittest import mock

from moto import mock_aws
from moto.iam import aws_managed_policies
from moto.iam import models as iam_models

from airstack.mocks import ACCOUNT_ID
from airstack.offline import Resource
from tests.replay import motofixes

_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"


@contextlib.contextmanager
def aws(resources: list[Resource]) -> Iterator[None]:
    """An in-process moto for the replay of ``resources``, with AWS's behaviour where moto departs from it."""
    attached = {arn for r in resources for arn in [r.inputs.get("policyArn") if r.type == _ATTACHMENT else None,
                                                   *(r.inputs.get("managedPolicyArns") or [])] if arn}  # fmt: skip
    env = {"MOTO_ACCOUNT_ID": ACCOUNT_ID, "MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}
    # The planned runs and pulumi_aws make a heap of ~750,000 objects that every full collection walks (about half
    # the replay's time): frozen for the replay, unfrozen after, so only the replay's own garbage is collected.
    gc.freeze()
    with (
        _unfrozen(),
        # The account the mocks put into ARNs; no default AMIs, which moto would otherwise build per region.
        mock.patch.dict(os.environ, env),
        # moto builds all of AWS's ~1,600 managed policies for each IAM backend (most of a second); only those the
        # stack attaches are needed, and one that AWS does not have stays missing, so attaching it fails as in AWS.
        mock.patch.object(iam_models, "aws_managed_policies_data", _managed_policies(frozenset(attached))),
        mock_aws(config={"iam": {"load_aws_managed_policies": bool(attached)}}),
        motofixes.aws_behaviour(),
    ):
        yield


@contextlib.contextmanager
def _unfrozen() -> Iterator[None]:
    try:
        yield
    finally:
        gc.unfreeze()


@functools.cache
def _managed_policies(arns: frozenset[str]) -> str:
    """moto's data of AWS's managed policies, reduced to ``arns`` (those under arn:aws:iam::aws:policy/)."""
    known = json.loads(aws_managed_policies.aws_managed_policies_data)
    names = {arn.rsplit("/", 1)[-1] for arn in arns if re.fullmatch(r"arn:[a-z-]+:iam::aws:policy/.+", arn)}
    return json.dumps({name: known[name] for name in names if name in known})
