"""The official Airflow image's entrypoint, step by step, for a smoke container: runs in the Airflow venv.

Kept free of airstack imports (the Airflow venv has none of airstack's packages). Run as
``<airflow python> entrypoint.py <container command...>``; like the image's ``/entrypoint`` it checks the
database with ``airflow db check`` (``CONNECTION_CHECK_MAX_COUNT`` tries, none when it is 0), migrates when
``_AIRFLOW_DB_MIGRATE`` (or the deprecated ``_AIRFLOW_DB_UPGRADE``) is set, creates the admin user when
``_AIRFLOW_WWW_USER_CREATE`` is set, then becomes ``bash ...`` or ``python ...`` when the command starts with
either (after the database check, as the image does), else waits for the Celery broker before ``scheduler`` and
``celery`` commands and becomes ``airflow <command>``.

Where it differs (also listed in airstack.smoke.differences): the executor and broker URL are read from the
environment when set there (the image asks ``airflow config get-value``: the same value when Airflow is
configured by the environment, as airstack does); no ``LD_PRELOAD`` of libstdc++ (a workaround for an image
library); ``_PIP_ADDITIONAL_REQUIREMENTS`` is refused (a smoke tests the pinned image, not additions to it).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit

DEFAULT_PORTS = {"postgres": 5432, "mysql": 3306, "mssql": 1433, "redis": 6379, "amqp": 5672}


def _checks() -> tuple[int, float]:
    """(tries, pause) of the connection checks: the image's ``${VAR:=default}`` also replaces an empty value."""
    return int(os.environ.get("CONNECTION_CHECK_MAX_COUNT") or "20"), float(
        os.environ.get("CONNECTION_CHECK_SLEEP_TIME") or "3"
    )


def _retry(description: str, attempt: object) -> None:
    count, pause = _checks()
    last = ""
    for _ in range(count):
        ok, last = attempt()  # type: ignore[operator]
        if ok:
            return
        print(".", end="", flush=True)
        time.sleep(pause)
    print(f"\nERROR! Maximum number of retries ({count}) reached.\n\nLast check result:\n$ {description}\n{last}")
    sys.exit(1)


def wait_for_airflow_db() -> None:
    def attempt() -> tuple[bool, str]:
        done = subprocess.run(["airflow", "db", "check"], capture_output=True, text=True, check=False)
        return done.returncode == 0, done.stdout + done.stderr

    _retry("airflow db check", attempt)


def broker_endpoint(url: str) -> tuple[str, str, int | None]:
    """(backend, host, port) as the image's entrypoint detects them: a known backend gets its default port."""
    parts = urlsplit(url)
    backend = parts.scheme
    port = parts.port
    if port is None:
        port = next((p for prefix, p in DEFAULT_PORTS.items() if backend.startswith(prefix)), None)
    return backend, parts.hostname or "localhost", port


def wait_for_connection(url: str) -> None:
    backend, host, port = broker_endpoint(url)
    print(f"BACKEND={backend}\nDB_HOST={host}\nDB_PORT={port or ''}")
    if port is None:
        print("The connection details to the broker could not be determined. Connectivity checks were skipped.")
        return

    def attempt() -> tuple[bool, str]:
        try:
            with socket.create_connection((socket.gethostbyname(host), port), timeout=5):
                return True, ""
        except OSError as error:
            return False, str(error)

    _retry(f"connect {host}:{port}", attempt)


def _config_value(variable: str, section: str, key: str) -> str:
    if os.environ.get(variable):
        return os.environ[variable]
    done = subprocess.run(["airflow", "config", "get-value", section, key], capture_output=True, text=True, check=False)
    return done.stdout.strip()


def create_www_user() -> None:
    password = ""
    if os.environ.get("_AIRFLOW_WWW_USER_PASSWORD_CMD"):
        command = os.environ.pop("_AIRFLOW_WWW_USER_PASSWORD_CMD")
        password = subprocess.run(command, shell=True, capture_output=True, text=True, check=False).stdout.strip()
    elif os.environ.get("_AIRFLOW_WWW_USER_PASSWORD"):
        password = os.environ.pop("_AIRFLOW_WWW_USER_PASSWORD")
    if not password:
        variables = "_AIRFLOW_WWW_USER_PASSWORD or _AIRFLOW_WWW_USER_PASSWORD_CMD"
        print(f"\nERROR! Airflow Admin password not set via {variables} variables!\n")
        sys.exit(1)
    env = os.environ
    # The image ignores a failure here (`|| true`): an existing user is not an error.
    subprocess.run(
        [
            "airflow", "users", "create",
            "--username", env.setdefault("_AIRFLOW_WWW_USER_USERNAME", "admin"),
            "--firstname", env.setdefault("_AIRFLOW_WWW_USER_FIRSTNAME", "Airflow"),
            "--lastname", env.setdefault("_AIRFLOW_WWW_USER_LASTNAME", "Admin"),
            "--email", env.setdefault("_AIRFLOW_WWW_USER_EMAIL", "airflowadmin@example.com"),
            "--role", env.setdefault("_AIRFLOW_WWW_USER_ROLE", "Admin"),
            "--password", password,
        ],
        check=False,
    )  # fmt: skip


def _bash() -> str:
    return "/bin/bash" if os.path.exists("/bin/bash") else "bash"


def main(argv: list[str]) -> None:
    os.environ.pop("PIP_USER", None)
    os.umask(0o002)
    checks, _ = _checks()
    if checks > 0:
        wait_for_airflow_db()
    if os.environ.get("_AIRFLOW_DB_UPGRADE") or os.environ.get("_AIRFLOW_DB_MIGRATE"):
        subprocess.run(["airflow", "db", "migrate"], check=False)  # the image ignores its failure too
    if os.environ.get("_AIRFLOW_DB_UPGRADE"):
        print(
            "WARNING: Environment variable '_AIRFLOW_DB_UPGRADE' is deprecated please use '_AIRFLOW_DB_MIGRATE' instead"
        )
    if os.environ.get("_AIRFLOW_WWW_USER_CREATE"):
        create_www_user()
    if os.environ.get("_PIP_ADDITIONAL_REQUIREMENTS"):
        print("ERROR! The smoke runs the pinned image: _PIP_ADDITIONAL_REQUIREMENTS is not replicated")
        sys.exit(1)
    command = list(argv)
    sys.stdout.flush()
    # The image runs `exec /bin/bash "$@"` and `exec python "$@"`: the python first on PATH (the image's).
    if command[:1] == ["bash"]:
        os.execvp(_bash(), ["bash", *command[1:]])
    if command[:1] == ["python"]:
        os.execvp("python", ["python", *command[1:]])
    if command[:1] == ["airflow"]:
        command = command[1:]
    if command[:1] in (["scheduler"], ["celery"]) and checks > 0:
        executor = _config_value("AIRFLOW__CORE__EXECUTOR", "core", "executor")
        if executor == "CeleryExecutor":
            wait_for_connection(_config_value("AIRFLOW__CELERY__BROKER_URL", "celery", "broker_url"))
    sys.stdout.flush()
    os.execvp("airflow", ["airflow", *command])


if __name__ == "__main__":
    main(sys.argv[1:])
