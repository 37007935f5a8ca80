"""The migration step (image/airstack_db_init.py): its pure helpers, and its roles and databases on a real server.

The server is the smoke's own PostgreSQL stand-in (airstack.smoke.postgres), one per module, started as a new
RDS instance is: the master user and the database RDS creates owned by it. The script runs as in the image, in
the test Airflow's interpreter (AIRSTACK_AIRFLOW_PYTHON: the image's psycopg2 and Airflow), with the master
login in AIRSTACK_DB_MASTER_URL. Skipped without PostgreSQL's binaries or that interpreter.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from airstack.smoke import isolation, postgres
from airstack.smoke.differences import MASTER_URL_ENV
from airstack.smoke.migration import ADMIN_PASSWORD_ENV, ADMIN_USERNAME_ENV
from airstack.smoke.network import free_port
from airstack.smoke.processes import Supervisor

IMAGE = Path(__file__).resolve().parent.parent / "image"
SCRIPT = IMAGE / "airstack_db_init.py"
AIRFLOW_PYTHON = os.environ.get("AIRSTACK_AIRFLOW_PYTHON")
MASTER = "airstack_admin"
RDS_DB_NAME = "airflow"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("airstack_db_init", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while they are made
    spec.loader.exec_module(module)
    return module


db_init = _load()


# ------------------------------------------------------------------------------------------ pure helpers


def test_a_url_names_its_role_password_database_host_and_port() -> None:
    parsed = db_init.parse_url("postgresql+psycopg2://airflow:p%40ss%2Fw@db.example:5433/airflow?sslmode=require")
    assert parsed == db_init.Database("airflow", "p@ss/w", "airflow", "db.example", 5433)
    celery = db_init.parse_url("db+postgresql://celery:x@db.example/celery")
    assert (celery.role, celery.database, celery.port) == ("celery", "celery", 5432)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://airflow:x@h/airflow", "postgresql URL"),
        ("postgresql://airflow@h/airflow", "role and a password"),
        ("postgresql://airflow:x@h/", "no database"),
    ],
)
def test_a_url_the_step_cannot_use_is_refused_without_echoing_it(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as raised:
        db_init.parse_url(url)
    assert ":x@" not in str(raised.value)


def test_the_master_runs_parameterised_statements_for_each_role() -> None:
    owner = db_init.Database("airflow", "pw'; DROP ROLE x; --", "airflow", "h", 5433)
    celery = db_init.Database("celery", "other", "celery", "h", 5433)
    found = db_init.statements(owner, [celery])
    assert [sql for sql, _ in found] == [
        'DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = %s) THEN CREATE ROLE "airflow" LOGIN; '
        "END IF; END $$",
        'ALTER ROLE "airflow" WITH LOGIN PASSWORD %s',
        'GRANT "airflow" TO CURRENT_USER',
        'DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = %s) THEN CREATE ROLE "celery" LOGIN; '
        "END IF; END $$",
        'ALTER ROLE "celery" WITH LOGIN PASSWORD %s',
        'GRANT "celery" TO CURRENT_USER',
    ]
    assert [params for _, params in found][:2] == [("airflow",), ("pw'; DROP ROLE x; --",)]
    assert all("pw'" not in sql for sql, _ in found), "passwords travel as parameters, never in the SQL"


@pytest.mark.parametrize("name", ['air"flow', "air flow", "1airflow", "", "a" * 64, "airflöw", "air-flow"])
def test_names_that_are_not_plain_identifiers_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="plain identifier"):
        db_init.statements(db_init.Database(name, "pw", "airflow", "h", 5432), [])
    with pytest.raises(ValueError, match="plain identifier"):
        db_init.database_statements(db_init.Database("airflow", "pw", name, "h", 5432), exists=False)


def test_a_database_is_created_for_its_role_or_taken_over_and_closed_to_everyone_else() -> None:
    db = db_init.Database("celery", "pw", "celery", "h", 5432)
    assert db_init.database_statements(db, exists=False) == [
        'CREATE DATABASE "celery" OWNER "celery"',
        'REVOKE ALL ON DATABASE "celery" FROM PUBLIC',
        'GRANT CONNECT, TEMPORARY ON DATABASE "celery" TO "celery"',
    ]
    taken = db_init.database_statements(db, exists=True, grantees=["celery", "intruder", 'we"ird'])
    assert taken == [
        'ALTER DATABASE "celery" OWNER TO "celery"',
        'REVOKE ALL ON DATABASE "celery" FROM PUBLIC',
        'REVOKE ALL ON DATABASE "celery" FROM "intruder"',
        'REVOKE ALL ON DATABASE "celery" FROM "we""ird"',
        'GRANT CONNECT, TEMPORARY ON DATABASE "celery" TO "celery"',
    ]


def test_each_consumer_needs_its_own_role_and_database_and_neither_is_the_master() -> None:
    metadata = db_init.Database("airflow", "a", "airflow", "h", 5432)
    db_init.check_distinct(metadata, db_init.Database("celery", "c", "celery", "h", 5432), MASTER)
    with pytest.raises(ValueError, match="different roles and different databases"):
        db_init.check_distinct(metadata, db_init.Database("airflow", "c", "celery", "h", 5432), MASTER)
    with pytest.raises(ValueError, match="different roles and different databases"):
        db_init.check_distinct(metadata, db_init.Database("celery", "c", "airflow", "h", 5432), MASTER)
    with pytest.raises(ValueError, match="must not be the master user"):
        db_init.check_distinct(metadata, db_init.Database(MASTER, "c", "celery", "h", 5432), MASTER)


def test_bad_input_exits_2_with_the_reason_before_touching_the_database(capsys: pytest.CaptureFixture[str]) -> None:
    environ = {
        db_init.METADATA_URL_ENV: "postgresql://airflow:a@127.0.0.1:1/airflow",
        db_init.CELERY_URL_ENV: "db+postgresql://airflow:c@127.0.0.1:1/celery",
        MASTER_URL_ENV: "postgresql://master:m@127.0.0.1:1/postgres",
    }
    assert db_init.main(environ) == 2  # port 1: had it tried to connect, it would have waited minutes
    assert "different roles" in capsys.readouterr().err
    assert db_init.main({db_init.METADATA_URL_ENV: environ[db_init.METADATA_URL_ENV]}) == 2


def test_the_master_login_comes_from_rds_managed_secret_without_a_master_url() -> None:
    import boto3
    from moto import mock_aws

    with mock_aws():
        rds = boto3.client("rds", region_name="eu-west-1")
        rds.create_db_instance(
            DBInstanceIdentifier="airstack-dev-metastore", Engine="postgres", DBInstanceClass="db.t4g.micro",
            MasterUsername=MASTER, ManageMasterUserPassword=True, AllocatedStorage=20, Port=5433,
        )  # fmt: skip
        arn = rds.describe_db_instances()["DBInstances"][0]["MasterUserSecret"]["SecretArn"]
        stored = json.loads(
            boto3.client("secretsmanager", region_name="eu-west-1").get_secret_value(SecretId=arn)["SecretString"]
        )
        environ = {db_init.INSTANCE_ENV: "airstack-dev-metastore", db_init.REGION_ENV: "eu-west-1"}
        master = db_init.master_credentials(environ, "db.example", 5433)
    assert master == {
        "host": "db.example",
        "port": 5433,
        "user": stored["username"],
        "password": stored["password"],
        "sslmode": "require",
    }
    local = db_init.master_credentials({MASTER_URL_ENV: "postgresql://m%40x:p%2F1@127.0.0.1:6000/postgres"}, "h", 1)
    assert local == {"host": "127.0.0.1", "port": 6000, "user": "m@x", "password": "p/1", "sslmode": "prefer"}


def test_the_smoke_uses_the_variables_the_step_reads() -> None:
    assert (MASTER_URL_ENV, ADMIN_USERNAME_ENV, ADMIN_PASSWORD_ENV) == (
        db_init.MASTER_URL_ENV,
        db_init.ADMIN_USERNAME_ENV,
        db_init.ADMIN_PASSWORD_ENV,
    )


STUB_AIRFLOW = """#!/bin/sh
echo "$*" >> "$AIRFLOW_STUB_CALLS"
case "$1 $2" in
  "users create") echo "$AIRFLOW_STUB_SAYS" ;;
esac
exit 0
"""


@pytest.mark.parametrize(
    ("says", "resets"),
    [
        ('User "admin" created with role "Admin"', False),
        ("admin already exists in the db", True),  # FAB's answer for an existing user, with exit code 0
        ("something a later FAB says", True),  # not known to be new: set the password, to be sure
    ],
)
def test_the_admin_gets_the_password_from_secrets_manager_also_when_it_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, says: str, resets: bool
) -> None:
    stub = tmp_path / "airflow"
    stub.write_text(STUB_AIRFLOW)
    stub.chmod(0o755)
    calls = tmp_path / "calls"
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    monkeypatch.setenv("AIRFLOW_STUB_CALLS", str(calls))
    monkeypatch.setenv("AIRFLOW_STUB_SAYS", says)
    db_init.ensure_admin({ADMIN_USERNAME_ENV: "admin", ADMIN_PASSWORD_ENV: "rotated-secret"})
    made = calls.read_text().splitlines()
    assert made[0].startswith("users create --role Admin --username admin --password rotated-secret")
    assert made[1:] == (["users reset-password --username admin --password rotated-secret"] if resets else [])


# ------------------------------------------------------------------------------------- on a real server


@pytest.fixture(scope="module")
def server() -> Iterator[postgres.Postgres]:
    bindir = postgres.find_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries (initdb, postgres) on this machine")
    if not AIRFLOW_PYTHON:
        pytest.skip("needs AIRSTACK_AIRFLOW_PYTHON (the image's psycopg2 and Airflow)")
    # Under /tmp itself: the server's user (when the tests run as root) must be able to reach its directory.
    run_dir = Path(tempfile.mkdtemp(prefix="airstack-db-init-"))
    supervisor = Supervisor(run_dir / "logs")
    try:
        started = postgres.start(
            supervisor, bindir, run_dir, free_port(), secrets.token_urlsafe(16), Path(sys.executable), master=MASTER
        )
        started.create_database(RDS_DB_NAME)  # as RDS creates the instance's db_name, owned by the master
        yield started
    finally:
        supervisor.stop_all()
        shutil.rmtree(run_dir, ignore_errors=True)


def url(server: postgres.Postgres, role: str, password: str, database: str, prefix: str = "postgresql+psycopg2") -> str:
    return f"{prefix}://{role}:{password}@127.0.0.1:{server.port}/{database}?sslmode=require"


def step_environment(
    server: postgres.Postgres, metadata: tuple[str, str, str], celery: tuple[str, str, str]
) -> dict[str, str]:
    """What the db-migrate container gets: the two consumers' URLs and the master login."""
    return {
        db_init.METADATA_URL_ENV: url(server, *metadata),
        db_init.CELERY_URL_ENV: url(server, *celery, prefix="db+postgresql+psycopg2"),
        MASTER_URL_ENV: server.master_url(),
    }


def ensure_roles(environ: dict[str, str]) -> None:
    """``ensure_roles`` in the image's interpreter, as the db-migrate container runs it."""
    code = (
        f"import os, sys; sys.path.insert(0, {str(IMAGE)!r}); import airstack_db_init as m; m.ensure_roles(os.environ)"
    )
    done = subprocess.run(
        [str(AIRFLOW_PYTHON), "-c", code],
        env={"PATH": os.environ["PATH"], **environ},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def owners(server: postgres.Postgres, *databases: str) -> dict[str, str]:
    names = ", ".join(f"'{d}'" for d in databases)
    rows = server.psql(f"SELECT datname, pg_get_userbyid(datdba) FROM pg_database WHERE datname IN ({names})")
    return dict(line.split("|") for line in rows.splitlines())


@pytest.fixture(scope="module")
def made(server: postgres.Postgres) -> dict[str, tuple[str, str, str]]:
    """The step run once on the fresh server, for the metadata database RDS made and a new one for Celery."""
    logins = {"metadata": ("airflow", "a-" + secrets.token_hex(8), RDS_DB_NAME), "celery": ("celery", "c-x", "celery")}
    ensure_roles(step_environment(server, logins["metadata"], logins["celery"]))
    return logins


def test_each_consumer_gets_its_role_owning_its_database(server: postgres.Postgres, made: dict) -> None:
    assert owners(server, "airflow", "celery") == {"airflow": "airflow", "celery": "celery"}
    for role, password, database in made.values():
        ok, output = server.psql_as(role, password, "CREATE TABLE mine (x int); SELECT current_user", database)
        assert (ok, output) == (True, role)


def test_celery_cannot_connect_to_or_read_the_metadata_database(server: postgres.Postgres, made: dict) -> None:
    airflow_role, airflow_password, metadata = made["metadata"]
    celery_role, celery_password, celery_db = made["celery"]
    assert server.psql_as(airflow_role, airflow_password, "CREATE TABLE connection (password text)", metadata)[0]
    ok, output = server.psql_as(celery_role, celery_password, "SELECT * FROM connection", metadata)
    assert not ok
    assert f'permission denied for database "{metadata}"' in output
    ok, output = server.psql_as(airflow_role, airflow_password, "SELECT 1", celery_db)
    assert not ok
    assert f'permission denied for database "{celery_db}"' in output
    # Nor does any other role get in (PUBLIC's default CONNECT is gone).
    server.psql("CREATE ROLE bystander LOGIN PASSWORD 'bystander'")
    for database in (metadata, celery_db):
        ok, output = server.psql_as("bystander", "bystander", "SELECT 1", database)
        assert not ok
        assert "permission denied" in output


def test_a_second_run_changes_nothing_but_a_changed_password(server: postgres.Postgres) -> None:
    metadata, celery = ("airflow2", "first-a", "airflow2"), ("celery2", "first-c", "celery2")
    ensure_roles(step_environment(server, metadata, celery))
    assert server.psql_as(
        "airflow2", "first-a", "CREATE TABLE dag_run (id int); INSERT INTO dag_run VALUES (7)", "airflow2"
    )[0]
    # A grant made by hand since the last deployment does not survive the next one.
    server.psql('GRANT CONNECT ON DATABASE "airflow2" TO "celery2"')
    assert server.psql_as("celery2", "first-c", "SELECT 1", "airflow2")[0]
    ensure_roles(step_environment(server, metadata, ("celery2", "rotated-c", "celery2")))
    assert owners(server, "airflow2", "celery2") == {"airflow2": "airflow2", "celery2": "celery2"}
    assert server.psql_as("airflow2", "first-a", "SELECT id FROM dag_run", "airflow2") == (True, "7")
    assert server.psql_as("celery2", "rotated-c", "SELECT current_user", "celery2") == (True, "celery2")
    ok, output = server.psql_as("celery2", "first-c", "SELECT 1", "celery2")
    assert not ok
    assert "password authentication failed" in output
    ok, output = server.psql_as("celery2", "rotated-c", "SELECT 1", "airflow2")
    assert not ok
    assert "permission denied" in output


FAILING_MIGRATION = textwrap.dedent(
    """
    CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
    INSERT INTO alembic_version VALUES ('ffffffffffff');
    """
)


def test_the_step_exits_non_zero_when_the_migration_fails(server: postgres.Postgres, tmp_path: Path) -> None:
    """A metadata database at a revision this Airflow does not know (a newer image rolled back) fails the step."""
    metadata, celery = ("airflow3", "a3", "airflow3"), ("celery3", "c3", "celery3")
    environ = step_environment(server, metadata, celery)
    ensure_roles(environ)
    assert server.psql_as("airflow3", "a3", FAILING_MIGRATION, "airflow3")[0]
    done = subprocess.run(
        [str(AIRFLOW_PYTHON), str(SCRIPT)],
        env={
            "PATH": f"{Path(str(AIRFLOW_PYTHON)).parent}:{os.environ['PATH']}",
            "AIRFLOW_HOME": str(tmp_path),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            ADMIN_PASSWORD_ENV: "never-used",
            **environ,
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode != 0, done.stdout[-2000:]
    assert "roles and databases in place" in done.stdout
    assert "`airflow db migrate` failed" in done.stderr
    assert "admin user in place" not in done.stdout


def test_the_smokes_check_passes_for_celerys_login_and_fails_for_one_that_reads_the_metadata(
    server: postgres.Postgres, made: dict
) -> None:
    """The check `airstack smoke` makes after the migration, on the same kind of server: it can fail."""
    role, password, database = made["metadata"]
    assert server.psql_as(role, password, "CREATE TABLE IF NOT EXISTS connection (password text)", database)[0]
    metadata = isolation.Login("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", role, password, database)
    celery_url = url(server, *made["celery"], prefix="db+postgresql+psycopg2")
    [held] = isolation.worker_database(server, metadata, {"w": {"AIRFLOW__CELERY__RESULT_BACKEND": celery_url}})
    assert held.ok, held.detail
    assert 'permission denied for database "airflow"' in held.detail
    [leaky] = isolation.worker_database(
        server, metadata, {"w": {"AIRFLOW__CELERY__RESULT_BACKEND": url(server, *made["metadata"])}}
    )
    assert not leaky.ok
    assert "READ 0 rows" in leaky.detail
