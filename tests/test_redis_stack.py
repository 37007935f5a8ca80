"""The real program for a stack on a Redis broker, under mocks: what it creates, with which inputs, and how Airflow
is wired to it. The SQS stacks' broker is asserted in ``test_stacks``; their resources are unchanged."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
import yaml

from airstack.offline import ProgramRun, Resource, run_program
from airstack.stackfile import read_stack_file
from components.airflow_metrics import AGENT_CONTAINER
from components.broker_settings import BROKER_URL_ENV
from tests.conftest import containers, env_of, stack_file_with, stack_values
from tests.test_redis_config import REDIS_STACK, redis_values

GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
VISIBILITY = "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT"


@cache
def redis_run(stack: str, preview: bool = False) -> ProgramRun:
    """``dev``: the fixture stack file; ``prod``: the real prod stack on a Redis broker."""
    if stack == "dev":
        return run_program(read_stack_file(str(REDIS_STACK)), preview=preview)
    return run_program(stack_file_with(stack, redis_values(stack)), preview=preview)


def named(run: ProgramRun, typ: str, name: str) -> Resource:
    [resource] = [r for r in run.by_type(typ) if r.name == name]
    return resource


def broker_children(run: ProgramRun) -> list[Resource]:
    [broker] = run.by_type("airstack:broker:Broker")
    return [r for r in run.resources if r.parent == broker.urn]


def test_the_broker_tier_holds_the_replication_group_and_no_sqs_queue() -> None:
    run = redis_run("dev")
    assert sorted(f"{r.type.split(':')[-1]} {r.name}" for r in broker_children(run)) == [
        "Key broker-key",
        "LogGroup broker-engine-log",
        "LogGroup broker-slow-log",
        "MetricAlarm broker-001-databasememoryusagepercentage",
        "MetricAlarm broker-001-enginecpuutilization",
        "ParameterGroup broker-parameters",
        "RandomPassword broker-auth-token",
        "ReplicationGroup broker-redis",
        "Secret broker-token-secret",
        "Secret broker-url-secret",
        "SecretVersion broker-token-secret-value",
        "SecretVersion broker-url-secret-value",
        "SecurityGroup broker-redis-clients",
        "SecurityGroup broker-redis-nodes",
        "SecurityGroupEgressRule broker-redis-clients-to-nodes-6379",
        "SecurityGroupIngressRule broker-redis-from-clients-6379",
        "SubnetGroup broker-subnets",
    ]
    queues = [q.inputs["name"] for q in run.by_type("aws:sqs/queue:Queue")]
    assert queues == ["airstack-redis-dag-sync-failures"], "the DAG deployment's failure queue only"
    assert run.outputs["queueUrls"] == {}
    assert run.outputs["brokerEndpoint"].startswith("master.airstack-redis-broker.")


def test_the_replication_group_is_encrypted_authenticated_and_never_evicts() -> None:
    run = redis_run("dev")
    group = named(run, GROUP, "broker-redis")
    key = named(run, "aws:kms/key:Key", "broker-key")
    nodes = named(run, "aws:ec2/securityGroup:SecurityGroup", "broker-redis-nodes")
    token = named(run, "random:index/randomPassword:RandomPassword", "broker-auth-token")
    logs = {g.name: g.inputs["name"] for g in run.by_type("aws:cloudwatch/logGroup:LogGroup")}
    inputs = dict(group.inputs)
    tags = inputs.pop("tags")
    assert inputs == {
        "replicationGroupId": "airstack-redis-broker",
        "description": "airstack redis: the Celery broker",
        "engine": "valkey",
        "engineVersion": "8.1",
        "nodeType": "cache.t4g.micro",
        "numCacheClusters": 1,
        "clusterMode": "disabled",
        "automaticFailoverEnabled": False,
        "multiAzEnabled": False,
        "port": 6379,
        "parameterGroupName": "airstack-redis-broker-valkey8",
        "subnetGroupName": "airstack-redis-broker",
        "securityGroupIds": [nodes.outputs["id"]],
        "transitEncryptionEnabled": True,
        "authToken": token.outputs["result"],
        "atRestEncryptionEnabled": True,
        "kmsKeyId": key.outputs["arn"],
        "snapshotRetentionLimit": 0,
        "autoMinorVersionUpgrade": True,
        "maintenanceWindow": "sun:03:00-sun:04:00",
        "logDeliveryConfigurations": [
            {"destination": logs[f"broker-{kind}"], "destinationType": "cloudwatch-logs", "logFormat": "json",
             "logType": kind}
            for kind in ("slow-log", "engine-log")
        ],
    }  # fmt: skip
    assert tags["airstack:role"] == "celery-broker"
    assert group.delete_before_replace, "a fixed ID: the old group goes before its replacement comes"
    assert "authToken" in group.secret_inputs
    assert len(token.outputs["result"]) == 64
    assert token.outputs["result"].isalnum()
    parameters = named(run, "aws:elasticache/parameterGroup:ParameterGroup", "broker-parameters")
    assert parameters.inputs["family"] == "valkey8"
    assert parameters.inputs["parameters"] == [{"name": "maxmemory-policy", "value": "noeviction"}]
    subnets = named(run, "aws:elasticache/subnetGroup:SubnetGroup", "broker-subnets")
    [vpc] = run.by_type("awsx:ec2:Vpc")
    assert subnets.inputs["subnetIds"] == vpc.outputs["privateSubnetIds"]
    assert {logs["broker-slow-log"], logs["broker-engine-log"]} == {
        "/airstack/redis/broker-slow-log", "/airstack/redis/broker-engine-log",
    }  # fmt: skip


def test_the_broker_url_secret_is_tls_verified_with_the_auth_token() -> None:
    run = redis_run("dev")
    group = named(run, GROUP, "broker-redis")
    token = named(run, "random:index/randomPassword:RandomPassword", "broker-auth-token").outputs["result"]
    url = named(run, "aws:secretsmanager/secretVersion:SecretVersion", "broker-url-secret-value")
    secret = named(run, "aws:secretsmanager/secret:Secret", "broker-url-secret")
    assert secret.inputs["name"] == "airstack/redis/internal/celery-broker-url"
    assert url.inputs["secretId"] == secret.outputs["id"]
    assert "secretString" in url.secret_inputs
    host = group.outputs["primaryEndpointAddress"]
    assert url.inputs["secretString"] == f"rediss://:{token}@{host}:6379/0?ssl_cert_reqs=required"
    stored = named(run, "aws:secretsmanager/secretVersion:SecretVersion", "broker-token-secret-value")
    assert stored.inputs["secretString"] == token


def test_only_the_scheduler_and_workers_reach_the_broker_and_only_on_its_port() -> None:
    run = redis_run("dev")
    sgs = {g.name: g.outputs["id"] for g in run.by_type("aws:ec2/securityGroup:SecurityGroup")}
    [ingress] = [
        r.inputs for r in run.by_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.inputs["securityGroupId"] == sgs["broker-redis-nodes"]
    ]  # fmt: skip
    assert (ingress["referencedSecurityGroupId"], ingress["fromPort"], ingress["toPort"], ingress["ipProtocol"]) == (
        sgs["broker-redis-clients"], 6379, 6379, "tcp",
    )  # fmt: skip
    egress = [
        r.inputs for r in run.by_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
        if r.inputs["securityGroupId"] in (sgs["broker-redis-nodes"], sgs["broker-redis-clients"])
    ]  # fmt: skip
    assert [(e["securityGroupId"], e["referencedSecurityGroupId"], e["fromPort"]) for e in egress] == [
        (sgs["broker-redis-clients"], sgs["broker-redis-nodes"], 6379)
    ], "the nodes initiate nothing; the clients only reach the nodes"
    clients = {
        s.inputs["name"] for s in run.by_type("aws:ecs/service:Service")
        if sgs["broker-redis-clients"] in s.inputs["networkConfiguration"]["securityGroups"]
    }  # fmt: skip
    assert clients == {"scheduler", "worker-analytics", "worker-ml"}


def test_celery_gets_the_url_as_a_secret_and_the_stacks_longest_visibility() -> None:
    run = redis_run("dev")
    secret_arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:airstack/redis/internal/celery-broker-url"
    seen = set()
    for definition in run.by_type(TASK_DEFINITION):
        for container in containers(definition):
            if container["name"] == AGENT_CONTAINER:
                continue  # the CloudWatch agent beside Airflow: no Celery in it
            env = env_of(container)
            secrets = {s["name"]: s["valueFrom"] for s in container["secrets"]}
            assert BROKER_URL_ENV not in env
            assert not {"AIRSTACK_CELERY_PREDEFINED_QUEUES", "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__REGION"} & set(
                env
            ), "SQS settings are not rendered for Redis"
            # 20 h + 25 %: every process, whatever its team (any worker puts back any team's unacked message).
            assert env[VISIBILITY] == "90000"
            assert env["AIRSTACK_CELERY_BROKER"] == "redis"
            if BROKER_URL_ENV in secrets:
                seen.add(container["name"])
                assert secrets[BROKER_URL_ENV] == secret_arn
    assert seen == {"scheduler", "worker"}
    ml = next(d for d in run.by_type(TASK_DEFINITION) if d.inputs["family"] == "airstack-redis-worker-ml")
    assert env_of(containers(ml)[0])["AIRSTACK_TASK_PROTECTION_MINUTES"] == "151", "its own 2 h + 25 %, + 1 min"


def test_execution_roles_read_the_url_where_ecs_injects_it_and_workers_get_no_queue_rights() -> None:
    run = redis_run("dev")
    policies = {p.name: json.loads(p.inputs["policy"]) for p in run.by_type("aws:iam/rolePolicy:RolePolicy")}
    pattern = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:airstack/redis/internal/celery-broker-url-??????"

    def resources(name: str) -> list[str]:
        return [r for s in policies[name]["Statement"] for r in s["Resource"]]

    for service in ("scheduler", "worker-analytics", "worker-ml"):
        assert pattern in resources(f"iam-{service}-execution-secrets")
    for service in ("api-server", "dag-processor", "triggerer"):
        assert pattern not in resources(f"iam-{service}-execution-secrets")
    for service in ("scheduler", "worker-analytics", "worker-ml"):
        actions = [a for s in policies[f"iam-{service}-task-policy"]["Statement"] for a in s["Action"]]
        assert not [a for a in actions if a.startswith("sqs:")]
    token_secret = "airstack/redis/internal/broker-auth-token"
    assert not [n for n, p in policies.items() if token_secret in json.dumps(p)], "operators only"


def test_prod_on_redis_is_multi_az_protected_and_alarmed() -> None:
    run = redis_run("prod")
    group = named(run, GROUP, "broker-redis")
    assert (group.inputs["multiAzEnabled"], group.inputs["automaticFailoverEnabled"]) == (True, True)
    assert group.inputs["numCacheClusters"] == 2
    protected = {r.name for r in broker_children(run) if r.protect}
    assert protected == {
        "broker-redis", "broker-key", "broker-auth-token", "broker-url-secret", "broker-token-secret",
        "broker-slow-log", "broker-engine-log",
    }  # fmt: skip
    topic = next(t for t in run.by_type("aws:sns/topic:Topic") if t.inputs["name"] == "airstack-prod-alerts")
    alarms = {
        a.inputs["dimensions"]["CacheClusterId"] + " " + a.inputs["metricName"]: a.inputs
        for a in run.by_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if a.inputs.get("namespace") == "AWS/ElastiCache"
    }
    assert sorted(alarms) == [
        f"airstack-prod-broker-{node} {metric}"
        for node in ("001", "002")
        for metric in ("DatabaseMemoryUsagePercentage", "EngineCPUUtilization", "ReplicationLag")
    ]
    assert {a["alarmActions"][0] for a in alarms.values()} == {topic.outputs["arn"]}
    secrets = [
        s for s in run.by_type("aws:secretsmanager/secret:Secret") if s.inputs["name"].startswith("airstack/prod/")
    ]
    assert {s.inputs["recoveryWindowInDays"] for s in secrets} == {30}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_redis_stack_passes_the_pack(stack: str, tmp_path: Path) -> None:
    from airstack.planning import Plan, PlanOptions, plan_stacks

    path = REDIS_STACK
    if stack != "dev":
        path = tmp_path / f"Pulumi.{stack}.yaml"
        path.write_text(yaml.safe_dump({"config": redis_values(stack)}))
    for preview in (False, True):
        [plan] = plan_stacks([str(path)], PlanOptions(preview=preview))
        assert isinstance(plan, Plan), plan
        assert [(v.policy, v.urn, v.message) for v in plan.violations] == []
        assert plan.skipped == []


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_first_preview_knows_what_the_pack_judges(stack: str) -> None:
    run = redis_run(stack, preview=True)
    group = named(run, GROUP, "broker-redis")
    assert (group.inputs["transitEncryptionEnabled"], group.inputs["atRestEncryptionEnabled"]) == (True, True)
    assert group.inputs["replicationGroupId"] == f"airstack-{'redis' if stack == 'dev' else stack}-broker"
    for definition in run.by_type(TASK_DEFINITION):
        assert containers(definition), "container definitions are known before anything exists"


def test_sqs_stacks_keep_their_broker_resources() -> None:
    """Nothing of the Redis broker appears in an SQS stack (its URNs and inputs are those of before)."""
    run = run_program(stack_file_with("dev", stack_values("dev")))
    assert not run.by_type(GROUP)
    [broker] = run.by_type("airstack:broker:Broker")
    assert sorted(r.name for r in run.resources if r.parent == broker.urn) == [
        "broker-analytics", "broker-analytics-dlq", "broker-ml", "broker-ml-dlq",
    ]  # fmt: skip


def test_the_images_celery_settings_take_a_redis_worker_as_rendered() -> None:
    """The image's Celery config module, with exactly a Redis worker's rendered environment (and its secret URL)."""
    from tests.test_image import load

    [worker] = [
        c
        for c in containers(
            next(
                d for d in redis_run("dev").by_type(TASK_DEFINITION) if d.inputs["family"] == "airstack-redis-worker-ml"
            )
        )
        if c["name"] != AGENT_CONTAINER
    ]
    env = {**env_of(worker), BROKER_URL_ENV: "rediss://:t@cache:6379/0?ssl_cert_reqs=required"}
    default = {"broker_transport_options": {"visibility_timeout": 86400}, "task_acks_late": True}
    config = load("airstack_celery_config").build(default, env)
    assert config["broker_transport_options"] == {"visibility_timeout": 90000}, "no SQS queues, no region"
    assert config["imports"] == ("airstack_worker_signals",)
