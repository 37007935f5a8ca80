"""Secrets tier: Airflow's keys and credentials, generated and kept in Secrets Manager.

Containers get them as ECS ``secrets`` (``valueFrom`` the secret's ARN without its random suffix, which is known
before the secret exists); no value appears in config or environment.

A DR primary replicates the secrets a standby must share (``recovery.REPLICATED_SECRETS``) to its DR region,
where they keep their names. A standby creates none of those: its containers read the replicas by those names
(``names``), and it creates its own database URLs once it has a database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components import naming
from components.airflow_settings import SECRET_NAMES
from components.common import child, with_tags


@dataclass(frozen=True)
class SecretsArgs:
    stack: str
    db_address: pulumi.Input[str] | None
    """None while the stack has no database (a standby before it takes over): no database URLs then."""
    db_port: pulumi.Input[int] | None
    protect: bool
    recovery_window_days: int
    """How long a deleted secret can be restored (0: deleted at once, for dev)."""
    tags: Mapping[str, str]
    names: Mapping[str, str] = field(default_factory=dict)
    """Secret key -> the name the stack's containers read it by (``recovery.secret_name``); default its own."""
    owned: tuple[str, ...] = SECRET_NAMES
    """The secrets this stack creates (``recovery.owned_secrets``)."""
    replica_region: str | None = None
    """A primary's DR region, where ``replicated`` keys keep a read-only copy under the same name."""
    replicated: tuple[str, ...] = ()


METADATA_ROLE = METADATA_DATABASE = "airflow"
CELERY_ROLE = CELERY_DATABASE = "celery"


def database_url(role: str, password: str, address: str, port: int, database: str) -> str:
    """A PostgreSQL URL with psycopg2 (the official image's driver) and TLS required."""
    return f"postgresql+psycopg2://{role}:{password}@{address}:{int(port)}/{database}?sslmode=require"


def sql_alchemy_conn(address: str, port: int, password: str) -> str:
    """Airflow's metadata database, as its own role (never RDS's master)."""
    return database_url(METADATA_ROLE, password, address, port, METADATA_DATABASE)


def celery_result_backend(address: str, port: int, password: str) -> str:
    """Celery's result backend: its own role and database, the only database the workers reach."""
    return f"db+{database_url(CELERY_ROLE, password, address, port, CELERY_DATABASE)}"


DATABASE_URLS = ("sql-alchemy-conn", "celery-result-backend")


def _urlsafe(value: str) -> str:
    return value.replace("+", "-").replace("/", "_")


class Secrets(pulumi.ComponentResource):
    arns: dict[str, pulumi.Output[str]]
    """Secret key (one of ``SECRET_NAMES``) -> ARN."""
    names: dict[str, str]
    """Secret key -> the secret's name in Secrets Manager."""
    prefix: str

    def __init__(self, name: str, args: SecretsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airstack:secrets:Secrets", name, None, opts)
        self.prefix = naming.secrets_prefix(args.stack)
        owned = [key for key in SECRET_NAMES if key in args.owned]
        if args.db_address is None:
            owned = [key for key in owned if key not in DATABASE_URLS]
        values = self._values(name, args, owned)
        self.arns = {}
        self.names = {key: args.names.get(key) or naming.internal_secret_name(args.stack, key) for key in SECRET_NAMES}
        for secret_name in owned:
            replicas = (
                [aws.secretsmanager.SecretReplicaArgs(region=args.replica_region)]
                if args.replica_region and secret_name in args.replicated
                else None
            )
            secret = aws.secretsmanager.Secret(
                f"{name}-{secret_name}",
                name=naming.internal_secret_name(args.stack, secret_name),
                description=f"airstack {args.stack}: Airflow {secret_name}",
                recovery_window_in_days=args.recovery_window_days,
                replicas=replicas,
                tags=with_tags(args.tags, **{"airstack:secret": secret_name}),
                opts=child(self, protect=args.protect),
            )
            aws.secretsmanager.SecretVersion(
                f"{name}-{secret_name}-value",
                secret_id=secret.id,
                secret_string=pulumi.Output.secret(values[secret_name]),
                opts=child(self),
            )
            self.arns[secret_name] = secret.arn
        self.register_outputs({"prefix": self.prefix})

    def _values(self, name: str, args: SecretsArgs, owned: list[str]) -> dict[str, pulumi.Output[str]]:
        """The generated value of each secret this stack creates (a generator only where its secret is)."""
        values: dict[str, pulumi.Output[str]] = {}
        if "fernet-key" in owned:
            fernet = random.RandomBytes(f"{name}-fernet-key", length=32, opts=child(self, protect=args.protect))
            values["fernet-key"] = fernet.base64.apply(_urlsafe)
        for key, logical in (("jwt-signing-key", "jwt-secret"), ("api-secret-key", "api-secret-key")):
            if key in owned:
                values[key] = random.RandomPassword(f"{name}-{logical}", length=64, special=False,
                                                    opts=child(self)).result  # fmt: skip
        if "admin-password" in owned:
            values["admin-password"] = random.RandomPassword(
                f"{name}-admin-password", length=24, special=True, override_special="-_.", opts=child(self)
            ).result
        if args.db_address is not None and args.db_port is not None:
            # Letters and digits only: they go into URLs unquoted.
            metadata = random.RandomPassword(f"{name}-metadata-password", length=40, special=False, opts=child(self))
            celery = random.RandomPassword(f"{name}-celery-password", length=40, special=False, opts=child(self))
            db = pulumi.Output.all(args.db_address, args.db_port, metadata.result, celery.result)
            values["sql-alchemy-conn"] = db.apply(lambda v: sql_alchemy_conn(v[0], v[1], v[2]))
            values["celery-result-backend"] = db.apply(lambda v: celery_result_backend(v[0], v[1], v[3]))
        return values
