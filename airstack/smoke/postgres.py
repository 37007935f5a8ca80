"""A throw-away PostgreSQL from the system's packages, in the run directory, on 127.0.0.1 with TLS.

It stands in for a new RDS instance: it holds what RDS creates, the master user (named as the stack names it)
and the instance's ``db_name`` owned by it, beside the maintenance database ``postgres``, nothing else. Like
RDS's master the master here is no superuser: it may create roles and databases (CREATEROLE, CREATEDB), so a
step that needs more than RDS grants fails here as it would there. The server's own superuser only sets it up
and looks on. Roles and databases for Airflow and Celery are the migration step's to make.

The server runs as an unprivileged user: the invoking user, or when that is root (PostgreSQL refuses to run as
root) the ``postgres`` system user the package creates, else ``nobody``. Its certificate is self-signed and
made for this run, so URLs keep ``sslmode=require`` as the stack renders them for RDS.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from airstack.smoke.certificates import make_certificate
from airstack.smoke.processes import Process, Supervisor

MAINTENANCE_DATABASE = "postgres"
SUPERUSER = "airstack_smoke"
"""The server's bootstrap superuser: the smoke's own, never handed to a container."""
DEFAULT_MASTER = "postgres"


class PostgresError(Exception):
    pass


def find_bindir() -> Path | None:
    """The directory with initdb and postgres: on PATH, or Debian's and RHEL's versioned locations."""
    on_path = shutil.which("initdb")
    candidates = [Path(os.path.realpath(on_path)).parent] if on_path else []

    def version(path: str) -> tuple[int, ...]:
        digits = "".join(c if c.isdigit() else " " for c in path).split()
        return tuple(int(d) for d in digits)

    for pattern in ("/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin"):
        candidates += [Path(p) for p in sorted(glob.glob(pattern), key=version, reverse=True)]
    return next((c for c in candidates if (c / "initdb").exists() and (c / "postgres").exists()), None)


def ensure_installed(say: object) -> Path:
    """The server's binaries; installed with apt-get when missing and allowed (root), else a clear error."""
    found = find_bindir()
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise PostgresError(
            "the smoke needs a PostgreSQL server (initdb, postgres): install your system's `postgresql` package "
            "(e.g. `sudo apt-get install -y postgresql`) and run it again"
        )
    say("installing PostgreSQL with apt-get (not found on this machine)")  # type: ignore[operator]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "postgresql"]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise PostgresError(f"`{' '.join(command)}` failed:\n{(done.stdout + done.stderr)[-2000:]}")
    found = find_bindir()
    if not found:
        raise PostgresError("apt-get installed postgresql, but initdb and postgres are still not found")
    return found


def server_version(bindir: Path) -> str:
    done = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"\(PostgreSQL\) (\S+)", done.stdout)
    return match.group(1) if match else done.stdout.strip() or "?"


def server_user() -> str | None:
    """Who runs the server: None for the invoking user; a system user when that is root."""
    if os.geteuid() != 0:
        return None
    for candidate in ("postgres", "nobody"):
        try:
            pwd.getpwnam(candidate)
            return candidate
        except KeyError:
            continue
    raise PostgresError("running as root, and neither a `postgres` nor a `nobody` user exists to run PostgreSQL")


@dataclass
class Postgres:
    bindir: Path
    directory: Path
    port: int
    password: str
    """The superuser's."""
    process: Process
    version: str
    master: str
    master_password: str
    superuser: str = SUPERUSER

    def psql_as(self, user: str, password: str, sql: str, database: str) -> tuple[bool, str]:
        """(whether it worked, its output or error) of ``sql`` run as ``user`` over TCP with TLS, as a client would."""
        done = subprocess.run(
            [str(self.bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-c", sql],
            env={
                "PATH": os.environ.get("PATH", ""),
                "PGHOST": "127.0.0.1",
                "PGPORT": str(self.port),
                "PGUSER": user,
                "PGPASSWORD": password,
                "PGDATABASE": database,
                "PGSSLMODE": "require",
                "PGCONNECT_TIMEOUT": "10",
            },
            capture_output=True,
            text=True,
            check=False,
        )
        return done.returncode == 0, (done.stdout if done.returncode == 0 else done.stderr).strip()

    def psql(self, sql: str, database: str = MAINTENANCE_DATABASE) -> str:
        """``sql`` as the superuser; PostgresError when it fails."""
        ok, output = self.psql_as(self.superuser, self.password, sql, database)
        if not ok:
            raise PostgresError(f"psql failed: {output}")
        return output

    def master_url(self, database: str = MAINTENANCE_DATABASE) -> str:
        """The master's login as a URL, the way the migration step takes a master login without RDS."""
        login = f"{quote(self.master, safe='')}:{quote(self.master_password, safe='')}"
        return f"postgresql://{login}@127.0.0.1:{self.port}/{quote(database, safe='')}?sslmode=require"

    def create_database(self, name: str) -> None:
        """A database owned by the master, as RDS creates an instance's ``db_name``."""
        self.psql(f"CREATE DATABASE {_quoted(name)} OWNER {_quoted(self.master)}")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def start(
    supervisor: Supervisor,
    bindir: Path,
    run_dir: Path,
    port: int,
    password: str,
    airflow_python: Path,
    master: str = DEFAULT_MASTER,
) -> Postgres:
    """initdb, a self-signed certificate, and the server on 127.0.0.1:``port``; returns once it accepts.

    ``password`` is the superuser's; ``master`` gets a generated password and RDS's master privileges. The
    only database is the maintenance database. ``airflow_python`` is any Python with ``cryptography`` (it makes
    the server's certificate).
    """
    if master == SUPERUSER:
        raise PostgresError(f"the master user may not be named {SUPERUSER!r}: the smoke's superuser has that name")
    user = server_user()
    directory = run_dir / "postgres"
    data = directory / "data"
    directory.mkdir(parents=True)
    (directory / "pwfile").write_text(password + "\n")
    if user:
        # The run directory is the invoking user's; the server's user needs to reach its own directory only.
        _open_path_to(directory, run_dir)
        closed = [str(p) for p in run_dir.parents if not p.stat().st_mode & 0o001]
        if closed:
            raise PostgresError(
                f"PostgreSQL runs as {user}, which cannot reach {run_dir} through {closed[0]}: use a run directory "
                "under one that every user may traverse (e.g. TMPDIR=/tmp)"
            )
        shutil.chown(directory, user)
        shutil.chown(directory / "pwfile", user)
    _run_as(
        user,
        [str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=scram-sha-256",
         f"--pwfile={directory / 'pwfile'}", "-E", "UTF8", "--no-sync", "--no-instructions"],
    )  # fmt: skip
    (directory / "pwfile").unlink()
    cert, key = data / "server.crt", data / "server.key"
    failure = make_certificate(airflow_python, cert, key, "localhost")
    if failure is not None:
        raise PostgresError(f"could not make the server's certificate: {failure}")
    if user:
        for path in (cert, key):
            shutil.chown(path, user)
    version = server_version(bindir)
    settings = {
        "listen_addresses": "127.0.0.1",
        "port": str(port),
        "unix_socket_directories": str(directory),
        "ssl": "on",
        "ssl_cert_file": str(cert),
        "ssl_key_file": str(key),
        # A throw-away server: durability is not under test, speed is welcome.
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "max_connections": "200",
    }
    argv = [str(bindir / "postgres"), "-D", str(data)]
    for name, value in settings.items():
        argv += ["-c", f"{name}={value}"]
    process = supervisor.start(
        "postgres",
        argv,
        {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8"},
        cwd=data,
        user=user,
        signal_group=False,
        stop_signal=signal.SIGINT,  # PostgreSQL's "fast" shutdown
        stop_timeout=20,
    )
    server = Postgres(bindir, directory, port, password, process, version, master, secrets.token_urlsafe(24))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.returncode is not None:
            raise PostgresError(f"PostgreSQL exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                server.psql("SELECT 1")
                break
        except (OSError, PostgresError):
            time.sleep(0.2)
    else:
        raise PostgresError("PostgreSQL did not accept connections within 60 s")
    # RDS's master: may log in, create roles and databases; not a superuser (it is in rds_superuser, whose other
    # grants, such as reading statistics or signalling backends, the migration step does not use).
    server.psql(f"CREATE ROLE {_quoted(master)} LOGIN CREATEROLE CREATEDB PASSWORD {_literal(server.master_password)}")
    return server


def _open_path_to(directory: Path, run_dir: Path) -> None:
    """Let other users traverse (not list) the run directory's folders down to ``directory``."""
    for parent in [directory.parent, *directory.parent.parents]:
        if not parent.is_relative_to(run_dir):
            break
        parent.chmod(parent.stat().st_mode | 0o111)


def _run_as(user: str | None, argv: list[str]) -> str:
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        check=False,
        user=user,
        group=pwd.getpwnam(user).pw_gid if user else None,
        extra_groups=[] if user else None,
        cwd="/",
        env={"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8"},
    )
    if done.returncode != 0:
        raise PostgresError(f"`{' '.join(argv[:2])}` failed: {(done.stdout + done.stderr)[-2000:]}")
    return done.stdout
