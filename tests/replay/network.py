"""The replay's calls for the network: VPC (awsx), security groups and rules (the VPC's default group too),
endpoints, flow logs, and the service discovery namespace."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from airstack.mocks import ACCOUNT_ID
from airstack.offline import Resource
from tests.replay import Failed, Inputs, Replay, catalogue, handles, policies, rules
from tests.replay.shapes import ec2_tags, hash_of, kv, physical_name, prune

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
    known = named is not None and (service in offered[region] or named[1] in catalogue.service_names())
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
    _authorize(rp, r, i, group)


def _authorize(rp: Replay, r: Resource, i: Inputs, group: str) -> None:
    """A group's inline ingress and egress rules, one AuthorizeSecurityGroup* call each."""
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


@handles("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
def default_security_group(rp: Replay, r: Resource, i: Inputs) -> None:
    """The provider adopts the VPC's default group: finds it, tags it, revokes every rule it has, then adds those
    it was given (none, so that nothing launched without a group can talk: FSBP EC2.2)."""
    vpc = i.get("vpcId")
    where = {"Name": "vpc-id", "Values": [vpc]} if vpc else {"Name": "description", "Values": ["default group"]}
    found = rp.call(r, "ec2", "describe_security_groups",
                    Filters=[{"Name": "group-name", "Values": ["default"]}, where])["SecurityGroups"]  # fmt: skip
    if len(found) != 1:
        rp.problem(r, "default-security-group", f"{len(found)} default security groups in {vpc or 'the default VPC'}")
        raise Failed
    group = found[0]["GroupId"]
    rp.bind(r.id, group)
    rp.facts.setdefault("sg_vpc", {})[group] = vpc
    if i.get("tags"):
        rp.call(r, "ec2", "create_tags", Resources=[group], Tags=kv(i["tags"]))
    for direction, key in (("ingress", "IpPermissions"), ("egress", "IpPermissionsEgress")):
        if found[0].get(key):
            rp.call(r, "ec2", f"revoke_security_group_{direction}", GroupId=group, IpPermissions=found[0][key])
    _authorize(rp, r, i, group)
    after = rp.call(r, "ec2", "describe_security_groups", GroupIds=[group])["SecurityGroups"][0]
    kept = len(after.get("IpPermissions", [])) + len(after.get("IpPermissionsEgress", []))
    rp.expect(r, "default-security-group", kept == 0,
              f"the default security group keeps {kept} rule(s): whatever is launched without a group uses them")  # fmt: skip


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


# ---------------------------------------------------------------------------------------------- flow logs

_FLOW_LOG_TARGETS = {
    "vpcId": "VPC", "subnetId": "Subnet", "eniId": "NetworkInterface", "transitGatewayId": "TransitGateway",
    "transitGatewayAttachmentId": "TransitGatewayAttachment", "regionalNatGatewayId": "RegionalNatGateway",
}  # fmt: skip


@handles("aws:ec2/flowLog:FlowLog")
def flow_log(rp: Replay, r: Resource, i: Inputs) -> None:
    given = [k for k in _FLOW_LOG_TARGETS if i.get(k)]
    if len(given) != 1:
        rp.problem(r, "flow-log", f"exactly one of {', '.join(_FLOW_LOG_TARGETS)} is flow-logged, not {given}")
        raise Failed
    kind = _FLOW_LOG_TARGETS[given[0]]
    destination_type = i.get("logDestinationType") or "cloud-watch-logs"
    destination = str(i.get("logDestination") or "").removesuffix(":*") or None
    interval = i.get("maxAggregationInterval") or 600
    rp.expect(r, "flow-log", interval in ((60,) if kind.startswith("TransitGateway") else (60, 600)),
              f"maxAggregationInterval {interval}: 60 or 600 seconds (a transit gateway: 60)")  # fmt: skip
    if destination_type == "s3":
        _flow_log_bucket(rp, r, destination or "")
    options = i.get("destinationOptions")
    answer = rp.call(
        r, "ec2", "create_flow_logs", ClientToken=hash_of(r.urn, 32), ResourceIds=[i[given[0]]], ResourceType=kind,
        LogDestinationType=destination_type, LogDestination=destination,
        TrafficType=None if kind.startswith("TransitGateway") else i.get("trafficType"),
        DeliverLogsPermissionArn=i.get("iamRoleArn"), DeliverCrossAccountRole=i.get("deliverCrossAccountRole"),
        LogFormat=i.get("logFormat"), MaxAggregationInterval=interval,
        DestinationOptions=prune({"FileFormat": options.get("fileFormat"),
                                  "HiveCompatiblePartitions": options.get("hiveCompatiblePartitions"),
                                  "PerHourPartition": options.get("perHourPartition")}) if options else None,
        TagSpecifications=ec2_tags("vpc-flow-log", i.get("tags")),
    )  # fmt: skip
    for failure in answer.get("Unsuccessful", []):
        rp.problem(r, "ec2:CreateFlowLogs", str(failure.get("Error", failure)))
    if answer.get("Unsuccessful") or not answer.get("FlowLogIds"):
        raise Failed
    rp.bind(r.id, answer["FlowLogIds"][0])
    rp.call(r, "ec2", "describe_flow_logs", FlowLogIds=answer["FlowLogIds"])


def _flow_log_bucket(rp: Replay, r: Resource, destination: str) -> None:
    """Flow logs to S3: the bucket exists and its policy, in place now, lets the log delivery service write under
    the prefix and read the bucket's ACL (otherwise AWS writes its own policy, which the stack's then replaces)."""
    found = re.fullmatch(r"arn:(aws[a-z-]*):s3:::([^/]+)(?:/(.*))?", destination)
    if found is None:
        rp.problem(
            r, "flow-log", f"log destination {destination!r} is not an S3 bucket ARN (arn:aws:s3:::bucket/prefix)"
        )
        raise Failed
    partition, bucket, prefix = found[1], found[2], found[3] or ""
    rp.expect(
        r, "flow-log", prefix.split("/")[0] != "AWSLogs", f"the prefix {prefix!r} may not be AWSLogs: AWS adds it"
    )
    region = rp.region_of(r)
    if rp.look("s3", "head_bucket", region, Bucket=bucket) is None:
        rp.problem(r, "flow-log", f"bucket {bucket} does not exist")
        return
    policy = (rp.look("s3", "get_bucket_policy", region, Bucket=bucket) or {}).get("Policy")
    context = {"aws:SourceAccount": ACCOUNT_ID, "aws:SourceArn": f"arn:{partition}:logs:{region}:{ACCOUNT_ID}:*",
               "s3:x-amz-acl": "bucket-owner-full-control", "aws:SecureTransport": "true"}  # fmt: skip
    folder = f"{prefix.rstrip('/')}/" if prefix else ""
    wanted = {"s3:PutObject": f"arn:{partition}:s3:::{bucket}/{folder}AWSLogs/{ACCOUNT_ID}/vpcflowlogs/{region}/x.log.gz",
              "s3:GetBucketAcl": f"arn:{partition}:s3:::{bucket}"}  # fmt: skip
    for action, resource in wanted.items():
        ok = policy is not None and policies.grants(policy, _LOG_DELIVERY, action, resource, context)
        rp.expect(r, "flow-log-bucket", ok,
                  f"the policy of bucket {bucket} does not let {_LOG_DELIVERY[1]} {action} on {resource}")  # fmt: skip


_LOG_DELIVERY = ("Service", "delivery.logs.amazonaws.com")


@handles("aws:servicediscovery/httpNamespace:HttpNamespace")
def http_namespace(rp: Replay, r: Resource, i: Inputs) -> None:
    operation = rp.call(r, "servicediscovery", "create_http_namespace", Name=physical_name(r, i),
                        Description=i.get("description"), Tags=kv(i.get("tags")))["OperationId"]  # fmt: skip
    done = rp.call(r, "servicediscovery", "get_operation", OperationId=operation)["Operation"]
    namespace = rp.call(r, "servicediscovery", "get_namespace", Id=done["Targets"]["NAMESPACE"])["Namespace"]
    rp.bind(r.id, namespace["Id"])
    rp.bind(r.outputs.get("arn"), namespace["Arn"])
