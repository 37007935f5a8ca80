"""Every way a smoke container differs from the same container on ECS Fargate: listed here, and only here.

``DIFFERENCES`` is printed at the start of every smoke. ``local_environment`` builds a container's environment
from exactly its container definition (environment + resolved secrets), the image's and the platform's
variables, and the changes these differences make; it records each change next to the difference behind it,
so nothing reaches a container that this module does not name. Pure: no processes here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import urlsplit, urlunsplit

from airstack.smoke.plan import ClientAlias, Container

IMAGE_AIRFLOW_HOME = "/opt/airflow"
"""AIRFLOW_HOME (and WORKDIR) of the official image the core image builds on."""
IMAGE_USER_HOME = "/home/airflow"
ADDRESS_MODULE = "airstack_smoke_address"
"""The module (put on PYTHONPATH) whose ``task_address`` returns the task's loopback address."""
ADDRESS_ENV = "AIRSTACK_SMOKE_TASK_ADDRESS"
MASTER_URL_ENV = "AIRSTACK_DB_MASTER_URL"
"""Where the migration step (image/airstack_db_init.py) takes the master login from when there is no RDS."""
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
DUMMY_ACCESS_KEY = "AKIAAIRSTACKSMOKE000"
DUMMY_SECRET_KEY = "airstack-smoke-not-a-secret"


@dataclass(frozen=True)
class Listener:
    """An Airflow server a container runs: the option that sets its port, and the port when unset."""

    option: str
    default: int
    bindable: bool
    """Whether Airflow lets its bind address be set; the log servers always bind every interface."""


LISTENERS: dict[tuple[str, ...], Listener] = {
    ("api-server",): Listener("AIRFLOW__API__PORT", 8080, bindable=True),
    ("celery", "worker"): Listener("AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT", 8793, bindable=False),
    ("triggerer",): Listener("AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT", 8794, bindable=False),
}


def airflow_command(container: Container) -> tuple[str, ...]:
    """The airflow sub-command a container runs, as the official entrypoint sees it (``airflow`` prefix dropped)."""
    command = container.command
    return command[1:] if command[:1] == ("airflow",) else command


def listener_of(container: Container) -> Listener | None:
    command = airflow_command(container)
    return next((listener for prefix, listener in LISTENERS.items() if command[: len(prefix)] == prefix), None)


def rendered_port(container: Container, listener: Listener) -> int:
    return int(container.environment.get(listener.option) or listener.default)


@dataclass(frozen=True)
class Difference:
    key: str
    cloud: str
    local: str


DIFFERENCES: tuple[Difference, ...] = (
    Difference(
        "aws-endpoints",
        "AWS APIs at their regional endpoints",
        "every AWS call goes to moto: AWS_ENDPOINT_URL={moto}; queue URLs, bucket and secret names unchanged",
    ),
    Difference(
        "credentials",
        "the task role's credentials from the ECS credential endpoint; IAM policies enforced",
        "dummy static keys (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY); moto does not evaluate IAM, so the "
        "roles' least privilege is not exercised",
    ),
    Difference(
        "platform-env",
        "Fargate sets AWS_REGION, AWS_DEFAULT_REGION, AWS_EXECUTION_ENV and the task metadata URIs",
        "AWS_REGION and AWS_DEFAULT_REGION only (no task metadata endpoint)",
    ),
    Difference(
        "secrets",
        "ECS resolves each container's `secrets` from Secrets Manager at task start",
        "the same valueFrom resolved from moto's Secrets Manager, holding generated values; database URLs "
        "rebuilt for the local PostgreSQL (host, port, a generated password; role, database and options kept), "
        "Redis broker URLs for the local redis-server (see broker)",
    ),
    Difference(
        "broker",
        "the Celery broker: the stack's SQS queues, or an ElastiCache (Valkey/Redis OSS) replication group at "
        "its primary endpoint, TLS with Amazon's certificate, an AUTH token, replicas and failover",
        "SQS: moto (above). Redis: redis-server {redis} on 127.0.0.1:{broker_port}, TLS only with a throw-away "
        "certificate, requirepass, noeviction, nothing saved, one node; the broker URL is rebuilt for it (host, "
        "port, a generated password, ssl_ca_certs naming its certificate; scheme, database and ssl_cert_reqs kept)",
    ),
    Difference(
        "database",
        "RDS PostgreSQL {engine}, TLS; a new instance holds its master user and its database {db_name}",
        "PostgreSQL {postgres} on 127.0.0.1:{database_port} with a throw-away self-signed certificate and fsync "
        "off; it starts as RDS does, with only the master role {master} and the database {db_name} it owns",
    ),
    Difference(
        "database-master",
        "the migration step ({migration}) reads the master login from RDS: DescribeDBInstances -> the managed "
        "master secret; the master is in rds_superuser (CREATEROLE, CREATEDB), no superuser",
        "the local role {master}, LOGIN CREATEROLE CREATEDB and no superuser either (without rds_superuser's "
        f"other grants), in {MASTER_URL_ENV}: given to that container only",
    ),
    Difference(
        "service-connect",
        "other tasks reach the api-server through Service Connect ({aliases})",
        "URLs in the environment that name a Service Connect alias point at the api-server's local address",
    ),
    Difference(
        "api-server-bind",
        "the api-server listens on its task's address, port {api_port}; the public URL is the ALB's",
        "AIRFLOW__API__HOST=127.0.0.1, AIRFLOW__API__PORT=<free port>; AIRFLOW__API__BASE_URL is the local URL",
    ),
    Difference(
        "task-address",
        "each task has its own network address; AIRFLOW__CORE__HOSTNAME_CALLABLE returns it",
        "each task has its own loopback address 127.0.0.N; the hostname callable is "
        f"{ADDRESS_MODULE}.task_address, which returns it (its module on PYTHONPATH)",
    ),
    Difference(
        "task-localhost",
        "the containers of a task share its network namespace: 127.0.0.1 in one reaches the others (Airflow's "
        "StatsD host, the task's CloudWatch agent)",
        "in a task with a sidecar stand-in, a variable whose value is a loopback host (127.0.0.1, localhost) is "
        "the task's own address, where the stand-in listens",
    ),
    Difference(
        "cloudwatch-agent",
        "the CloudWatch agent ({agents}) beside each Airflow process that emits metrics: StatsD in, CloudWatch "
        "metrics out",
        "a StatsD listener of the smoke at the task's address and the port of the agent's configuration, which "
        "records each metric under the name and dimensions the agent would publish; nothing reaches CloudWatch",
    ),
    Difference(
        "log-servers",
        "each worker and triggerer serves logs on its rendered port (8793, 8794) at its task's address",
        "Airflow binds its log servers to every interface with no setting to change it, so each listens on a "
        "free port of its own and a forwarder on <task address>:<rendered port> stands in for the task's address",
    ),
    Difference(
        "filesystem",
        f"{IMAGE_AIRFLOW_HOME} of the image; EFS access points mounted read-only",
        "each container's files under {run_dir}/containers/<service>/<container>/, and paths in its "
        "environment and command rewritten to match (AIRFLOW_HOME, HOME, TMPDIR for its /tmp); a mounted access "
        "point is a "
        "directory shared by the containers that mount it (read-only not enforced)",
    ),
    Difference(
        "image",
        "the core image: Python {image_python}, Airflow and providers pinned, its files in $AIRFLOW_HOME/config",
        "a venv built by uv from {requirements} with Python {python}; the image's files copied to "
        "$AIRFLOW_HOME/config as its Dockerfile does",
    ),
    Difference(
        "entrypoint",
        "dumb-init and the official image's /entrypoint",
        "airstack/smoke/entrypoint.py does the entrypoint's steps (`airflow db check` unless "
        "CONNECTION_CHECK_MAX_COUNT=0, _AIRFLOW_DB_MIGRATE, _AIRFLOW_WWW_USER_*, exec of `bash`/`python` "
        "commands, broker check, exec airflow); it reads the executor and broker URL from the environment "
        "instead of `airflow config get-value`, sets no LD_PRELOAD and refuses _PIP_ADDITIONAL_REQUIREMENTS; a "
        "stop signals the process group, or only the main process where DUMB_INIT_SETSID=0, then kills after "
        "stopTimeout",
    ),
    Difference("user", "user 50000, group 0", "the user running the smoke"),
    Difference(
        "scheduling",
        "ECS runs each service at its desired count, replaces failed tasks, scales workers and hibernates",
        "one task per service whatever its desired count; every task starts at once and its containers in "
        "their dependsOn order, as on ECS; an essential container that exits, or a dependency that fails, "
        "fails the smoke instead of being retried",
    ),
    Difference(
        "dag-deployment",
        "the DAG pipeline puts a release zip into the artifacts bucket; S3 notifies the deployment function, "
        "which unpacks it onto EFS",
        "the smoke zips each team's DAGs (with its own DAG), puts the zip into the stand-in bucket and invokes "
        "the function's handler with that S3 event, in a process with the function's environment and the local "
        "EFS directory as AIRSTACK_DAGS_ROOT (a stand-in bucket and settings when the stack lacks the "
        "function); without lambdas/dag_sync the files are copied",
    ),
    Difference(
        "container-logs",
        "stdout and stderr to CloudWatch Logs (awslogs)",
        "stdout and stderr to {run_dir}/logs/<service>.<container>.log",
    ),
)


def describe(values: Mapping[str, object]) -> list[tuple[str, str, str]]:
    """(key, cloud, local) of every difference, with this run's values filled in."""

    class _Missing(dict[str, object]):
        def __missing__(self, key: str) -> str:
            return f"<{key}>"

    filled = _Missing(values)
    return [(d.key, d.cloud.format_map(filled), d.local.format_map(filled)) for d in DIFFERENCES]


# ------------------------------------------------------------------------------------------ environment


@dataclass(frozen=True)
class ContainerPlace:
    """Where one container lives locally."""

    root: str
    """Stands in for the container's ``/``: image paths like /opt/airflow are under it."""
    task_address: str
    listener_port: int | None = None
    """The free port its Airflow server listens on, if it runs one."""
    volumes: Mapping[str, str] = field(default_factory=dict)
    """Mount key (see ``plan.Mount.volume``) -> local directory."""
    localhost_is_task: bool = False
    """Its task has a sidecar stand-in listening at the task's address: the container's localhost is there."""


@dataclass(frozen=True)
class Site:
    """What every container shares locally."""

    moto_url: str
    region: str
    api_url: str
    """The api-server as the other containers and the smoke reach it: ``http://127.0.0.1:<port>``."""
    aliases: tuple[tuple[ClientAlias, str], ...]
    """Each Service Connect alias and the local URL (``http://127.0.0.1:<port>``) of the server behind it."""
    python_bin: str
    """The venv's bin directory (first on PATH)."""
    site_dir: str
    """Holds the task-address module (on PYTHONPATH)."""


@dataclass(frozen=True)
class Change:
    variable: str
    rendered: str | None
    local: str
    difference: str

    @property
    def added(self) -> bool:
        return self.rendered is None


@dataclass(frozen=True)
class LocalEnvironment:
    environment: dict[str, str]
    changes: tuple[Change, ...]
    command: tuple[str, ...] = ()
    """The container's command with the same path and alias rewriting as its environment."""


def image_environment(place: ContainerPlace, site: Site) -> dict[str, str]:
    """The official image's own variables that matter to a process, for this container's place."""
    return {
        "AIRFLOW_HOME": local_path(IMAGE_AIRFLOW_HOME, place, ()),
        "AIRFLOW_USER_HOME_DIR": local_path(IMAGE_USER_HOME, place, ()),
        "HOME": local_path(IMAGE_USER_HOME, place, ()),
        "TMPDIR": local_path("/tmp", place, ()),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PATH": f"{site.python_bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "DUMB_INIT_SETSID": "1",
    }


def local_path(path: str, place: ContainerPlace, mounts: tuple[tuple[str, str], ...]) -> str:
    """Where a container path is locally: in a mounted volume's directory, else under the container's root."""
    pure = PurePosixPath(path)
    for container_path, directory in mounts:
        if pure == PurePosixPath(container_path) or pure.is_relative_to(container_path):
            return str(PurePosixPath(directory) / pure.relative_to(container_path))
    return str(PurePosixPath(place.root) / pure.relative_to("/"))


def _path_pattern(prefixes: list[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(p.rstrip("/")) for p in sorted(set(prefixes), key=len, reverse=True))
    # A prefix counts only as a whole path (start of a value or after a quote/space/=/colon), up to a separator.
    return re.compile(rf"(?<![\w./-])(?:{alternatives})(?:/[^\s\"',;)\]}}]*)?(?=$|[\s\"',;)\]}}])")


def rewrite_paths(value: str, prefixes: list[str], place: ContainerPlace, mounts: tuple[tuple[str, str], ...]) -> str:
    return _path_pattern(prefixes).sub(lambda m: local_path(m.group(0), place, mounts), value)


def rewrite_aliases(value: str, aliases: tuple[tuple[ClientAlias, str], ...]) -> str:
    """``http://api-server:8080/x`` -> ``http://127.0.0.1:<port>/x`` for every Service Connect alias."""
    for alias, url in aliases:
        target = urlsplit(url)
        pattern = re.compile(rf"(\w+)://{re.escape(alias.dns_name)}(?::{alias.port})?(?=[/?#\"'\s]|$)")

        def repl(
            match: re.Match[str], alias: ClientAlias = alias, local: str = f"{target.scheme}://{target.netloc}"
        ) -> str:
            explicit = match.group(0).endswith(f":{alias.port}")
            default = {"http": 80, "https": 443}.get(match.group(1))
            return local if explicit or default == alias.port else match.group(0)

        value = pattern.sub(repl, value)
    return value


def local_environment(
    container: Container,
    secrets: Mapping[str, str],
    place: ContainerPlace,
    site: Site,
    path_prefixes: list[str],
    master_url: str | None = None,
) -> LocalEnvironment:
    """The container's environment locally: its definition's, plus exactly the changes ``DIFFERENCES`` lists.

    ``secrets`` are the container's ``secrets`` as resolved from the stand-in Secrets Manager; ``path_prefixes``
    are the container paths that name files (the image's AIRFLOW_HOME and every mount point of the stack);
    ``master_url`` is the local master login, for the one container that fetches RDS's master login itself.
    """
    rendered = {**container.environment, **secrets}
    env: dict[str, str] = {}
    changes: list[Change] = []

    def put(variable: str, value: str, difference: str) -> None:
        before = rendered.get(variable)
        if before != value:
            changes.append(Change(variable, before, value, difference))
        env[variable] = value

    for variable, value in image_environment(place, site).items():
        if variable not in rendered:
            put(variable, value, "filesystem" if value.startswith(place.root) else "image")
    env.update(rendered)
    mounts = tuple((m.container_path, place.volumes[m.volume]) for m in container.mounts)
    for variable, value in container.environment.items():
        local, difference = _local_value(value, path_prefixes, place, mounts, site)
        if local != value:
            put(variable, local, difference)

    put("AWS_ENDPOINT_URL", site.moto_url, "aws-endpoints")
    put("AWS_ACCESS_KEY_ID", DUMMY_ACCESS_KEY, "credentials")
    put("AWS_SECRET_ACCESS_KEY", DUMMY_SECRET_KEY, "credentials")
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if variable not in rendered:
            put(variable, site.region, "platform-env")
    put("PYTHONPATH", ":".join(p for p in (site.site_dir, env.get("PYTHONPATH")) if p), "task-address")
    put(ADDRESS_ENV, place.task_address, "task-address")
    put("AIRFLOW__CORE__HOSTNAME_CALLABLE", f"{ADDRESS_MODULE}.task_address", "task-address")

    listener = listener_of(container)
    if listener is not None and place.listener_port is not None:
        put(listener.option, str(place.listener_port), "api-server-bind" if listener.bindable else "log-servers")
        if listener.bindable:
            put("AIRFLOW__API__HOST", "127.0.0.1", "api-server-bind")
    if "AIRFLOW__API__BASE_URL" in env:
        put("AIRFLOW__API__BASE_URL", site.api_url.rstrip("/") + "/", "api-server-bind")
    if master_url is not None:
        put(MASTER_URL_ENV, master_url, "database-master")
    command = tuple(
        rewrite_aliases(rewrite_paths(a, path_prefixes, place, mounts), site.aliases) for a in container.command
    )
    return LocalEnvironment(env, tuple(changes), command)


def _local_value(
    value: str, path_prefixes: list[str], place: ContainerPlace, mounts: tuple[tuple[str, str], ...], site: Site
) -> tuple[str, str]:
    """(the local value of a rendered variable, the difference that changes it)."""
    if place.localhost_is_task and value in LOOPBACK_HOSTS:
        return place.task_address, "task-localhost"
    if rewrite_aliases(value, site.aliases) != value:
        return rewrite_aliases(rewrite_paths(value, path_prefixes, place, mounts), site.aliases), "service-connect"
    return rewrite_paths(value, path_prefixes, place, mounts), "filesystem"


def public_url(url: str) -> str:
    """``scheme://host:port`` of a URL (for printing)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))
