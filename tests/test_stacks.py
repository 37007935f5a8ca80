"""What each real stack deploys, asserted on the resources the real program registers under mocks."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from airstack.offline import ProgramRun
from airstack.stackfile import read_stack_file
from components import recovery
from components.airflow_metrics import AGENT_CONTAINER
from components.airflow_settings import SECRET_NAMES
from tests.conftest import STACKS, containers, env_of, of_type, planned

QUEUE = "aws:sqs/queue:Queue"
SERVICE = "aws:ecs/service:Service"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
ACCESS_POINT = "aws:efs/accessPoint:AccessPoint"
VPC = "awsx:ec2:Vpc"
DB = "aws:rds/instance:Instance"
TIERS = {
    "airstack:network:Network", "airstack:metastore:Metastore", "airstack:broker:Broker", "airstack:dags:DagStorage",
    "airstack:buckets:Buckets", "airstack:secrets:Secrets", "airstack:compute:Compute", "airstack:ingress:Ingress",
    "airstack:monitoring:Monitoring", "airstack:identity:Identities", "airstack:delivery:Delivery",
}  # fmt: skip
DR_TIERS = {"airstack:dr:Replication", "airstack:dr:Standby"}
"""A DR primary's replication, an activated standby's view of its primary."""


def tiers_of(stack: str) -> set[str]:
    config = read_stack_file(stack).load()
    return (
        TIERS
        | ({"airstack:dr:Replication"} if recovery.is_primary(config) else set())
        | ({"airstack:dr:Standby"} if recovery.restores(config) else set())
    )


def one(run: ProgramRun, typ: str) -> dict[str, Any]:
    [resource] = of_type(run, typ)
    return resource.inputs


def test_every_stack_plans_with_every_tier(stack_run: ProgramRun) -> None:
    types = Counter(r.type for r in stack_run.resources)
    assert {t for t in types if t.startswith("airstack:")} == tiers_of(stack_run.stack) | {
        "airstack:platform:AirflowPlatform"
    }
    assert types[VPC] == 1
    # A standby in pilot light has no database: it restores one when it is activated.
    assert types[DB] == (1 if recovery.has_database(read_stack_file(stack_run.stack).load()) else 0)
    assert types["aws:ecs/cluster:Cluster"] == 1
    assert stack_run.outputs["albDnsName"].endswith(".elb.amazonaws.com")


@pytest.mark.parametrize("stack", STACKS)
def test_the_ui_url_is_exported_only_where_the_stack_owns_its_dns_record(stack: str) -> None:
    """With a hosted zone the program requests and validates the certificate and adds the alias record."""
    run, ingress = planned(stack), read_stack_file(stack).load().ingress
    certificates = of_type(run, "aws:acm/certificate:Certificate")
    if ingress.hosted_zone_id:
        assert run.outputs["uiUrl"] == f"https://{ingress.domain}/"
        [certificate] = certificates
        assert certificate.inputs == {
            "domainName": ingress.domain,
            "validationMethod": "DNS",
            "tags": certificate.inputs["tags"],
        }
        [validation] = of_type(run, "aws:acm/certificateValidation:CertificateValidation")
        [https] = [r for r in of_type(run, "aws:lb/listener:Listener") if r.inputs["port"] == 443]
        assert https.inputs["certificateArn"] == validation.outputs["certificateArn"] == certificate.outputs["arn"]
        assert validation.urn in https.property_dependencies["certificateArn"], "the listener waits for validation"
        records = {r.inputs["type"]: r.inputs for r in of_type(run, "aws:route53/record:Record")}
        assert records["A"]["name"] == ingress.domain
        assert records["CNAME"]["zoneId"] == records["A"]["zoneId"] == ingress.hosted_zone_id
    else:
        assert "uiUrl" not in run.outputs
        assert certificates == []


@pytest.mark.parametrize("stack", STACKS)
def test_n_teams_give_n_queues_dlqs_worker_services_and_access_points(stack: str) -> None:
    run = planned(stack)
    config = read_stack_file(stack).load()
    teams = len(config.teams)
    queues = of_type(run, QUEUE)
    assert len([q for q in queues if q.inputs["tags"]["airstack:role"] == "celery-broker"]) == teams
    assert len([q for q in queues if q.inputs["tags"]["airstack:role"] == "celery-dead-letter"]) == teams
    assert len(of_type(run, ACCESS_POINT)) == teams + 1, "one per team, and the DAG deployment function's"
    workers = [s for s in of_type(run, SERVICE) if s.inputs["name"].startswith("worker-")]
    assert sorted(s.inputs["name"] for s in workers) == sorted(f"worker-{t.name}" for t in config.teams)
    assert sorted(s.inputs["name"] for s in of_type(run, SERVICE) if s not in workers) == [
        "api-server", "dag-processor", "scheduler", "triggerer",
    ]  # fmt: skip
    paths = sorted(ap.inputs["rootDirectory"]["path"] for ap in of_type(run, ACCESS_POINT))
    assert paths == sorted(["/dags", *(f"/dags/{t.directory}" for t in config.teams)])


def test_prod_is_highly_available_and_dev_is_small() -> None:
    dev, prod = planned("dev"), planned("prod")
    assert one(prod, DB)["multiAz"] is True
    assert one(prod, DB)["deletionProtection"] is True
    assert one(dev, DB)["multiAz"] is False
    assert one(dev, DB)["deletionProtection"] is False
    assert one(prod, DB)["instanceClass"] == "db.t4g.medium"
    assert one(dev, DB)["instanceClass"] == "db.t4g.micro"
    assert one(prod, DB)["performanceInsightsEnabled"] is True
    assert one(prod, VPC)["natGateways"] == {"strategy": "OnePerAz"}
    assert one(dev, VPC)["natGateways"] == {"strategy": "Single"}
    assert one(prod, VPC)["numberOfAvailabilityZones"] == 3
    prod_api = next(s for s in of_type(prod, SERVICE) if s.inputs["name"] == "api-server")
    dev_api = next(s for s in of_type(dev, SERVICE) if s.inputs["name"] == "api-server")
    assert (prod_api.inputs["desiredCount"], dev_api.inputs["desiredCount"]) == (2, 1)
    endpoints = {e.inputs["serviceName"].rsplit(".", 1)[-1] for e in of_type(prod, "aws:ec2/vpcEndpoint:VpcEndpoint")}
    assert endpoints == {"api", "dkr", "logs", "secretsmanager", "sqs", "sts", "monitoring"}
    assert not of_type(dev, "aws:ec2/vpcEndpoint:VpcEndpoint")
    assert of_type(dev, "aws:appautoscaling/scheduledAction:ScheduledAction")
    assert not of_type(prod, "aws:appautoscaling/scheduledAction:ScheduledAction")


@pytest.mark.parametrize(("stack", "protected"), [("dev", False), ("acc", False), ("prod", True), ("dr", True)])
def test_stateful_resources_are_protected_in_prod_and_dr(stack: str, protected: bool) -> None:
    run = planned(stack)
    stateful = [
        r for r in run.resources
        if r.type in (DB, "aws:efs/fileSystem:FileSystem", "aws:s3/bucket:Bucket", "aws:secretsmanager/secret:Secret")
    ]  # fmt: skip
    # database, file system, logs/data/DAG-release buckets, secrets; a standby in pilot light has no database and
    # creates none of the secrets (it reads the primary's replicas, and has no database URL yet)
    assert len(stateful) == (1 + 1 + 3 + 6 if stack != "dr" else 1 + 3)
    assert {r.protect for r in stateful} == {protected}


def test_dr_is_a_standby_with_services_at_zero_and_prod_replicates_backups() -> None:
    dr, prod = planned("dr"), planned("prod")
    assert {s.inputs["desiredCount"] for s in of_type(dr, SERVICE)} == {0}
    [replication] = of_type(prod, "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication")
    [key] = [k for k in of_type(prod, "aws:kms/key:Key") if k.inputs.get("region") == "eu-central-1"]
    # An encrypted instance's backups can only be copied with a key of the destination region.
    assert replication.inputs["region"] == "eu-central-1"
    assert replication.inputs["kmsKeyId"] == key.outputs["arn"]
    assert key.protect
    assert not of_type(dr, "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication")


def test_every_celery_process_visibility_equals_its_queue(stack_run: ProgramRun) -> None:
    queues = {q.outputs["url"]: q.inputs for q in of_type(stack_run, QUEUE)}
    checked = 0
    for task in of_type(stack_run, TASK_DEFINITION):
        for container in containers(task):
            if container["name"] == AGENT_CONTAINER:
                continue
            env = env_of(container)
            urls = json.loads(env["AIRSTACK_CELERY_PREDEFINED_QUEUES"]).values()
            visibility = int(env["AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT"])
            timeouts = [queues[u]["visibilityTimeoutSeconds"] for u in urls]
            if container["name"] == "worker":
                assert timeouts == [visibility]
                checked += 1
            assert visibility >= max(timeouts)
            assert int(env["AIRFLOW__CORE__DEFAULT_TASK_EXECUTION_TIMEOUT"]) < visibility <= 43200
    assert checked == len(read_stack_file(stack_run.stack).load().teams)


def test_no_secret_value_appears_in_any_container_environment(stack_run: ProgramRun) -> None:
    secret_values = {
        r.inputs["secretString"] for r in of_type(stack_run, "aws:secretsmanager/secretVersion:SecretVersion")
    }
    owned = recovery.owned_secrets(read_stack_file(stack_run.stack).load(), SECRET_NAMES)
    assert len(secret_values) == len(owned)
    for task in of_type(stack_run, TASK_DEFINITION):
        text = task.inputs["containerDefinitions"]
        assert not any(value in text for value in secret_values)
        for container in containers(task):
            assert all(s["valueFrom"].startswith("arn:aws:secretsmanager:") for s in container["secrets"])
    for version in of_type(stack_run, "aws:secretsmanager/secretVersion:SecretVersion"):
        assert "secretString" in version.secret_inputs


def test_every_resource_sits_under_its_tier(stack_run: ProgramRun) -> None:
    by_urn = {r.urn: r for r in stack_run.resources}
    for resource in stack_run.resources:
        if resource.type.startswith(("airstack:", "pulumi:")):
            continue
        parent = by_urn[resource.parent or ""]
        assert parent.type in TIERS | DR_TIERS, f"{resource.urn} sits under {parent.type}"
        assert resource.name.startswith(f"{parent.name}-"), f"{resource.name} is not named from {parent.name}"


def test_services_run_in_private_subnets_with_their_role_security_group(stack_run: ProgramRun) -> None:
    [vpc] = of_type(stack_run, VPC)
    groups = {g.name: g.outputs["id"] for g in of_type(stack_run, "aws:ec2/securityGroup:SecurityGroup")}
    expected = {"api-server": "network-api-server", "scheduler": "network-core", "dag-processor": "network-core",
                "triggerer": "network-core"}  # fmt: skip
    for service in of_type(stack_run, SERVICE):
        network = service.inputs["networkConfiguration"]
        assert network["assignPublicIp"] is False
        assert network["subnets"] == vpc.outputs["privateSubnetIds"]
        group = expected.get(service.inputs["name"], "network-workers")
        assert network["securityGroups"] == [groups[group]]
        assert service.inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}


def test_spot_workers_where_configured() -> None:
    for stack, expected in (("dev", "FARGATE_SPOT"), ("prod", "FARGATE")):
        for service in of_type(planned(stack), SERVICE):
            if service.inputs["name"].startswith("worker-"):
                assert service.inputs["capacityProviderStrategies"][0]["capacityProvider"] == expected


def test_adding_a_team_adds_exactly_its_resources_and_changes_no_other_urn(run_with) -> None:
    base = planned("dev")

    def add_team(values: dict[str, Any]) -> None:
        values["airstack:teams"].append({"name": "finance", "longestTask": "30m", "workers": {"min": 0, "max": 1}})

    grown = run_with("dev", add_team)
    before, after = {r.urn for r in base.resources}, {r.urn for r in grown.resources}
    assert before <= after
    added = after - before
    assert all("finance" in urn for urn in added), sorted(u for u in added if "finance" not in u)
    added_types = Counter(grown.get(u).type for u in added)
    assert added_types[QUEUE] == 2
    assert added_types[SERVICE] == 1
    assert added_types[ACCESS_POINT] == 1


def test_autoscaled_and_hibernating_services_leave_their_count_to_autoscaling() -> None:
    dev, prod = planned("dev"), planned("prod")
    assert {s.inputs["name"]: s.ignore_changes for s in of_type(dev, SERVICE)} == {
        s.inputs["name"]: ("desiredCount",) for s in of_type(dev, SERVICE)
    }
    assert {s.inputs["name"] for s in of_type(prod, SERVICE) if s.ignore_changes} == {
        "worker-analytics", "worker-ml", "worker-reporting",
    }  # fmt: skip
    for service in of_type(prod, SERVICE):
        assert service.inputs["deploymentMinimumHealthyPercent"] == 100


def test_alarms_can_publish_to_the_encrypted_alert_topic(stack_run: ProgramRun) -> None:
    [topic] = of_type(stack_run, "aws:sns/topic:Topic")
    keys = {k.urn: k for k in of_type(stack_run, "aws:kms/key:Key")}
    key = keys[topic.property_dependencies["kmsMasterKeyId"][0]]
    assert topic.inputs["kmsMasterKeyId"] == key.outputs["arn"]
    statements = json.loads(key.inputs["policy"])["Statement"]
    cloudwatch = next(s for s in statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"})
    assert set(cloudwatch["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    alarms = of_type(stack_run, "aws:cloudwatch/metricAlarm:MetricAlarm")
    dead_letter = [a for a in alarms if "dead-letters" in a.name]
    assert len(dead_letter) == len(read_stack_file(stack_run.stack).load().teams)
    assert all(a.inputs["alarmActions"] == [topic.outputs["arn"]] for a in dead_letter)


# ------------------------------------------------------------------------------------ the first `up` succeeds


@pytest.mark.parametrize("stack", STACKS)
def test_services_redeploy_on_a_capacity_change_and_do_not_collide_on_replacement(stack: str) -> None:
    config = read_stack_file(stack).load()
    for service in of_type(planned(stack), SERVICE):
        assert service.inputs["forceNewDeployment"] is True, "a Spot switch needs a new deployment"
        assert service.delete_before_replace is True, "a fixed name would collide with its own replacement"
        core = not service.inputs["name"].startswith("worker-")
        assert service.inputs["waitForSteadyState"] is (core and config.wait_for_steady_state)


def test_up_waits_for_healthy_core_services_outside_dev() -> None:
    assert read_stack_file("prod").load().wait_for_steady_state is True
    assert read_stack_file("dev").load().wait_for_steady_state is False


def test_hibernation_owns_the_scaling_bounds_at_night() -> None:
    """A refresh at night reads min=max=0 from the scheduled action; `up` must not put the day's bounds back."""
    dev = planned("dev")
    targets = of_type(dev, "aws:appautoscaling/target:Target")
    assert targets
    assert all(set(t.ignore_changes) == {"minCapacity", "maxCapacity"} for t in targets)
    assert all(not t.ignore_changes for t in of_type(planned("prod"), "aws:appautoscaling/target:Target"))


@pytest.mark.parametrize("stack", STACKS)
def test_each_buckets_settings_are_applied_one_after_another(stack: str) -> None:
    run = planned(stack)
    for bucket in of_type(run, "aws:s3/bucket:Bucket"):
        settings = [r for r in run.resources if r.type.startswith("aws:s3/bucket") and r.type != bucket.type
                    and r.inputs.get("bucket") == bucket.outputs["id"]]  # fmt: skip
        assert len(settings) in (6, 7), "six settings, and the DAG releases' notification"
        order = {r.urn: i for i, r in enumerate(settings)}
        chained = [r for r in settings if r.dependencies and set(r.dependencies) & set(order)]
        assert len(chained) == len(settings) - 1, "every setting but the first waits for one before it"


@pytest.mark.parametrize("stack", [s for s in STACKS if s != "dr"])
def test_the_metastore_runs_a_major_version_with_its_master_password_managed(stack: str) -> None:
    [db] = of_type(planned(stack), DB)
    assert db.inputs["engineVersion"] == "16"
    assert db.inputs["autoMinorVersionUpgrade"] is True
    assert db.inputs["manageMasterUserPassword"] is True
    assert "password" not in db.inputs
    assert db.inputs["port"] == 5433
    assert db.inputs["monitoringInterval"] == 60
    assert db.inputs["enabledCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    groups = {g.inputs["name"] for g in of_type(planned(stack), "aws:cloudwatch/logGroup:LogGroup")}
    assert {f"/aws/rds/instance/{db.inputs['identifier']}/{e}" for e in ("postgresql", "upgrade")} <= groups


# ------------------------------------------------------------------------------------------ delivery tier


@pytest.mark.parametrize("stack", STACKS)
def test_dag_releases_reach_efs_through_the_deployment_function(stack: str) -> None:
    run, config = planned(stack), read_stack_file(stack).load()
    [function] = of_type(run, "aws:lambda/function:Function")
    assert function.inputs["handler"] == "dag_sync.handler.handler"
    assert function.inputs["runtime"] == "python3.12"
    assert function.inputs["code"]["assets"]["dag_sync/handler.py"]["path"].endswith("lambdas/dag_sync/handler.py")
    env = function.inputs["environment"]["variables"]
    assert json.loads(env["AIRSTACK_DAG_TEAMS"]) == {t.name: t.directory for t in config.teams}
    [artifacts] = [b for b in of_type(run, "aws:s3/bucket:Bucket") if b.inputs["tags"]["airstack:bucket"] == "dags"]
    assert env["AIRSTACK_ARTIFACTS_BUCKET"] == artifacts.outputs["bucket"]
    [notification] = of_type(run, "aws:s3/bucketNotification:BucketNotification")
    [trigger] = notification.inputs["lambdaFunctions"]
    assert (trigger["filterPrefix"], trigger["filterSuffix"], trigger["events"]) == (
        "dags/",
        ".zip",
        ["s3:ObjectCreated:*"],
    )
    [permission] = of_type(run, "aws:lambda/permission:Permission")
    assert (permission.inputs["principal"], permission.inputs["sourceArn"]) == (
        "s3.amazonaws.com",
        artifacts.outputs["arn"],
    )
    # Its own access point, rooted at /dags as Airflow's user; the file system lets only it write.
    points = {p.urn: p for p in of_type(run, "aws:efs/accessPoint:AccessPoint")}
    [writer] = [p for p in points.values() if p.inputs["rootDirectory"]["path"] == "/dags"]
    assert function.inputs["fileSystemConfig"] == {"arn": writer.outputs["arn"], "localMountPath": "/mnt/dags"}
    assert writer.inputs["posixUser"] == {"uid": 50000, "gid": 0}
    [policy] = of_type(run, "aws:efs/fileSystemPolicy:FileSystemPolicy")
    writes = [
        s for s in json.loads(policy.inputs["policy"])["Statement"] if "elasticfilesystem:ClientWrite" in s["Action"]
    ]
    assert [s["Condition"]["StringEquals"]["elasticfilesystem:AccessPointArn"] for s in writes] == [
        [writer.outputs["arn"]]
    ]
    mounts = {m.urn for m in of_type(run, "aws:efs/mountTarget:MountTarget")}
    assert mounts <= set(function.dependencies), "it mounts EFS when it starts: the mount targets exist first"
    [retries] = of_type(run, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
    [failures] = [q for q in of_type(run, QUEUE) if q.inputs["name"].endswith("dag-sync-failures")]
    assert retries.inputs["destinationConfig"]["onFailure"]["destination"] == failures.outputs["arn"]


def test_only_the_owning_stack_creates_the_image_repository() -> None:
    [repository] = of_type(planned("prod"), "aws:ecr/repository:Repository")
    assert repository.inputs["name"] == "airstack/airflow-core"
    assert repository.inputs["imageTagMutability"] == "IMMUTABLE"
    assert repository.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repository.protect
    [lifecycle] = of_type(planned("prod"), "aws:ecr/lifecyclePolicy:LifecyclePolicy")
    rules = json.loads(lifecycle.inputs["policy"])["rules"]
    assert {r["selection"]["tagStatus"] for r in rules} == {"untagged", "tagged"}
    assert all(not of_type(planned(s), "aws:ecr/repository:Repository") for s in ("dev", "acc", "dr"))


# ------------------------------------------------------------------------------------ security baseline


@pytest.mark.parametrize("stack", STACKS)
def test_the_network_keeps_flow_logs_and_an_empty_default_group(stack: str) -> None:
    run = planned(stack)
    [flow] = of_type(run, "aws:ec2/flowLog:FlowLog")
    [logs] = [b for b in of_type(run, "aws:s3/bucket:Bucket") if b.inputs["tags"]["airstack:bucket"] == "logs"]
    assert flow.inputs["logDestination"] == f"{logs.outputs['arn']}/vpc-flow-logs/"
    assert flow.inputs["trafficType"] == "ALL"
    [default] = of_type(run, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert "ingress" not in default.inputs
    assert "egress" not in default.inputs
    [policy] = [p for p in of_type(run, "aws:s3/bucketPolicy:BucketPolicy") if p.inputs["bucket"] == logs.outputs["id"]]
    sids = {s["Sid"] for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert sids == {"DenyInsecureTransport", "LoadBalancerAccessLogs", "FlowLogsWrite", "FlowLogsCheckAcl"}
    assert policy.urn in flow.dependencies, "the delivery may write before the flow log is created"


@pytest.mark.parametrize("stack", STACKS)
def test_the_load_balancer_logs_access_and_an_internet_facing_one_has_a_web_acl(stack: str) -> None:
    run, config = planned(stack), read_stack_file(stack).load()
    [alb] = of_type(run, "aws:lb/loadBalancer:LoadBalancer")
    assert alb.inputs["accessLogs"]["enabled"] is True
    assert alb.inputs["accessLogs"]["prefix"] == "alb"
    acls = of_type(run, "aws:wafv2/webAcl:WebAcl")
    assert bool(acls) is config.ingress.internet_facing
    for acl in acls:
        groups = [r["statement"]["managedRuleGroupStatement"]["name"] for r in acl.inputs["rules"]]
        assert "AWSManagedRulesCommonRuleSet" in groups
        [association] = of_type(run, "aws:wafv2/webAclAssociation:WebAclAssociation")
        assert association.inputs["resourceArn"] == alb.outputs["arn"]


def test_cloudwatch_may_use_the_alert_key_only_for_this_accounts_alarms() -> None:
    run = planned("prod")
    [topic] = of_type(run, "aws:sns/topic:Topic")
    key = next(k for k in of_type(run, "aws:kms/key:Key") if k.urn in topic.property_dependencies["kmsMasterKeyId"])
    cloudwatch = next(s for s in json.loads(key.inputs["policy"])["Statement"] if s["Sid"] == "CloudWatchAlarmsPublish")
    assert cloudwatch["Condition"]["StringEquals"] == {"aws:SourceAccount": "111122223333"}
    assert cloudwatch["Condition"]["ArnLike"]["aws:SourceArn"].startswith("arn:aws:cloudwatch:eu-west-1:111122223333")


@pytest.mark.parametrize("stack", STACKS)
def test_queues_keys_and_log_groups_are_protected_in_prod_and_dr(stack: str) -> None:
    run, protected = planned(stack), read_stack_file(stack).load().protected
    for typ in (QUEUE, "aws:kms/key:Key", "aws:cloudwatch/logGroup:LogGroup", "aws:secretsmanager/secret:Secret"):
        # A standby in pilot light creates no secrets (it reads its primary's replicas).
        expected = {protected} if typ != "aws:secretsmanager/secret:Secret" or stack != "dr" else set()
        assert {r.protect for r in of_type(run, typ)} == expected, typ


@pytest.mark.parametrize(("stack", "days"), [("dev", 0), ("acc", 7), ("prod", 30)])
def test_a_deleted_secret_can_be_restored_outside_dev(stack: str, days: int) -> None:
    secrets = of_type(planned(stack), "aws:secretsmanager/secret:Secret")
    assert {s.inputs["recoveryWindowInDays"] for s in secrets} == {days}
