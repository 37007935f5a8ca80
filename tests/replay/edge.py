"""The replay's calls for the edge: load balancer, target groups, listeners, certificates, DNS records, and the
WAF web ACL in front of the load balancer."""

from __future__ import annotations

import json
import re
from typing import Any

from airstack.offline import Resource
from tests.replay import Failed, Inputs, Replay, grammars, handles, policies
from tests.replay.shapes import hash_of, kv, physical_name, prune, text

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
    _check_lb_name(rp, r, name)
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


def _check_lb_name(rp: Replay, r: Resource, name: str) -> None:
    ok = re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?", name) is not None and not name.startswith(
        "internal-"
    )
    rp.expect(r, "lb-name", ok, f"name {name!r}: up to 32 letters, digits and hyphens, no hyphen at either end")


@handles("aws:lb/targetGroup:TargetGroup")
def target_group(rp: Replay, r: Resource, i: Inputs) -> None:
    _check_lb_name(rp, r, physical_name(r, i))
    check = i.get("healthCheck") or {}
    if "timeout" in check and "interval" in check:
        rp.expect(r, "lb", check["timeout"] < check["interval"], "the health check timeout is not below its interval")
    answer = rp.call(
        r, "elbv2", "create_target_group", Name=physical_name(r, i), Protocol=i.get("protocol"), Port=i.get("port"),
        VpcId=i.get("vpcId"), TargetType=i.get("targetType"), ProtocolVersion=i.get("protocolVersion"),
        IpAddressType=i.get("ipAddressType"), HealthCheckEnabled=check.get("enabled"),
        HealthCheckPath=check.get("path"), HealthCheckPort=text(check.get("port")),
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


def _action(action: dict[str, Any]) -> dict[str, Any]:
    redirect, fixed, forward = action.get("redirect"), action.get("fixedResponse"), action.get("forward")
    return prune({
        "Type": action["type"], "Order": action.get("order"), "TargetGroupArn": action.get("targetGroupArn"),
        "RedirectConfig": {"Protocol": redirect.get("protocol"), "Port": text(redirect.get("port")),
                           "Host": redirect.get("host"), "Path": redirect.get("path"), "Query": redirect.get("query"),
                           "StatusCode": redirect["statusCode"]} if redirect else None,
        "FixedResponseConfig": {"ContentType": fixed.get("contentType"), "MessageBody": fixed.get("messageBody"),
                                "StatusCode": text(fixed.get("statusCode"))} if fixed else None,
        "ForwardConfig": {"TargetGroups": [prune({"TargetGroupArn": g["arn"], "Weight": g.get("weight")})
                                           for g in forward.get("targetGroups", [])]} if forward else None,
    })  # fmt: skip


@handles("aws:lb/listener:Listener")
def listener(rp: Replay, r: Resource, i: Inputs) -> None:
    region = rp.region_of(r)
    certificate = i.get("certificateArn")
    if certificate:
        certificate = prerequisite_certificate(rp, r, certificate)
        where = certificate.split(":")[3] if certificate.count(":") >= 5 else None
        rp.expect(r, "certificate", where == region,
                  f"certificate {certificate} is in {where}; a load balancer in {region} needs one of its region")  # fmt: skip
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
    """A certificate the stack names but does not create (``ingress.certificateArn``, a prerequisite): requested
    in moto, in the region its ARN names, for the stack's domain."""
    if rp.exists(arn):
        return arn
    problems = policies.arn_problems(arn, "certificateArn")
    rp.check(r, "certificate", problems)
    if problems or arn.split(":")[2] != "acm":
        rp.problem(r, "certificate", f"{arn} is not an ACM certificate ARN")
        raise Failed
    domain = _ingress(rp).get("domain") or "example.com"
    real = rp.call(r, "acm", "request_certificate", region=arn.split(":")[3], DomainName=domain,
                   ValidationMethod="DNS")["CertificateArn"]  # fmt: skip
    rp.bind(arn, real)
    return real


def _ingress(rp: Replay) -> dict[str, Any]:
    """The stack's ingress settings (domain), which name the prerequisites: the certificate and the hosted zone."""
    return json.loads(rp.run.config.get("airstack:ingress") or "{}")


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
    """The hosted zone a stack names (``ingress.hostedZoneId``, a prerequisite): created in moto as the parent of
    the stack's domain."""
    if rp.exists(zone_id):
        return zone_id
    domain = _ingress(rp).get("domain") or record.rstrip(".")
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


# --------------------------------------------------------------------------------------------------- WAF

_WAF_KEYS = {"cloudwatchMetricsEnabled": "CloudWatchMetricsEnabled", "arn": "ARN",
             "ipSetReferenceStatement": "IPSetReferenceStatement", "ipSetForwardedIpConfig": "IPSetForwardedIPConfig",
             "forwardedIpConfig": "ForwardedIPConfig", "jsonBody": "JsonBody"}  # fmt: skip


def waf_shape(value: Any) -> Any:
    """A WAF structure in the provider's shape as the API takes it: keys in PascalCase (the few irregular ones
    from a table; botocore refuses any other miss), empty lists left out as the provider leaves them out."""
    if isinstance(value, dict):
        return {_WAF_KEYS.get(k, k[:1].upper() + k[1:]): waf_shape(v) for k, v in value.items()
                if v is not None and v != []}  # fmt: skip
    if isinstance(value, list):
        return [waf_shape(v) for v in value]
    return value


@handles("aws:wafv2/webAcl:WebAcl")
def web_acl(rp: Replay, r: Resource, i: Inputs) -> None:
    prefix = i.get("namePrefix")
    name = f"{prefix}{hash_of(r.urn, 26)}" if prefix and not i.get("name") else physical_name(r, i)
    scope = i["scope"]
    rules = json.loads(i["ruleJson"]) if i.get("ruleJson") else [waf_shape(rule) for rule in i.get("rules") or []]
    visibility = waf_shape(i["visibilityConfig"])
    rp.check(r, "waf", grammars.web_acl_problems(rules, visibility))
    region = rp.region_of(r)
    rp.expect(
        r,
        "waf",
        scope != "CLOUDFRONT" or region == "us-east-1",
        f"a CLOUDFRONT web ACL lives in us-east-1, not {region}",
    )
    bodies = {b["key"]: prune({"ContentType": b["contentType"], "Content": b["content"]})
              for b in i.get("customResponseBodies") or []}  # fmt: skip
    answer = rp.call(r, "wafv2", "create_web_acl", Name=name, Scope=scope, DefaultAction=waf_shape(i["defaultAction"]),
                     Description=i.get("description"), Rules=rules, VisibilityConfig=visibility, Tags=kv(i.get("tags")),
                     AssociationConfig=waf_shape(i.get("associationConfig")), CaptchaConfig=waf_shape(i.get("captchaConfig")),
                     ChallengeConfig=waf_shape(i.get("challengeConfig")), CustomResponseBodies=bodies or None,
                     TokenDomains=i.get("tokenDomains") or None,
                     DataProtectionConfig=waf_shape(i.get("dataProtectionConfig")))["Summary"]  # fmt: skip
    rp.bind(r.id, answer["Id"])
    rp.bind(r.outputs.get("arn"), answer["ARN"])
    rp.call(r, "wafv2", "get_web_acl", Name=name, Scope=scope, Id=answer["Id"])
    rp.facts.setdefault("web_acls", {})[answer["ARN"]] = scope


_PROTECTABLE = re.compile(
    r"arn:aws[a-z-]*:(elasticloadbalancing:[^:]+:\d{12}:loadbalancer/app/.+|apigateway:[^:]+::/restapis/[^/]+/stages/.+"
    r"|appsync:[^:]+:\d{12}:apis/.+|cognito-idp:[^:]+:\d{12}:userpool/.+|apprunner:[^:]+:\d{12}:service/.+"
    r"|ec2:[^:]+:\d{12}:verified-access-instance/.+)"
)
"""What a REGIONAL web ACL protects: an ALB, an API Gateway stage, AppSync, Cognito, App Runner, Verified Access."""


@handles("aws:wafv2/webAclAssociation:WebAclAssociation")
def web_acl_association(rp: Replay, r: Resource, i: Inputs) -> None:
    acl, resource = i["webAclArn"], i["resourceArn"]
    scope = rp.facts.get("web_acls", {}).get(acl)
    rp.expect(r, "waf-association", scope == "REGIONAL",
              f"web ACL {acl} is {scope or 'not created'}: only a REGIONAL web ACL is associated (CloudFront names "
              "its web ACL itself)")  # fmt: skip
    rp.expect(r, "waf-association", _PROTECTABLE.fullmatch(resource) is not None,
              f"{resource} is not an application load balancer, API Gateway stage, AppSync API, Cognito user pool, "
              "App Runner service or Verified Access instance")  # fmt: skip
    rp.expect(r, "waf-association", rp.exists(resource), f"{resource} does not exist")
    rp.expect(r, "waf-association", acl.split(":")[3:4] == resource.split(":")[3:4],
              f"the web ACL and {resource} are in different regions")  # fmt: skip
    protected = rp.facts.setdefault("waf_protected", set())
    rp.expect(
        r, "waf-association", resource not in protected, f"{resource} has a web ACL already; this one replaces it"
    )
    protected.add(resource)
    rp.call(r, "wafv2", "associate_web_acl", WebACLArn=acl, ResourceArn=resource)
