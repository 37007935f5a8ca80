"""A team's workers reach only their team: the plan's IAM documents, evaluated (not string-matched).

For every pair of prod's teams: team A's worker role may use its own queue, DAGs, data prefix, log prefix and
secrets, and none of team B's; its execution role injects exactly the worker's secrets; the core services read
every team's connections; nothing reaches the metadata database's credentials through a worker.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from airstack.offline import ProgramRun, Resource
from airstack.stackfile import read_stack_file
from components import naming
from tests.conftest import of_type, planned
from tests.iam_eval import Request, allowed

STACK = "prod"
CONFIG = read_stack_file(STACK).load()
TEAMS = [t.name for t in CONFIG.teams]
REGION, ACCOUNT = CONFIG.aws_region, "111122223333"


def _role(run: ProgramRun, logical: str) -> Resource:
    return next(r for r in of_type(run, "aws:iam/role:Role") if r.name == logical)


def _policies(run: ProgramRun, role: Resource) -> list[str]:
    return [p.inputs["policy"] for p in of_type(run, "aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == role.id]


def _bucket(purpose: str) -> str:
    return naming.bucket_arn(REGION, naming.bucket_name(STACK, purpose, ACCOUNT, REGION))


def _secret(name: str) -> str:
    return naming.secret_partial_arn(REGION, ACCOUNT, name) + "-AbCdEf"


def _queue(team: str) -> str:
    return naming.queue_arn(REGION, ACCOUNT, naming.queue_name(STACK, team))


def _worker(run: ProgramRun, team: str, kind: str = "task") -> list[str]:
    return _policies(run, _role(run, f"iam-worker-{team}-{kind}"))


def _access_point(run: ProgramRun, team: str) -> str:
    return next(
        p.outputs["arn"]
        for p in of_type(run, "aws:efs/accessPoint:AccessPoint")
        if p.inputs["tags"].get("airstack:team") == team
    )


def _team_requests(team: str) -> dict[str, Request]:
    prefix = naming.secrets_prefix(STACK)
    return {
        "receives from its queue": Request("sqs:ReceiveMessage", _queue(team)),
        "writes its task logs": Request("s3:PutObject", f"{_bucket('logs')}/task-logs/{team}/dag_id=x/attempt=1.log"),
        "reads its data": Request("s3:GetObject", f"{_bucket('data')}/teams/{team}/input.csv"),
        "writes its data": Request("s3:PutObject", f"{_bucket('data')}/teams/{team}/output.csv"),
        "lists its data": Request("s3:ListBucket", _bucket("data"), {"s3:prefix": f"teams/{team}/"}),
        "reads its connections": Request("secretsmanager:GetSecretValue", _secret(f"{prefix}/teams/{team}/connections/db")),
        "reads its variables": Request("secretsmanager:GetSecretValue", _secret(f"{prefix}/teams/{team}/variables/v")),
    }  # fmt: skip


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return planned(STACK)


@pytest.mark.parametrize(("a", "b"), list(itertools.permutations(TEAMS, 2)))
def test_a_workers_role_reaches_its_own_team_and_none_of_anothers(run: ProgramRun, a: str, b: str) -> None:
    identity = _worker(run, a)
    for what, request in _team_requests(a).items():
        assert allowed(request, identity), f"{a}'s worker {what}"
    for what, request in _team_requests(b).items():
        assert not allowed(request, identity), f"{a}'s worker must not do what {b}'s does: {what}"


@pytest.mark.parametrize(("a", "b"), list(itertools.permutations(TEAMS, 2)))
def test_a_worker_mounts_only_its_teams_dags_and_never_writes_them(run: ProgramRun, a: str, b: str) -> None:
    [policy] = of_type(run, "aws:efs/fileSystemPolicy:FileSystemPolicy")
    [fs] = of_type(run, "aws:efs/fileSystem:FileSystem")
    role = _role(run, f"iam-worker-{a}-task").outputs["arn"]

    def mount(action: str, team: str) -> bool:
        context = {"elasticfilesystem:AccessPointArn": _access_point(run, team), "aws:SecureTransport": "true"}
        request = Request(action, fs.outputs["arn"], context)
        return allowed(request, _worker(run, a), policy.inputs["policy"], principal=role)

    assert mount("elasticfilesystem:ClientMount", a)
    assert not mount("elasticfilesystem:ClientMount", b)
    assert not mount("elasticfilesystem:ClientWrite", a)


def test_the_dag_processor_mounts_every_team_and_the_deployment_function_alone_writes(run: ProgramRun) -> None:
    [policy] = of_type(run, "aws:efs/fileSystemPolicy:FileSystemPolicy")
    [fs] = of_type(run, "aws:efs/fileSystem:FileSystem")
    processor = _role(run, "iam-dag-processor-task").outputs["arn"]
    writer = _role(run, "iam-dag-sync").outputs["arn"]
    [releases] = [
        p for p in of_type(run, "aws:efs/accessPoint:AccessPoint") if p.inputs["rootDirectory"]["path"] == "/dags"
    ]

    def may(principal: str, action: str, point: str) -> bool:
        request = Request(action, fs.outputs["arn"], {"elasticfilesystem:AccessPointArn": point})
        return allowed(request, [], policy.inputs["policy"], principal=principal)

    assert all(may(processor, "elasticfilesystem:ClientMount", _access_point(run, t)) for t in TEAMS)
    assert not may(processor, "elasticfilesystem:ClientWrite", _access_point(run, TEAMS[0]))
    assert may(writer, "elasticfilesystem:ClientWrite", releases.outputs["arn"])
    assert not may(writer, "elasticfilesystem:ClientWrite", _access_point(run, TEAMS[0]))


@pytest.mark.parametrize("team", TEAMS)
def test_a_workers_execution_role_injects_only_the_workers_two_secrets(run: ProgramRun, team: str) -> None:
    identity = _worker(run, team, "execution")

    def injects(key: str) -> bool:
        return allowed(
            Request("secretsmanager:GetSecretValue", _secret(naming.internal_secret_name(STACK, key))), identity
        )

    assert injects("celery-result-backend")
    assert injects("api-secret-key")
    for other in ("sql-alchemy-conn", "fernet-key", "jwt-signing-key", "admin-password"):
        assert not injects(other), f"a worker never gets {other}"


@pytest.mark.parametrize("role", ["api-server", "scheduler", "dag-processor", "triggerer"])
def test_the_core_services_read_every_teams_connections_but_no_queue_of_theirs(run: ProgramRun, role: str) -> None:
    identity = _policies(run, _role(run, f"iam-{role}-task"))
    prefix = naming.secrets_prefix(STACK)
    for team in TEAMS:
        request = Request("secretsmanager:GetSecretValue", _secret(f"{prefix}/teams/{team}/connections/db"))
        assert allowed(request, identity)
        assert not allowed(Request("sqs:ReceiveMessage", _queue(team)), identity)


def test_only_the_schedulers_task_may_read_the_database_master_login(run: ProgramRun) -> None:
    master = Request(
        "secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!db-1234-abcd"
    )
    roles: dict[str, Any] = {r.name: _policies(run, r) for r in of_type(run, "aws:iam/role:Role")}
    may = sorted(name for name, documents in roles.items() if allowed(master, documents))
    assert may == ["iam-scheduler-task"], "the migration step, which runs in the scheduler's task"
    assert json.loads(roles["iam-scheduler-task"][0])  # a real document, not a placeholder


def test_the_evaluator_catches_a_grant_too_broad_for_isolation() -> None:
    """The checks above can fail: one wildcard in a worker's policy gives it every team's data."""
    broad = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": f"{_bucket('data')}/*"}],
    }
    assert allowed(_team_requests("ml")["reads its data"], [broad])
    deny = {"Statement": [{"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"}]}
    assert not allowed(_team_requests("ml")["reads its data"], [broad, deny]), "an explicit deny wins"
