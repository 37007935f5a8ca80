"""The replay's calls for ECS (cluster, capacity providers, task definitions, services), and what a task needs
when it starts, checked once everything exists."""

from __future__ import annotations

import json
import re
from typing import Any

from airstack.mocks import ACCOUNT_ID
from airstack.offline import Resource
from tests.replay import Failed, Inputs, Replay, handles, identity, policies, rules
from tests.replay.shapes import kv, physical_name, prune

# ------------------------------------------------------------------------------------------------- ECS


@handles("aws:ecs/cluster:Cluster")
def cluster(rp: Replay, r: Resource, i: Inputs) -> None:
    defaults = i.get("serviceConnectDefaults")
    answer = rp.call(r, "ecs", "create_cluster", clusterName=physical_name(r, i), settings=i.get("settings"),
                     configuration=i.get("configuration"),
                     serviceConnectDefaults={"namespace": defaults["namespace"]} if defaults else None,
                     tags=kv(i.get("tags"), "key", "value"))["cluster"]  # fmt: skip
    rp.bind(r.id, answer["clusterArn"])
    rp.bind(r.outputs.get("arn"), answer["clusterArn"])


@handles("aws:ecs/clusterCapacityProviders:ClusterCapacityProviders")
def capacity_providers(rp: Replay, r: Resource, i: Inputs) -> None:
    providers = i.get("capacityProviders") or []
    strategy = [prune({"capacityProvider": s["capacityProvider"], "weight": s.get("weight"), "base": s.get("base")})
                for s in i.get("defaultCapacityProviderStrategies") or []]  # fmt: skip
    rp.call(r, "ecs", "put_cluster_capacity_providers", cluster=i["clusterName"], capacityProviders=providers,
            defaultCapacityProviderStrategy=strategy)  # fmt: skip
    rp.facts.setdefault("capacity_providers", {})[i["clusterName"]] = set(providers)


def _volume(volume: dict[str, Any]) -> dict[str, Any]:
    """A task definition volume in the provider's shape as RegisterTaskDefinition takes it."""
    converted = {k: v for k, v in volume.items() if k not in ("hostPath", "configureAtLaunch")}
    if volume.get("hostPath"):
        converted["host"] = {"sourcePath": volume["hostPath"]}
    if "configureAtLaunch" in volume:
        converted["configuredAtLaunch"] = volume["configureAtLaunch"]
    return converted


@handles("aws:ecs/taskDefinition:TaskDefinition")
def task_definition(rp: Replay, r: Resource, i: Inputs) -> None:
    try:
        containers = json.loads(i["containerDefinitions"])
    except ValueError as error:
        rp.problem(r, "ecs-container-definitions", f"not JSON: {error}")
        raise Failed from error
    storage = i.get("ephemeralStorage")
    proxy = i.get("proxyConfiguration")
    params = prune({
        "family": i["family"], "containerDefinitions": containers, "taskRoleArn": i.get("taskRoleArn"),
        "executionRoleArn": i.get("executionRoleArn"), "networkMode": i.get("networkMode"),
        "requiresCompatibilities": i.get("requiresCompatibilities"), "cpu": i.get("cpu"), "memory": i.get("memory"),
        "runtimePlatform": i.get("runtimePlatform"), "volumes": [_volume(v) for v in i.get("volumes") or []] or None,
        "placementConstraints": i.get("placementConstraints"), "pidMode": i.get("pidMode"), "ipcMode": i.get("ipcMode"),
        "ephemeralStorage": {"sizeInGiB": storage["sizeInGib"]} if storage else None,
        "proxyConfiguration": {"type": proxy.get("type"), "containerName": proxy["containerName"], "properties": [
            {"name": k, "value": v} for k, v in (proxy.get("properties") or {}).items()]} if proxy else None,
        "enableFaultInjection": i.get("enableFaultInjection"), "tags": kv(i.get("tags"), "key", "value"),
    })  # fmt: skip
    rp.check(r, "ecs-task-definition", rules.task_definition_problems(params, rp.region_of(r)))
    answer = rp.call(r, "ecs", "register_task_definition", **params)["taskDefinition"]
    rp.bind(r.outputs.get("arn"), answer["taskDefinitionArn"])
    rp.bind(r.outputs.get("arnWithoutRevision"), answer["taskDefinitionArn"].rsplit(":", 1)[0])
    rp.facts.setdefault("task_definitions", {})[answer["taskDefinitionArn"]] = (r, params)


@handles("aws:ecs/service:Service")
def service(rp: Replay, r: Resource, i: Inputs) -> None:
    name = physical_name(r, i)
    definitions = rp.facts.get("task_definitions", {})
    _, task = definitions.get(i["taskDefinition"], (None, {}))
    rp.expect(r, "ecs-service", bool(task), f"task definition {i['taskDefinition']} was not registered")
    containers = {c["name"]: c for c in task.get("containerDefinitions", [])}
    port_names = {p["name"] for c in containers.values() for p in c.get("portMappings", []) if "name" in p}
    balancers = [prune({"targetGroupArn": b.get("targetGroupArn"), "containerName": b["containerName"],
                        "containerPort": b["containerPort"], "loadBalancerName": b.get("elbName")})
                 for b in i.get("loadBalancers") or []]  # fmt: skip
    behind_listener = rp.facts.get("listened_target_groups", set())
    for b in balancers:
        ports = {p.get("containerPort") for p in containers.get(b["containerName"], {}).get("portMappings", [])}
        rp.expect(r, "ecs-service", b["containerPort"] in ports,
                  f"load balancer target {b['containerName']}:{b['containerPort']} is no port of the task")  # fmt: skip
        rp.expect(r, "ecs-service", b.get("targetGroupArn") in behind_listener,
                  f"target group {b.get('targetGroupArn')} has no listener yet (ECS: no associated load balancer)")  # fmt: skip
    grace = i.get("healthCheckGracePeriodSeconds")
    rp.expect(r, "ecs-service", grace is None or bool(balancers),
              "healthCheckGracePeriodSeconds is only valid with a load balancer")  # fmt: skip
    strategy = [prune({"capacityProvider": s["capacityProvider"], "weight": s.get("weight"), "base": s.get("base")})
                for s in i.get("capacityProviderStrategies") or []]  # fmt: skip
    cluster_name = str(i.get("cluster", "")).rsplit("/", 1)[-1]
    available = rp.facts.get("capacity_providers", {}).get(cluster_name, set())
    for s in strategy:
        rp.expect(r, "ecs-service", s["capacityProvider"] in available,
                  f"capacity provider {s['capacityProvider']} is not associated with the cluster")  # fmt: skip
    network = i.get("networkConfiguration")
    if network:
        subnet_vpcs = {rp.facts.get("subnet_vpc", {}).get(s) for s in network.get("subnets", [])}
        group_vpcs = {rp.facts.get("sg_vpc", {}).get(g) for g in network.get("securityGroups", [])}
        rp.expect(r, "ecs-service", len(subnet_vpcs | group_vpcs) <= 1, "subnets and security groups in different VPCs")
    connect = i.get("serviceConnectConfiguration")
    if connect:
        for s in connect.get("services") or []:
            rp.expect(r, "ecs-service-connect", s["portName"] in port_names,
                      f"service connect port {s['portName']!r} is not a named port of the task ({sorted(port_names)})")  # fmt: skip
        rp.expect(r, "ecs-service-connect", rp.exists(connect.get("namespace", "")),
                  f"namespace {connect.get('namespace')} does not exist")  # fmt: skip
    breaker = i.get("deploymentCircuitBreaker")
    alarms = i.get("alarms")
    answer = rp.call(
        r, "ecs", "create_service", cluster=i.get("cluster"), serviceName=name, taskDefinition=i["taskDefinition"],
        desiredCount=i.get("desiredCount"), launchType=i.get("launchType"), capacityProviderStrategy=strategy or None,
        platformVersion=i.get("platformVersion"), schedulingStrategy=i.get("schedulingStrategy"),
        deploymentConfiguration=prune({
            "maximumPercent": i.get("deploymentMaximumPercent"),
            "minimumHealthyPercent": i.get("deploymentMinimumHealthyPercent"),
            "deploymentCircuitBreaker": {"enable": breaker["enable"], "rollback": breaker["rollback"]} if breaker else None,
            "alarms": {"alarmNames": alarms["alarmNames"], "enable": alarms["enable"], "rollback": alarms["rollback"]}
            if alarms else None,
        }) or None,
        deploymentController={"type": i["deploymentController"]["type"]} if i.get("deploymentController") else None,
        networkConfiguration={"awsvpcConfiguration": prune({
            "subnets": network.get("subnets"), "securityGroups": network.get("securityGroups"),
            "assignPublicIp": "ENABLED" if network.get("assignPublicIp") else "DISABLED"})} if network else None,
        loadBalancers=balancers or None, healthCheckGracePeriodSeconds=grace,
        enableExecuteCommand=i.get("enableExecuteCommand"), enableECSManagedTags=i.get("enableEcsManagedTags"),
        propagateTags=i.get("propagateTags"), availabilityZoneRebalancing=i.get("availabilityZoneRebalancing"),
        placementStrategy=i.get("orderedPlacementStrategies"), placementConstraints=i.get("placementConstraints"),
        serviceRegistries=[i["serviceRegistries"]] if i.get("serviceRegistries") else None,
        serviceConnectConfiguration=prune({
            "enabled": connect.get("enabled"), "namespace": connect.get("namespace"),
            "logConfiguration": connect.get("logConfiguration"),
            "services": [prune({"portName": s["portName"], "discoveryName": s.get("discoveryName"),
                                "ingressPortOverride": s.get("ingressPortOverride"), "timeout": s.get("timeout"),
                                "tls": s.get("tls"), "clientAliases": s.get("clientAlias")})
                         for s in connect.get("services") or []] or None,
        }) if connect else None,
        tags=kv(i.get("tags"), "key", "value"),
    )["service"]  # fmt: skip
    rp.bind(r.id, answer["serviceArn"])
    rp.bind(r.outputs.get("arn"), answer["serviceArn"])
    rp.facts.setdefault("services", {})[answer["serviceArn"]] = (r, i["taskDefinition"])


# ------------------------------------------------------------------------------------------ across resources


def after_all(rp: Replay) -> None:
    """What a task needs when it starts: an execution role that may pull its image, write its logs and read its
    secrets, which must exist; a mount target of each EFS file system in its AZs."""
    startable = _startable(rp)
    for arn, (r, params) in rp.facts.get("task_definitions", {}).items():
        _task_permissions(rp, r, arn.rsplit("/", 1)[-1], params, dormant=arn not in startable)
    _task_mounts(rp)


def _startable(rp: Replay) -> set[str]:
    """The task definitions a service may start: one of its services wants tasks, or may be scaled to some.
    A service at zero that no scaling may raise (a pilot-light standby) starts nothing until it is changed."""
    ceilings: dict[str, int] = rp.facts.get("scalable_max", {})
    found: set[str] = set()
    for r, definition in rp.facts.get("services", {}).values():
        cluster = str(rp.sub(r.inputs).get("cluster", "")).rsplit("/", 1)[-1]
        name = r.inputs.get("name") or r.outputs.get("name")
        if (r.inputs.get("desiredCount") or 0) > 0 or ceilings.get(f"service/{cluster}/{name}", 0) > 0:
            found.add(definition)
    return found


def _task_mounts(rp: Replay) -> None:
    """A task reaches its EFS file system through a mount target in its own AZ."""
    for r, definition in rp.facts.get("services", {}).values():
        _, params = rp.facts.get("task_definitions", {}).get(definition, (None, {}))
        zones = {
            rp.facts.get("subnet_az", {}).get(s)
            for s in rp.sub(r.inputs).get("networkConfiguration", {}).get("subnets", [])
        }
        for volume in params.get("volumes", []):
            fs = (volume.get("efsVolumeConfiguration") or {}).get("fileSystemId")
            if fs:
                missing = sorted(z for z in zones - rp.facts.get("mount_targets", {}).get(fs, set()) if z)
                rp.expect(r, "efs-mount-target", not missing, f"no mount target of {fs} in {', '.join(missing)}")


def _task_permissions(rp: Replay, r: Resource, task: str, params: dict[str, Any], *, dormant: bool) -> None:
    role = str(params.get("executionRoleArn", "")).rsplit("/", 1)[-1]
    documents = identity.role_documents(rp, role)

    def may(action: str, resource: str, why: str) -> None:
        rp.expect(r, "ecs-execution-role", policies.allows(documents, action, resource),
                  f"{task}: the execution role {role} may not {action} on {resource} ({why})")  # fmt: skip

    for container in params.get("containerDefinitions", []):
        where = f"{task} container {container['name']}"
        image = re.fullmatch(
            r"(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/([^:@]+).*", container["image"]
        )
        if image:
            account, region, repository = image.groups()
            repo = f"arn:{policies.partition_of(region)}:ecr:{region}:{account}:repository/{repository}"
            may("ecr:GetAuthorizationToken", "*", "to pull the image")
            may("ecr:BatchGetImage", repo, "to pull the image")
            may("ecr:GetDownloadUrlForLayer", repo, "to pull the image")
            cached = [p for (rg, p) in rp.facts.get("pull_through_prefixes", {}) if rg == region
                      and repository.startswith(f"{p}/")]  # fmt: skip
            if cached:
                # The first pull through the cache imports the image and creates its repository.
                may("ecr:BatchImportUpstreamImage", repo, f"to fill the pull-through cache {cached[0]}")
                may("ecr:CreateRepository", repo, f"to fill the pull-through cache {cached[0]}")
        options = (container.get("logConfiguration") or {}).get("options", {})
        group, region = options.get("awslogs-group"), options.get("awslogs-region", rp.run.region)
        if group and options.get("awslogs-create-group") != "true":
            exists = (region, group) in rp.facts.get("log_groups", set())
            rp.expect(r, "ecs-logs", exists, f"{where}: log group {group} does not exist in {region}")
            stream = f"arn:{policies.partition_of(region)}:logs:{region}:{ACCOUNT_ID}:log-group:{group}:log-stream:x"
            may("logs:CreateLogStream", stream, "to write its logs")
            may("logs:PutLogEvents", stream, "to write its logs")
        for secret in container.get("secrets", []):
            value = secret["valueFrom"]
            if ":secretsmanager:" not in value:
                continue
            secret_id = re.sub(r"(:secret:[^:]+):.*$", r"\1", value)  # a JSON key suffix names part of the secret
            found = rp.look("secretsmanager", "describe_secret", value.split(":")[3], SecretId=secret_id)
            # A task nothing starts reads no secret yet (a standby's, which its activation creates or its primary
            # replicates); ``replay_world`` checks it with the primary's replicas in place.
            rp.expect(r, "ecs-secrets", found is not None or dormant, f"{where}: {value} does not resolve to a secret")
            if found is not None:
                may("secretsmanager:GetSecretValue", found["ARN"], f"secret {secret['name']}")
