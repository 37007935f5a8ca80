"""An activated DR standby's view of its primary: a ``StackReference`` to the primary stack's outputs.

A standby in pilot light needs nothing of its primary: every name it refers to is derived (the replicated secrets
keep the primary's names; the primary replicates into the standby's own buckets and file system). Activated, it
restores its database from the primary's automated backups replicated to this region, whose ARN only the primary
knows (``metastoreBackupReplicaArn``), and it checks, before anything starts, that the primary really copies to
this region the secrets its containers will read. A real ``pulumi up`` reads the reference from the Pulumi backend,
not from the primary's region, so it works while that region is down; offline, ``airstack plan`` answers it from a
lookups file (``--lookups``, see ``lookups/dr.yaml``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from components import recovery
from components.config import StackConfig

BACKUPS_OUTPUT = "metastoreBackupReplicaArn"
REGION_OUTPUT = "replicaRegion"
SECRETS_OUTPUT = "replicatedSecrets"


class TakeoverError(Exception):
    """The primary's outputs say it does not copy to this standby what the standby needs to take over."""


def check_primary(config: StackConfig, primary: str, region: Any, secrets: Any) -> None:
    """Raise ``TakeoverError`` unless the primary replicates to this stack's region every secret it reads."""
    if region != config.aws_region:
        raise TakeoverError(
            f"{primary} replicates to {region or 'no region'} (its output {REGION_OUTPUT}), not to this standby's "
            f"region {config.aws_region}: set the primary's dr.replicaRegion and deploy it first"
        )
    exported = secrets if isinstance(secrets, Mapping) else {}
    wanted = {key: recovery.secret_name(config, key) for key in recovery.REPLICATED_SECRETS}
    wrong = sorted(key for key, name in wanted.items() if exported.get(key) != name)
    if wrong:
        raise TakeoverError(
            f"{primary} does not replicate the secrets {', '.join(wrong)} as {', '.join(wanted[k] for k in wrong)} "
            f"(its output {SECRETS_OUTPUT}: {dict(exported)}); this standby's containers read them by those names"
        )


class Standby(pulumi.ComponentResource):
    restore_from: pulumi.Output[str]
    """The replicated automated backups the database is restored from, once the primary checked out."""
    primary: str

    def __init__(self, name: str, config: StackConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airstack:dr:Standby", name, None, opts)
        self.primary = recovery.stack_reference_name(config, pulumi.get_organization(), pulumi.get_project())
        reference = pulumi.StackReference(
            f"{name}-primary", stack_name=self.primary, opts=pulumi.ResourceOptions(parent=self)
        )
        source: pulumi.Input[str] = config.dr.backup_replica_arn or reference.require_output(BACKUPS_OUTPUT)
        primary = self.primary

        def checked(values: list[Any]) -> str:
            arn, region, secrets = values
            check_primary(config, primary, region, secrets)
            return str(arn)

        # The database waits for the check: a standby whose primary does not copy its secrets here never restores.
        self.restore_from = pulumi.Output.all(
            source, reference.require_output(REGION_OUTPUT), reference.require_output(SECRETS_OUTPUT)
        ).apply(checked)
        self.register_outputs({"primary": self.primary, "restoreFrom": self.restore_from})
