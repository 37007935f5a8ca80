"""The stack's migration step as the smoke runs it: the RDS instance it stands in for, who takes its master login.

In the cloud the migration step (image/airstack_db_init.py, the scheduler task's ``db-migrate`` container)
asks RDS for the instance's managed master secret and uses it to create Airflow's and Celery's roles and
databases, migrates, and keeps the admin user. Locally the same script runs against a server that starts as a
new RDS instance does; the one container that names the instance gets the local master login instead of
looking it up (``AIRSTACK_DB_MASTER_URL``, a listed difference). Pure: no processes here.
"""

from __future__ import annotations

from collections.abc import Mapping

from airstack.smoke.plan import Container, DatabaseInstance, PlanError, SmokePlan

ADMIN_USERNAME_ENV = "AIRSTACK_ADMIN_USERNAME"
ADMIN_PASSWORD_ENV = "AIRSTACK_ADMIN_PASSWORD"
"""Where the migration step reads the admin user it keeps (image/airstack_db_init.py)."""
METADATA_URL_ENV = "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"


def database_instance(plan: SmokePlan) -> DatabaseInstance:
    """The one RDS instance the local server stands in for; PlanError when nothing would set it up."""
    if len(plan.databases) != 1:
        raise PlanError(f"the smoke stands in for one RDS instance; stack {plan.stack} has {len(plan.databases)}")
    if not plan.master_login_containers():
        raise PlanError(
            f"no container of stack {plan.stack} names the RDS instance {plan.databases[0].identifier}: without the "
            "migration step that takes its master login, nothing creates Airflow's and Celery's roles"
        )
    return plan.databases[0]


def is_migration(plan: SmokePlan, container: Container) -> bool:
    return plan.master_login(container) is not None


def admin_login(environments: list[Mapping[str, str]]) -> tuple[str, str]:
    """(user, password) of the admin the migration step keeps, from its containers' environments."""
    for env in environments:
        if env.get(ADMIN_PASSWORD_ENV):
            return env.get(ADMIN_USERNAME_ENV) or "admin", env[ADMIN_PASSWORD_ENV]
    raise PlanError(f"the migration step gets no {ADMIN_PASSWORD_ENV}: there is no admin user to log in as")
