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


V2 = {"Bucket": "aws:s3/bucketV2:BucketV2", "pab": "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
      "sse": "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
      "versioning": "aws:s3/bucketVersioningV2:BucketVersioningV2",
      "lifecycle": "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2"}  # fmt: skip


def bucket_v2_parts(
    name: str = "site", *, tags: dict[str, str] | None = None, skip: tuple[str, ...] = ()
) -> list[Resource]:
    """A BucketV2 with its V2 satellites, all settings right."""
    target = f"{name}-id"
    found = [res(V2["Bucket"], name, protect=True, tags={**TAGS, **(tags or {})})]
    if "pab" not in skip:
        found.append(res(V2["pab"], f"{name}-pab", bucket=target, blockPublicAcls=True, blockPublicPolicy=True,
                         ignorePublicAcls=True, restrictPublicBuckets=True))  # fmt: skip
    found.append(res(V2["sse"], f"{name}-sse", bucket=target,
                     rules=[{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]))  # fmt: skip
    found.append(res(V2["versioning"], f"{name}-v", bucket=target, versioningConfiguration={"status": "Enabled"}))
    return found


def public_read_policy(name: str = "site") -> Resource:
    return res("aws:s3/bucketPolicy:BucketPolicy", f"{name}-policy", bucket=f"{name}-id", policy=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                                 "Resource": f"arn:aws:s3:::{name}/*"}]}))  # fmt: skip


def aurora(instances: int = 2, **override: Any) -> list[Resource]:
    inputs = {"engine": "aurora-postgresql", "storageEncrypted": True, "deletionProtection": True,
              "backupRetentionPeriod": 14, "tags": TAGS, **override}  # fmt: skip
    cluster = res("aws:rds/cluster:Cluster", "aurora", protect=True, **inputs)
    members = [res("aws:rds/clusterInstance:ClusterInstance", f"aurora-{i}", clusterIdentifier="aurora-id",
                   instanceClass="db.r6g.large", engine="aurora-postgresql", publiclyAccessible=False, tags=TAGS)
               for i in range(instances)]  # fmt: skip
    return [cluster, *members]


def repository_policy(statement: dict[str, Any]) -> list[Resource]:
    return [res("aws:ecr/repository:Repository", "images", protect=True, tags=TAGS),
            res("aws:ecr/repositoryPolicy:RepositoryPolicy", "images-policy", repository="images-id",
                policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))]  # fmt: skip


PULL = {
    "Sid": "Pull",
    "Effect": "Allow",
    "Principal": "*",
    "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
}


def shared_groups(user: Resource) -> list[Resource]:
    """An internet-facing ALB whose group opens 443 to the world, and ``user`` attached to a group."""
    return [res("aws:ec2/securityGroup:SecurityGroup", "alb", tags=TAGS),
            res("aws:ec2/securityGroup:SecurityGroup", "app", tags=TAGS),
            res("aws:lb/loadBalancer:LoadBalancer", "lb", securityGroups=["alb-id"], tags=TAGS),
            res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "https", securityGroupId="alb-id",
                cidrIpv4="0.0.0.0/0", fromPort=443, toPort=443, ipProtocol="tcp"), user]  # fmt: skip


def public_service(group: str) -> Resource:
    return res("aws:ecs/service:Service", "web", tags=TAGS, networkConfiguration={
        "assignPublicIp": True, "securityGroups": [f"{group}-id"], "subnets": ["subnet-1"]})  # fmt: skip


def nlb_listener(port: int, internal: bool = False) -> list[Resource]:
    return [res("aws:lb/loadBalancer:LoadBalancer", "nlb", loadBalancerType="network", internal=internal, tags=TAGS),
            res("aws:lb/listener:Listener", "cache", loadBalancerArn="arn:nlb", protocol="TCP", port=port,
                defaultActions=[{"type": "forward", "targetGroupArn": "arn:tg"}])]  # fmt: skip


def password_of(secret: Resource) -> list[Resource]:
    """A generated password and a secret version computed from it (a property dependency on the generator)."""
    generator = res("random:index/randomPassword:RandomPassword", "pw", length=32)
    version = res("aws:secretsmanager/secretVersion:SecretVersion", "pw-value", secretId="creds-id",
                  secretString="x" * 32, deps={"secretString": [generator.urn]})  # fmt: skip
    return [secret, generator, version]


def with_default_tags(resource: Resource, tags: dict[str, str]) -> list[Resource]:
    provider = Resource(urn="urn:pulumi:t::p::pulumi:providers:aws::default", type="pulumi:providers:aws",
                        name="default", parent=None, custom=True, wire_inputs={"region": "eu-west-1",
                        "defaultTags": json.dumps({"tags": tags})}, wire_outputs={"id": "prov-id", "arn": "prov"},
                        id="prov-id")  # fmt: skip
    return [provider, replace(resource, provider=f"{provider.urn}::prov-id")]


def container_task(
    name: str, command: list[str] | None = None, log_driver: str | None = "awslogs", **env: str
) -> Resource:
    container: dict[str, Any] = {"name": "app", "image": "wordpress:6",
                                 "environment": [{"name": k, "value": v} for k, v in env.items()]}  # fmt: skip
    if log_driver:
        container["logConfiguration"] = {"logDriver": log_driver, "options": {}}
    if command is not None:
        container["command"] = command
    return res("aws:ecs/taskDefinition:TaskDefinition", name, containerDefinitions=json.dumps([container]),
               networkMode="awsvpc", tags=TAGS)  # fmt: skip


EXEMPT = "airstack:exempt"


def worker_task(secrets: list[str]) -> Resource:
    container = {"name": "worker", "image": "apache/airflow:3.3.2", "command": ["celery", "worker", "--queues", "q"],
                 "environment": [{"name": "AIRFLOW__CORE__EXECUTOR", "value": "CeleryExecutor"}],
                 "secrets": [{"name": s, "valueFrom": f"arn:aws:secretsmanager:eu-west-1:1:secret:{s.lower()}"}
                             for s in secrets]}  # fmt: skip
    return res("aws:ecs/taskDefinition:TaskDefinition", "td", containerDefinitions=json.dumps([container]),
               networkMode="awsvpc", tags=TAGS)  # fmt: skip


def rootfs_task(name: str, *containers: tuple[str, bool | None, str | None]) -> Resource:
    """A task definition of (container name, readonlyRootFilesystem, its airstack:exempt label)."""
    definitions = []
    for container, read_only, label in containers:
        definition: dict[str, Any] = {"name": container, "image": "apache/airflow:3.3.2", "essential": True}
        if read_only is not None:
            definition["readonlyRootFilesystem"] = read_only
        if label is not None:
            definition["dockerLabels"] = {EXEMPT: label}
        definitions.append(definition)
    return res("aws:ecs/taskDefinition:TaskDefinition", name, containerDefinitions=json.dumps(definitions),
               networkMode="awsvpc", tags=TAGS)  # fmt: skip


def replication_group(**override: Any) -> Resource:
    inputs = {"engine": "valkey", "transitEncryptionEnabled": True, "atRestEncryptionEnabled": True,
              "authToken": "t" * 32, "tags": TAGS, **override}  # fmt: skip
    return res("aws:elasticache/replicationGroup:ReplicationGroup", "broker", protect=True,
               **{k: v for k, v in inputs.items() if v is not None})  # fmt: skip


def redis_worker(name: str, timeout: int, visibility: int | None) -> Resource:
    """A Celery worker whose Redis URL is an ECS secret (the value no rule sees), as airstack renders it."""
    env = {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRSTACK_CELERY_BROKER": "redis",
        "AIRFLOW__CORE__DEFAULT_TASK_EXECUTION_TIMEOUT": str(timeout),
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": str(visibility) if visibility else None,
    }
    container = {
        "name": "worker",
        "image": "apache/airflow:3.3.2",
        "command": ["celery", "worker"],
        "environment": [{"name": k, "value": v} for k, v in env.items() if v is not None],
        "secrets": [
            {
                "name": "AIRFLOW__CELERY__BROKER_URL",
                "valueFrom": "arn:aws:secretsmanager:eu-west-1:1:secret:celery-broker-url",
            }
        ],
    }
    return res("aws:ecs/taskDefinition:TaskDefinition", name, containerDefinitions=json.dumps([container]),
               networkMode="awsvpc", tags=TAGS)  # fmt: skip


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
    "sqs plain": Case("sqs-encrypted", [queue(sqsManagedSseEnabled=False)], ["queue q has sqsManagedSseEnabled False and no kmsMasterKeyId; its messages are stored unencrypted"]),
    # s3
    "bucket ok": Case("s3-public-access-blocked", bucket_parts()),
    "no public access block": Case("s3-public-access-blocked", bucket_parts(skip=("pab",)),
        ["bucket data has no BucketPublicAccessBlock"]),
    "partial public access block": Case("s3-public-access-blocked", bucket_parts(pab={"restrictPublicBuckets": False}),
        ["bucket data leaves restrictPublicBuckets false"]),
    "public bucket policy": Case("s3-public-access-blocked", [*bucket_parts(), res(
        "aws:s3/bucketPolicy:BucketPolicy", "pol", bucket="data-id", policy=json.dumps({"Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:data/*"}]}))],
        ["pol allows everyone s3:GetObject on bucket data"]),
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
        networkConfiguration={"assignPublicIp": True})], ["service svc has assignPublicIp True; its tasks get public IPs"]),
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
        policyArn="arn:aws:iam::aws:policy/AdministratorAccess")], ["a attaches the AWS-managed AdministratorAccess, which grants every action on every resource"]),
    "retention set": Case("log-retention-set", [res("aws:cloudwatch/logGroup:LogGroup", "lg", retentionInDays=30, tags=TAGS)]),
    "retention forever": Case("log-retention-set", [res("aws:cloudwatch/logGroup:LogGroup", "lg", tags=TAGS)],
        ["log group lg has retentionInDays None, so it keeps (and bills) logs forever"]),
    "remote logs": Case("remote-logging-enabled", [celery_task()]),
    "local logs": Case("remote-logging-enabled", [celery_task(AIRFLOW__LOGGING__REMOTE_LOGGING="False")],
        ["has AIRFLOW__LOGGING__REMOTE_LOGGING='False', so task logs stay on the container's disk"]),
    "tagged": Case("required-tags", [queue()]),
    "untagged": Case("required-tags", [res("aws:sqs/queue:Queue", "q", tags={"Owner": "x"})],
        ["q lacks the tags Environment, CostCenter, ManagedBy"]),
    "protected": Case("stateful-resources-protected", [db(), *efs(), bucket()]),
    "unprotected": Case("stateful-resources-protected", [res("aws:rds/instance:Instance", "db")],
        ["db (Instance) holds state but is not protected"]),
    # ---- coverage that matters on real programs
    # BucketV2 and its V2 resources; findings on satellites are filed under the bucket, exemptions by tag or config
    "bucket v2 ok": Case("s3-public-access-blocked", bucket_v2_parts()),
    "bucket v2 without public access block": Case("s3-public-access-blocked", bucket_v2_parts(skip=("pab",)),
        ["bucket site has no BucketPublicAccessBlock"]),
    "bucket v2 acl grants everyone": Case("s3-public-access-blocked", [*bucket_v2_parts(), res(
        "aws:s3/bucketAclV2:BucketAclV2", "site-acl", bucket="site-id", accessControlPolicy={"grants": [{"grantee": {
            "type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AllUsers"}, "permission": "READ"}]})],
        ["site-acl gives bucket site a grant to AllUsers"]),
    "public website exempted by tag": Case("s3-public-access-blocked", [*bucket_v2_parts(
        tags={EXEMPT: "s3-public-access-blocked: public website served to everyone"}, skip=("pab",)), public_read_policy()]),
    "public website exempted in the pack config": Case("s3-public-access-blocked", [*bucket_v2_parts(skip=("pab",)),
        public_read_policy()], config={"s3-public-access-blocked": {"exemptions": [{"resource": "site", "reason": "website"}]}}),
    "exemption tag without a reason": Case("s3-public-access-blocked", [*bucket_v2_parts(
        tags={EXEMPT: "s3-public-access-blocked"}), public_read_policy()], ["site-policy allows everyone s3:GetObject on bucket site"]),
    "bucket v2 encrypted": Case("s3-encrypted", bucket_v2_parts()),
    "bucket v2 inline encryption": Case("s3-encrypted", [res(V2["Bucket"], "inline", serverSideEncryptionConfigurations=[
        {"rules": [{"applyServerSideEncryptionByDefaults": [{"sseAlgorithm": "AES256"}]}]}])]),
    "bucket v2 unencrypted": Case("s3-encrypted", [res(V2["Bucket"], "plain", tags=TAGS)],
        ["bucket plain has no server-side encryption configuration"]),
    "bucket v2 versioned": Case("s3-versioned", bucket_v2_parts()),
    "bucket v2 inline versioning": Case("s3-versioned", [res(V2["Bucket"], "inline", versionings=[{"enabled": True}])]),
    "bucket v2 not versioned": Case("s3-versioned", [res(V2["Bucket"], "inline", versionings=[{"enabled": False}])],
        ["bucket inline is not versioned"]),
    "logs v2 inline expiry": Case("s3-logs-lifecycle", [res(V2["Bucket"], "app-logs", lifecycleRules=[
        {"enabled": True, "expirations": [{"days": 30}]}])]),
    "logs v2 never expire": Case("s3-logs-lifecycle", [res(V2["Bucket"], "app-logs", lifecycleRules=[
        {"enabled": False, "expirations": [{"days": 30}]}])], ["log bucket app-logs has no enabled lifecycle rule"]),
    # Aurora clusters and their instances
    "aurora encrypted": Case("rds-encrypted", aurora()),
    "aurora unencrypted": Case("rds-encrypted", aurora(storageEncrypted=False),
        ["database cluster aurora has storageEncrypted False; it must be True"]),
    "aurora instances private": Case("rds-not-public", aurora()),
    "aurora instance public": Case("rds-not-public", [*aurora(1), res("aws:rds/clusterInstance:ClusterInstance",
        "aurora-public", clusterIdentifier="aurora-id", publiclyAccessible=True)],
        ["cluster instance aurora-public has publiclyAccessible True; it must be False"]),
    "aurora two instances": Case("rds-multi-az", aurora(2)),
    "aurora one instance": Case("rds-multi-az", aurora(1), ["database cluster aurora has 1 instance; it needs at least two"]),
    "aurora backups": Case("rds-backups", aurora(), config={"rds-backups": {"minimumRetentionDays": 7}}),
    "aurora default backups": Case("rds-backups", aurora(backupRetentionPeriod=None),
        ["database cluster aurora keeps backups for 1 days; this environment needs backupRetentionPeriod of at least 7"],
        config={"rds-backups": {"minimumRetentionDays": 7}}),
    "aurora deletable": Case("rds-deletion-protection", aurora(deletionProtection=False),
        ["database cluster aurora has deletionProtection False"]),
    "aurora protected": Case("stateful-resources-protected", aurora()),
    # resource policies open to everyone
    "ecr pull for one account": Case("resource-policies-not-public", repository_policy(
        {**PULL, "Principal": {"AWS": "arn:aws:iam::111122223333:root"}})),
    "ecr pull for the organization": Case("resource-policies-not-public", repository_policy(
        {**PULL, "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}})),
    "ecr pull for everyone": Case("resource-policies-not-public", repository_policy(PULL),
        ["the repository policy of images-policy allows anyone (ecr:BatchGetImage, ecr:GetDownloadUrlForLayer)"]),
    "ecr pull for everyone over TLS": Case("resource-policies-not-public", repository_policy(
        {**PULL, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}), ["the repository policy of images-policy allows anyone"]),
    "lambda invoke for everyone": Case("resource-policies-not-public", [res("aws:lambda/permission:Permission", "invoke",
        action="lambda:InvokeFunction", function="fn", functionName="fn", principal="*")], ["invoke lets anyone invoke fn"]),
    # full-access managed policies
    "read-only managed policy": Case("iam-no-wildcard-admin", [res("aws:iam/role:Role", "reader", tags=TAGS,
        managedPolicyArns=["arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"])]),
    "role with AdministratorAccess": Case("iam-no-wildcard-admin", [res("aws:iam/role:Role", "deployer", tags=TAGS,
        managedPolicyArns=["arn:aws:iam::aws:policy/AdministratorAccess"])],
        ["deployer attaches the AWS-managed AdministratorAccess"]),
    "PowerUserAccess attached": Case("iam-no-wildcard-admin", [res("aws:iam/policyAttachment:PolicyAttachment", "power",
        policyArn="arn:aws-us-gov:iam::aws:policy/PowerUserAccess", roles=["r"])],
        ["power attaches the AWS-managed PowerUserAccess, which grants every action but IAM management"]),
    "S3 full access, exclusively": Case("iam-no-wildcard-admin", [res(
        "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive", "only", roleName="r",
        policyArns=["arn:aws:iam::aws:policy/AmazonS3FullAccess"])], ["only attaches the AWS-managed AmazonS3FullAccess"]),
    # a load balancer's group shared with publicly reachable compute
    "tasks with their own group": Case("sg-no-open-ingress", shared_groups(public_service("app"))),
    "public tasks share the load balancer's group": Case("sg-no-open-ingress", shared_groups(public_service("alb")),
        ["rule https opens ports 443-443 to the internet for a load balancer, but service web (public task IPs) uses the same group"]),
    "public instance shares the load balancer's group": Case("sg-no-open-ingress", shared_groups(res(
        "aws:ec2/instance:Instance", "wp", ami="ami-1", instanceType="t3.small", associatePublicIpAddress=True,
        vpcSecurityGroupIds=["alb-id"], tags=TAGS)), ["rule https opens ports 443-443 to the internet for a load "
        "balancer, but instance wp (public IP) uses the same group"]),
    # service ports behind internet-facing load balancers
    "internal nlb on 6379": Case("lb-internet-listeners-web-only", nlb_listener(6379, internal=True)),
    "internet nlb on 443": Case("lb-internet-listeners-web-only", nlb_listener(443)),
    "internet nlb on 6379": Case("lb-internet-listeners-web-only", nlb_listener(6379),
        ["listener cache of internet-facing load balancer nlb forwards port 6379 (TCP) from the whole internet"]),
    # secrets written in the program
    "generated secret": Case("secrets-not-in-code", password_of(res("aws:secretsmanager/secret:Secret", "creds", tags=TAGS))),
    "placeholder set outside": Case("secrets-not-in-code", [replace(res("aws:secretsmanager/secretVersion:SecretVersion",
        "later", secretId="s", secretString="CHANGE_ME"), ignore_changes=("secretString",))]),
    "literal secret string": Case("secrets-not-in-code", [res("aws:secretsmanager/secretVersion:SecretVersion", "api-key",
        secretId="s", secretString=json.dumps({"apiKey": "sk-live-123"}))], ["api-key sets secretString to a value written in the program"]),
    "literal database password": Case("secrets-not-in-code", [res("aws:rds/instance:Instance", "wordpress",
        password="hunter2hunter2")], ["wordpress sets password to a value written in the program"]),
    "plain parameter": Case("secrets-not-in-code", [res("aws:ssm/parameter:Parameter", "url", type="String", value="https://x")]),
    # environment names and commands
    "shell and cache names": Case("ecs-no-plaintext-secrets", [container_task("app", PWD="/srv", CACHE_BYPASS="1",
        REDIS_PASSWORD_SECRET_ARN="")], []),
    "a *PWD* name": Case("ecs-no-plaintext-secrets", [container_task("db", MYSQL_ROOT_PWD="toor")],
        ["container app of db passes MYSQL_ROOT_PWD as plain environment"]),
    "a *PASS name": Case("ecs-no-plaintext-secrets", [container_task("wp", WORDPRESS_DB_PASS="pw")],
        ["container app of wp passes WORDPRESS_DB_PASS as plain environment"]),
    "password by environment in the command": Case("ecs-no-plaintext-secrets", [container_task("redis",
        ["redis-server", "--requirepass", "$REDIS_PASSWORD"])]),
    "password in the command": Case("ecs-no-plaintext-secrets", [container_task("redis",
        ["redis-server", "--requirepass", "hunter2"])], ["container app of redis has a password or token in its command line"]),
    # any container's output leaves the task
    "a web container shipping to splunk": Case("remote-logging-enabled", [container_task("web", log_driver="splunk")]),
    "a web container keeping its output": Case("remote-logging-enabled", [container_task("web", log_driver=None)],
        ["container app of web has log driver None, which keeps its output on the task's host"]),
    # tags through the provider's defaultTags
    "tags from the provider": Case("required-tags", with_default_tags(res("aws:sqs/queue:Queue", "q", tags={"Owner": "x"}),
        {k: v for k, v in TAGS.items() if k != "Owner"})),
    "provider tags incomplete": Case("required-tags", with_default_tags(res("aws:rds/cluster:Cluster", "c"), {"Owner": "x"}),
        ["c lacks the tags Environment, CostCenter, ManagedBy"]),
    # Celery on Redis, and programs that do not use airstack's tags
    "redis visibility covers the timeout": Case("sqs-visibility-covers-longest-task", [celery_task(
        AIRFLOW__CELERY__BROKER_URL="redis://cache:6379/0", AIRFLOW__CORE__DEFAULT_TASK_EXECUTION_TIMEOUT="28800",
        AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT="36000")]),
    "redis visibility below the timeout": Case("sqs-visibility-covers-longest-task", [celery_task(
        AIRFLOW__CELERY__BROKER_URL="redis://cache:6379/0", AIRFLOW__CORE__DEFAULT_TASK_EXECUTION_TIMEOUT="28800",
        AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT="3600")],
        ["sets AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT=3600 but its "
         "AIRFLOW__CORE__DEFAULT_TASK_EXECUTION_TIMEOUT lets tasks run 28800 s, which needs at least 31680 s"]),
    "untagged sqs with the pack's longest task": Case("sqs-visibility-covers-longest-task", [celery_task(
        AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT="3600")],
        ["but the pack config's longestTaskSeconds lets tasks run 7200 s, which needs at least 7920 s"],
        config={"sqs-visibility-covers-longest-task": {"longestTaskSeconds": 7200}}),
    "celery's own predefined queues": Case("sqs-visibility-covers-longest-task", [queue(), res("aws:sqs/queue:Queue",
        "short", name="short", visibilityTimeoutSeconds=700, tags={**TAGS, "airstack:longest-task-seconds": "600"}),
        celery_task(AIRSTACK_CELERY_PREDEFINED_QUEUES=None, AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT="700",
        AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__PREDEFINED_QUEUES=json.dumps({"default": {
            "url": "https://sqs.eu-west-1.amazonaws.com/1/short"}}))]),
    "redis workers sharing a broker, each covering the longest": Case("sqs-visibility-covers-longest-task", [
        redis_worker("long", 72000, 90000), redis_worker("short", 7200, 90000)]),
    "redis worker with only its own tasks' visibility": Case("sqs-visibility-covers-longest-task", [
        redis_worker("long", 72000, 90000), redis_worker("short", 7200, 9000)],
        ["container worker of short sets AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT=9000 but shares "
         "its Redis broker with container worker of long, whose tasks run up to 72000 s and need 79200 s (+10%)"]),
    "redis by its kind, left at the default": Case("sqs-visibility-covers-longest-task", [
        redis_worker("long", 90000, None)], ["container worker of long leaves "
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT at Celery's default 86400 s but its "
        "AIRFLOW__CORE__DEFAULT_TASK_EXECUTION_TIMEOUT lets tasks run 90000 s, which needs at least 99000 s"]),
    # elasticache-encrypted-and-authenticated
    "cache with a generated token": Case("elasticache-encrypted-and-authenticated", [
        res("random:index/randomPassword:RandomPassword", "pw", length=64), replication_group(authToken="pw-id")]),
    "cache with a user group": Case("elasticache-encrypted-and-authenticated", [replication_group(
        authToken=None, userGroupIds=["celery-users"])]),
    "valkey encrypted at rest by default": Case("elasticache-encrypted-and-authenticated", [replication_group(
        atRestEncryptionEnabled=None)]),
    "redis in clear and open": Case("elasticache-encrypted-and-authenticated", [replication_group(
        engine="redis", transitEncryptionEnabled=None, atRestEncryptionEnabled=None, authToken=None)],
        ["replication group broker has transitEncryptionEnabled None: clients, replicas and AUTH talk in clear",
         "replication group broker (redis) has atRestEncryptionEnabled None: its data, swap and snapshots are "
         "stored in clear", "replication group broker has neither an authToken nor userGroupIds"]),
    "cache preferring tls": Case("elasticache-encrypted-and-authenticated", [replication_group(
        transitEncryptionMode="preferred")], ['replication group broker has transitEncryptionMode "preferred"']),
    "redis without a task timeout": Case("airflow-task-timeout-bounded", [celery_task(
        AIRFLOW__CELERY__BROKER_URL="rediss://cache:6380/0")], ["has AIRFLOW__CORE__DEFAULT_TASK_EXECUTION_TIMEOUT=None"]),
    # the security baseline and worker isolation
    "vpc with flow logs": Case("vpc-flow-logs", [vpc := res("aws:ec2/vpc:Vpc", "vpc", cidrBlock="10.0.0.0/16"),
        res("aws:ec2/flowLog:FlowLog", "flow", vpcId=vpc.wire_outputs["id"], trafficType="ALL")]),
    "vpc without flow logs": Case("vpc-flow-logs", [res("aws:ec2/vpc:Vpc", "vpc", cidrBlock="10.0.0.0/16")],
        ["VPC vpc has no flow log"]),
    "default group closed": Case("default-security-group-closed", [res(
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "default", vpcId="vpc-1")]),
    "default group open": Case("default-security-group-closed", [res(
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "default", vpcId="vpc-1",
        egress=[{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}])],
        ["default security group default keeps egress rules"]),
    "alb logs access": Case("alb-access-logs", [res("aws:lb/loadBalancer:LoadBalancer", "lb", tags=TAGS,
        accessLogs={"bucket": "logs", "prefix": "alb", "enabled": True})]),
    "alb without access logs": Case("alb-access-logs", [res("aws:lb/loadBalancer:LoadBalancer", "lb", tags=TAGS)],
        ["load balancer lb keeps no access logs"]),
    "internet-facing alb behind a web acl": Case("web-acl-on-internet-facing", [lb := res(
        "aws:lb/loadBalancer:LoadBalancer", "lb", internal=False, tags=TAGS), res(
        "aws:wafv2/webAclAssociation:WebAclAssociation", "waf", resourceArn=lb.wire_outputs["arn"], webAclArn="arn:acl")]),
    "internal alb needs no web acl": Case("web-acl-on-internet-facing", [res(
        "aws:lb/loadBalancer:LoadBalancer", "lb", internal=True, tags=TAGS)]),
    "internet-facing alb without a web acl": Case("web-acl-on-internet-facing", [res(
        "aws:lb/loadBalancer:LoadBalancer", "lb", internal=False, tags=TAGS)],
        ["internet-facing load balancer lb has no web ACL"]),
    "db monitored": Case("rds-monitoring-and-logs", [db(engine="postgres", monitoringInterval=60,
        enabledCloudwatchLogsExports=["postgresql", "upgrade"])]),
    "db unmonitored": Case("rds-monitoring-and-logs", [db(engine="postgres")],
        ["database db lacks enhanced monitoring (monitoringInterval) and its postgresql log in CloudWatch"]),
    "db master password managed": Case("rds-managed-master-password", [db(manageMasterUserPassword=True)]),
    "db master password in the program": Case("rds-managed-master-password", [db(password="x" * 20)],
        ["database db has a master password set by the program"]),
    "secret restorable": Case("secrets-recovery-window", [res("aws:secretsmanager/secret:Secret", "s", tags=TAGS,
        recoveryWindowInDays=7)]),
    "secret deleted at once": Case("secrets-recovery-window", [res("aws:secretsmanager/secret:Secret", "s", tags=TAGS,
        recoveryWindowInDays=0)], ["secret s has recoveryWindowInDays 0"]),
    "worker with its own secrets": Case("airflow-workers-least-secrets", [worker_task(
        ["AIRFLOW__CELERY__RESULT_BACKEND", "AIRFLOW__API__SECRET_KEY"])]),
    "worker with the metadata database": Case("airflow-workers-least-secrets", [worker_task(
        ["AIRFLOW__CELERY__RESULT_BACKEND", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CORE__FERNET_KEY"])],
        ["Celery worker worker of td gets AIRFLOW__CORE__FERNET_KEY",
         "Celery worker worker of td gets AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]),
    # ecs-readonly-root-filesystem
    "read-only roots": Case("ecs-readonly-root-filesystem", [rootfs_task("ro", ("api", True, None),
        ("agent", False, "ecs-readonly-root-filesystem: its image writes its config at start"))]),
    "a writable root": Case("ecs-readonly-root-filesystem", [rootfs_task("rw", ("api", True, None),
        ("worker", None, None), ("migrate", False, "required-tags: another rule's exemption"))],
        ["container worker of rw has readonlyRootFilesystem None",
         "container migrate of rw has readonlyRootFilesystem False"]),
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
            elif isinstance(value, dict):  # an object holding references: those leaves unknown, the key depends
                nested: list[str] = []
                inputs[key] = _unknown_references(value, identities, nested)
                if nested:
                    deps.setdefault(key, []).extend(nested)
            else:
                inputs[key] = value
        outputs = {k: v for k, v in r.wire_outputs.items() if k not in ("id", "arn")}
        outputs.update({key: inputs[key] for key in inputs})
        outputs.update({"id": wire.UNKNOWN, "arn": wire.UNKNOWN})
        if "url" in r.wire_outputs and "url" not in r.wire_inputs:
            outputs["url"] = wire.UNKNOWN
        previewed.append(replace(r, wire_inputs=inputs, wire_outputs=outputs, property_dependencies=deps))
    return previewed


def _unknown_references(value: Any, identities: dict[str, str], found: list[str]) -> Any:
    if isinstance(value, str) and value in identities:
        found.append(identities[value])
        return wire.UNKNOWN
    if isinstance(value, dict):
        return {k: _unknown_references(v, identities, found) for k, v in value.items()}
    if isinstance(value, list):
        return [_unknown_references(v, identities, found) for v in value]
    return value


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
        "efs-backups", "stateful-resources-protected", "rds-backups", "secrets-recovery-window"}  # fmt: skip
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
        ({"s3-encrypted": {"exemptions": [{"resource": "x"}]}}, "s3-encrypted.exemptions.0: 'reason' is a required"),
        (
            {"s3-encrypted": {"exemptions": [{"resource": "x", "reason": "  "}]}},
            "s3-encrypted.exemptions.0.reason: '  '",
        ),
        ({"sqs-visibility-covers-longest-task": {"longestTaskSeconds": "8h"}}, "'8h' is not of type 'integer'"),
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


def test_exempted_findings_come_back_alike_over_both_paths(in_process: Analyzer, over_grpc: Analyzer) -> None:
    """An exemption (tag or pack config) turns findings into "exempted" with the reason, in the engine's own
    answer (the policy is not applicable to them), so that `pulumi preview` and `airstack plan` agree."""
    website = [*bucket_v2_parts(tags={EXEMPT: "s3-public-access-blocked, s3-versioned: a public website"},
                                skip=("pab",)), public_read_policy()]  # fmt: skip
    images = repository_policy(PULL)
    config = {"all": "disabled", "s3-public-access-blocked": "mandatory", "resource-policies-not-public": {
        "enforcementLevel": "advisory", "exemptions": [{"resource": "images-policy", "reason": "public images"}]}}  # fmt: skip
    for preview in (False, True):
        resources = website + images
        run = run_of(as_first_preview(resources) if preview else resources, preview=preview)
        local, remote = evaluate(run, in_process, config), evaluate(run, over_grpc, config)
        assert local.violations == remote.violations == []
        assert local.exempted == remote.exempted
        assert [(e.policy, e.level, e.urn.rsplit("::", 1)[-1], e.reason) for e in local.exempted] == [
            ("resource-policies-not-public", "advisory", "images-policy", "public images"),
            ("s3-public-access-blocked", "mandatory", "site", "a public website"),
            ("s3-public-access-blocked", "mandatory", "site", "a public website"),
        ]
        messages = [e.message for e in local.exempted]
        assert "bucket site has no BucketPublicAccessBlock" in messages[1] + messages[2]
        assert local.ran() == local.enabled, "an exempted finding is a decision, not a skipped rule"


def test_a_container_exempted_by_its_label_comes_back_exempted_and_alone(
    in_process: Analyzer, over_grpc: Analyzer
) -> None:
    """The CloudWatch agent's exemption covers that container only: not the Airflow containers of its task."""
    label = "ecs-readonly-root-filesystem: writes its config at start"
    config = {"all": "disabled", "ecs-readonly-root-filesystem": "mandatory"}
    exempted = [rootfs_task("ok", ("scheduler", True, None), ("agent", False, label))]
    mixed = [rootfs_task("mixed", ("scheduler", False, None), ("agent", False, label))]
    unexplained = [rootfs_task("bare", ("agent", False, "ecs-readonly-root-filesystem:  "))]
    for preview in (False, True):
        found = []
        for resources in (exempted, mixed, unexplained):
            run = run_of(as_first_preview(resources) if preview else resources, preview=preview)
            local, remote = evaluate(run, in_process, config), evaluate(run, over_grpc, config)
            assert (_diagnostics(local), local.exempted) == (_diagnostics(remote), remote.exempted)
            assert local.skipped == []
            found.append(local)
        assert found[0].violations == []
        assert [(e.urn.rsplit("::", 1)[-1], e.reason) for e in found[0].exempted] == [
            ("ok", "writes its config at start")
        ]
        assert "container agent of ok has readonlyRootFilesystem False" in found[0].exempted[0].message
        assert [v.message.split(":")[0] for v in found[1].violations] == [
            "container scheduler of mixed has readonlyRootFilesystem False"
        ]
        assert [v.message.split(":")[0] for v in found[2].violations] == [
            "container agent of bare has readonlyRootFilesystem False"
        ], "an exemption without a reason exempts nothing"


def test_the_exemption_tag_reads_the_same_in_airstack_and_in_the_pack() -> None:
    from airstack import exemptions
    from airstack_policies import EXEMPT_TAG, EXEMPTED_PREFIX
    from airstack_policies._rules import parse_exempt_tag

    assert (exemptions.EXEMPT_TAG, exemptions.EXEMPTED_PREFIX) == (EXEMPT_TAG, EXEMPTED_PREFIX)
    for value in ("a b: why", "a,b:why: really", "a", ": why", "  a ,  b  :  x  ", "a:"):
        assert exemptions.parse_tag(value) == parse_exempt_tag(value)


def test_airstack_refuses_exemption_tags_that_exempt_nothing() -> None:
    from airstack.exemptions import ExemptionError, check_tags

    names = ["s3-encrypted", "s3-versioned"]
    check_tags([res("aws:s3/bucket:Bucket", "ok", tags={EXEMPT: "s3-encrypted s3-versioned: archive"})], names)
    for tag, problem in (("s3-encrypted", "exempts s3-encrypted without a reason"),
                         ("s3-encryption: typo", "names s3-encryption, which the pack does not have"),
                         (": reason only", "names no policy")):  # fmt: skip
        with pytest.raises(ExemptionError, match=problem):
            check_tags([res("aws:s3/bucket:Bucket", "b", tags={EXEMPT: tag})], names)


def test_the_pack_says_how_the_cli_runs_it() -> None:
    """Any CLI version runs a local pack in the virtualenv its runtime options name; nothing installs into it."""
    import yaml

    from airstack.pack import POLICY_DIR

    project = yaml.safe_load((POLICY_DIR / "PulumiPolicy.yaml").read_text())
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}
    requirements = (POLICY_DIR / "requirements.txt").read_text().split()
    assert {r.split(">=")[0] for r in requirements} == {"pulumi", "pulumi-policy"}
    assert "pip install -r policies/requirements.txt" in (POLICY_DIR / "PulumiPolicy.yaml").read_text()
