"""Where moto departs from AWS so that a valid request would fail, the replay puts AWS's behaviour back, for the
replay's duration only. Each fix names what AWS does; anything moto merely does not check is left to ``rules``."""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

from moto.ec2.models.flow_logs import FlowLogsBackend
from moto.efs.models import AccessPoint
from moto.moto_api._internal import mock_random


@contextlib.contextmanager
def aws_behaviour() -> Iterator[None]:
    with (
        mock.patch.object(AccessPoint, "__init__", _long_access_point_ids(AccessPoint.__init__)),
        mock.patch.object(
            FlowLogsBackend, "create_flow_logs", _flow_logs_under_a_prefix(FlowLogsBackend.create_flow_logs)
        ),
    ):
        yield


def _long_access_point_ids(init: Callable[..., None]) -> Callable[..., None]:
    """AWS's access point IDs have 17 hex digits (Lambda's model insists: ``fsap-[a-f0-9]{17}``); moto's have 8."""

    @functools.wraps(init)
    def create(self: AccessPoint, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        short = self.access_point_id
        self.access_point_id = f"fsap-{mock_random.get_random_hex(17)}"
        self.access_point_arn = self.access_point_arn.removesuffix(short) + self.access_point_id

    return create


def _flow_logs_under_a_prefix(create: Callable[..., Any]) -> Callable[..., Any]:
    """An S3 destination is ``arn:aws:s3:::bucket/prefix/`` (AWS writes under the prefix); moto takes the whole
    path for the bucket's name and reports the bucket missing."""

    @functools.wraps(create)
    def create_flow_logs(self: FlowLogsBackend, **kwargs: Any) -> Any:
        destination = kwargs.get("log_destination")
        if kwargs.get("log_destination_type") == "s3" and destination:
            kwargs["log_destination"] = re.sub(r"^(arn:[^:]+:s3:::[^/]+)/.*$", r"\1", destination)
        created, failed = create(self, **kwargs)
        for flow_log in created:
            flow_log.log_destination = destination
        return created, failed

    return create_flow_logs
