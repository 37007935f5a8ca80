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
from collections.abc import Mapping, Sequence
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


MAX_IDENTIFIER = 63
"""PostgreSQL truncates longer names, so a longer role would not be the one the URL logs in as."""


def _identifier(name: str) -> str:
    """A role or database name the script creates: plain ASCII letters, digits and underscores only."""
    plain = name.replace("_", "")
    if not name or not plain.isascii() or not plain.isalnum() or not name[0].isalpha() or len(name) > MAX_IDENTIFIER:
        raise ValueError(f"{name!r} is not a plain identifier (ASCII letters, digits, _; at most {MAX_IDENTIFIER})")
    return '"' + name + '"'


def _quoted(name: str) -> str:
    """Any existing role's name, quoted (it may not be one the script would create)."""
    return '"' + name.replace('"', '""') + '"'


def check_distinct(metadata: Database, celery: Database, master_user: str) -> None:
    """Each consumer has its own role and database, and neither is the master: else the isolation would not hold."""
    if metadata.role == celery.role or metadata.database == celery.database:
        raise ValueError(
            f"the metadata database ({metadata.role}@{metadata.database}) and Celery's "
            f"({celery.role}@{celery.database}) must use different roles and different databases"
        )
    for db in (metadata, celery):
        if db.role == master_user:
            raise ValueError(f"{db.database}: its role must not be the master user {master_user!r}")


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


def database_statements(db: Database, exists: bool, grantees: Sequence[str] = ()) -> list[str]:
    """Create (outside a transaction) or take over a database, and keep every other role out of it.

    ``grantees`` are the roles its access list names today (besides PUBLIC): each but the owner loses what it
    was granted, so a grant made by hand does not outlive the next deployment.
    """
    name, role = _identifier(db.database), _identifier(db.role)
    first = f"CREATE DATABASE {name} OWNER {role}" if not exists else f"ALTER DATABASE {name} OWNER TO {role}"
    revokes = [f"REVOKE ALL ON DATABASE {name} FROM {_quoted(g)}" for g in dict.fromkeys(grantees) if g != db.role]
    return [
        first,
        f"REVOKE ALL ON DATABASE {name} FROM PUBLIC",
        *revokes,
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


GRANTEES = """
SELECT DISTINCT r.rolname FROM pg_database d, aclexplode(d.datacl) a JOIN pg_roles r ON r.oid = a.grantee
WHERE d.datname = %s AND r.rolname <> current_user
"""
"""Roles named in a database's access list (PUBLIC is no role; the master keeps what it has)."""


def ensure_roles(environ: Mapping[str, str]) -> None:
    metadata = parse_url(environ[METADATA_URL_ENV])
    celery = parse_url(environ[CELERY_URL_ENV])
    master = master_credentials(environ, metadata.host, metadata.port)
    check_distinct(metadata, celery, str(master["user"]))
    connection = _connect(master, "postgres")
    connection.autocommit = True  # CREATE DATABASE cannot run in a transaction
    with connection.cursor() as cursor:
        for sql, parameters in statements(metadata, [celery]):
            cursor.execute(sql, parameters)
        for db in (metadata, celery):
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db.database,))
            exists = cursor.fetchone() is not None
            grantees: list[str] = []
            if exists:
                cursor.execute(GRANTEES, (db.database,))
                grantees = [row[0] for row in cursor.fetchall()]
            for sql in database_statements(db, exists, grantees):
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
    """Create the admin user if missing, and give it the password in Secrets Manager (which may have changed).

    ``airflow users create`` exits 0 and changes nothing when the user exists, so unless it says it created the
    user just now, the password is set again: the secret is the truth, and a rotated one reaches the user on the
    next deployment. (Each CLI call starts Airflow's web app: the first deployment makes one, later ones two.)
    """
    username, password = environ.get(ADMIN_USERNAME_ENV) or "admin", environ[ADMIN_PASSWORD_ENV]
    created = _airflow(
        "users", "create", "--role", "Admin", "--username", username, "--password", password,
        "--email", f"{username}@airstack.invalid", "--firstname", "Airflow", "--lastname", "Admin",
    )  # fmt: skip
    output = created.stdout + created.stderr
    if created.returncode != 0 and "already exist" not in output:
        raise SystemExit(f"airstack-db-init: creating the admin user failed:\n{_tail(created)}")
    if created.returncode == 0 and f'User "{username}" created' in output:
        return
    reset = _airflow("users", "reset-password", "--username", username, "--password", password)
    if reset.returncode != 0:
        raise SystemExit(f"airstack-db-init: setting the admin password failed:\n{_tail(reset)}")


def _tail(done: subprocess.CompletedProcess[str]) -> str:
    return (done.stdout + done.stderr)[-2000:]


def main(environ: Mapping[str, str] = os.environ) -> int:
    """0 once roles, schema and admin user are in place; non-zero (and the reason on stderr) otherwise."""
    try:
        ensure_roles(environ)
    except (KeyError, ValueError) as error:  # a missing variable or a URL the step cannot use: say which
        print(f"airstack-db-init: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        return 2
    print("airstack-db-init: roles and databases in place", flush=True)
    migrated = subprocess.run(["airflow", "db", "migrate"], check=False)
    if migrated.returncode != 0:
        print(f"airstack-db-init: `airflow db migrate` failed with {migrated.returncode}", file=sys.stderr, flush=True)
        return migrated.returncode
    ensure_admin(environ)
    print("airstack-db-init: metadata migrated, admin user in place", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
