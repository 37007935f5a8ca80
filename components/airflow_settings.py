"""Render every Airflow container's ``AIRFLOW__*`` settings from the stack config. Pure: no Pulumi here.

Values that are secrets are never rendered: ``ContainerSettings.secrets`` names the Secrets Manager entry
(a key of ``SECRET_NAMES``) that ECS injects as the variable, so no secret ever sits in plain environment.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Literal

from components import naming
from components.airflow_metrics import METRIC_ROLES, statsd_environment
from components.broker_settings import celery_broker_settings
from components.config import StackConfig, Team
from components.thresholds import airflow_metrics

Role = Literal["api-server", "scheduler", "dag-processor", "triggerer", "worker", "db-migrate", "wait-for-migrations"]
CORE_ROLES: tuple[Role, ...] = ("api-server", "scheduler", "dag-processor", "triggerer")

AIRFLOW_HOME = "/opt/airflow"
DAGS_ROOT = f"{AIRFLOW_HOME}/dags"
API_PORT = 8080
DB_PORT = 5433
"""The metastore's port: not PostgreSQL's default (FSBP RDS.23)."""
WORKER_LOG_PORT = 8793
TRIGGERER_LOG_PORT = 8794
HEALTH_PATH = "/api/v2/monitor/health"
ADMIN_USER = "admin"
CELERY_CONFIG_MODULE = "airstack_celery_config.CELERY_CONFIG"
"""Shipped in the core image: merges ``AIRSTACK_CELERY_PREDEFINED_QUEUES`` into Celery's SQS options."""
DB_INIT_SCRIPT = f"{AIRFLOW_HOME}/config/airstack_db_init.py"
"""Shipped in the core image: database roles, migration, admin user (see image/airstack_db_init.py)."""
WAIT_FOR_MIGRATIONS = (
    "for attempt in $(seq 90); do airflow db check-migrations --migration-wait-timeout 10 && exit 0; sleep 10; "
    "done; echo 'the metadata database was not migrated within 15 minutes' >&2; exit 1"
)
LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"
VISIBILITY_ENV = "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT"
TASK_TIMEOUT_ENV = "AIRFLOW__CORE__DEFAULT_TASK_EXECUTION_TIMEOUT"
QUEUES_ENV = "AIRSTACK_CELERY_PREDEFINED_QUEUES"
TASK_PROTECTION_ENV = "AIRSTACK_TASK_PROTECTION_MINUTES"
QUEUE_BY_DIRECTORY_ENV = "AIRSTACK_QUEUE_BY_DAG_DIRECTORY"
"""Read by the image's cluster policy: DAG directory (absolute) -> the queue its tasks run on."""
LOG_FILENAME_TEMPLATE = (
    "{{ ti.queue }}/dag_id={{ ti.dag_id }}/run_id={{ ti.run_id }}/task_id={{ ti.task_id }}/"
    "{% if ti.map_index >= 0 %}map_index={{ ti.map_index }}/{% endif %}"
    "attempt={{ try_number|default(ti.try_number) }}.log"
)
"""Task logs are filed under their queue so that each team's workers may write only their own prefix."""
TASK_LOG_PREFIX = "task-logs"

SECRET_NAMES = (
    "sql-alchemy-conn",
    "celery-result-backend",
    "fernet-key",
    "jwt-signing-key",
    "api-secret-key",
    "admin-password",
)

_SECRETS_BY_ROLE: dict[Role, dict[str, str]] = {
    "api-server": {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "sql-alchemy-conn",
        "AIRFLOW__CORE__FERNET_KEY": "fernet-key",
        "AIRFLOW__API_AUTH__JWT_SECRET": "jwt-signing-key",
        "AIRFLOW__API__SECRET_KEY": "api-secret-key",
    },
    "scheduler": {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "sql-alchemy-conn",
        "AIRFLOW__CELERY__RESULT_BACKEND": "celery-result-backend",
        "AIRFLOW__CORE__FERNET_KEY": "fernet-key",
        "AIRFLOW__API_AUTH__JWT_SECRET": "jwt-signing-key",
    },
    "dag-processor": {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "sql-alchemy-conn",
        "AIRFLOW__CORE__FERNET_KEY": "fernet-key",
    },
    "triggerer": {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "sql-alchemy-conn",
        "AIRFLOW__CORE__FERNET_KEY": "fernet-key",
        "AIRFLOW__API_AUTH__JWT_SECRET": "jwt-signing-key",
        # The triggerer's log server checks the api-server's requests for logs of deferred tasks with it.
        "AIRFLOW__API__SECRET_KEY": "api-secret-key",
    },
    # Airflow 3 workers run tasks through the Execution API with the token each task comes with: they need
    # neither the metadata database nor the Fernet key nor the JWT signing key, only Celery's own database.
    "worker": {
        "AIRFLOW__CELERY__RESULT_BACKEND": "celery-result-backend",
        # The worker's log server serves live logs of running tasks to the api-server, checked with this key.
        "AIRFLOW__API__SECRET_KEY": "api-secret-key",
    },
    "db-migrate": {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "sql-alchemy-conn",
        "AIRFLOW__CORE__FERNET_KEY": "fernet-key",
        "AIRSTACK_CELERY_DATABASE_URL": "celery-result-backend",
        "AIRSTACK_ADMIN_PASSWORD": "admin-password",
    },
    "wait-for-migrations": {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "sql-alchemy-conn",
    },
}


@dataclass(frozen=True)
class Endpoints:
    """Plain values of the resources the settings point at (resolved outputs, or stand-ins locally)."""

    logs_bucket: str
    queue_urls: dict[str, str]
    """Celery queue name -> SQS queue URL."""
    execution_api_url: str
    secrets_prefix: str
    """Secrets Manager name prefix of the stack (``airstack/<stack>``): shared connections and variables live
    under it, each team's own under ``teams/<team>``."""
    data_bucket: str
    """The data bucket; a team's DAGs write under ``teams/<team>/`` of it (the only prefix its role may write)."""
    registry: str
    """The stack's own ECR registry (``<account>.dkr.ecr.<region>.amazonaws.com``): public images come through it."""


@dataclass(frozen=True)
class ContainerSettings:
    environment: dict[str, str]
    secrets: dict[str, str] = field(default_factory=dict)
    """Environment variable -> name of the secret (one of ``SECRET_NAMES``) it is read from."""


def dag_bundles(teams: tuple[Team, ...] | list[Team]) -> list[dict[str, object]]:
    return [
        # `current` is the team's released DAGs: a symlink the DAG deployment function switches atomically.
        {"name": t.name, "classpath": LOCAL_BUNDLE, "kwargs": {"path": f"{DAGS_ROOT}/{t.directory}/current"}}
        for t in teams
    ]


def render(config: StackConfig, role: Role, endpoints: Endpoints, team: Team | None = None) -> ContainerSettings:
    """The settings of one container. ``team`` is required for, and only for, the ``worker`` role."""
    if (role == "worker") != (team is not None):
        raise ValueError("a worker needs its team, and only a worker has one")
    teams = (team,) if team is not None else config.teams
    broker = celery_broker_settings(config, role, team, endpoints.queue_urls)
    task_timeout = team.longest_task_seconds if team else config.max_task_seconds
    env: dict[str, str] = {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": endpoints.execution_api_url,
        # One issuer per stack for every role: without it Airflow signs `iss: []`, which PyJWT >= 2.11 rejects.
        "AIRFLOW__API_AUTH__JWT_ISSUER": jwt_issuer(config.stack),
        TASK_TIMEOUT_ENV: str(task_timeout),
        # Fargate task hostnames do not resolve from other tasks; advertise the task's IP instead.
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "airflow.utils.net.get_host_ip_address",
        **broker.environment,
        "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": CELERY_CONFIG_MODULE,
        "AIRFLOW__CELERY__WORKER_ENABLE_REMOTE_CONTROL": "False",
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": config.teams[0].queue_name,
        "AIRFLOW__LOGGING__REMOTE_LOGGING": "True",
        "AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER": f"s3://{endpoints.logs_bucket}/{TASK_LOG_PREFIX}",
        "AIRFLOW__LOGGING__REMOTE_LOG_CONN_ID": "aws_default",
        "AIRFLOW__LOGGING__LOG_FILENAME_TEMPLATE": LOG_FILENAME_TEMPLATE,
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps({"conn_type": "aws", "extra": {"region_name": config.aws_region}}),
        "AIRFLOW__SECRETS__BACKEND": "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend",
        "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps(secrets_backend_kwargs(endpoints.secrets_prefix, team)),
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(dag_bundles(teams)),
        QUEUE_BY_DIRECTORY_ENV: json.dumps({f"{DAGS_ROOT}/{t.directory}": t.queue_name for t in config.teams}),
        "AIRSTACK_ENVIRONMENT": config.environment,
    }
    if role == "api-server":
        env["AIRFLOW__API__PORT"] = str(API_PORT)
        env["AIRFLOW__API__EXPOSE_CONFIG"] = "False"
        if config.ingress.domain:
            env["AIRFLOW__API__BASE_URL"] = f"https://{config.ingress.domain}/"
    if role == "worker" and team is not None:
        env["AIRFLOW__CELERY__WORKER_CONCURRENCY"] = str(team.concurrency)
        env["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] = str(WORKER_LOG_PORT)
        # Keep dumb-init from signalling the whole process group, so Celery shuts down warm.
        env["DUMB_INIT_SETSID"] = "0"
        # ECS scale-in protection while tasks run (the image's hook): until the longest task could be redelivered.
        env[TASK_PROTECTION_ENV] = str(task_protection_minutes(config.visibility_timeout(team)))
        # Where the team's DAGs keep data, as Variables (not secrets) that its own secrets prefix may override.
        env["AIRFLOW_VAR_DATA_BUCKET"] = endpoints.data_bucket
        env["AIRFLOW_VAR_DATA_PREFIX"] = data_prefix(team)
        # A worker has no metadata database: the entrypoint's `airflow db check` would probe a local sqlite file.
        env["CONNECTION_CHECK_MAX_COUNT"] = "0"
    if role == "triggerer":
        env["AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT"] = str(TRIGGERER_LOG_PORT)
    if role in METRIC_ROLES and airflow_metrics(config):
        # To the CloudWatch agent in the same task, tagged with the service (and a worker's queue).
        service = naming.worker_service(team.name) if team is not None else role
        env.update(statsd_environment(service, team.queue_name if team is not None else None))
    if role in ("db-migrate", "wait-for-migrations"):
        # The image's entrypoint would wait for the database with a role the migration step creates first.
        env["CONNECTION_CHECK_MAX_COUNT"] = "0"
    if role == "db-migrate":
        env["AIRSTACK_ADMIN_USERNAME"] = ADMIN_USER
        env["AIRSTACK_DB_INSTANCE"] = naming.db_identifier(config.stack)
        env["AIRSTACK_AWS_REGION"] = config.aws_region
    return ContainerSettings(environment=env, secrets={**_SECRETS_BY_ROLE[role], **broker.secrets})


def task_protection_minutes(visibility_timeout_seconds: int) -> int:
    """How long a worker stays protected from scale-in after it last started a task."""
    return math.ceil(visibility_timeout_seconds / 60) + 1


def data_prefix(team: Team) -> str:
    return f"teams/{team.name}/"


def jwt_issuer(stack: str) -> str:
    return f"airstack-{stack}"


def secrets_backend_kwargs(prefix: str, team: Team | None) -> dict[str, str]:
    """A team's workers look up only their team's connections and variables; the core services the shared ones."""
    base = f"{prefix}/teams/{team.name}" if team is not None else prefix
    return {"connections_prefix": f"{base}/connections", "variables_prefix": f"{base}/variables"}


def secret_names(role: Role) -> set[str]:
    """The secrets a role's containers read (the scheduler's task also runs the migration)."""
    roles: list[Role] = [role, "db-migrate"] if role == "scheduler" else [role]
    return {name for r in roles for name in _SECRETS_BY_ROLE[r].values()}


def command(role: Role, team: Team | None = None) -> list[str]:
    """The container command for a role (the official image's entrypoint runs ``airflow <command>``)."""
    if role == "worker":
        if team is None:
            raise ValueError("a worker needs its team")
        return ["celery", "worker", "--queues", team.queue_name, "--concurrency", str(team.concurrency)]
    if role == "db-migrate":
        return ["python", DB_INIT_SCRIPT]
    if role == "wait-for-migrations":
        # Until the scheduler's task has migrated (the role may not even exist yet): retry for up to 15 minutes.
        return ["bash", "-c", WAIT_FOR_MIGRATIONS]
    return [role]
