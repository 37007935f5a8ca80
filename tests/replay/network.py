"""The replay's calls for the network and the edge: VPC (awsx), security groups and rules, endpoints, load
balancer, target group, listener, certificates, DNS records and the service discovery namespace."""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

from airstack.offline import Resource
from tests.replay import Failed, Inputs, Replay, handles, policies, rules
from tests.replay.shapes import ec2_tags, kv, physical_name, prune, text

# --------------------------------------------------------------------------------------------- network


@handles("awsx:ec2:Vpc")
def vpc(rp: Replay, r: Resource, i: Inputs) -> None:
    """awsx's children: the VPC, subnets per AZ and spec, internet and NAT gateways, gateway endpoints."""
    cidr = ipaddress.IPv4Network(i.get("cidrBlock") or "10.0.0.0/16")
    answer = rp.call(r, "ec2", "create_vpc", CidrBlock=str(cidr), TagSpecifications=ec2_tags("vpc", i.get("tags")))
    vpc_id = answer["Vpc"]["VpcId"]
    rp.bind(r.outputs.get("vpcId"), vpc_id)
    for attr in ("EnableDnsHostnames", "EnableDnsSupport"):
        value = i.get(attr[0].lower() + attr[1:])
        if value is not None:
            setting: dict[str, Any] = {attr: {"Value": bool(value)}}
            rp.call(r, "ec2", "modify_vpc_attribute", VpcId=vpc_id, **setting)
    zones = rp.call(r, "ec2", "describe_availability_zones")["AvailabilityZones"]
    count = int(i.get("numberOfAvailabilityZones") or 3)
    rp.expect(r, "vpc-zones", count <= len(zones), f"{count} AZs asked, the region has {len(zones)}")
    zones = [z["ZoneName"] for z in zones[:count]]
    # awsx chooses the layout; any valid one will do here: each spec's subnets per AZ, in order, aligned.
    i.ignore("subnetStrategy", "vpcEndpointStrategy")
    specs = i.get("subnetSpecs") or [{"type": "Private"}, {"type": "Public"}]
    cursor = int(cidr.network_address)
    subnets: dict[str, list[str]] = {}
    for spec in specs:
        kind = str(spec["type"]).lower()
        mask = int(spec.get("cidrMask") or cidr.prefixlen + 4)
        for n, zone in enumerate(zones):
            size = 2 ** (32 - mask)
            cursor = -(-cursor // size) * size
            net = ipaddress.IPv4Network((cursor, mask))
            cursor += size
            if not net.subnet_of(cidr):
                rp.problem(r, "vpc-subnets", f"the {kind} subnets (/{mask} per AZ) do not fit into {cidr}")
                raise Failed
            answer = rp.call(r, "ec2", "create_subnet", VpcId=vpc_id, CidrBlock=str(net), AvailabilityZone=zone)
            subnet = answer["Subnet"]["SubnetId"]
            subnets.setdefault(kind, []).append(subnet)
            rp.facts.setdefault("subnet_az", {})[subnet] = zone
            rp.facts.setdefault("subnet_vpc", {})[subnet] = vpc_id
            mock = (r.outputs.get(f"{kind}SubnetIds") or [])[n : n + 1]
            if mock:
                rp.bind(mock[0], subnet)
    if subnets.get("public"):
        gateway = rp.call(r, "ec2", "create_internet_gateway")["InternetGateway"]["InternetGatewayId"]
        rp.call(r, "ec2", "attach_internet_gateway", InternetGatewayId=gateway, VpcId=vpc_id)
    strategy = str((i.get("natGateways") or {}).get("strategy", "OnePerAz"))
    nat_subnets = {"None": [], "Single": subnets.get("public", [])[:1]}.get(strategy, subnets.get("public", []))
    for subnet in nat_subnets:
        allocation = rp.call(r, "ec2", "allocate_address", Domain="vpc")["AllocationId"]
        rp.call(r, "ec2", "create_nat_gateway", SubnetId=subnet, AllocationId=allocation)
    for spec in i.get("vpcEndpointSpecs") or []:
        _endpoint_offered(rp, r, spec["serviceName"])
        rp.call(r, "ec2", "create_vpc_endpoint", VpcId=vpc_id, ServiceName=spec["serviceName"],
                VpcEndpointType=spec.get("vpcEndpointType", "Gateway"))  # fmt: skip


def _endpoint_offered(rp: Replay, r: Resource, service: str) -> None:
    """An endpoint names a service of its own region: one moto offers there, or at least an AWS service."""
    region = rp.region_of(r)
    offered = rp.facts.setdefault("endpoint_services", {})
    if region not in offered:
        offered[region] = set(rp.call(r, "ec2", "describe_vpc_endpoint_services")["ServiceNames"])
    named = re.fullmatch(rf"com\.amazonaws\.{re.escape(region)}\.([a-z0-9-]+)(\.[a-z0-9.-]+)?", service)
    known = named is not None and (service in offered[region] or named[1] in policies.service_names())
    rp.expect(r, "vpc-endpoint-service", known, f"{service} is not com.amazonaws.{region}.<an AWS service>")


@handles("aws:ec2/securityGroup:SecurityGroup")
def security_group(rp: Replay, r: Resource, i: Inputs) -> None:
    description = i.get("description") or "Managed by Pulumi"
    rp.check(r, "ec2-description", rules.ec2_description_problems(description, "group description"))
    group = rp.call(r, "ec2", "create_security_group", GroupName=physical_name(r, i), Description=description,
                    VpcId=i.get("vpcId"), TagSpecifications=ec2_tags("security-group", i.get("tags")))["GroupId"]  # fmt: skip
    rp.bind(r.id, group)  # its ARN ends in the ID, which substitution replaces
    rp.facts.setdefault("sg_vpc", {})[group] = i.get("vpcId")
    # The provider removes EC2's default allow-all egress rule, then adds the rules it was given.
    rp.call(r, "ec2", "revoke_security_group_egress", GroupId=group,
            IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])  # fmt: skip
    for direction in ("ingress", "egress"):
        for rule in i.get(direction) or []:
            rp.check(r, "ec2-description", rules.ec2_description_problems(rule.get("description"), "rule"))
            sources = [{"GroupId": g, "Description": rule.get("description")} for g in rule.get("securityGroups", [])]
            if rule.get("self"):
                sources.append({"GroupId": group, "Description": rule.get("description")})
            permission = prune({
                "IpProtocol": rule["protocol"], "FromPort": rule.get("fromPort"), "ToPort": rule.get("toPort"),
                "IpRanges": [{"CidrIp": c, "Description": rule.get("description")} for c in rule.get("cidrBlocks", [])]
                or None, "UserIdGroupPairs": sources or None,
            })  # fmt: skip
            rp.call(r, "ec2", f"authorize_security_group_{direction}", GroupId=group, IpPermissions=[permission])


@handles("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
         "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")  # fmt: skip
def security_group_rule(rp: Replay, r: Resource, i: Inputs) -> None:
    description = i.get("description")
    rp.check(r, "ec2-description", rules.ec2_description_problems(description, "rule description"))
    sources = {
        "cidrIpv4": ("IpRanges", "CidrIp"), "cidrIpv6": ("Ipv6Ranges", "CidrIpv6"),
        "prefixListId": ("PrefixListIds", "PrefixListId"), "referencedSecurityGroupId": ("UserIdGroupPairs", "GroupId"),
    }  # fmt: skip
    given = [k for k in sources if i.get(k) is not None]
    rp.expect(r, "ec2-rule-source", len(given) == 1, f"exactly one source (cidr, prefix list, group), not {given}")
    protocol = str(i["ipProtocol"])
    permission: dict[str, Any] = {"IpProtocol": protocol}
    if protocol not in ("-1", "all"):
        permission |= {"FromPort": i.get("fromPort"), "ToPort": i.get("toPort")}
    for key in given:
        member, field_name = sources[key]
        permission[member] = [prune({field_name: i[key], "Description": description})]
    group = i["securityGroupId"]
    referenced = i.get("referencedSecurityGroupId")
    if referenced:
        vpcs = rp.facts.get("sg_vpc", {})
        rp.expect(r, "ec2-rule-source", vpcs.get(referenced) == vpcs.get(group), "the groups are in different VPCs")
    direction = "ingress" if "Ingress" in r.type else "egress"
    answer = rp.call(r, "ec2", f"authorize_security_group_{direction}", GroupId=group,
                     IpPermissions=[prune(permission)], TagSpecifications=ec2_tags("security-group-rule", i.get("tags")))  # fmt: skip
    for rule in answer.get("SecurityGroupRules", [])[:1]:
        rp.bind(r.id, rule["SecurityGroupRuleId"])


@handles("aws:ec2/vpcEndpoint:VpcEndpoint")
def vpc_endpoint(rp: Replay, r: Resource, i: Inputs) -> None:
    service = i["serviceName"]
    _endpoint_offered(rp, r, service)
    subnets = i.get("subnetIds") or []
    zones = [rp.facts.get("subnet_az", {}).get(s) for s in subnets]
    rp.expect(r, "vpc-endpoint-subnets", len(set(zones)) == len(zones), f"two subnets in one AZ: {zones}")
    answer = rp.call(r, "ec2", "create_vpc_endpoint", VpcId=i["vpcId"], ServiceName=service,
                     VpcEndpointType=i.get("vpcEndpointType"), SubnetIds=subnets or None,
                     SecurityGroupIds=i.get("securityGroupIds"), PrivateDnsEnabled=i.get("privateDnsEnabled"),
                     RouteTableIds=i.get("routeTableIds"), PolicyDocument=i.get("policy"),
                     TagSpecifications=ec2_tags("vpc-endpoint", i.get("tags")))  # fmt: skip
    rp.bind(r.id, answer["VpcEndpoint"]["VpcEndpointId"])


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


@handles("aws:servicediscovery/httpNamespace:HttpNamespace")
def http_namespace(rp: Replay, r: Resource, i: Inputs) -> None:
    operation = rp.call(r, "servicediscovery", "create_http_namespace", Name=physical_name(r, i),
                        Description=i.get("description"), Tags=kv(i.get("tags")))["OperationId"]  # fmt: skip
    done = rp.call(r, "servicediscovery", "get_operation", OperationId=operation)["Operation"]
    namespace = rp.call(r, "servicediscovery", "get_namespace", Id=done["Targets"]["NAMESPACE"])["Namespace"]
    rp.bind(r.id, namespace["Id"])
    rp.bind(r.outputs.get("arn"), namespace["Arn"])
