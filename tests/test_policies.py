"""Every rule fires on a violating resource or stack and stays quiet on a compliant one.

Every case runs through the engine's analyzer protocol twice — the pack's own servicer in this process, and the
pack started as the Pulumi CLI starts it (from ``$AIRSTACK_PACK_PYTHON``, a venv with only
``policies/requirements.txt``) over gRPC — as after ``pulumi up`` and as on the first preview of a new stack
(IDs and ARNs unknown; resources related only by property dependencies). All four must agree.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from airstack import wire
from airstack.analysis import Analysis, evaluate
from airstack.offline import ProgramRun, Resource
from airstack.pack import Analyzer, PackError, read_pack_config, reconcile_config, start_pack
from airstack.planning import pack_config_file
from airstack.stackfile import read_stack_file
from tests.conftest import STACKS, planned, planned_preview

DESIGN_RULES = {
    "sqs-visibility-covers-longest-task", "airflow-task-timeout-bounded", "sqs-dead-letter-queue", "sqs-encrypted",
    "s3-public-access-blocked", "s3-encrypted", "s3-versioned", "s3-logs-lifecycle", "rds-encrypted", "rds-backups",
    "rds-multi-az", "rds-deletion-protection", "rds-not-public", "efs-encrypted", "efs-backups",
    "ecs-no-plaintext-secrets", "ecs-private-networking", "sg-no-open-ingress", "alb-https-only",
    "log-retention-set", "required-tags", "stateful-resources-protected", "iam-no-wildcard-admin",
    "remote-logging-enabled",
}  # fmt: skip
TAGS = {"Environment": "prod", "Owner": "data", "CostCenter": "cc-1", "ManagedBy": "airstack"}
URL = "https://sqs.eu-west-1.amazonaws.com/1/q"
STACK_URN = "urn:pulumi:t::p::pulumi:pulumi:Stack::p-t"


def res(
    typ: str, logical: str, protect: bool = False, deps: dict[str, list[str]] | None = None, **inputs: Any
) -> Resource:
    name = logical
    return Resource(
        urn=f"urn:pulumi:t::p::{typ}::{name}", type=typ, name=name, parent=STACK_URN, custom=True,
        wire_inputs=inputs, wire_outputs={**inputs, "id": f"{name}-id", "arn": f"arn:{name}"}, protect=protect,
        property_dependencies=deps or {},
    )  # fmt: skip


def celery_task(name: str = "td", **env: str) -> Resource:
    base = {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": "sqs://",
        "AIRFLOW__LOGGING__REMOTE_LOGGING": "True",
        "AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER": "s3://logs/task-logs",
        "AIRSTACK_CELERY_PREDEFINED_QUEUES": json.dumps({"q": URL}),
    }
    base.update(env)
    container = {
        "name": "worker",
        "image": "apache/airflow:3.1.3",
        "environment": [{"name": k, "value": v} for k, v in base.items() if v is not None],
        "logConfiguration": {"logDriver": "awslogs", "options": {}},
    }
    return res("aws:ecs/taskDefinition:TaskDefinition", name, containerDefinitions=json.dumps([container]),
               networkMode="awsvpc", tags=TAGS)  # fmt: skip


def queue(visibility: int | None = 36000, longest: int | None = 28800, **extra: Any) -> Resource:
    tags = dict(TAGS)
    if longest is not None:
        tags["airstack:longest-task-seconds"] = str(longest)
    inputs: dict[str, Any] = {"sqsManagedSseEnabled": True, "redrivePolicy": json.dumps({"deadLetterTargetArn": "arn:dlq"}),
                              "tags": tags, **extra}  # fmt: skip
    if visibility is not None:
        inputs["visibilityTimeoutSeconds"] = visibility
    resource = res("aws:sqs/queue:Queue", "q", name="q", **inputs)
    resource.wire_outputs["url"] = URL
    return resource


def bucket(name: str = "data", **extra: Any) -> Resource:
    return res("aws:s3/bucket:Bucket", name, protect=True, tags={**TAGS, "airstack:bucket": name}, **extra)


def bucket_parts(name: str = "data", *, skip: tuple[str, ...] = (), **override: dict[str, Any]) -> list[Resource]:
    target = f"{name}-id"
    parts = {
        "pab": res("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", f"{name}-pab", bucket=target,
                   blockPublicAcls=True, blockPublicPolicy=True, ignorePublicAcls=True, restrictPublicBuckets=True),
        "sse": res("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                   f"{name}-sse", bucket=target,
                   rules=[{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]),
        "versioning": res("aws:s3/bucketVersioning:BucketVersioning", f"{name}-v", bucket=target,
                          versioningConfiguration={"status": "Enabled"}),
        "lifecycle": res("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", f"{name}-lc",
                         bucket=target, rules=[{"id": "x", "status": "Enabled", "expiration": {"days": 90}}]),
    }  # fmt: skip
    for key, inputs in override.items():
        parts[key].wire_inputs.update(inputs)
        parts[key].wire_outputs.update(inputs)
    return [bucket(name), *(p for k, p in parts.items() if k not in skip)]


def db(**override: Any) -> Resource:
    inputs = {"storageEncrypted": True, "multiAz": True, "deletionProtection": True, "publiclyAccessible": False,
              "backupRetentionPeriod": 14, "tags": TAGS, **override}  # fmt: skip
    return res("aws:rds/instance:Instance", "db", protect=True, **inputs)


def efs(encrypted: bool = True, backup: str | None = "ENABLED") -> list[Resource]:
    found = [res("aws:efs/fileSystem:FileSystem", "fs", protect=True, encrypted=encrypted, tags=TAGS)]
    if backup:
        found.append(res("aws:efs/backupPolicy:BackupPolicy", "fs-backup", fileSystemId="fs-id",
                         backupPolicy={"status": backup}))  # fmt: skip
    return found


def security_groups(rule_port: int, on: str = "alb", cidr: str = "0.0.0.0/0") -> list[Resource]:
    alb_sg = res("aws:ec2/securityGroup:SecurityGroup", "alb", tags=TAGS)
    app_sg = res("aws:ec2/securityGroup:SecurityGroup", "app", tags=TAGS)
    lb = res("aws:lb/loadBalancer:LoadBalancer", "lb", securityGroups=["alb-id"], tags=TAGS)
    rule = res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "rule", securityGroupId=f"{on}-id",
               cidrIpv4=cidr, fromPort=rule_port, toPort=rule_port, ipProtocol="tcp")  # fmt: skip
    return [alb_sg, app_sg, lb, rule]


def policy_doc(action: str | list[str], resource: str = "*") -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}
    )


@dataclass
class Case:
    policy: str
    resources: list[Resource]
    expected: list[str] = field(default_factory=list)
    """Substrings of the expected violation messages, one per violation; empty for a compliant case."""
    config: dict[str, Any] = field(default_factory=dict)


CASES: dict[str, Case] = {
    # sqs-visibility-covers-longest-task
    "visibility ok": Case("sqs-visibility-covers-longest-task", [queue(), celery_task(AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT="36000")]),
    "queue 30 s for an 8 h task": Case("sqs-visibility-covers-longest-task", [queue(visibility=None)],
        ["queue q has visibilityTimeoutSeconds 30, but its longest task is 28800 s and needs at least 31680 s"]),
    "celery default visibility": Case("sqs-visibility-covers-longest-task", [queue(), celery_task()],
        ["runs Celery on SQS without AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT; the Celery "
         "provider then silently uses 86400 s"]),
    "celery visibility too short": Case("sqs-visibility-covers-longest-task", [queue(), celery_task(AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT="600")],
        ["sets AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT=600 but its queues (q) carry tasks that "
         "need at least 31680 s"]),
    "task beyond SQS": Case("sqs-visibility-covers-longest-task", [queue(visibility=43200, longest=43200)],
        ["which need a visibility timeout of 47520 s: more than SQS's maximum 43200 s"]),
    "broker queue without longest task": Case("sqs-visibility-covers-longest-task", [queue(
        longest=None, tags={**TAGS, "airstack:role": "celery-broker"})], ["without a airstack:longest-task-seconds tag"]),
    # airflow-task-timeout-bounded
    "timeout ok": Case("airflow-task-timeout-bounded", [celery_task(AIRFLOW__CORE__DEFAULT_TASK_EXECUTION_TIMEOUT="28800", AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT="36000")]),
    "timeout missing": Case("airflow-task-timeout-bounded", [celery_task()],
        ["has AIRFLOW__CORE__DEFAULT_TASK_EXECUTION_TIMEOUT=None"]),
    "timeout beyond visibility": Case("airflow-task-timeout-bounded", [celery_task(AIRFLOW__CORE__DEFAULT_TASK_EXECUTION_TIMEOUT="36000", AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT="36000")],
        ["lets tasks run 36000 s, but AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT is 36000 s"]),
    # sqs-dead-letter-queue
    "dlq ok": Case("sqs-dead-letter-queue", [queue(), res("aws:sqs/queue:Queue", "dlq", sqsManagedSseEnabled=True)]),
    "no dlq": Case("sqs-dead-letter-queue", [queue(redrivePolicy=None)], ["queue q has no redrivePolicy"]),
    # sqs-encrypted
    "sqs encrypted": Case("sqs-encrypted", [queue()]),
    "sqs kms": Case("sqs-encrypted", [queue(sqsManagedSseEnabled=None, kmsMasterKeyId="alias/x")]),
    "sqs plain": Case("sqs-encrypted", [queue(sqsManagedSseEnabled=False)], ["queue q has sqsManagedSseEnabled False and no kmsMasterKeyId; task arguments travel"]),
    # s3
    "bucket ok": Case("s3-public-access-blocked", bucket_parts()),
    "no public access block": Case("s3-public-access-blocked", bucket_parts(skip=("pab",)),
        ["bucket data has no BucketPublicAccessBlock"]),
    "partial public access block": Case("s3-public-access-blocked", bucket_parts(pab={"restrictPublicBuckets": False}),
        ["bucket data leaves restrictPublicBuckets false"]),
    "public bucket policy": Case("s3-public-access-blocked", [*bucket_parts(), res(
        "aws:s3/bucketPolicy:BucketPolicy", "pol", bucket="data-id", policy=json.dumps({"Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:data/*"}]}))],
        ["pol allows everyone (s3:GetObject) on bucket data"]),
    "public acl": Case("s3-public-access-blocked", [*bucket_parts()[1:], bucket(acl="public-read")],
        ["bucket data has acl public-read"]),
    "encrypted bucket": Case("s3-encrypted", bucket_parts()),
    "unencrypted bucket": Case("s3-encrypted", bucket_parts(skip=("sse",)),
        ["bucket data has no server-side encryption configuration"]),
    "versioned bucket": Case("s3-versioned", bucket_parts()),
    "suspended versioning": Case("s3-versioned", bucket_parts(versioning={"versioningConfiguration": {"status": "Suspended"}}),
        ["bucket data is not versioned"]),
    "logs expire": Case("s3-logs-lifecycle", bucket_parts("logs")),
    "data needs no expiry": Case("s3-logs-lifecycle", bucket_parts("data", skip=("lifecycle",))),
    "logs never expire": Case("s3-logs-lifecycle", bucket_parts("logs", skip=("lifecycle",)),
        ["log bucket logs has no enabled lifecycle rule that expires objects"]),
    # rds
    "db ok": Case("rds-encrypted", [db()]),
    "db unencrypted": Case("rds-encrypted", [db(storageEncrypted=False)], ["database db has storageEncrypted False"]),
    "db multi-az": Case("rds-multi-az", [db()]),
    "db single-az": Case("rds-multi-az", [db(multiAz=False)], ["database db has multiAz False; it must be True"]),
    "db protected": Case("rds-deletion-protection", [db()]),
    "db deletable": Case("rds-deletion-protection", [db(deletionProtection=None)], ["has deletionProtection None"]),
    "db private": Case("rds-not-public", [db()]),
    "db public": Case("rds-not-public", [db(publiclyAccessible=True)], ["database db has publiclyAccessible True; it must be False"]),
    "backups ok": Case("rds-backups", [db()], config={"rds-backups": {"minimumRetentionDays": 7}}),
    "backups short": Case("rds-backups", [db(backupRetentionPeriod=3)], [
        "database db keeps backups for 3 days; this environment needs backupRetentionPeriod of at least 7"],
        config={"rds-backups": {"minimumRetentionDays": 7}}),
    # efs
    "efs ok": Case("efs-encrypted", efs()),
    "efs plain": Case("efs-encrypted", efs(encrypted=False), ["file system fs has encrypted False; it must be True"]),
    "efs backed up": Case("efs-backups", efs()),
    "efs not backed up": Case("efs-backups", efs(backup="DISABLED"), ["file system fs has a BackupPolicy with status DISABLED; it needs a BackupPolicy with status ENABLED"]),
    # ecs
    "secrets by reference": Case("ecs-no-plaintext-secrets", [celery_task(AIRFLOW__SECRETS__BACKEND="x.SecretsManagerBackend")]),
    "plain sql conn": Case("ecs-no-plaintext-secrets", [celery_task(
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="postgresql://airflow:hunter2@db/airflow")],
        ["passes AIRFLOW__DATABASE__SQL_ALCHEMY_CONN as plain environment"]),
    "credentials in a connection": Case("ecs-no-plaintext-secrets", [celery_task(
        AIRFLOW_CONN_WAREHOUSE="postgres://etl:pa55@warehouse:5432/dw")], ["has credentials inside AIRFLOW_CONN_WAREHOUSE"]),
    "private service": Case("ecs-private-networking", [res("aws:ecs/service:Service", "svc",
        networkConfiguration={"assignPublicIp": False})]),
    "public service": Case("ecs-private-networking", [res("aws:ecs/service:Service", "svc",
        networkConfiguration={"assignPublicIp": True})], ["service svc has assignPublicIp True; it must be False"]),
    # network
    "alb 443 open": Case("sg-no-open-ingress", security_groups(443)),
    "alb 8080 open": Case("sg-no-open-ingress", security_groups(8080), ["rule rule opens ports 8080-8080 to 0.0.0.0/0"]),
    "ssh open on app": Case("sg-no-open-ingress", security_groups(22, on="app"), ["rule rule opens ports 22-22 to 0.0.0.0/0"]),
    "narrow cidr": Case("sg-no-open-ingress", security_groups(22, on="app", cidr="10.0.0.0/8")),
    "inline open ingress": Case("sg-no-open-ingress", [res("aws:ec2/securityGroup:SecurityGroup", "legacy",
        ingress=[{"fromPort": 5432, "toPort": 5432, "cidrBlocks": ["0.0.0.0/0"]}])],
        ["security group legacy opens ports 5432-5432 to 0.0.0.0/0"]),
    "https listener": Case("alb-https-only", [res("aws:lb/listener:Listener", "https", protocol="HTTPS",
        sslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06", certificateArn="arn:cert")]),
    "http redirect": Case("alb-https-only", [res("aws:lb/listener:Listener", "http", protocol="HTTP",
        defaultActions=[{"type": "redirect", "redirect": {"protocol": "HTTPS"}}])]),
    "http forward": Case("alb-https-only", [res("aws:lb/listener:Listener", "http", protocol="HTTP",
        defaultActions=[{"type": "forward"}])], ["listener http serves plain HTTP with actions forward; its only action must redirect to HTTPS"]),
    "old tls": Case("alb-https-only", [res("aws:lb/listener:Listener", "https", protocol="HTTPS",
        sslPolicy="ELBSecurityPolicy-2016-08", certificateArn="arn:cert")], ["uses TLS policy ELBSecurityPolicy-2016-08"]),
    # identity, logs, tags, protection
    "scoped policy": Case("iam-no-wildcard-admin", [res("aws:iam/rolePolicy:RolePolicy", "p",
        policy=policy_doc(["sqs:ReceiveMessage"], "arn:aws:sqs:eu-west-1:1:q"))]),
    "star action": Case("iam-no-wildcard-admin", [res("aws:iam/rolePolicy:RolePolicy", "p", policy=policy_doc("*"))],
        ["p allows *"]),
    "service star on star": Case("iam-no-wildcard-admin", [res("aws:iam/policy:Policy", "p", policy=policy_doc("s3:*"))],
        ["p allows s3:* on *"]),
    "admin attachment": Case("iam-no-wildcard-admin", [res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "a",
        policyArn="arn:aws:iam::aws:policy/AdministratorAccess")], ["a attaches arn:aws:iam::aws:policy/AdministratorAccess"]),
    "retention set": Case("log-retention-set", [res("aws:cloudwatch/logGroup:LogGroup", "lg", retentionInDays=30, tags=TAGS)]),
    "retention forever": Case("log-retention-set", [res("aws:cloudwatch/logGroup:LogGroup", "lg", tags=TAGS)],
        ["log group lg has retentionInDays None, so it keeps logs forever"]),
    "remote logs": Case("remote-logging-enabled", [celery_task()]),
    "local logs": Case("remote-logging-enabled", [celery_task(AIRFLOW__LOGGING__REMOTE_LOGGING="False")],
        ["has AIRFLOW__LOGGING__REMOTE_LOGGING='False', so task logs stay on the container's disk"]),
    "tagged": Case("required-tags", [queue()]),
    "untagged": Case("required-tags", [res("aws:sqs/queue:Queue", "q", tags={"Owner": "x"})],
        ["q lacks the tags Environment, CostCenter, ManagedBy"]),
    "protected": Case("stateful-resources-protected", [db(), *efs(), bucket()]),
    "unprotected": Case("stateful-resources-protected", [res("aws:rds/instance:Instance", "db")],
        ["db (Instance) holds state but is not protected"]),
}  # fmt: skip


def run_of(resources: list[Resource], preview: bool = False) -> ProgramRun:
    stack = Resource(urn=STACK_URN, type="pulumi:pulumi:Stack", name="p-t", parent=None, custom=False, wire_inputs={})
    return ProgramRun(stack="t", project="p", resources=[stack, *resources], outputs={}, preview=preview)


def as_first_preview(resources: list[Resource]) -> list[Resource]:
    """The same resources as a first preview sees them: IDs and ARNs unknown, a reference to another resource's
    ID or ARN unknown too and recorded as a property dependency on it (which is how the engine relates them)."""
    identities = {}
    for r in resources:
        for key in ("id", "arn"):
            identities[r.wire_outputs[key]] = r.urn
    previewed = []
    for r in resources:
        inputs, deps = {}, {k: list(v) for k, v in r.property_dependencies.items()}
        for key, value in r.wire_inputs.items():
            refs = [
                identities[v]
                for v in (value if isinstance(value, list) else [value])
                if isinstance(v, str) and v in identities
            ]
            if isinstance(value, str) and value.startswith(("{", "[")):  # a JSON document built from an ARN
                refs += [urn for identity, urn in identities.items() if json.dumps(identity) in value]
            if refs:
                inputs[key] = wire.UNKNOWN
                deps.setdefault(key, []).extend(refs)
            else:
                inputs[key] = value
        outputs = {k: v for k, v in r.wire_outputs.items() if k not in ("id", "arn")}
        outputs.update({key: inputs[key] for key in inputs})
        outputs.update({"id": wire.UNKNOWN, "arn": wire.UNKNOWN})
        if "url" in r.wire_outputs and "url" not in r.wire_inputs:
            outputs["url"] = wire.UNKNOWN
        previewed.append(replace(r, wire_inputs=inputs, wire_outputs=outputs, property_dependencies=deps))
    return previewed


PACK_PYTHON = os.environ.get("AIRSTACK_PACK_PYTHON", sys.executable)


@pytest.fixture(scope="module")
def in_process() -> Iterator[Analyzer]:
    with start_pack() as analyzer:
        yield analyzer


@pytest.fixture(scope="module")
def over_grpc() -> Iterator[Analyzer]:
    with start_pack(python=PACK_PYTHON) as analyzer:
        yield analyzer


def _diagnostics(analysis: Analysis) -> list[tuple[str, str, str, str]]:
    return [(v.policy, v.level, v.urn, v.message) for v in analysis.violations]


def test_the_pack_has_every_rule_of_the_design(in_process: Analyzer) -> None:
    from google.protobuf import empty_pb2

    from airstack.pack import policies_of

    policies = policies_of(in_process.GetAnalyzerInfo(empty_pb2.Empty()))
    names = [p.name for p in policies]
    assert len(names) == len(set(names))
    assert set(names) >= DESIGN_RULES
    for policy in policies:
        assert len(policy.description) > 60, f"{policy.name} needs a description with the reason"


def test_every_rule_has_a_compliant_and_a_violating_case(in_process: Analyzer) -> None:
    from google.protobuf import empty_pb2

    from airstack.pack import policies_of

    compliant = {c.policy for c in CASES.values() if not c.expected}
    violating = {c.policy for c in CASES.values() if c.expected}
    assert compliant == violating == {p.name for p in policies_of(in_process.GetAnalyzerInfo(empty_pb2.Empty()))}


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_rule(case: Case, in_process: Analyzer, over_grpc: Analyzer) -> None:
    """Only the case's policy is enabled; compliant means no diagnostics at all, not "the expected one fired"."""
    config = {"all": "disabled", case.policy: "mandatory", **case.config}
    if isinstance(config.get(case.policy), dict):
        config[case.policy] = {"enforcementLevel": "mandatory", **config[case.policy]}
    results = {}
    for mode, resources in (("up", case.resources), ("preview", as_first_preview(case.resources))):
        run = run_of(resources, preview=mode == "preview")
        local = evaluate(run, in_process, config)
        remote = evaluate(run, over_grpc, config)
        assert _diagnostics(local) == _diagnostics(remote), f"{mode}: in-process and gRPC disagree"
        assert local.skipped == remote.skipped == [], f"{mode}: the rule could not decide: {local.skipped}"
        results[mode] = local
    up, preview = results["up"], results["preview"]
    assert [v.message for v in up.violations] == [v.message for v in preview.violations], (
        "a first preview decides alike"
    )
    violations = up.violations
    assert [v.policy for v in violations] == [case.policy] * len(case.expected), [v.message for v in violations]
    for violation, expected in zip(violations, case.expected, strict=True):
        assert expected in violation.message
        assert violation.level == "mandatory"
        assert violation.urn in {r.urn for r in case.resources}
        named = next(r.name for r in case.resources if r.urn == violation.urn)
        assert named in violation.message, "a violation names the resource it is about"


def test_a_value_that_decides_and_is_not_known_yet_is_reported_as_undecided(in_process: Analyzer) -> None:
    """A bucket policy computed from an unknown ARN on a preview: the rule says it cannot decide, never "ok"."""
    parts = bucket_parts()
    unknown_policy = res("aws:s3/bucketPolicy:BucketPolicy", "pol", bucket=wire.UNKNOWN, policy=wire.UNKNOWN,
                         deps={"bucket": [parts[0].urn]})  # fmt: skip
    analysis = evaluate(run_of([*parts, unknown_policy], preview=True), in_process, {"all": "disabled",
                        "s3-public-access-blocked": "mandatory"})  # fmt: skip
    assert analysis.violations == []
    assert [(s.policy, s.reason) for s in analysis.skipped] == [
        ("s3-public-access-blocked", "string value at .policy can't be known during preview")
    ]
    assert analysis.ran() == []


@pytest.mark.parametrize("stack", STACKS)
def test_every_real_stack_is_clean_over_the_protocol_and_both_paths_agree(
    stack: str, in_process: Analyzer, over_grpc: Analyzer
) -> None:
    environment = read_stack_file(stack).load().environment
    path = pack_config_file(environment)
    assert path is not None
    config = read_pack_config(path)
    for run in (planned(stack), planned_preview(stack)):
        local, remote = evaluate(run, in_process, config), evaluate(run, over_grpc, config)
        assert _diagnostics(local) == _diagnostics(remote)
        assert local.skipped == remote.skipped == [], "no rule may skip a real stack, not even on a first preview"
        assert local.violations == [], [v.message for v in local.violations]
        assert local.ran() == local.enabled


def test_a_prod_rule_catches_dev_settings_in_prod(in_process: Analyzer, over_grpc: Analyzer) -> None:
    """dev's stack shape, judged as prod: the prod-only rules fire where dev differs, alike on both paths."""
    prod = read_pack_config(pack_config_file("prod"))  # type: ignore[arg-type]
    local, remote = evaluate(planned("dev"), in_process, prod), evaluate(planned("dev"), over_grpc, prod)
    assert _diagnostics(local) == _diagnostics(remote)
    assert {v.policy for v in local.violations} == {"rds-multi-az", "rds-deletion-protection", "s3-versioned",
        "efs-backups", "stateful-resources-protected", "rds-backups"}  # fmt: skip
    preview = evaluate(planned_preview("dev"), in_process, prod)
    assert _diagnostics(preview) == _diagnostics(local), "a first preview finds the same violations"


def test_environment_levels_come_from_the_pack_config_files(in_process: Analyzer) -> None:
    dev = evaluate(planned("dev"), in_process, read_pack_config(pack_config_file("dev")))  # type: ignore[arg-type]
    prod = evaluate(planned("dev"), in_process, read_pack_config(pack_config_file("prod")))  # type: ignore[arg-type]
    assert dev.config["s3-versioned"].level == "disabled"
    assert prod.config["s3-versioned"].level == "mandatory"
    assert prod.config["rds-backups"].properties == {"minimumRetentionDays": 7}
    assert evaluate(planned("dev"), in_process, {}).config["rds-backups"].properties == {"minimumRetentionDays": 1}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"rds-backups": "warn"}, "'warn' is not an enforcement level"),
        ({"rds-backup": "mandatory"}, "unknown policies in the pack config: rds-backup"),
        ({"rds-backups": {"minimumRetentionDays": 50}}, "rds-backups.minimumRetentionDays: 50 is greater than"),
        ({"required-tags": {"requiredTags": "Owner"}}, "required-tags.requiredTags: 'Owner' is not of type 'array'"),
        ({"all": {"enforcementLevel": "loud"}}, "enforcementLevel 'loud' is not one of"),
    ],
)
def test_a_bad_pack_config_is_an_error_not_the_defaults(
    config: dict[str, Any], message: str, in_process: Analyzer
) -> None:
    with pytest.raises(PackError) as error:
        evaluate(planned("dev"), in_process, config)
    assert message in str(error.value)


def test_a_missing_pack_config_file_is_an_error(tmp_path: Any) -> None:
    with pytest.raises(PackError, match="does not exist"):
        read_pack_config(tmp_path / "nope.json")


def test_reconcile_applies_all_then_each_policy_like_the_engine() -> None:
    from airstack.pack import PolicyInfo

    policies = [PolicyInfo("a", "", "advisory", "resource", None),
                PolicyInfo("b", "", "mandatory", "stack", {"type": "object", "properties": {"n": {"default": 2}}})]  # fmt: skip
    result = reconcile_config(policies, {"all": "disabled", "b": {"enforcementLevel": "advisory", "n": 3}})
    assert (result["a"].level, result["b"].level, result["b"].properties) == ("disabled", "advisory", {"n": 3})
