"""The pure parts of `airstack smoke`: a plan into local processes, the differences from the cloud, ports, cleanup.

The real end-to-end run is tests/test_smoke_run.py (AIRSTACK_SMOKE=1).
"""

from __future__ import annotations

import base64
import io
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from airstack.offline import ProgramRun, Resource
from airstack.program_config import parse_assignments
from airstack.smoke.airflow_venv import pin_files, pins_digest, python_candidates
from airstack.smoke.brokers import check_broker
from airstack.smoke.command import run_smoke
from airstack.smoke.containers import image_files, prepare_root
from airstack.smoke.deploy import copy, dag_sync, deploy_through, release_zip, s3_event, stage, teams, worker_queues
from airstack.smoke.differences import (
    DIFFERENCES,
    IMAGE_AIRFLOW_HOME,
    MASTER_URL_ENV,
    ContainerPlace,
    Site,
    describe,
    listener_of,
    local_environment,
    rewrite_aliases,
)
from airstack.smoke.entrypoint import broker_endpoint
from airstack.smoke.isolation import database_login, holds_only_its_secrets, logins, process_environment
from airstack.smoke.migration import admin_login, database_instance
from airstack.smoke.network import Forwarder, allocate_addresses, free_port, listen
from airstack.smoke.plan import Container, PlanError, SmokePlan, smoke_plan, split_value_from
from airstack.smoke.processes import Supervisor, become_subreaper, descendants, interrupts_as_exceptions
from airstack.smoke.run import EXIT_INVALID
from airstack.smoke.secret_values import generate, is_fernet_key, like, mask, select_json_key
from airstack.smoke.stacks import plan_for_smoke
from airstack.stackfile import PROJECT_ROOT
from tests.conftest import STACKS, containers, env_of, of_type, planned

DEV = smoke_plan(planned("dev"))
ACTIVATED = {"role": "standby", "primaryStack": "prod", "primaryRegion": "eu-west-1", "active": True}
_RUNNABLE: dict[str, SmokePlan] = {}


def runnable(stack: str) -> SmokePlan:
    """The plan `airstack smoke STACK` runs: dr as an activated standby (its pilot light is refused)."""
    if stack not in _RUNNABLE:
        overrides = [("dr", json.dumps(ACTIVATED))] if stack == "dr" else []
        _RUNNABLE[stack] = plan_for_smoke(stack, PROJECT_ROOT, overrides)
    return _RUNNABLE[stack]


def container(plan: SmokePlan, task: str, name: str | None = None) -> Container:
    return next(c for c in plan.containers if c.task == task and (name is None or c.name == name))


# ------------------------------------------------------------------------------------------------ the plan


@pytest.mark.parametrize("stack", STACKS)
def test_every_service_becomes_a_task_with_exactly_its_rendered_containers(stack: str) -> None:
    run = planned(stack)
    plan = smoke_plan(run)
    services = {r.inputs["name"]: r for r in of_type(run, "aws:ecs/service:Service")}
    assert {t.service for t in plan.tasks} == set(services)
    for task in plan.tasks:
        family = services[task.service].inputs["taskDefinition"].split("/")[-1].split(":")[0]
        definition = next(
            r for r in of_type(run, "aws:ecs/taskDefinition:TaskDefinition") if r.inputs["family"] == family
        )
        rendered = containers(definition)
        assert [c.name for c in task.containers] == [c["name"] for c in rendered]
        for local, original in zip(task.containers, rendered, strict=True):
            assert dict(local.environment) == env_of(original)
            assert local.image == original["image"]
            assert [(s.variable, s.value_from) for s in local.secrets] == [
                (s["name"], s["valueFrom"]) for s in original["secrets"]
            ]
            if local.runs_airflow:
                assert local.image == plan.airflow_image
                assert list(local.command) == original["command"]
            else:  # a sidecar runs its image's own command; what matters is which image it is
                assert local.kind == "cloudwatch-agent"
                assert "cloudwatch-agent" in original["image"]
                assert not local.essential
    assert {c.task for c in plan.sidecars} == {"scheduler", "dag-processor", "triggerer"} | {
        t.service for t in plan.tasks if t.service.startswith("worker-")
    }


@pytest.mark.parametrize("stack", STACKS)
def test_every_secret_a_container_reads_is_a_secret_of_the_stack_or_its_primarys_replica(stack: str) -> None:
    plan = runnable(stack)
    for c in plan.containers:
        for ref in c.secrets:
            secret, key = plan.secret_for(ref.value_from)
            assert key is None
            assert ref.value_from.split(":secret:")[1].startswith(secret.name)
            assert secret.arn.split(":")[3] == plan.region
    replicas = {s.name for s in plan.secrets if s.replica_of}
    assert replicas == (
        {f"airstack/prod/internal/{k}" for k in ("fernet-key", "jwt-signing-key", "api-secret-key", "admin-password")}
        if stack == "dr"
        else set()
    )


@pytest.mark.parametrize("stack", STACKS)
def test_only_the_migration_step_names_the_rds_instance_whose_master_login_it_takes(stack: str) -> None:
    plan = runnable(stack)
    assert [c.key for c in plan.master_login_containers()] == ["scheduler/db-migrate"]
    migrate = container(plan, "scheduler", "db-migrate")
    assert plan.master_login(migrate) == plan.databases[0]
    assert database_instance(plan) == plan.databases[0]
    assert not migrate.essential
    assert container(plan, "scheduler", "scheduler").depends_on == (("db-migrate", "SUCCESS"),)


def test_a_pilot_light_is_refused_in_one_line_that_gives_the_command_which_smokes_it_activated(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run_smoke("dr") == EXIT_INVALID
    message = capsys.readouterr().out.strip()
    assert "\n" not in message
    assert message.startswith("stack dr is a pilot-light standby of prod (dr.active is false)")
    command = shlex.split(message.split(": ")[-1])
    assert command[:3] == ["airstack", "smoke", "dr"]
    args = command[3:]
    assert "--config-path" in args
    overrides = parse_assignments(args[i + 1] for i, a in enumerate(args) if a == "--config")
    activated = plan_for_smoke("dr", PROJECT_ROOT, overrides, path=True)
    assert [d.identifier for d in activated.databases] == ["airstack-dr-metastore"]


def test_an_activated_standby_gets_stand_ins_of_its_primarys_replicated_secrets() -> None:
    dr, prod = runnable("dr"), smoke_plan(planned("prod"))
    by_name = {s.name: s for s in dr.secrets}
    fernet = by_name["airstack/prod/internal/fernet-key"]
    primary = next(s for s in prod.secrets if s.name == fernet.name)
    assert fernet.replica_of == primary.arn
    assert fernet.arn == primary.arn.replace(":eu-west-1:", ":eu-central-1:")
    stand_ins = generate(dr.secrets, "127.0.0.1", 6543)
    assert is_fernet_key(stand_ins.values[fernet.name])
    admin = stand_ins.values["airstack/prod/internal/admin-password"]
    assert len(admin) == len(by_name["airstack/prod/internal/admin-password"].value or "")
    assert stand_ins.values["airstack/dr/internal/sql-alchemy-conn"].startswith("postgresql+psycopg2://airflow:")


def test_a_stack_whose_migration_step_names_no_instance_is_refused() -> None:
    unnamed = replace(DEV, databases=(replace(DEV.databases[0], identifier="another-instance"),))
    with pytest.raises(PlanError, match="without the migration step"):
        database_instance(unnamed)
    with pytest.raises(PlanError, match="one RDS instance"):
        database_instance(replace(DEV, databases=()))


def test_queues_keep_their_visibility_timeout_and_dead_letter_target() -> None:
    queues = {q.name: q for q in DEV.queues}
    analytics = queues["airstack-dev-analytics"]
    assert analytics.visibility_timeout == 36000
    assert analytics.attributes["VisibilityTimeout"] == "36000"
    assert json.loads(analytics.attributes["RedrivePolicy"])["deadLetterTargetArn"] == analytics.dead_letter_arn
    assert DEV.queue_by_arn(analytics.dead_letter_arn or "") == queues["airstack-dev-analytics-dlq"]
    assert {q.name for q in DEV.dead_letter_queues()} == {"airstack-dev-analytics-dlq", "airstack-dev-ml-dlq"}
    assert DEV.account == "111122223333"


def test_buckets_and_database_come_from_their_resources() -> None:
    logs = next(c for c in DEV.containers if c.key == "worker-analytics/worker").environment
    bucket = logs["AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER"].removeprefix("s3://").split("/")[0]
    assert bucket in DEV.buckets
    assert sorted(b.split("-")[2] for b in DEV.buckets) == ["dags", "data", "logs"]
    instance = DEV.databases[0]
    rds = of_type(planned("dev"), "aws:rds/instance:Instance")[0].inputs
    assert (instance.identifier, instance.db_name, instance.master_username, instance.port) == (
        rds["identifier"],
        rds["dbName"],
        rds["username"],
        int(rds["port"]),
    )
    assert DEV.database_engine_versions == (rds["engineVersion"],)


def _resource(typ: str, name: str, inputs: dict, outputs: dict | None = None) -> Resource:
    return Resource(f"urn:{typ}::{name}", typ, name, None, True, inputs, outputs or {}, False, None)


def _explicit_names_run() -> ProgramRun:
    """A program that names everything explicitly and refers to secrets by partial ARN (no random suffix)."""
    arn = "arn:aws:secretsmanager:eu-west-1:444455556666:secret:team/db-url"
    definition = [
        {
            "name": "api-server",
            "command": ["api-server"],
            "environment": [{"name": "A", "value": "1"}],
            "secrets": [
                {"name": "DB", "valueFrom": arn},
                {"name": "USER", "valueFrom": f"{arn}-AbCdEf:username::"},
                {"name": "BY_NAME", "valueFrom": "team/db-url"},
            ],
            "portMappings": [{"containerPort": 8080, "name": "api"}],
        }
    ]
    return ProgramRun(
        stack="x",
        project="p",
        outputs={},
        config={"aws:region": "eu-west-1"},
        resources=[
            _resource(
                "aws:s3/bucket:Bucket", "logs", {"bucket": "team-logs-444455556666"}, {"arn": "arn:aws:s3:::team-logs"}
            ),
            _resource(
                "aws:secretsmanager/secret:Secret",
                "db",
                {"name": "team/db-url"},
                {"arn": f"{arn}-Zz9Zz9", "id": f"{arn}-Zz9Zz9"},
            ),
            _resource(
                "aws:secretsmanager/secretVersion:SecretVersion",
                "db-v",
                {"secretId": f"{arn}-Zz9Zz9", "secretString": '{"username": "u", "password": "p"}'},
            ),
            _resource(
                "aws:ecs/taskDefinition:TaskDefinition",
                "td",
                {"family": "api", "containerDefinitions": json.dumps(definition)},
                {"arn": "arn:aws:ecs:eu-west-1:444455556666:task-definition/api:7"},
            ),
            _resource(
                "aws:ecs/service:Service", "svc", {"name": "api-server", "taskDefinition": "api:7", "desiredCount": 2.0}
            ),
        ],
    )


def test_explicit_names_and_partial_arns_resolve_from_the_resources_themselves() -> None:
    plan = smoke_plan(_explicit_names_run())
    assert plan.buckets == ("team-logs-444455556666",)
    assert plan.account == "444455556666"
    assert plan.tasks[0].desired_count == 2
    refs = {r.variable: r.value_from for r in plan.containers[0].secrets}
    assert plan.secret_for(refs["DB"]) == (plan.secrets[0], None)
    assert plan.secret_for(refs["USER"]) == (plan.secrets[0], "username")
    assert plan.secret_for(refs["BY_NAME"]) == (plan.secrets[0], None)
    assert select_json_key('{"username": "u", "password": "p"}', "username", refs["USER"]) == "u"


def test_what_has_no_stand_in_is_refused_by_name() -> None:
    with pytest.raises(PlanError, match="SSM parameters"):
        DEV.secret_for("arn:aws:ssm:eu-west-1:111122223333:parameter/x")
    with pytest.raises(PlanError, match="names no Secrets Manager secret"):
        DEV.secret_for("arn:aws:secretsmanager:eu-west-1:111122223333:secret:other")
    with pytest.raises(PlanError, match="version stages"):
        split_value_from("arn:aws:secretsmanager:r:1:secret:n:key:AWSPREVIOUS:")
    rabbit = replace(
        DEV,
        tasks=tuple(
            replace(
                t,
                containers=tuple(
                    replace(c, environment={**c.environment, "AIRFLOW__CELERY__BROKER_URL": "amqps://x:5671//"})
                    for c in t.containers
                ),
            )
            for t in DEV.tasks
        ),
    )
    assert check_broker(DEV) == "moto (SQS)"
    with pytest.raises(PlanError, match=r"amqps:// .*SQS and Redis"):
        check_broker(rabbit)


# ----------------------------------------------------------------------------------------- differences

SITE = Site(
    moto_url="http://127.0.0.1:5999",
    region="eu-west-1",
    api_url="http://127.0.0.1:4000",
    aliases=tuple((a, "http://127.0.0.1:4000") for t in DEV.tasks for a in t.aliases),
    python_bin="/venv/bin",
    site_dir="/site",
)
PREFIXES = [IMAGE_AIRFLOW_HOME, *{m.container_path for c in DEV.containers for m in c.mounts}]


def place_of(c: Container, port: int | None = 4100) -> ContainerPlace:
    return ContainerPlace(
        root=f"/run/containers/{c.task}/{c.name}/root",
        task_address="127.9.9.9",
        listener_port=port if listener_of(c) else None,
        volumes={m.volume: f"/run/volumes/{m.volume}" for m in c.mounts},
        localhost_is_task=any(s.task == c.task for s in DEV.sidecars),
    )


def local_of(c: Container, secrets: dict[str, str] | None = None) -> dict[str, str]:
    return local_environment(c, secrets or {}, place_of(c), SITE, PREFIXES).environment


MASTER_URL = "postgresql://airstack_admin:m@127.0.0.1:6543/postgres?sslmode=require"


@pytest.mark.parametrize("key", [c.key for c in DEV.airflow_containers])
def test_a_container_gets_its_definition_and_only_listed_differences(key: str) -> None:
    c = next(x for x in DEV.containers if x.key == key)
    secrets = {ref.variable: f"value-of-{ref.variable}" for ref in c.secrets}
    master = MASTER_URL if DEV.master_login(c) else None
    local = local_environment(c, secrets, place_of(c), SITE, PREFIXES, master_url=master)
    changed = {change.variable for change in local.changes}
    rendered = {**c.environment, **secrets}
    assert {k: v for k, v in local.environment.items() if k not in changed} == {
        k: v for k, v in rendered.items() if k not in changed
    }
    assert set(local.environment) == set(rendered) | changed
    assert all(change.rendered == rendered.get(change.variable) for change in local.changes)
    listed = {d.key for d in DIFFERENCES}
    assert {change.difference for change in local.changes} <= listed
    # Every secret it gets is one of its own; only the migration step gets the master login.
    assert {k for k, v in local.environment.items() if v.startswith("value-of-")} == set(secrets)
    assert (local.environment.get(MASTER_URL_ENV) == MASTER_URL) == (c.key == "scheduler/db-migrate")
    assert (MASTER_URL_ENV in local.environment) == (c.key == "scheduler/db-migrate")


def test_paths_in_a_command_point_into_the_containers_own_root() -> None:
    migrate = container(DEV, "scheduler", "db-migrate")
    assert migrate.command == ("python", "/opt/airflow/config/airstack_db_init.py")
    local = local_environment(migrate, {}, place_of(migrate), SITE, PREFIXES)
    assert local.command == (
        "python",
        "/run/containers/scheduler/db-migrate/root/opt/airflow/config/airstack_db_init.py",
    )
    wait = container(DEV, "api-server", "wait-for-migrations")
    assert local_environment(wait, {}, place_of(wait), SITE, PREFIXES).command == wait.command


def test_service_connect_and_the_api_server_point_at_local_addresses() -> None:
    worker = local_of(container(DEV, "worker-ml"))
    assert worker["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:4000/execution/"
    assert worker["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] == "4100"
    assert worker["AIRFLOW__CORE__HOSTNAME_CALLABLE"] == "airstack_smoke_address.task_address"
    assert worker["AIRSTACK_SMOKE_TASK_ADDRESS"] == "127.9.9.9"
    assert worker["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5999"
    assert worker["AWS_REGION"] == "eu-west-1"
    api = local_of(container(DEV, "api-server", "api-server"))
    assert (api["AIRFLOW__API__HOST"], api["AIRFLOW__API__PORT"]) == ("127.0.0.1", "4100")
    assert api["AIRFLOW__API__BASE_URL"] == "http://127.0.0.1:4000/"
    assert "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT" not in api, "the api-server keeps asking workers on 8793"


def test_aliases_are_rewritten_only_as_whole_hosts() -> None:
    aliases = SITE.aliases
    assert rewrite_aliases("http://api-server:8080/execution/", aliases) == "http://127.0.0.1:4000/execution/"
    assert rewrite_aliases("http://api-server:9090/x", aliases) == "http://api-server:9090/x"
    assert rewrite_aliases("http://api-servers:8080/x", aliases) == "http://api-servers:8080/x"


def test_dag_paths_point_at_the_mounted_volume_or_the_containers_own_root() -> None:
    worker = container(DEV, "worker-ml")
    env = local_of(worker)
    volume = f"/run/volumes/{worker.mounts[0].volume}"
    bundles = json.loads(env["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"])
    assert bundles[0]["kwargs"]["path"] == f"{volume}/current"  # the release the deployment function switched to
    queues = json.loads(env["AIRSTACK_QUEUE_BY_DAG_DIRECTORY"])
    # Its own team's directory is its mount; the other's is where the cloud has nothing either.
    assert queues[volume] == "ml"
    assert queues["/run/containers/worker-ml/worker/root/opt/airflow/dags/analytics"] == "analytics"
    assert env["AIRFLOW_HOME"] == "/run/containers/worker-ml/worker/root/opt/airflow"
    processor = local_of(container(DEV, "dag-processor", "dag-processor"))
    assert set(json.loads(processor["AIRSTACK_QUEUE_BY_DAG_DIRECTORY"])) == {
        f"/run/volumes/{m.volume}" for m in container(DEV, "dag-processor", "dag-processor").mounts if m.read_only
    }


def test_the_printed_list_names_every_difference_with_this_runs_values() -> None:
    rows = describe({"moto": "http://127.0.0.1:5999", "python": "3.11"})
    assert [r[0] for r in rows] == [d.key for d in DIFFERENCES]
    text = json.dumps(rows)
    assert "http://127.0.0.1:5999" in text
    assert "3.11" in text
    assert "<postgres>" in text, "a value not known yet is shown as such, never dropped"


# ------------------------------------------------------------------------------------------ secrets


def test_database_urls_are_rebuilt_for_the_local_server_keeping_role_database_and_options() -> None:
    stand_ins = generate(DEV.secrets, "127.0.0.1", 6543)
    url = stand_ins.values["airstack/dev/internal/sql-alchemy-conn"]
    result = stand_ins.values["airstack/dev/internal/celery-result-backend"]
    airflow, celery = stand_ins.passwords["airflow"], stand_ins.passwords["celery"]
    assert url == f"postgresql+psycopg2://airflow:{airflow}@127.0.0.1:6543/airflow?sslmode=require"
    assert result == f"db+postgresql+psycopg2://celery:{celery}@127.0.0.1:6543/celery?sslmode=require"
    assert airflow != celery
    planned_values = {s.name: s.value for s in DEV.secrets}
    for name, value in stand_ins.values.items():
        assert value != planned_values[name]
    assert is_fernet_key(stand_ins.values["airstack/dev/internal/fernet-key"])
    assert len(base64.urlsafe_b64decode(stand_ins.values["airstack/dev/internal/fernet-key"])) == 32
    assert len(stand_ins.values["airstack/dev/internal/jwt-signing-key"]) == 64


def test_other_secrets_keep_their_shape() -> None:
    made = like("ab-_.9Z")
    assert len(made) >= 16
    assert set(made) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
    assert mask({"x": "s3cr3t-value"}, "url with s3cr3t-value inside") == "url with *** inside"


# ------------------------------------------------------------------------------------- ports, addresses


def test_each_task_gets_its_own_loopback_address_where_its_ports_are_free() -> None:
    def bind(address: str, port: int) -> socket.socket:
        if address == "127.1.1.2":
            raise OSError("in use")
        return socket.socket()

    def bind_udp(address: str, port: int) -> socket.socket:
        if address == "127.1.1.4":
            raise OSError("in use")
        return socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    draws = _Sequence(iter(["127.1.1.2", "127.1.1.3", "127.1.1.3", "127.1.1.4", "127.1.1.5"]))
    addresses, sockets = allocate_addresses(
        ["a", "b"],
        {"a": [8793], "b": [8793, 8794]},
        bind=bind,
        rng=draws,  # type: ignore[arg-type]
        datagram_ports={"b": [8125]},
        bind_udp=bind_udp,
    )
    assert addresses == {"a": "127.1.1.3", "b": "127.1.1.5"}
    assert set(sockets) == {
        ("127.1.1.3", 8793, "tcp"),
        ("127.1.1.5", 8793, "tcp"),
        ("127.1.1.5", 8794, "tcp"),
        ("127.1.1.5", 8125, "udp"),
    }
    for sock in sockets.values():
        sock.close()

    def refuse(address: str, port: int) -> socket.socket:
        raise OSError("in use")

    with pytest.raises(OSError, match="no loopback address where a could listen"):
        allocate_addresses(["a"], {"a": [1]}, bind=refuse)


class _Sequence:
    """A random source that draws the given addresses in order."""

    def __init__(self, addresses: object) -> None:
        self.addresses = addresses
        self.parts: list[int] = []

    def randint(self, low: int, high: int) -> int:
        if not self.parts:
            self.parts = [int(p) for p in next(self.addresses).split(".")[1:]]  # type: ignore[call-overload]
        return self.parts.pop(0)


def test_a_forwarder_stands_in_for_a_tasks_address() -> None:
    server = listen("127.0.0.1", 0)
    port = server.getsockname()[1]

    def echo() -> None:
        conn, _ = server.accept()
        with conn:
            conn.sendall(b"served:" + conn.recv(100))

    threading.Thread(target=echo, daemon=True).start()
    address, rendered = "127.77.0.2", free_port("127.77.0.2")
    forwarder = Forwarder(listen(address, rendered), ("127.0.0.1", port))
    forwarder.start()
    try:
        with socket.create_connection((address, rendered), timeout=5) as client:
            client.sendall(b"log please")
            client.shutdown(socket.SHUT_WR)
            assert client.recv(100) == b"served:log please"
    finally:
        forwarder.close()
        server.close()


# ---------------------------------------------------------------------------------------------- cleanup

DETACHING = textwrap.dedent(
    """
    import os, subprocess, sys, time
    # A grandchild in a session of its own, as a BashOperator's shell or a daemonising process makes.
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
    print("started", flush=True)
    time.sleep(600)
    """
)


def test_stopping_ends_every_descendant_even_one_in_its_own_session(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path / "logs")
    assert become_subreaper()
    try:
        process = supervisor.start("tree", [sys.executable, "-c", DETACHING], {"PATH": os.environ["PATH"]}, tmp_path)
        deadline = time.monotonic() + 20
        while "started" not in (tmp_path / "logs" / "tree.log").read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        before = descendants(os.getpid())
        assert len([p for p in before if p != process.pid]) >= 1
        supervisor.stop_all()
        assert process.returncode is not None
        assert not [p for p in before if Path(f"/proc/{p}").exists() and _state(p) != "Z"]
    finally:
        become_subreaper(False)


def _state(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "gone"
    return raw[raw.rindex(")") + 2 :].split()[0]


def test_warm_shutdown_signals_only_the_main_process_as_dumb_init_does_with_setsid_0(tmp_path: Path) -> None:
    script = "import signal, time\nsignal.signal(signal.SIGTERM, lambda *a: print('term', flush=True) or exit(0))\nprint('up', flush=True)\ntime.sleep(60)\n"
    supervisor = Supervisor(tmp_path)
    process = supervisor.start(
        "warm", [sys.executable, "-c", script], {}, tmp_path, signal_group=False, stop_timeout=10
    )
    while "up" not in (tmp_path / "warm.log").read_text():
        time.sleep(0.05)
    supervisor.stop([process])
    assert process.returncode == 0
    assert "term" in (tmp_path / "warm.log").read_text()


def test_sigterm_ends_the_smoke_like_ctrl_c() -> None:
    def terminated() -> None:
        with interrupts_as_exceptions():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)

    with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
        terminated()


# ---------------------------------------------------------------------------------- DAGs, image, entrypoint


def test_teams_are_the_workers_with_their_queues_and_mounted_directories() -> None:
    found = {t.name: t for t in teams(DEV.containers)}
    assert set(found) == {"analytics", "ml"}
    assert found["ml"].queues == ("ml",)
    assert found["ml"].directories == ("/opt/airflow/dags/ml",)
    assert worker_queues(container(DEV, "scheduler", "scheduler")) is None


def test_each_team_gets_its_dags_and_the_smoke_dag_asking_for_another_teams_queue(tmp_path: Path) -> None:
    all_teams = teams(DEV.containers)
    volumes = {v: tmp_path / v for t in all_teams for v in t.volumes}
    project = tmp_path / "project"
    (project / "dags" / "ml").mkdir(parents=True)
    (project / "dags" / "ml" / "train.py").write_text("# ml's example DAG\n")
    staged = stage(all_teams, tmp_path / "staged", project_root=project)
    assert dag_sync(DEV.functions, all_teams, volumes, project_root=project) is None, "no function: copy"
    copy(all_teams, staged, volumes)
    ml, analytics = (next(t for t in all_teams if t.name == n) for n in ("ml", "analytics"))
    ml_dir, analytics_dir = volumes[ml.volumes[0]], volumes[analytics.volumes[0]]
    assert sorted(p.name for p in ml_dir.iterdir()) == ["airstack_smoke.py", "train.py"]
    assert sorted(p.name for p in analytics_dir.iterdir()) == ["airstack_smoke.py"]
    dag = (ml_dir / "airstack_smoke.py").read_text()
    assert 'TEAM = "ml"' in dag
    assert 'OTHER_QUEUE = "analytics"' in dag
    compile(dag, "airstack_smoke.py", "exec")


FAKE_DAG_SYNC = """
import io, json, os, zipfile
from pathlib import Path

import boto3


def handler(event, context):
    teams = json.loads(os.environ["AIRSTACK_DAG_TEAMS"])
    results = []
    for record in event["Records"]:
        bucket, key = record["s3"]["bucket"]["name"], record["s3"]["object"]["key"]
        assert bucket == os.environ["AIRSTACK_ARTIFACTS_BUCKET"]
        _, team, release = key.split("/")
        body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        target = Path(os.environ["AIRSTACK_DAGS_ROOT"]) / teams[team] / "current"
        zipfile.ZipFile(io.BytesIO(body)).extractall(target)
        results.append({"status": "deployed", "team": team, "release": release.removesuffix(".zip")})
    return {"results": results}
"""


def test_with_a_deployment_function_each_team_is_released_through_its_handler(tmp_path: Path) -> None:
    """The function gets an S3 event per release zip, its environment, and the local EFS root (boto3 to moto)."""
    import boto3
    from moto.server import ThreadedMotoServer

    project = tmp_path / "project"
    (project / "lambdas" / "dag_sync").mkdir(parents=True)
    (project / "lambdas" / "dag_sync" / "__init__.py").write_text("")
    (project / "lambdas" / "dag_sync" / "handler.py").write_text(FAKE_DAG_SYNC)
    all_teams = teams(DEV.containers)
    volumes = {v: tmp_path / "volumes" / v for t in all_teams for v in t.volumes}
    function = dag_sync(DEV.functions, all_teams, volumes, project_root=project)
    assert function is not None
    assert function.dags_root == tmp_path / "volumes" / "efs" / "fs-e1d1a23c2f8b64ec2" / "dags"
    assert function.from_plan, "the smoke runs the function the stack deploys, with its settings"
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        url = f"http://127.0.0.1:{server._server.server_port}"
        s3 = boto3.client(
            "s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
        )
        s3.create_bucket(Bucket=function.bucket)
        staged = stage(all_teams, tmp_path / "staged", project_root=project)
        how = deploy_through(function, staged, s3, url, "us-east-1", tmp_path)
    finally:
        server.stop()
    assert set(how) == {"analytics", "ml"}
    for team in all_teams:
        assert (volumes[team.volumes[0]] / "current" / "airstack_smoke.py").is_file()
    with zipfile.ZipFile(io.BytesIO(release_zip(staged["ml"]))) as archive:
        assert archive.namelist() == ["airstack_smoke.py"]
        assert archive.getinfo("airstack_smoke.py").external_attr >> 16 == 0o100644


def test_an_event_is_what_s3_sends_for_one_new_object() -> None:
    event = s3_event("artifacts", "dags/ml/20260101T000000Z-smoke.zip", 10, "eu-west-1")
    record = event["Records"][0]
    assert (record["eventSource"], record["eventName"]) == ("aws:s3", "ObjectCreated:Put")
    assert record["s3"]["object"] == {"key": "dags/ml/20260101T000000Z-smoke.zip", "size": 10}


def test_the_image_files_land_where_the_dockerfile_copies_them(tmp_path: Path) -> None:
    files = image_files(PROJECT_ROOT / "image" / "Dockerfile")
    assert ("/opt/airflow/config/airflow_local_settings.py") in [target for _, target in files]
    prepare_root(tmp_path, files)
    assert (tmp_path / "opt/airflow/config/airstack_celery_config.py").read_text() == (
        PROJECT_ROOT / "image" / "airstack_celery_config.py"
    ).read_text()


def test_the_entrypoint_skips_the_broker_check_where_the_image_does() -> None:
    assert broker_endpoint("sqs://") == ("sqs", "localhost", None)
    assert broker_endpoint("rediss://:t@cache.example:6380/0") == ("rediss", "cache.example", 6380)
    assert broker_endpoint("redis://cache") == ("redis", "cache", 6379)


STUB_AIRFLOW = """#!/bin/sh
echo "airflow $*" >> "$STUB_CALLS"
exit "${STUB_EXIT:-0}"
"""


def entrypoint(tmp_path: Path, *command: str, **environment: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """The entrypoint run in isolation (no airstack on its path) with an `airflow` stub recording its calls."""
    stub = tmp_path / "bin" / "airflow"
    stub.parent.mkdir(exist_ok=True)
    stub.write_text(STUB_AIRFLOW)
    stub.chmod(0o755)
    calls = tmp_path / "calls"
    calls.write_text("")
    done = subprocess.run(
        [sys.executable, "-I", str(PROJECT_ROOT / "airstack" / "smoke" / "entrypoint.py"), *command],
        env={"PATH": f"{stub.parent}:{Path(sys.executable).parent}:/usr/bin:/bin", "STUB_CALLS": str(calls),
             "CONNECTION_CHECK_SLEEP_TIME": "0", **environment},
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )  # fmt: skip
    return done, calls.read_text().splitlines()


def test_python_and_bash_commands_run_as_the_image_runs_them_without_a_database_check_when_told(
    tmp_path: Path,
) -> None:
    """CONNECTION_CHECK_MAX_COUNT=0 (the migration step, wait-for-migrations): straight to `python`/`bash`."""
    done, calls = entrypoint(tmp_path, "python", "-c", "import sys; print('ran', sys.argv[1:])", "x",
                             CONNECTION_CHECK_MAX_COUNT="0")  # fmt: skip
    assert (done.returncode, done.stdout.strip(), calls) == (0, "ran ['x']", []), done.stderr
    done, calls = entrypoint(tmp_path, "bash", "-c", "echo from-bash; exit 3", CONNECTION_CHECK_MAX_COUNT="0")
    assert (done.returncode, done.stdout.strip(), calls) == (3, "from-bash", [])


def test_without_the_setting_the_database_is_checked_first_even_for_python_and_bash(tmp_path: Path) -> None:
    """The image checks the database before `python`/`bash` too; an empty setting means its default (20)."""
    for setting in ({}, {"CONNECTION_CHECK_MAX_COUNT": ""}, {"CONNECTION_CHECK_MAX_COUNT": "2"}):
        done, calls = entrypoint(tmp_path, "bash", "-c", "echo ok", **setting)
        assert (done.returncode, done.stdout.strip(), calls) == (0, "ok", ["airflow db check"]), done.stderr
    done, calls = entrypoint(tmp_path, "airflow", "version")
    assert calls == ["airflow db check", "airflow version"]


def test_a_failing_database_check_is_retried_as_often_as_set_then_stops_the_container(tmp_path: Path) -> None:
    done, calls = entrypoint(tmp_path, "python", "-c", "print('never')", CONNECTION_CHECK_MAX_COUNT="3", STUB_EXIT="1")
    assert done.returncode == 1
    assert calls == ["airflow db check"] * 3
    assert "Maximum number of retries (3) reached" in done.stdout
    assert "never" not in done.stdout


def test_a_task_counts_as_executed_by_the_worker_whose_output_shows_that_exact_instance() -> None:
    from airstack.smoke.checks import _executed

    line = (
        "[info] [e46c] Executing workload in Celery: token='eyJ***' ti=TaskInstance(id=UUID('01a2'), "
        "task_id='hello', dag_id='airstack_smoke_ml', run_id='manual__2026-11-27T03:17:50+00:00', try_number=1)"
    )
    assert _executed(line, "airstack_smoke_ml", "manual__2026-11-27T03:17:50+00:00", "hello")
    assert not _executed(line, "airstack_smoke_ml", "manual__2026-11-27T03:17:51+00:00", "hello")
    assert not _executed(line, "airstack_smoke_analytics", "manual__2026-11-27T03:17:50+00:00", "hello")
    assert not _executed(
        line.replace("Executing workload", "Received"),
        "airstack_smoke_ml",
        "manual__2026-11-27T03:17:50+00:00",
        "hello",
    )


def test_a_failed_tasks_reason_is_the_last_error_its_log_shows() -> None:
    from airstack.smoke.checks import last_error

    log = "\n".join(
        json.dumps(line)
        for line in (
            {"event": "Filling up the DagBag", "level": "info"},
            {"event": "Variable not found", "level": "error", "detail": {"reason": "not_found"}},
            {
                "event": "Task failed with exception",
                "level": "error",
                "error_detail": [{"exc_type": "KeyError", "exc_value": "'data_bucket'", "frames": []}],
            },
            {"event": "Task instance is in failed state", "level": "info"},
        )
    )
    assert last_error(log) == (
        'Variable not found ({"reason": "not_found"}) -> Task failed with exception (KeyError: \'data_bucket\')'
    )
    rendered = json.dumps({"event": "Task failed", "level": "error", "exception": "Traceback ...\nKeyError: 'x'"})
    assert last_error(rendered) == "Task failed (KeyError: 'x')"
    assert last_error("plain\nValueError: bad\nmore") == "ValueError: bad"
    assert last_error('{"event": "fine", "level": "info"}') == ""


# ------------------------------------------------------------------------------- isolation, migration step


def test_database_logins_are_read_from_the_urls_a_container_holds() -> None:
    env = {
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+postgresql+psycopg2://celery:p%40w@127.0.0.1:5/celery?sslmode=require",
        "AIRFLOW__CELERY__BROKER_URL": "sqs://",
        "AIRFLOW__API__SECRET_KEY": "not-a-url",
    }
    assert [(x.variable, x.role, x.password, x.database) for x in logins(env)] == [
        ("AIRFLOW__CELERY__RESULT_BACKEND", "celery", "p@w", "celery")
    ]
    assert database_login("X", "redis://:token@cache:6379/0") is None


def test_a_worker_holding_another_roles_secret_fails_the_check_even_when_its_tasks_succeed() -> None:
    others = {"airstack/dev/internal/fernet-key": "a" * 44, "the airflow role's password": "airflow-password"}
    clean = holds_only_its_secrets("w", ["AIRFLOW__API__SECRET_KEY"], {"AIRFLOW__API__SECRET_KEY": "k"}, others, 4, 0)
    assert clean.ok
    assert clean.detail == "secrets: AIRFLOW__API__SECRET_KEY; 4 task(s) succeeded on it"
    leaked = holds_only_its_secrets("w", [], {"X": "postgresql://airflow:airflow-password@h/airflow"}, others, 4, 0)
    assert not leaked.ok
    assert "ALSO holds: the airflow role's password" in leaked.detail
    assert not holds_only_its_secrets("w", [], {}, others, 0, 2).ok, "no task succeeded on it: nothing shown"
    assert not holds_only_its_secrets("w", [], None, others, 4, 0).ok


def test_a_process_environment_is_read_as_it_was_started() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(30)"],
        env={"AIRSTACK_PROBE": "a=b", "PATH": os.environ["PATH"]},
        stdout=subprocess.PIPE,
    )
    try:
        # Running, not still in execve (whose new environment /proc shows only once the new image is set up).
        assert process.stdout is not None
        assert process.stdout.readline() == b"up\n"
        assert process_environment(process.pid) == {"AIRSTACK_PROBE": "a=b", "PATH": os.environ["PATH"]}
    finally:
        process.kill()
        process.wait()
    assert process_environment(process.pid) is None


def test_the_admin_is_the_one_the_migration_step_keeps() -> None:
    assert admin_login([{}, {"AIRSTACK_ADMIN_PASSWORD": "pw"}]) == ("admin", "pw")
    assert admin_login([{"AIRSTACK_ADMIN_USERNAME": "ops", "AIRSTACK_ADMIN_PASSWORD": "pw"}]) == ("ops", "pw")
    with pytest.raises(PlanError, match="no AIRSTACK_ADMIN_PASSWORD"):
        admin_login([{"AIRSTACK_ADMIN_USERNAME": "ops"}])


def test_the_images_python_is_looked_for_where_ci_looks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for version in ("3.12.1", "3.12.10", "3.12.9", "3.13.0"):
        (tmp_path / "versions" / version / "bin").mkdir(parents=True)
        (tmp_path / "versions" / version / "bin" / f"python{version[:4]}").touch()
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    monkeypatch.setenv("PATH", "/nonexistent")
    assert python_candidates("3.12") == [
        str(tmp_path / "versions/3.12.10/bin/python3.12"),
        str(tmp_path / "versions/3.12.9/bin/python3.12"),
        str(tmp_path / "versions/3.12.1/bin/python3.12"),
        "/usr/local/bin/python3.12",
        "/usr/bin/python3.12",
    ]


def test_a_changed_pin_in_an_included_lock_builds_a_new_venv(tmp_path: Path) -> None:
    """The test Airflow's requirements include the image's lock: a pin added there (datadog) must not reuse a venv
    built without it."""
    (tmp_path / "image").mkdir()
    lock = tmp_path / "image" / "requirements.lock"
    lock.write_text("apache-airflow==3.1.0\n")
    requirements = tmp_path / "tests" / "requirements.txt"
    requirements.parent.mkdir()
    requirements.write_text("# the image's lock and nothing else\n-r ../image/requirements.lock\n")
    assert pin_files(requirements) == [requirements.resolve(), lock.resolve()]
    before = pins_digest(requirements, "3.12")
    lock.write_text("apache-airflow==3.1.0\ndatadog==0.56.0\n")
    assert pins_digest(requirements, "3.12") != before
    assert pins_digest(requirements, "3.11") != pins_digest(requirements, "3.12")
