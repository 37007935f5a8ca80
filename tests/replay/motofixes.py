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
from moto.rds.exceptions import InvalidParameterValue
from moto.rds.models import RDSBackend
from moto.secretsmanager import models as secrets_models


@contextlib.contextmanager
def aws_behaviour() -> Iterator[None]:
    with (
        mock.patch.object(AccessPoint, "__init__", _long_access_point_ids(AccessPoint.__init__)),
        mock.patch.object(
            FlowLogsBackend, "create_flow_logs", _flow_logs_under_a_prefix(FlowLogsBackend.create_flow_logs)
        ),
        mock.patch.object(
            secrets_models.FakeSecret,
            "create_replicas",
            _replicas_by_name(secrets_models.FakeSecret.create_replicas),
        ),
        mock.patch.object(
            RDSBackend,
            "restore_db_instance_to_point_in_time",
            _restore_from_replicated_backups(RDSBackend.restore_db_instance_to_point_in_time),
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


def _restore_from_replicated_backups(restore: Callable[..., Any]) -> Callable[..., Any]:
    """AWS restores an instance from automated backups replicated from another region
    (``SourceDBInstanceAutomatedBackupsArn``, the backups in the restoring region); moto restores only from an
    instance of its own region, and takes the missing identifier for "any instance". The restored instance is made
    from the request, with what the backups would supply (the engine) required in it."""

    @functools.wraps(restore)
    def restore_db_instance(self: RDSBackend, source_db_identifier: str | None, target_db_identifier: str,
                            overrides: dict[str, Any]) -> Any:  # fmt: skip
        backups = overrides.get("source_db_instance_automated_backups_arn")
        if source_db_identifier is not None or not backups:
            return restore(self, source_db_identifier, target_db_identifier, overrides)
        if not overrides.get("engine"):
            raise InvalidParameterValue(f"the replay cannot know the engine of the backups {backups}: send Engine")
        settings = {k: v for k, v in overrides.items() if v is not None and not k.startswith("source_")}
        return self.create_db_instance({**settings, "db_instance_identifier": target_db_identifier,
                                        "storage_encrypted": True})  # fmt: skip

    return restore_db_instance


def _replicas_by_name(create: Callable[..., Any]) -> Callable[..., Any]:
    """A replica is a secret of its region like any other, found by name or partial ARN (what a task in that region
    names, e.g. ``...:secret:airstack/prod/internal/fernet-key``); moto files replicas under their full ARN only."""

    @functools.wraps(create)
    def create_replicas(self: secrets_models.FakeSecret, *args: Any, **kwargs: Any) -> Any:
        replicas = create(self, *args, **kwargs)
        for replica in replicas:
            store = secrets_models.secretsmanager_backends[self.account_id][replica.region].secrets
            if dict.get(store, replica.arn) is replica:
                dict.pop(store, replica.arn)
                dict.__setitem__(store, replica.name, replica)
        return replicas

    return create_replicas
