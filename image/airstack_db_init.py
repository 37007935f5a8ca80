"""The migration step of a stack (the scheduler task's ``db-migrate`` container): database roles, then Airflow.

RDS manages and rotates the master password, so nothing Airflow runs with may use it. This step, which runs
before any other Airflow container starts, uses it to give each consumer its own role:

- ``airflow`` owns the metadata database (``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN`` holds its URL);
- ``celery`` owns a separate ``celery`` database for Celery's result backend: the only database the workers
  reach, so a team's DAG cannot read or change other teams' runs, connections or variables;

then migrates the metadata database (``airflow db migrate``) and creates or updates the admin user. Every step
is idempotent: a restarted task, a second scheduler or a password rotated by Pulumi converge on the same state.

The master credentials come from RDS itself (``DescribeDBInstances`` -> the managed secret), never from the
container definition; ``AIRSTACK_DB_MASTER_URL`` replaces that lookup where there is no RDS (a local run).
Runs in the image's Python: stdlib, psycopg2 and boto3 only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

ADMIN_USERNAME_ENV = "AIRSTACK_ADMIN_USERNAME"
ADMIN_PASSWORD_ENV = "AIRSTACK_ADMIN_PASSWORD"
METADATA_URL_ENV = "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"
CELERY_URL_ENV = "AIRSTACK_CELERY_DATABASE_URL"
INSTANCE_ENV = "AIRSTACK_DB_INSTANCE"
REGION_ENV = "AIRSTACK_AWS_REGION"
MASTER_URL_ENV = "AIRSTACK_DB_MASTER_URL"
CONNECT_ATTEMPTS = 60


@dataclass(frozen=True)
class Database:
    """One consumer: a role that owns one database."""

    role: str
    password: str
    database: str
    host: str
    port: int


def parse_url(url: str) -> Database:
    """``[db+]postgresql[+driver]://role:password@host:port/database?...`` as a ``Database``."""
    parts = urlsplit(url.removeprefix("db+"))
    if not parts.scheme.startswith("postgresql") or not parts.username or parts.password is None:
        raise ValueError("expected a postgresql URL with a role and a password")
    database = parts.path.lstrip("/")
    if not database:
        raise ValueError("the URL names no database")
    return Database(
        unquote(parts.username), unquote(parts.password), database, parts.hostname or "", parts.port or 5432
    )


def _identifier(name: str) -> str:
    if not name.replace("_", "").isalnum() or not name[0].isalpha():
        raise ValueError(f"{name!r} is not a plain identifier")
    return '"' + name + '"'


def statements(owner: Database, others: list[Database]) -> list[tuple[str, tuple[Any, ...]]]:
    """What the master runs in the maintenance database (parameters separate, identifiers checked)."""
    found: list[tuple[str, tuple[Any, ...]]] = []
    for db in [owner, *others]:
        role = _identifier(db.role)
        found.append(
            (
                "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = %s) THEN "
                f"CREATE ROLE {role} LOGIN; END IF; END $$",
                (db.role,),
            )
        )
        found.append((f"ALTER ROLE {role} WITH LOGIN PASSWORD %s", (db.password,)))
        found.append((f"GRANT {role} TO CURRENT_USER", ()))  # RDS: the master may change only roles it is in
    return found


def database_statements(db: Database, exists: bool) -> list[str]:
    """Create (outside a transaction) or take over a database, and keep every other role out of it."""
    name, role = _identifier(db.database), _identifier(db.role)
    first = f"CREATE DATABASE {name} OWNER {role}" if not exists else f"ALTER DATABASE {name} OWNER TO {role}"
    return [
        first,
        f"REVOKE ALL ON DATABASE {name} FROM PUBLIC",
        f"GRANT CONNECT, TEMPORARY ON DATABASE {name} TO {role}",
    ]


def _connect(url: str | Mapping[str, Any], database: str) -> Any:
    import psycopg2  # the image's driver

    last: Exception | None = None
    for _ in range(CONNECT_ATTEMPTS):
        try:
            if isinstance(url, str):
                parts = urlsplit(url)
                return psycopg2.connect(
                    host=parts.hostname, port=parts.port or 5432, user=unquote(parts.username or ""),
                    password=unquote(parts.password or ""), dbname=database, sslmode=_sslmode(url), connect_timeout=10,
                )  # fmt: skip
            return psycopg2.connect(dbname=database, connect_timeout=10, **url)
        except psycopg2.OperationalError as error:  # the instance may still be starting
            last = error
            time.sleep(5)
    raise SystemExit(f"airstack-db-init: cannot reach the database: {last}")


def _sslmode(url: str) -> str:
    for pair in urlsplit(url).query.split("&"):
        key, _, value = pair.partition("=")
        if key == "sslmode" and value:
            return value
    return "prefer"


def master_credentials(environ: Mapping[str, str], host: str, port: int) -> Mapping[str, Any]:
    """The master login: from RDS's managed secret, or ``AIRSTACK_DB_MASTER_URL`` where there is no RDS."""
    if environ.get(MASTER_URL_ENV):
        parts = urlsplit(environ[MASTER_URL_ENV])
        return {"host": parts.hostname, "port": parts.port or 5432, "user": unquote(parts.username or ""),
                "password": unquote(parts.password or ""), "sslmode": _sslmode(environ[MASTER_URL_ENV])}  # fmt: skip
    import boto3

    region = environ[REGION_ENV]
    instance = boto3.client("rds", region_name=region).describe_db_instances(
        DBInstanceIdentifier=environ[INSTANCE_ENV]
    )["DBInstances"][0]
    secret_arn = instance["MasterUserSecret"]["SecretArn"]
    secret = json.loads(
        boto3.client("secretsmanager", region_name=region).get_secret_value(SecretId=secret_arn)["SecretString"]
    )
    return {
        "host": host,
        "port": port,
        "user": secret["username"],
        "password": secret["password"],
        "sslmode": "require",
    }


def ensure_roles(environ: Mapping[str, str]) -> None:
    metadata = parse_url(environ[METADATA_URL_ENV])
    celery = parse_url(environ[CELERY_URL_ENV])
    master = master_credentials(environ, metadata.host, metadata.port)
    connection = _connect(master, "postgres")
    connection.autocommit = True  # CREATE DATABASE cannot run in a transaction
    with connection.cursor() as cursor:
        for sql, parameters in statements(metadata, [celery]):
            cursor.execute(sql, parameters)
        for db in (metadata, celery):
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db.database,))
            for sql in database_statements(db, exists=cursor.fetchone() is not None):
                cursor.execute(sql)
    connection.close()
    for db in (metadata, celery):
        # Older servers (before PostgreSQL 15) give the public schema to the superuser, not the database owner.
        inside = _connect(master, db.database)
        inside.autocommit = True
        with inside.cursor() as cursor:
            cursor.execute(f"GRANT ALL ON SCHEMA public TO {_identifier(db.role)}")
        inside.close()


def _airflow(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["airflow", *arguments], capture_output=True, text=True, check=False)


def ensure_admin(environ: Mapping[str, str]) -> None:
    username, password = environ.get(ADMIN_USERNAME_ENV, "admin"), environ[ADMIN_PASSWORD_ENV]
    created = _airflow(
        "users", "create", "--role", "Admin", "--username", username, "--password", password,
        "--email", f"{username}@airstack.invalid", "--firstname", "Airflow", "--lastname", "Admin",
    )  # fmt: skip
    if created.returncode != 0 and "already exist" not in created.stdout + created.stderr:
        raise SystemExit(f"airstack-db-init: creating the admin user failed:\n{created.stderr[-2000:]}")
    if created.returncode != 0:  # the password in Secrets Manager is the truth: keep the user in step with it
        reset = _airflow("users", "reset-password", "--username", username, "--password", password)
        if reset.returncode != 0:
            raise SystemExit(f"airstack-db-init: updating the admin password failed:\n{reset.stderr[-2000:]}")


def main(environ: Mapping[str, str] = os.environ) -> int:
    ensure_roles(environ)
    print("airstack-db-init: roles and databases in place", flush=True)
    migrated = subprocess.run(["airflow", "db", "migrate"], check=False)
    if migrated.returncode != 0:
        return migrated.returncode
    ensure_admin(environ)
    print("airstack-db-init: metadata migrated, admin user in place", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
