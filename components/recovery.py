"""Disaster recovery decisions as pure functions of the stack config: what a primary copies, and where to, and
what a standby owns, reads or restores. No Pulumi here.

A primary (``dr.role: primary``) copies into its ``replicaRegion``: automated backups (under a key of that
region), the secrets that must stay the same across a failover, the core image, its DAG file system into the
standby's file system, and its logs and data buckets into the standby's buckets. Every destination is named from
config (the standby's stack name, region, file system id) and the account, so nothing the primary creates waits
for the standby's state.

A standby (``dr.role: standby``) owns its network, buckets, queues, DAG file system (the replication's
destination) and services at zero. Activated, it restores its database from the primary's replicated backups and
starts its services with the primary's replicated secrets, which keep the primary's names in this region: the
standby refers to them and never creates secrets of those names.
"""

from __future__ import annotations

from dataclasses import dataclass

from components import naming
from components.config import StackConfig

REPLICATED_SECRETS = ("fernet-key", "jwt-signing-key", "api-secret-key", "admin-password")
"""The secrets a standby must share with its primary: the Fernet key decrypts the connections and variables in
the restored database, the JWT and API keys sign what the restored database remembers, and the admin keeps their
password. The database URLs are not among them: they name the primary's database host."""
DATABASE_SECRETS = ("sql-alchemy-conn", "celery-result-backend")
DEFAULT_ORGANIZATION = "organization"
"""What Pulumi calls the organization of a self-managed backend (and what an offline run without one sees)."""


def is_primary(config: StackConfig) -> bool:
    return config.dr.role == "primary"


def is_standby(config: StackConfig) -> bool:
    return config.dr.role == "standby"


def restores(config: StackConfig) -> bool:
    """An active standby: its database is restored from the primary's replicated backups."""
    return is_standby(config) and config.dr.active


def has_database(config: StackConfig) -> bool:
    """A standby keeps no database until it is activated (pilot light): there is nothing to restore into it."""
    return not is_standby(config) or config.dr.active


def secret_stack(config: StackConfig, key: str) -> str:
    """Whose secret of ``key`` a stack's containers read: a standby reads the primary's replicated ones."""
    primary = config.dr.primary_stack_name
    if is_standby(config) and key in REPLICATED_SECRETS and primary is not None:
        return primary
    return config.stack


def secret_name(config: StackConfig, key: str) -> str:
    """The name (in this stack's region) of the secret ``key`` the stack's containers read."""
    return naming.internal_secret_name(secret_stack(config, key), key)


def owned_secrets(config: StackConfig, keys: tuple[str, ...]) -> tuple[str, ...]:
    """The secrets this stack creates: a standby none of the primary's replicas, and the database URLs only once
    it has a database."""
    if not is_standby(config):
        return keys
    return tuple(k for k in keys if k not in REPLICATED_SECRETS and (k not in DATABASE_SECRETS or has_database(config)))


def replicated_secret_names(config: StackConfig) -> dict[str, str]:
    """Secret key -> name of the secrets a primary replicates to its DR region (the names the standby reads)."""
    if not is_primary(config):
        return {}
    return {key: naming.internal_secret_name(config.stack, key) for key in REPLICATED_SECRETS}


def secrets_stack(config: StackConfig) -> str:
    """Whose connections and variables (``airstack/<stack>/connections|variables``) Airflow reads: a standby the
    primary's, which their owners replicate to the DR region (``replicas``) as the program does for its own."""
    primary = config.dr.primary_stack_name
    return primary if is_standby(config) and primary is not None else config.stack


def stack_reference_name(config: StackConfig, organization: str | None, project: str) -> str:
    """The primary as a stack reference: ``<org>/<project>/<stack>``, this stack's org and project unless named."""
    primary = config.dr.primary_stack
    if primary is None:
        raise ValueError("only a standby refers to a primary stack")
    if primary.count("/") == 2:
        return primary
    return f"{organization or DEFAULT_ORGANIZATION}/{project}/{primary}"


# ------------------------------------------------------------------------------------------------- S3


@dataclass(frozen=True)
class BucketReplication:
    purpose: str
    """``logs`` or ``data`` (``naming.BUCKET_PURPOSES``)."""
    prefix: str
    """Only objects under this prefix are copied (empty: all)."""
    why: str


BUCKET_REPLICATIONS = (
    BucketReplication("logs", "task-logs/", "task logs, so the standby's UI shows the logs of past runs"),
    BucketReplication("data", "", "the teams' data"),
)
"""What a primary copies to its standby's buckets. The load balancer's access logs and the VPC's flow logs stay
in their region: they describe that region's network."""


def standby_bucket_name(config: StackConfig, purpose: str, account: str) -> str | None:
    """The standby's bucket a primary replicates ``purpose`` into (same account, DR region), if it names one."""
    standby, region = config.dr.standby_stack, config.dr.replica_region
    if not is_primary(config) or standby is None or region is None:
        return None
    return naming.bucket_name(standby, purpose, account, region)


def replicates_buckets(config: StackConfig) -> bool:
    return is_primary(config) and config.dr.standby_stack is not None


def replicates_dags(config: StackConfig) -> bool:
    return is_primary(config) and config.dr.standby_file_system_id is not None


def receives_dags(config: StackConfig) -> bool:
    """A standby's DAG file system is a replication destination until it takes over (then AWS makes it
    writable again when the replication is deleted)."""
    return is_standby(config) and not config.dr.active
