"""The replay's calls for ECS, Application Auto Scaling, CloudWatch alarms, load balancing, certificates, DNS,
service discovery and RDS, and the checks across resources that run once everything exists (``after_all``)."""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

from airstack.offline import Resource
from tests.replay import Failed, Inputs, Replay, handles, rules
from tests.replay.foundation import kv, physical_name, prune

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


# ---------------------------------------------------------------------------------- Application Auto Scaling


@handles("aws:appautoscaling/target:Target")
def scalable_target(rp: Replay, r: Resource, i: Inputs) -> None:
    low, high = i["minCapacity"], i["maxCapacity"]
    rp.expect(r, "scaling", low <= high, f"minCapacity {low} is above maxCapacity {high}")
    suspended = i.get("suspendedState")
    answer = rp.call(r, "application-autoscaling", "register_scalable_target", ServiceNamespace=i["serviceNamespace"],
                     ResourceId=i["resourceId"], ScalableDimension=i["scalableDimension"], MinCapacity=low,
                     MaxCapacity=high, RoleARN=i.get("roleArn"), Tags=i.get("tags"),
                     SuspendedState=prune({"DynamicScalingInSuspended": suspended.get("dynamicScalingInSuspended"),
                                           "DynamicScalingOutSuspended": suspended.get("dynamicScalingOutSuspended"),
                                           "ScheduledScalingSuspended": suspended.get("scheduledScalingSuspended")})
                     if suspended else None)  # fmt: skip
    rp.bind(r.outputs.get("arn"), answer.get("ScalableTargetARN"))


def _bound(value: Any) -> float | None:
    return None if value in (None, "") else float(value)


@handles("aws:appautoscaling/policy:Policy")
def scaling_policy(rp: Replay, r: Resource, i: Inputs) -> None:
    step = i.get("stepScalingPolicyConfiguration")
    tracking = i.get("targetTrackingScalingPolicyConfiguration")
    steps = [prune({"MetricIntervalLowerBound": _bound(s.get("metricIntervalLowerBound")),
                    "MetricIntervalUpperBound": _bound(s.get("metricIntervalUpperBound")),
                    "ScalingAdjustment": s["scalingAdjustment"]}) for s in (step or {}).get("stepAdjustments", [])]  # fmt: skip
    intervals = sorted((s.get("MetricIntervalLowerBound", float("-inf")), s.get("MetricIntervalUpperBound", float("inf")))
                       for s in steps)  # fmt: skip
    for (_, upper), (lower, _) in itertools.pairwise(intervals):
        rp.expect(r, "scaling", upper <= lower, f"step adjustments overlap: {intervals}")
    answer = rp.call(
        r, "application-autoscaling", "put_scaling_policy", PolicyName=physical_name(r, i),
        ServiceNamespace=i["serviceNamespace"], ResourceId=i["resourceId"], ScalableDimension=i["scalableDimension"],
        PolicyType=i.get("policyType"),
        StepScalingPolicyConfiguration=prune({
            "AdjustmentType": step.get("adjustmentType"), "Cooldown": step.get("cooldown"),
            "MetricAggregationType": step.get("metricAggregationType"),
            "MinAdjustmentMagnitude": step.get("minAdjustmentMagnitude"), "StepAdjustments": steps,
        }) if step else None,
        TargetTrackingScalingPolicyConfiguration=prune({
            "TargetValue": tracking["targetValue"], "DisableScaleIn": tracking.get("disableScaleIn"),
            "ScaleInCooldown": tracking.get("scaleInCooldown"), "ScaleOutCooldown": tracking.get("scaleOutCooldown"),
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": tracking["predefinedMetricSpecification"]["predefinedMetricType"],
                "ResourceLabel": tracking["predefinedMetricSpecification"].get("resourceLabel"),
            } if tracking.get("predefinedMetricSpecification") else None,
        }) if tracking else None,
    )  # fmt: skip
    rp.bind(r.outputs.get("arn"), answer.get("PolicyARN"))


@handles("aws:appautoscaling/scheduledAction:ScheduledAction")
def scheduled_action(rp: Replay, r: Resource, i: Inputs) -> None:
    action = i["scalableTargetAction"]
    rp.check(r, "schedule", rules.schedule_problems(i["schedule"], i.get("timezone")))
    low, high = action.get("minCapacity"), action.get("maxCapacity")
    rp.expect(r, "scaling", low is None or high is None or low <= high, f"minCapacity {low} above maxCapacity {high}")
    rp.call(r, "application-autoscaling", "put_scheduled_action", ServiceNamespace=i["serviceNamespace"],
            ScheduledActionName=physical_name(r, i), ResourceId=i["resourceId"], ScalableDimension=i["scalableDimension"],
            Schedule=i["schedule"], Timezone=i.get("timezone"), StartTime=i.get("startTime"), EndTime=i.get("endTime"),
            ScalableTargetAction=prune({"MinCapacity": low, "MaxCapacity": high}))  # fmt: skip


# ---------------------------------------------------------------------------------------------- alarms


def _dimensions(dimensions: dict[str, str] | None) -> list[dict[str, str]] | None:
    return [{"Name": k, "Value": v} for k, v in dimensions.items()] if dimensions else None


@handles("aws:cloudwatch/metricAlarm:MetricAlarm")
def metric_alarm(rp: Replay, r: Resource, i: Inputs) -> None:
    queries = i.get("metricQueries") or []
    rp.expect(r, "alarm", bool(i.get("metricName")) != bool(queries), "exactly one of metricName and metricQueries")
    if queries:
        returned = [q["id"] for q in queries if q.get("returnData")]
        rp.expect(r, "alarm", len(returned) == 1, f"exactly one metric query returns data, not {returned}")
    periods = [i.get("period")] + [(q.get("metric") or {}).get("period") for q in queries]
    for period in filter(None, periods):
        rp.expect(r, "alarm", period in (10, 20, 30) or period % 60 == 0, f"period {period}: 10, 20, 30 or n × 60")
        rp.expect(r, "alarm", period * i["evaluationPeriods"] <= 7 * 86400, "the evaluation range exceeds 7 days")
    for action in [*(i.get("alarmActions") or []), *(i.get("okActions") or []),
                   *(i.get("insufficientDataActions") or [])]:  # fmt: skip
        rp.expect(r, "alarm-action", rp.exists(action) or ":automate:" in action, f"action {action} does not exist")
    metrics = [prune({
        "Id": q["id"], "Expression": q.get("expression"), "Label": q.get("label"), "ReturnData": q.get("returnData"),
        "Period": q.get("period"), "AccountId": q.get("accountId"),
        "MetricStat": {"Metric": prune({"Namespace": q["metric"].get("namespace"), "MetricName": q["metric"]["metricName"],
                                        "Dimensions": _dimensions(q["metric"].get("dimensions"))}),
                       "Period": q["metric"]["period"], "Stat": q["metric"]["stat"], "Unit": q["metric"].get("unit")}
        if q.get("metric") else None,
    }) for q in queries]  # fmt: skip
    rp.call(r, "cloudwatch", "put_metric_alarm", AlarmName=physical_name(r, i), AlarmDescription=i.get("alarmDescription"),
            ActionsEnabled=i.get("actionsEnabled"), AlarmActions=i.get("alarmActions"), OKActions=i.get("okActions"),
            InsufficientDataActions=i.get("insufficientDataActions"), MetricName=i.get("metricName"),
            Namespace=i.get("namespace"), Statistic=i.get("statistic"), ExtendedStatistic=i.get("extendedStatistic"),
            Dimensions=_dimensions(i.get("dimensions")), Period=i.get("period"), Unit=i.get("unit"),
            EvaluationPeriods=i["evaluationPeriods"], DatapointsToAlarm=i.get("datapointsToAlarm"),
            Threshold=i.get("threshold"), ThresholdMetricId=i.get("thresholdMetricId"),
            ComparisonOperator=i["comparisonOperator"], TreatMissingData=i.get("treatMissingData"),
            EvaluateLowSampleCountPercentile=i.get("evaluateLowSampleCountPercentiles"), Metrics=metrics or None,
            Tags=kv(i.get("tags")))  # fmt: skip


# ------------------------------------------------------------------------------------------ load balancing

_LB_ATTRIBUTES = {
    "idleTimeout": "idle_timeout.timeout_seconds", "dropInvalidHeaderFields": "routing.http.drop_invalid_header_fields.enabled",
    "enableDeletionProtection": "deletion_protection.enabled", "enableHttp2": "routing.http2.enabled",
    "enableCrossZoneLoadBalancing": "load_balancing.cross_zone.enabled", "desyncMitigationMode":
    "routing.http.desync_mitigation_mode", "preserveHostHeader": "routing.http.preserve_host_header.enabled",
    "xffHeaderProcessingMode": "routing.http.xff_header_processing.mode", "enableWafFailOpen": "waf.fail_open.enabled",
    "clientKeepAlive": "client_keep_alive.seconds",
}  # fmt: skip


def _attributes(i: Inputs, table: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": api, "Value": str(i[key]).lower()} for key, api in table.items() if i.get(key) is not None]


@handles("aws:lb/loadBalancer:LoadBalancer")
def load_balancer(rp: Replay, r: Resource, i: Inputs) -> None:
    name = physical_name(r, i)
    subnets = i.get("subnets") or []
    zones = {rp.facts.get("subnet_az", {}).get(s) for s in subnets}
    kind = i.get("loadBalancerType") or "application"
    rp.expect(r, "lb", kind != "application" or len(zones) >= 2, f"an ALB needs subnets in two AZs, not {zones}")
    rp.expect(r, "lb", re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?", name) is not None,
              f"name {name!r}: up to 32 letters, digits and hyphens, not starting or ending with a hyphen")  # fmt: skip
    answer = rp.call(r, "elbv2", "create_load_balancer", Name=name, Subnets=subnets or None,
                     SecurityGroups=i.get("securityGroups"), Type=kind, IpAddressType=i.get("ipAddressType"),
                     Scheme="internal" if i.get("internal") else "internet-facing", Tags=kv(i.get("tags")))  # fmt: skip
    balancer = answer["LoadBalancers"][0]
    rp.bind(r.id, balancer["LoadBalancerArn"])
    rp.bind(r.outputs.get("arn"), balancer["LoadBalancerArn"])
    rp.bind(r.outputs.get("dnsName"), balancer["DNSName"])
    rp.bind(r.outputs.get("zoneId"), balancer["CanonicalHostedZoneId"])
    attributes = _attributes(i, _LB_ATTRIBUTES)
    logs = i.get("accessLogs")
    if logs:
        attributes += [{"Key": "access_logs.s3.enabled", "Value": str(logs.get("enabled", True)).lower()},
                       {"Key": "access_logs.s3.bucket", "Value": logs["bucket"]}] + (
                      [{"Key": "access_logs.s3.prefix", "Value": logs["prefix"]}] if logs.get("prefix") else [])  # fmt: skip
    if attributes:
        rp.call(r, "elbv2", "modify_load_balancer_attributes", LoadBalancerArn=balancer["LoadBalancerArn"],
                Attributes=attributes)  # fmt: skip
    rp.facts.setdefault("lb_zone", {})[balancer["DNSName"]] = balancer["CanonicalHostedZoneId"]


@handles("aws:lb/targetGroup:TargetGroup")
def target_group(rp: Replay, r: Resource, i: Inputs) -> None:
    check = i.get("healthCheck") or {}
    if "timeout" in check and "interval" in check:
        rp.expect(r, "lb", check["timeout"] < check["interval"], "the health check timeout is not below its interval")
    answer = rp.call(
        r, "elbv2", "create_target_group", Name=physical_name(r, i), Protocol=i.get("protocol"), Port=i.get("port"),
        VpcId=i.get("vpcId"), TargetType=i.get("targetType"), ProtocolVersion=i.get("protocolVersion"),
        IpAddressType=i.get("ipAddressType"), HealthCheckEnabled=check.get("enabled"),
        HealthCheckPath=check.get("path"), HealthCheckPort=_text(check.get("port")),
        HealthCheckProtocol=check.get("protocol"), HealthCheckIntervalSeconds=check.get("interval"),
        HealthCheckTimeoutSeconds=check.get("timeout"), HealthyThresholdCount=check.get("healthyThreshold"),
        UnhealthyThresholdCount=check.get("unhealthyThreshold"),
        Matcher={"HttpCode": check["matcher"]} if check.get("matcher") else None, Tags=kv(i.get("tags")),
    )["TargetGroups"][0]  # fmt: skip
    rp.bind(r.id, answer["TargetGroupArn"])
    rp.bind(r.outputs.get("arn"), answer["TargetGroupArn"])
    attributes = _attributes(i, {"deregistrationDelay": "deregistration_delay.timeout_seconds",
                                 "slowStart": "slow_start.duration_seconds",
                                 "loadBalancingAlgorithmType": "load_balancing.algorithm.type"})  # fmt: skip
    if attributes:
        rp.call(r, "elbv2", "modify_target_group_attributes", TargetGroupArn=answer["TargetGroupArn"],
                Attributes=attributes)  # fmt: skip


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _action(action: dict[str, Any]) -> dict[str, Any]:
    redirect, fixed, forward = action.get("redirect"), action.get("fixedResponse"), action.get("forward")
    return prune({
        "Type": action["type"], "Order": action.get("order"), "TargetGroupArn": action.get("targetGroupArn"),
        "RedirectConfig": {"Protocol": redirect.get("protocol"), "Port": _text(redirect.get("port")),
                           "Host": redirect.get("host"), "Path": redirect.get("path"), "Query": redirect.get("query"),
                           "StatusCode": redirect["statusCode"]} if redirect else None,
        "FixedResponseConfig": {"ContentType": fixed.get("contentType"), "MessageBody": fixed.get("messageBody"),
                                "StatusCode": _text(fixed.get("statusCode"))} if fixed else None,
        "ForwardConfig": {"TargetGroups": [prune({"TargetGroupArn": g["arn"], "Weight": g.get("weight")})
                                           for g in forward.get("targetGroups", [])]} if forward else None,
    })  # fmt: skip


@handles("aws:lb/listener:Listener")
def listener(rp: Replay, r: Resource, i: Inputs) -> None:
    region = rp.region_of(r)
    certificate = i.get("certificateArn")
    if certificate:
        certificate = prerequisite_certificate(rp, r, certificate)
    policy = i.get("sslPolicy")
    if policy:
        known = rp.look("elbv2", "describe_ssl_policies", region, Names=[policy])
        rp.expect(r, "lb", known is not None, f"SSL policy {policy} does not exist")
    actions = [_action(a) for a in i["defaultActions"]]
    answer = rp.call(r, "elbv2", "create_listener", LoadBalancerArn=i["loadBalancerArn"], Protocol=i.get("protocol"),
                     Port=i.get("port"), SslPolicy=policy, AlpnPolicy=[i["alpnPolicy"]] if i.get("alpnPolicy") else None,
                     Certificates=[{"CertificateArn": certificate}] if certificate else None, DefaultActions=actions,
                     Tags=kv(i.get("tags")))["Listeners"][0]  # fmt: skip
    rp.bind(r.id, answer["ListenerArn"])
    rp.bind(r.outputs.get("arn"), answer["ListenerArn"])
    groups = rp.facts.setdefault("listened_target_groups", set())
    for action in actions:
        groups.add(action.get("TargetGroupArn"))
        groups.update(g["TargetGroupArn"] for g in (action.get("ForwardConfig") or {}).get("TargetGroups", []))


# ------------------------------------------------------------------------------- certificates and DNS


def prerequisite_certificate(rp: Replay, r: Resource, arn: str) -> str:
    """A certificate the stack names but does not create (a prerequisite): requested in moto in its own region."""
    if rp.exists(arn):
        return arn
    region = rp.region_of(r)
    rules_ = rules.arn_problems(arn, "certificateArn")
    rp.check(r, "certificate", rules_)
    cert_region = arn.split(":")[3] if arn.count(":") >= 5 else region
    rp.expect(r, "certificate", cert_region == region,
              f"certificate {arn} is in {cert_region}; a load balancer in {region} needs one of its own region")  # fmt: skip
    domain = json.loads(rp.run.config.get("airstack:ingress", "{}") or "{}").get("domain") or "example.com"
    real = rp.call(r, "acm", "request_certificate", region=cert_region, DomainName=domain,
                   ValidationMethod="DNS")["CertificateArn"]  # fmt: skip
    rp.bind(arn, real)
    return real


@handles("aws:acm/certificate:Certificate")
def certificate(rp: Replay, r: Resource, i: Inputs) -> None:
    options = i.get("options")
    answer = rp.call(r, "acm", "request_certificate", DomainName=i["domainName"], ValidationMethod=i.get("validationMethod"),
                     SubjectAlternativeNames=i.get("subjectAlternativeNames"), KeyAlgorithm=i.get("keyAlgorithm"),
                     CertificateAuthorityArn=i.get("certificateAuthorityArn"), Tags=kv(i.get("tags")),
                     Options={"CertificateTransparencyLoggingPreference": options["certificateTransparencyLoggingPreference"]}
                     if options else None)  # fmt: skip
    arn = answer["CertificateArn"]
    rp.bind(r.id, arn)
    rp.bind(r.outputs.get("arn"), arn)
    described = rp.call(r, "acm", "describe_certificate", CertificateArn=arn)["Certificate"]
    real = {o["DomainName"]: o.get("ResourceRecord", {}) for o in described.get("DomainValidationOptions", [])}
    for option in r.outputs.get("domainValidationOptions") or []:
        record = real.get(option.get("domainName"), {})
        rp.bind(str(option.get("resourceRecordName", "")).rstrip("."), str(record.get("Name", "")).rstrip("."))
        rp.bind(option.get("resourceRecordValue"), record.get("Value"))


@handles("aws:acm/certificateValidation:CertificateValidation")
def certificate_validation(rp: Replay, r: Resource, i: Inputs) -> None:
    # The provider waits on DescribeCertificate and refuses FQDNs that miss a validation record.
    described = rp.call(r, "acm", "describe_certificate", CertificateArn=i["certificateArn"])["Certificate"]
    names = {o["ResourceRecord"]["Name"].rstrip(".") for o in described.get("DomainValidationOptions", [])
             if "ResourceRecord" in o}  # fmt: skip
    given = {f.rstrip(".") for f in i.get("validationRecordFqdns") or []}
    if given:
        rp.expect(
            r, "certificate-validation", names <= given, f"missing DNS validation records: {sorted(names - given)}"
        )
    records = rp.facts.get("records", set())
    rp.expect(
        r, "certificate-validation", names <= records, f"validation records not created: {sorted(names - records)}"
    )


def prerequisite_zone(rp: Replay, r: Resource, zone_id: str, record: str) -> str:
    """The hosted zone a stack names (a prerequisite): created in moto for the stack's domain."""
    if rp.exists(zone_id):
        return zone_id
    domain = json.loads(rp.run.config.get("airstack:ingress", "{}") or "{}").get("domain") or record.rstrip(".")
    name = domain.split(".", 1)[1] if domain.count(".") >= 2 else domain
    answer = rp.call(r, "route53", "create_hosted_zone", Name=name, CallerReference=zone_id)
    real = answer["HostedZone"]["Id"].rsplit("/", 1)[-1]
    rp.bind(zone_id, real)
    rp.facts.setdefault("zones", {})[real] = name
    return real


@handles("aws:route53/record:Record")
def record(rp: Replay, r: Resource, i: Inputs) -> None:
    zone = prerequisite_zone(rp, r, i["zoneId"], i["name"])
    zone_name = rp.facts.get("zones", {}).get(zone, "")
    name = str(i["name"]).rstrip(".")
    rp.expect(r, "route53", name == zone_name or name.endswith("." + zone_name), f"{name} is not in zone {zone_name}")
    alias = (i.get("aliases") or [None])[0]
    if alias:
        expected = rp.facts.get("lb_zone", {}).get(alias["name"])
        rp.expect(r, "route53", expected in (None, alias["zoneId"]),
                  f"alias zone {alias['zoneId']} is not the load balancer's {expected}")  # fmt: skip
    records = i.get("records")
    rrset = prune({
        "Name": name, "Type": i["type"], "TTL": i.get("ttl"), "SetIdentifier": i.get("setIdentifier"),
        "ResourceRecords": [{"Value": v} for v in records] if records else None,
        "AliasTarget": {"HostedZoneId": alias["zoneId"], "DNSName": alias["name"],
                        "EvaluateTargetHealth": bool(alias["evaluateTargetHealth"])} if alias else None,
    })  # fmt: skip
    action = "UPSERT" if i.get("allowOverwrite") else "CREATE"
    rp.call(r, "route53", "change_resource_record_sets", HostedZoneId=zone,
            ChangeBatch={"Changes": [{"Action": action, "ResourceRecordSet": rrset}]})  # fmt: skip
    rp.facts.setdefault("records", set()).add(name)


@handles("aws:servicediscovery/httpNamespace:HttpNamespace")
def http_namespace(rp: Replay, r: Resource, i: Inputs) -> None:
    operation = rp.call(r, "servicediscovery", "create_http_namespace", Name=physical_name(r, i),
                        Description=i.get("description"), Tags=kv(i.get("tags")))["OperationId"]  # fmt: skip
    done = rp.call(r, "servicediscovery", "get_operation", OperationId=operation)["Operation"]
    namespace = rp.call(r, "servicediscovery", "get_namespace", Id=done["Targets"]["NAMESPACE"])["Namespace"]
    rp.bind(r.id, namespace["Id"])
    rp.bind(r.outputs.get("arn"), namespace["Arn"])


# ------------------------------------------------------------------------------------------ across resources


def after_all(rp: Replay) -> None:
    """What holds once everything exists: tasks can start (secrets, EFS mount targets), nothing is left unused."""
    _task_secrets(rp)
    _task_mounts(rp)
    used = rp.facts.get("used_db_groups", set())
    for r in rp.run.resources:
        if (
            r.type in ("aws:rds/parameterGroup:ParameterGroup", "aws:rds/subnetGroup:SubnetGroup")
            and r.urn not in rp.failed
        ):
            name = rp.sub(r.id)
            rp.expect(r, "rds-parameters" if "parameter" in r.type else "rds-network", name in used,
                      f"{name} is created, but no DB instance uses it")  # fmt: skip


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


def _task_secrets(rp: Replay) -> None:
    """Each secret a task names exists, and its execution role may read it."""
    for arn, (r, params) in rp.facts.get("task_definitions", {}).items():
        role = str(params.get("executionRoleArn", "")).rsplit("/", 1)[-1]
        documents = rp.facts.get("role_policies", {}).get(role, [])
        for container in params.get("containerDefinitions", []):
            for secret in container.get("secrets", []):
                value = secret["valueFrom"]
                if ":secretsmanager:" not in value:
                    continue
                region = value.split(":")[3]
                secret_id = re.sub(r"(:secret:[^:]+):.*$", r"\1", value)  # a JSON key suffix names part of it
                found = rp.look("secretsmanager", "describe_secret", region, SecretId=secret_id)
                where = f"{arn.rsplit('/', 1)[-1]} container {container['name']} secret {secret['name']}"
                rp.expect(r, "ecs-secrets", found is not None, f"{where}: {value} does not resolve to a secret")
                if found is not None:
                    rp.expect(r, "ecs-secrets", rules.allows(documents, "secretsmanager:GetSecretValue", found["ARN"]),
                              f"{where}: the execution role {role} may not read {found['ARN']}")  # fmt: skip
