"""What a team's worker can reach, tried with what it holds: its database login, and no other role's secrets.

A team's DAG code runs on its team's worker with the worker's environment, so whatever the worker holds, every
team's DAG holds. The checks here try that from the worker's side: its database login (Celery's result backend)
connects to its own database and is refused by the metadata database; and the running worker's environment
holds none of the secrets the stack gives other roles (the metadata database URL, the Fernet key, the JWT
signing key, the admin password, the master login), while its tasks succeed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from airstack.smoke.checks import RunRecord
from airstack.smoke.containers import Launch
from airstack.smoke.migration import METADATA_URL_ENV
from airstack.smoke.plan import SmokePlan
from airstack.smoke.postgres import Postgres
from airstack.smoke.report import Check
from airstack.smoke.secret_values import StandInSecrets

METADATA_TABLE = "connection"
"""A table of Airflow's metadata database that holds other teams' secrets (connections, with passwords)."""


@dataclass(frozen=True)
class Login:
    """A database login a container holds: the variable, and the role, password and database of its URL."""

    variable: str
    role: str
    password: str
    database: str


def database_login(variable: str, value: str) -> Login | None:
    """The login in a ``[db+]postgresql[+driver]://role:password@host:port/database`` value, else None."""
    if "://" not in value:
        return None
    parts = urlsplit(value.removeprefix("db+"))
    if parts.scheme.split("+")[0] not in ("postgresql", "postgres") or not parts.username:
        return None
    return Login(variable, unquote(parts.username), unquote(parts.password or ""), parts.path.lstrip("/"))


def logins(environment: Mapping[str, str]) -> list[Login]:
    return [login for variable, value in environment.items() if (login := database_login(variable, value))]


def database_checks(database: Postgres, migration: Launch, workers: Sequence[Launch]) -> list[Check]:
    """The workers' database logins against the metadata database whose URL the migration step holds."""
    name = "a worker's database login cannot read the metadata database"
    url = migration.environment.environment.get(METADATA_URL_ENV, "")
    metadata = database_login(METADATA_URL_ENV, url)
    if metadata is None:
        return [Check(name, False, f"the migration step has no {METADATA_URL_ENV}", (migration.name,))]
    return worker_database(database, metadata, {w.name: w.environment.environment for w in workers})


def worker_database(database: Postgres, metadata: Login, workers: Mapping[str, Mapping[str, str]]) -> list[Check]:
    """Each distinct database login the workers hold, tried against its own database and the metadata database.

    ``metadata`` is the metadata database's login (what the core services hold); ``workers`` maps a worker's
    name to its environment. The metadata login reading the table first shows the table is there to be read.
    """
    control_ok, control = database.psql_as(
        metadata.role, metadata.password, f"SELECT count(*) FROM {METADATA_TABLE}", metadata.database
    )
    held: dict[tuple[str, str], tuple[Login, list[str]]] = {}
    for worker, environment in workers.items():
        for login in logins(environment):
            held.setdefault((login.role, login.database), (login, []))[1].append(worker)
    checks = []
    if not held:
        checks.append(Check("a worker's database login cannot read the metadata database", True, "no worker holds one"))
    for login, holders in held.values():
        own_ok, own = database.psql_as(login.role, login.password, "SELECT current_user", login.database)
        read_ok, read = database.psql_as(
            login.role, login.password, f"SELECT count(*) FROM {METADATA_TABLE}", metadata.database
        )
        detail = (
            f"as {login.role} (the workers' {login.variable}): its own database {login.database} "
            f"{'accepts it' if own_ok else 'refuses it: ' + own}; reading {metadata.database}.{METADATA_TABLE}: "
            f"{'READ ' + read + ' rows' if read_ok else _first_line(read)}; as {metadata.role}: "
            f"{'readable' if control_ok else _first_line(control)}"
        )
        checks.append(
            Check(
                f"{login.role}'s login cannot read the metadata database {metadata.database}",
                own_ok and control_ok and not read_ok,
                detail,
                tuple(holders),
            )
        )
    return checks


def _first_line(text: str) -> str:
    line = next((line for line in text.splitlines() if line.strip()), text)
    return line.split("FATAL:", 1)[-1].split("ERROR:", 1)[-1].strip() or "refused"


def process_environment(pid: int) -> dict[str, str] | None:
    """A running process's environment as it was started (``/proc/<pid>/environ``), or None when unreadable."""
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None
    pairs = (entry.decode(errors="replace").partition("=") for entry in raw.split(b"\0") if entry)
    return {name: value for name, _, value in pairs}


RESULTS_TABLE = "celery_taskmeta"
"""Where Celery's database result backend keeps each task's outcome (its default table name)."""
WORKLOAD_STARTED = "Executing workload in Celery"
"""What a worker's output shows for each workload it runs."""


def results_check(database: Postgres, workers: Sequence[Launch], outputs: Mapping[str, str]) -> Check:
    """Every workload the workers ran left its outcome in Celery's database, where the scheduler reads it.

    This is what a worker's result-backend login is for: without it Celery keeps results in a file of the
    worker's own, the scheduler never hears how a workload ended, and its executor's slots fill up.
    ``outputs`` maps a worker's name to its output.
    """
    ran = sum(text.count(WORKLOAD_STARTED) for text in outputs.values())
    held = {(login.role, login.database): login for w in workers for login in logins(w.environment.environment)}
    stored, problems = 0, []
    for login in held.values():
        ok, output = database.psql_as(
            login.role, login.password, f"SELECT count(*) FROM {RESULTS_TABLE} WHERE status = 'SUCCESS'", login.database
        )
        if ok:
            stored += int(output or 0)
        else:
            problems.append(f"{login.database}.{RESULTS_TABLE} as {login.role}: {_first_line(output)}")
    where = ", ".join(f"{login.database}.{RESULTS_TABLE}" for login in held.values()) or "no result database"
    return Check(
        "workers' Celery results reach the result backend",
        ran > 0 and stored >= ran and not problems,
        f"{stored} results in {where} for {ran} workloads the workers ran"
        + (f"; {'; '.join(problems)}" if problems else ""),
        tuple(w.name for w in workers),
    )


def secret_checks(
    plan: SmokePlan,
    workers: Sequence[Launch],
    stand_ins: StandInSecrets,
    master: tuple[str, str],
    runs: list[RunRecord],
) -> list[Check]:
    """Each running worker holds only the secrets its container definition gives it, and runs its tasks with them.

    ``master`` is (name, password) of the local master login, which no Airflow container may hold.
    """
    checks = []
    for launch in workers:
        given = {plan.secret_for(ref.value_from)[0].name for ref in launch.container.secrets}
        own_roles = {login.role for login in logins(launch.environment.environment)}
        others = {name: value for name, value in stand_ins.values.items() if name not in given}
        others |= {f"the {r} role's password": pw for r, pw in stand_ins.passwords.items() if r not in own_roles}
        others[f"the master login ({master[0]})"] = master[1]
        instances = [ti for r in runs if r.team.worker == launch.name for ti in r.task_instances]
        succeeded = sum(1 for ti in instances if ti.get("state") == "success")
        checks.append(
            holds_only_its_secrets(
                launch.name,
                [ref.variable for ref in launch.container.secrets],
                process_environment(launch.process.pid) if launch.process else None,
                others,
                succeeded,
                len(instances) - succeeded,
            )
        )
    return checks


def holds_only_its_secrets(
    worker: str,
    given: Sequence[str],
    environment: Mapping[str, str] | None,
    others: Mapping[str, str],
    tasks_succeeded: int,
    tasks_failed: int,
) -> Check:
    """Whether a running worker's environment holds none of ``others`` (secret name -> value) while tasks succeed on it.

    ``given`` are the secret variables of its container definition (what it runs with). Tasks that failed are
    shown, not held against it: their runs' checks say why they failed.
    """
    if environment is None:
        return Check(f"{worker} runs with only its own secrets", False, "its environment could not be read", (worker,))
    found = sorted(
        name for name, value in others.items() if len(value) >= 8 and any(value in v for v in environment.values())
    )
    ran = f"{tasks_succeeded} task(s) succeeded on it" + (f", {tasks_failed} did not" if tasks_failed else "")
    detail = f"secrets: {', '.join(given) or 'none'}; {ran}"
    if found:
        detail += f"; it ALSO holds: {', '.join(found)}"
    return Check(
        f"{worker} runs its tasks with only its own secrets",
        not found and tasks_succeeded > 0,
        detail,
        (worker,),
    )
