"""Every stack's documents and API shapes, replayed into moto: what `pulumi up` would send, AWS must accept.

Each stack is planned as after `pulumi up` and replayed (tests/replay) through the calls the AWS provider makes,
with moto's IDs in place of the mocks'. A refusal by botocore, moto or one of AWS's documented rules fails here,
not in `up`. Known defects are pinned as strict xfails: when they are fixed, those tests fail until unmarked.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from airstack.offline import ProgramRun
from tests.conftest import STACKS, planned
from tests.replay import HANDLERS, NOT_REPLAYED, Problem, Replay, is_api_resource, replay_stack

APOSTROPHES = (
    "two security group rule descriptions in components/network.py have an apostrophe ('Celery's own database', "
    "'their team's DAG files'); EC2 accepts only a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*, so `up` fails creating these rules"
)
UNNAMED_DB_GROUPS = (
    "airstack/mocks.py answers aws:rds/subnetGroup and parameterGroup without their auto-name, so the plan's "
    "metastore has no dbSubnetGroupName (default VPC, its security group elsewhere) nor parameterGroupName"
)
UNTAGGABLE_TEMPLATE = (
    "components/delivery.py: the REPLICATION creation template (prod, delivery-image-replica-template) sets "
    "resourceTags without a customRoleArn; ECR needs a role it assumes (ecr:CreateRepository, ecr:ReplicateImage, "
    "ecr:TagResource) to create repositories with tags (Amazon ECR User Guide, repository-creation-templates-create)"
)
RESTORE_KEY = (
    "components/metastore.py: the restored metastore (dr activated) sets kmsKeyId to a new key; "
    "RestoreDBInstanceToPointInTime takes no key (the instance keeps its replicated backups' key), so the provider "
    "reads another key than configured, and kms_key_id forces a replacement on the next up"
)
KNOWN_DEFECTS = {
    ("ec2-description", "network-database-from-workers-5433"): APOSTROPHES,
    ("ec2-description", "network-efs-from-workers-2049"): APOSTROPHES,
    ("rds-network", "metastore-db"): UNNAMED_DB_GROUPS,
    ("rds-network", "metastore-subnets"): UNNAMED_DB_GROUPS,
    ("rds-parameters", "metastore-parameters"): UNNAMED_DB_GROUPS,
}
"""The problems every stack has today, (rule, resource name), each pinned by a strict xfail below."""


UNIMPLEMENTED_BY_MOTO = {
    "efs:PutBackupPolicy", "efs:UpdateFileSystemProtection", "efs:CreateReplicationConfiguration",
    "rds:StartDBInstanceAutomatedBackupsReplication", "ecr:CreatePullThroughCacheRule",
    "ecr:CreateRepositoryCreationTemplate",
}  # fmt: skip
"""Operations only botocore's model checks (moto has no implementation): their parameters, not their effect."""

_REPLAYS: dict[str, Replay] = {}


def replayed(stack: str) -> Replay:
    """The stack replayed into moto, once per session."""
    if stack not in _REPLAYS:
        _REPLAYS[stack] = replay_stack(planned(stack))
    return _REPLAYS[stack]


def known(problem: Problem) -> str | None:
    return KNOWN_DEFECTS.get((problem.rule, problem.urn.rsplit("::", 1)[-1]))


def problems(replay: Replay, *, defect: str | None = None) -> list[Problem]:
    """The replay's problems that are not known defects; or those of the known ``defect``."""
    return [p for p in replay.problems if known(p) == defect]


def report(found: list[Problem]) -> str:
    return "\n".join(str(p) for p in found)


# ---------------------------------------------------------------------------------------------- coverage


def test_every_resource_type_is_replayed_or_excused() -> None:
    types = {r.type for stack in STACKS for r in planned(stack).resources if is_api_resource(r)}
    undecided = sorted(types - set(HANDLERS) - set(NOT_REPLAYED))
    assert not undecided, f"resource types neither replayed nor excused in tests/replay: {undecided}"
    assert all(reason.strip() for reason in NOT_REPLAYED.values())


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_is_replayed_with_a_call(stack: str) -> None:
    replay = replayed(stack)
    called = {c.urn for c in replay.calls}
    expected = [r for r in planned(stack).resources if is_api_resource(r) and r.type not in NOT_REPLAYED]
    assert len(expected) > 100
    assert [r.urn for r in expected if r.urn not in called] == []
    assert {c.operation for c in replay.calls if not c.implemented} <= UNIMPLEMENTED_BY_MOTO


# ------------------------------------------------------------------------------------------ the four stacks


@pytest.mark.parametrize("stack", STACKS)
def test_aws_accepts_what_the_stack_sends(stack: str) -> None:
    found = problems(replayed(stack))
    assert not found, f"{len(found)} problems:\n{report(found)}"


@pytest.mark.parametrize("stack", STACKS)
def test_documents_are_replayed_with_the_real_ids(stack: str) -> None:
    """No mock ID survives into the EFS policy: it names the file system, access points and roles moto created."""
    run, replay = planned(stack), replayed(stack)
    policy = next(r for r in run.resources if r.type == "aws:efs/fileSystemPolicy:FileSystemPolicy")
    mock_ids = [r.id for r in run.resources if r.type.startswith("aws:efs/") and r.id]
    sent = replay.sub(policy.inputs["policy"])
    assert mock_ids
    assert [m for m in mock_ids if m in sent] == []
    named = re.findall(r"arn:aws:(?:elasticfilesystem|iam):[^\"]+", sent)
    assert len(named) > 3
    assert [arn for arn in named if not replay.exists(arn) and not arn.endswith(":root")] == []


@pytest.mark.parametrize("stack", STACKS)
def test_security_group_rule_descriptions_are_accepted_by_ec2(stack: str) -> None:
    found = problems(replayed(stack), defect=APOSTROPHES)
    assert not found, report(found)


@pytest.mark.parametrize("stack", STACKS)
def test_metastore_is_placed_in_the_stacks_subnets_with_its_parameters(stack: str) -> None:
    """dr in pilot light keeps the groups and no instance: its failover (dr activated, replayed after prod) restores
    the instance into them."""
    replay = replayed(stack)
    found = problems(replay, defect=UNNAMED_DB_GROUPS)
    assert not found, report(found)
    if stack == "dr":
        from tests.test_replay_dr import world  # here: that module builds on this one

        assert not replay.run.by_type("aws:rds/instance:Instance")
        replay = world("failover")[0]
    groups = [r for r in replay.run.resources if r.type in ("aws:rds/subnetGroup:SubnetGroup",
                                                             "aws:rds/parameterGroup:ParameterGroup")]  # fmt: skip
    assert len(groups) == 2
    assert {replay.sub(g.id) for g in groups} <= replay.facts["used_db_groups"]
    assert not problems(replay, defect=UNNAMED_DB_GROUPS)


def test_replicated_repositories_are_created_with_the_templates_tags() -> None:
    """Fixed: the template names a role ECR assumes (UNTAGGABLE_TEMPLATE was the defect)."""
    replay = replayed("prod")
    assert [r for r in replay.run.resources if r.name == "delivery-image-replica-template"]
    found = [p for p in replay.problems if p.rule == "ecr-template"]
    assert not found, report(found)


# ------------------------------------------------------------------------------------- the replay can fail


def broken(stack: str, name: str, change: Callable[[dict[str, Any]], None], *also: str) -> list[str]:
    """Problems a replay of resource ``name`` (and ``also``) finds after ``change`` edited its inputs, beyond the
    stack's own (the known defects)."""
    run = planned(stack)
    assert any(r.name == name for r in run.resources), name
    resources = []
    for r in run.resources:
        resource = r
        if r.name == name:
            inputs = copy.deepcopy(r.inputs)
            change(inputs)
            resource = replace(r)
            resource.__dict__["inputs"] = inputs  # the cached property, as if the program had sent these
        resources.append(resource)
    changed: ProgramRun = replace(run, resources=resources)
    before = {str(p) for p in replayed(stack).problems}
    found = replay_stack(changed, only=[name, *also], across=bool(also)).problems
    return [str(p) for p in found if str(p) not in before]


def edit_json(key: str, change: Callable[[Any], None]) -> Callable[[dict[str, Any]], None]:
    def edit(inputs: dict[str, Any]) -> None:
        document = json.loads(inputs[key])
        change(document)
        inputs[key] = json.dumps(document)

    return edit


def first_statement(change: Callable[[dict[str, Any]], None]) -> Callable[[Any], None]:
    return lambda doc: change(doc["Statement"][0])


def container(n: int, change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    return edit_json("containerDefinitions", lambda cs: change(cs[n]))


BROKEN = [
    # (resource, change, the rule that refuses it, a fragment of its message)
    ("iam-worker-analytics-task-policy", edit_json("policy", first_statement(lambda s: s.update(Effect="Alow"))),
     "iam:PutRolePolicy", "MalformedPolicyDocument"),
    ("iam-worker-analytics-task-policy", edit_json("policy", first_statement(lambda s: s.update(Principal="*"))),
     "identity-policy", "no Principal"),
    ("iam-worker-analytics-task-policy", edit_json("policy", first_statement(lambda s: s.update(Action="sqs:RecieveMessage"))),
     "identity-policy", "sqs has no such action"),
    ("iam-worker-analytics-task-policy", edit_json("policy", first_statement(lambda s: s.update(
        Resource="arn:aws:sqs:eu-west-1:1111:airstack-dev-analytics"))), "identity-policy", "not 12 digits"),
    ("iam-worker-analytics-task-policy", edit_json("policy", first_statement(lambda s: s.update(
        Condition={"StringEqualz": {"aws:SourceVpc": "vpc-1"}}))), "identity-policy", "StringEqualz"),
    ("iam-worker-analytics-task", edit_json("assumeRolePolicy", first_statement(lambda s: s.pop("Principal"))),
     "trust-policy", "Principal"),
    ("iam-worker-analytics-task", lambda i: i.update(description="x" * 1001), "iam:CreateRole", "at most 1000"),
    ("compute-worker-analytics-task-definition", container(0, lambda c: c.update(cpu="256")),
     "ecs:RegisterTaskDefinition", "Invalid type for parameter containerDefinitions[0].cpu"),
    ("compute-worker-analytics-task-definition", container(0, lambda c: c.update(essentail=True)),
     "ecs:RegisterTaskDefinition", 'Unknown parameter in containerDefinitions[0]: "essentail"'),
    ("compute-api-server-task-definition", container(1, lambda c: c.update(dependsOn=[
        {"containerName": "wait-for-migration", "condition": "SUCCESS"}])), "ecs-task-definition", "not another container"),
    ("compute-api-server-task-definition", container(1, lambda c: c.update(dependsOn=[
        {"containerName": "api-server", "condition": "START"}])), "ecs-task-definition", "not another container"),
    ("compute-worker-analytics-task-definition", container(0, lambda c: c["secrets"][0].update(
        valueFrom="arn:aws:s3:::bucket/secret")), "ecs-task-definition", "not a Secrets Manager secret"),
    ("compute-worker-analytics-task-definition", container(0, lambda c: c["environment"].append(
        {"name": "PADDING", "value": "x" * 70_000})), "ecs-task-definition", "at most 65536"),
    ("compute-worker-analytics-task-definition", container(0, lambda c: c.update(stopTimeout=300)),
     "ecs-task-definition", "Fargate allows 120"),
    ("compute-worker-analytics-task-definition", lambda i: i.update(memory="3000"), "ecs-task-definition",
     "not a Fargate task size"),
    ("broker-analytics", lambda i: i.update(visibilityTimeoutSeconds=50000), "sqs-attributes", "0 to 43200"),
    ("broker-analytics", lambda i: i["tags"].update({"aws:team": "x"}), "tags", "the aws: prefix is reserved"),
    ("broker-analytics", lambda i: i.update(redrivePolicy=json.dumps({
        "deadLetterTargetArn": "arn:aws:sqs:eu-west-1:111122223333:no-such-queue", "maxReceiveCount": 3})),
     "sqs:CreateQueue", "Could not find DLQ"),
    ("buckets-logs-lifecycle", lambda i: i["rules"][0].pop("filter"), "s3:PutBucketLifecycleConfiguration",
     "MalformedXML"),
    ("buckets-logs-tls-only", edit_json("policy", first_statement(lambda s: s.update(Effect="Alow"))),
     "bucket-policy", "not Allow or Deny"),
    ("buckets-logs-tls-only", edit_json("policy", first_statement(lambda s: s.update(
        Resource="arn:aws:s3:::someone-elses-bucket/*"))), "bucket-policy", "is not this bucket"),
    ("dags-policy", edit_json("policy", lambda d: d["Statement"][1]["Principal"].update(
        AWS="arn:aws:iam::111122223333:role/no-such-role")), "policy-principal", "does not exist"),
    ("dags-policy", edit_json("policy", lambda d: d["Statement"][1]["Condition"]["StringEquals"].update({
        "elasticfilesystem:AccessPointArn": "arn:aws:elasticfilesystem:eu-west-1:111122223333:access-point/fsap-0"})),
     "efs-policy", "does not exist"),
    ("monitoring-alerts-key", edit_json("policy", first_statement(lambda s: s.update(
        Resource="arn:aws:kms:eu-west-1:111122223333:key/1"))), "key-policy", "Resource is '*'"),
    ("compute-worker-analytics-logs", lambda i: i.update(retentionInDays=45), "log-retention", "not one of"),
    ("compute-worker-analytics-start", lambda i: i.update(schedule="cron(0 7 * * MON-FRI *)"), "schedule",
     "exactly one of day-of-month and day-of-week"),
    ("compute-worker-analytics-start", lambda i: i.update(timezone="Europe/Amsterdamm"), "schedule",
     "not an IANA time zone"),
    ("monitoring-analytics-dead-letters", lambda i: i.update(dimensions={"QueueName": 5}),
     "cloudwatch:PutMetricAlarm", "Invalid type for parameter Dimensions[0].Value"),
    ("monitoring-analytics-dead-letters", lambda i: i.update(metricName=None, namespace=None, statistic=None, period=None,
     dimensions=None, metricQueries=[{"id": "a", "expression": "1", "returnData": True}, {"id": "b", "expression": "2",
     "returnData": True}]), "alarm", "exactly one metric query returns data"),
    ("compute-api-server", lambda i: i["serviceConnectConfiguration"]["services"][0].update(portName="http"),
     "ecs-service-connect", "is not a named port"),
    ("network-vpc", lambda i: i["vpcEndpointSpecs"][0].update(serviceName="com.amazonaws.eu-central-1.s3"),
     "vpc-endpoint-service", "is not com.amazonaws.eu-west-1"),
    ("metastore-db", lambda i: i.update(backupWindow="03:00-04:00"), "rds-windows", "overlaps maintenanceWindow"),
    ("ingress-api-server", lambda i: i.update(name="airstack-development-api-server-8080"), "lb-name", "up to 32"),
    ("compute-worker-analytics-scaling", lambda i: i.update(minCapacity=3, maxCapacity=2), "scaling",
     "above maxCapacity"),
    # network: the default group and flow logs
    ("network-default-group", lambda i: i.update(ingress=[{"protocol": "tcp", "fromPort": 22, "toPort": 22,
     "cidrBlocks": ["10.0.0.0/8"]}]), "default-security-group", "keeps 1 rule(s)"),
    ("network-flow-logs", lambda i: i.update(maxAggregationInterval=300), "flow-log", "60 or 600"),
    ("network-flow-logs", lambda i: i.update(logDestination="arn:aws:s3:::airstack-no-such-bucket/vpc-flow-logs/"),
     "flow-log", "bucket airstack-no-such-bucket does not exist"),
    ("network-flow-logs", lambda i: i.update(logDestination=i["logDestination"].replace("vpc-flow-logs/", "AWSLogs/")),
     "flow-log", "may not be AWSLogs"),
    # delivery: the function, its permission and its asynchronous invocation
    ("delivery-dag-sync", lambda i: i.update(runtime="python2.7"), "lambda-function", "is retired"),
    ("delivery-dag-sync", lambda i: i.update(runtime="python3.99"), "lambda:CreateFunction", "is not one of"),
    ("delivery-dag-sync", lambda i: i.update(handler="dag_sync.handler.main"), "lambda-handler", "defines no main"),
    ("delivery-dag-sync", lambda i: i.update(handler="dag_sync.sync.handler"), "lambda-handler",
     "has no module dag_sync.sync"),
    ("delivery-dag-sync", lambda i: i["code"]["assets"].pop("dag_sync/archive.py"), "lambda-handler",
     "imports dag_sync.archive, which is not in the package"),
    ("delivery-dag-sync", lambda i: i.update(memorySize=20480, timeout=901), "lambda-function", "Lambda allows 1 to 900"),
    ("delivery-dag-sync", lambda i: i["environment"]["variables"].update(AWS_REGION="eu-west-1"), "lambda-function",
     "AWS_REGION is reserved"),
    ("delivery-dag-sync", lambda i: i["vpcConfig"].update(subnetIds=["subnet-0123456789abcdef0"]), "lambda-vpc",
     "subnet subnet-0123456789abcdef0 does not exist"),
    ("delivery-dag-sync", lambda i: i["fileSystemConfig"].update(localMountPath="/efs/dags"), "lambda-function",
     "is not /mnt/"),
    ("delivery-dag-sync", lambda i: i["fileSystemConfig"].update(
        arn="arn:aws:elasticfilesystem:eu-west-1:111122223333:access-point/fsap-0123456789abcdef0"),
     "lambda-file-system", "does not exist"),
    ("delivery-dag-sync", lambda i: i.update(loggingConfig={"logFormat": "JSON", "logGroup": "/airstack/other"}),
     "lambda-logs", "/airstack/other is not created before the function"),
    ("delivery-dag-sync-from-s3", lambda i: i.pop("sourceAccount"), "lambda-permission", "names no account"),
    ("delivery-dag-sync-from-s3", lambda i: i.update(sourceArn="arn:aws:s3:::airstack-no-such-bucket"),
     "lambda-permission", "source bucket airstack-no-such-bucket does not exist"),
    ("delivery-dag-sync-from-s3", lambda i: i.update(action="lambda:InvokeFunctions"), "lambda-permission",
     "lambda has no such action"),
    ("delivery-dag-sync-retries", lambda i: i.update(maximumRetryAttempts=3), "lambda-async", "0 to 2"),
    ("delivery-dag-sync-retries", lambda i: i["destinationConfig"]["onFailure"].update(
        destination="arn:aws:sqs:eu-west-1:111122223333:airstack-no-such-queue"), "lambda-destination", "does not exist"),
]  # fmt: skip

BROKEN_IN_PROD = [
    # prod alone has the image repository; dev has no web ACL
    ("delivery-image", lambda i: i.update(imageTagMutability="IMUTABLE"), "ecr:CreateRepository", "is not one of"),
    ("delivery-image-lifecycle", edit_json("policy", lambda p: p["rules"][1].update(rulePriority=1)), "ecr-lifecycle",
     "rulePriority repeats: 1"),
    ("delivery-image-lifecycle", edit_json("policy", lambda p: p["rules"][1]["selection"].pop("tagPrefixList")),
     "ecr-lifecycle", "exactly one of tagPrefixList and tagPatternList"),
    ("delivery-image-lifecycle", edit_json("policy", lambda p: p["rules"][1]["selection"].update(countUnit="days")),
     "ecr-lifecycle", "imageCountMoreThan takes no countUnit"),
    ("delivery-image-lifecycle", edit_json("policy", lambda p: p["rules"][0]["selection"].update(tagStatus="any")),
     "ecr-lifecycle", "the highest rulePriority"),
    ("ingress-web-acl", lambda i: i["rules"][0]["statement"]["managedRuleGroupStatement"].update(
        name="AWSManagedRulesCommonRuleSett"), "waf", "AWS has no managed rule group 'AWSManagedRulesCommonRuleSett'"),
    ("ingress-web-acl", lambda i: i["rules"][0]["statement"]["managedRuleGroupStatement"]["ruleActionOverrides"][0]
     .update(name="SizeRestrictions_BDY"), "waf", "has no rule SizeRestrictions_BDY"),
    ("ingress-web-acl", lambda i: i["visibilityConfig"].update(metricName="airstack prod ui"), "waf",
     "1 to 128 letters, digits, - and _"),
    ("ingress-web-acl", lambda i: i["rules"][1]["visibilityConfig"].update(metricName="Default_Action"), "waf",
     "is reserved by WAF"),
    ("ingress-web-acl", lambda i: i["rules"][1].update(priority=0), "waf", "rule priority repeats: 0"),
    ("ingress-web-acl", lambda i: i["rules"][2].update(action={"block": {}}), "waf", "takes OverrideAction"),
    ("ingress-web-acl", lambda i: i.update(rules=[{**i["rules"][0], "name": f"crs-{n}", "priority": n}
                                                  for n in range(8)]), "waf", "need 5600 WCU"),
    ("ingress-web-acl-association", lambda i: i.update(
        resourceArn="arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/api/0123456789abcdef"),
     "waf-association", "is not an application load balancer"),
]  # fmt: skip


CASES = [("dev", *b) for b in BROKEN] + [("prod", *b) for b in BROKEN_IN_PROD]


@pytest.mark.parametrize(("stack", "name", "change", "rule", "fragment"), CASES, ids=[f"{c[1]}-{c[3]}" for c in CASES])
def test_a_broken_document_is_refused(stack: str, name: str, change: Callable[[dict[str, Any]], None], rule: str,
                                      fragment: str) -> None:  # fmt: skip
    found = broken(stack, name, change)
    assert any(f" {rule}: " in p and fragment in p for p in found), "\n".join(found) or "nothing refused"


def _without_statement(sid: str) -> Callable[[dict[str, Any]], None]:
    return edit_json("policy", lambda d: d.update(Statement=[st for st in d["Statement"] if st.get("Sid") != sid]))


def _dag_sync_reads_only(policy: dict[str, Any]) -> None:
    for st in policy["Statement"]:
        if "elasticfilesystem:ClientWrite" in st["Action"]:
            st["Action"] = ["elasticfilesystem:ClientMount"]


BROKEN_TOGETHER = [
    # (resource, change, what else is replayed, the rule that refuses it, a fragment of its message)
    ("iam-dag-sync", edit_json("assumeRolePolicy", first_statement(lambda s: s.update(
        Principal={"Service": "ecs-tasks.amazonaws.com"}))), ["delivery-dag-sync"], "lambda-role",
     "does not let lambda.amazonaws.com assume it"),
    ("iam-dag-sync-vpc", lambda i: i.update(policyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"),
     ["delivery-dag-sync"], "lambda-role", "may not ec2:CreateNetworkInterface on *"),
    ("iam-dag-sync-policy", edit_json("policy", lambda d: d["Statement"].pop(1)), ["delivery-dag-sync-retries"],
     "lambda-destination", "may not sqs:SendMessage"),
    ("dags-policy", edit_json("policy", _dag_sync_reads_only), ["delivery-dag-sync"], "lambda-file-system",
     "may not elasticfilesystem:ClientWrite"),
    ("delivery-dag-sync-from-s3", lambda i: i.update(principal="events.amazonaws.com"), ["delivery-dag-releases"],
     "s3-notification", "does not let s3.amazonaws.com invoke it"),
    ("buckets-logs-tls-only", _without_statement("FlowLogsWrite"), ["network-flow-logs"], "flow-log-bucket",
     "does not let delivery.logs.amazonaws.com s3:PutObject"),
    ("buckets-logs-tls-only", _without_statement("FlowLogsCheckAcl"), ["network-flow-logs"], "flow-log-bucket",
     "s3:GetBucketAcl"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "change", "also", "rule", "fragment"), BROKEN_TOGETHER,
                         ids=[f"{b[0]}-{b[3]}" for b in BROKEN_TOGETHER])  # fmt: skip
def test_what_another_resource_needs_is_refused(name: str, change: Callable[[dict[str, Any]], None], also: list[str],
                                                rule: str, fragment: str) -> None:  # fmt: skip
    """A role, a policy or a permission the dependent resource cannot work with: refused where it is used."""
    found = broken("dev", name, change, *also)
    assert any(f" {rule}: " in p and fragment in p for p in found), "\n".join(found) or "nothing refused"


def test_a_container_secret_the_execution_role_may_not_read_is_refused() -> None:
    secrets = [r.name for r in planned("dev").resources if r.type == "aws:secretsmanager/secret:Secret"]
    narrowed = edit_json("policy", first_statement(lambda s: s.update(Resource=s["Resource"][:1])))
    found = broken(
        "dev", "iam-worker-analytics-execution-secrets", narrowed, "compute-worker-analytics-task-definition", *secrets
    )
    assert any(" ecs-execution-role: " in p and "may not secretsmanager:GetSecretValue" in p for p in found), "\n".join(
        found
    )


def test_an_execution_role_that_cannot_pull_the_image_is_refused() -> None:
    def swap(inputs: dict[str, Any]) -> None:
        inputs["policyArn"] = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"

    found = broken("dev", "iam-worker-analytics-execution-managed", swap, "compute-worker-analytics-task-definition")
    assert any(" ecs-execution-role: " in p and "may not ecr:BatchGetImage" in p for p in found), "\n".join(found)
    assert any("may not logs:PutLogEvents" in p for p in found), "\n".join(found)


def test_a_missing_dependency_fails_the_replay() -> None:
    """The engine creates what waits for nothing at once: a role's policy must wait for the role."""
    run = planned("dev")
    policy = next(r for r in run.resources if r.name == "iam-worker-analytics-task-policy")
    detached = replace(run, resources=[replace(r, dependencies=[], property_dependencies={}) if r is policy else r
                                       for r in run.resources])  # fmt: skip
    found = [str(p) for p in replay_stack(detached, only=[policy.name]).problems]
    assert any("iam:PutRolePolicy" in p and "NoSuchEntity" in p for p in found), "\n".join(found)
