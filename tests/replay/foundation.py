"""Resource type -> the AWS API calls the Terraform-based provider makes for it, with its inputs mapped onto the
API's parameters (names as in the provider's source: e.g. ``visibilityTimeoutSeconds`` -> ``VisibilityTimeout``).

Each handler reads the resource's inputs (already with moto's IDs), makes its calls through ``Replay.call``, binds the
IDs and ARNs moto assigned to the mocks' ones, and checks what neither botocore nor moto check (``rules``).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from typing import Any

from airstack.offline import Resource
from tests.replay import Failed, Inputs, Replay, handles, rules


def physical_name(r: Resource, i: Inputs, key: str = "name") -> str:
    """The name given, or Pulumi's auto-name (the resource's name and a random suffix, decided before creation)."""
    value = i.get(key) or r.outputs.get(key)
    return value if isinstance(value, str) and value else f"{r.name}-{_hash(r.urn, 7)}"


def _hash(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def kv(tags: dict[str, str] | None, key: str = "Key", value: str = "Value") -> list[dict[str, str]] | None:
    return [{key: k, value: v} for k, v in tags.items()] if tags else None


def ec2_tags(kind: str, tags: dict[str, str] | None) -> list[dict[str, Any]] | None:
    return [{"ResourceType": kind, "Tags": kv(tags)}] if tags else None


def prune(value: Any) -> Any:
    """Drop absent members (None) at every depth, as the provider sends only what is set."""
    if isinstance(value, dict):
        return {k: prune(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [prune(v) for v in value]
    return value


def _str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --------------------------------------------------------------------------------------------- network


@handles("awsx:ec2:Vpc")
def vpc(rp: Replay, r: Resource, i: Inputs) -> None:
    """awsx's children: the VPC, subnets per AZ and spec, internet and NAT gateways, gateway endpoints."""
    cidr = ipaddress.IPv4Network(i.get("cidrBlock") or "10.0.0.0/16")
    vpc_id = rp.call(r, "ec2", "create_vpc", CidrBlock=str(cidr), TagSpecifications=ec2_tags("vpc", i.get("tags")))
    vpc_id = vpc_id["Vpc"]["VpcId"]
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
    i.get("subnetStrategy")
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
    i.get("vpcEndpointStrategy")
    for spec in i.get("vpcEndpointSpecs") or []:
        _endpoint_offered(rp, r, spec["serviceName"])
        rp.call(r, "ec2", "create_vpc_endpoint", VpcId=vpc_id, ServiceName=spec["serviceName"],
                VpcEndpointType=spec.get("vpcEndpointType", "Gateway"))  # fmt: skip


def _endpoint_offered(rp: Replay, r: Resource, service: str) -> None:
    region = rp.region_of(r)
    offered = rp.facts.setdefault("endpoint_services", {})
    if region not in offered:
        offered[region] = set(rp.call(r, "ec2", "describe_vpc_endpoint_services")["ServiceNames"])
    rp.expect(r, "vpc-endpoint-service", service in offered[region], f"{service} is not offered in {region}")


@handles("aws:ec2/securityGroup:SecurityGroup")
def security_group(rp: Replay, r: Resource, i: Inputs) -> None:
    description = i.get("description") or "Managed by Pulumi"
    rp.check(r, "ec2-description", rules.ec2_description_problems(description, "group description"))
    group = rp.call(r, "ec2", "create_security_group", GroupName=physical_name(r, i), Description=description,
                    VpcId=i.get("vpcId"), TagSpecifications=ec2_tags("security-group", i.get("tags")))["GroupId"]  # fmt: skip
    rp.bind(r.id, group)
    rp.bind(r.outputs.get("arn"), f"{r.outputs.get('arn', '').rsplit('/', 1)[0]}/{group}")
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


# ------------------------------------------------------------------------------------------------- IAM


@handles("aws:iam/role:Role")
def role(rp: Replay, r: Resource, i: Inputs) -> None:
    name = physical_name(r, i)
    trust = i["assumeRolePolicy"]
    rp.check(r, "trust-policy", rules.policy_problems(trust, "trust"))
    rp.expect(r, "iam-role-name", len(name) <= 64, f"role name {name!r} has {len(name)} characters, IAM allows 64")
    answer = rp.call(r, "iam", "create_role", RoleName=name, AssumeRolePolicyDocument=trust,
                     Description=i.get("description"), Path=i.get("path"),
                     MaxSessionDuration=i.get("maxSessionDuration"), PermissionsBoundary=i.get("permissionsBoundary"),
                     Tags=kv(i.get("tags")))  # fmt: skip
    rp.bind(r.outputs.get("arn"), answer["Role"]["Arn"])
    rp.bind(r.id, name)
    for policy in i.get("inlinePolicies") or []:
        _inline_policy(rp, r, name, policy["name"], policy["policy"])
    for arn in i.get("managedPolicyArns") or []:
        rp.call(r, "iam", "attach_role_policy", RoleName=name, PolicyArn=arn)


def _inline_policy(rp: Replay, r: Resource, role_name: str, name: str, document: str) -> None:
    rp.check(r, "identity-policy", rules.policy_problems(document, "identity"))
    sizes = rp.facts.setdefault("inline_policy_chars", {})
    sizes[role_name] = sizes.get(role_name, 0) + len("".join(document.split()))
    limit = rules.POLICY_LIMITS["identity"]
    rp.expect(r, "iam-inline-size", sizes[role_name] <= limit,
              f"role {role_name}'s inline policies have {sizes[role_name]} characters, IAM allows {limit}")  # fmt: skip
    rp.call(r, "iam", "put_role_policy", RoleName=role_name, PolicyName=name, PolicyDocument=document)
    rp.facts.setdefault("role_policies", {}).setdefault(role_name, []).append(document)


@handles("aws:iam/rolePolicy:RolePolicy")
def role_policy(rp: Replay, r: Resource, i: Inputs) -> None:
    _inline_policy(rp, r, i["role"], physical_name(r, i), i["policy"])


@handles("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
def role_policy_attachment(rp: Replay, r: Resource, i: Inputs) -> None:
    rp.call(r, "iam", "attach_role_policy", RoleName=i["role"], PolicyArn=i["policyArn"])
    rp.facts.setdefault("managed_policies", {}).setdefault(i["role"], []).append(i["policyArn"])


def principals_exist(rp: Replay, r: Resource, document: str) -> None:
    """AWS refuses a resource policy naming a role or user that does not exist (``Invalid principal``)."""
    for arn in rules.principal_arns(document):
        kind, _, name = arn.split(":", 5)[-1].partition("/")
        region = rp.region_of(r)
        if kind == "role":
            found = rp.look("iam", "get_role", region, RoleName=name.rsplit("/", 1)[-1])
            rp.expect(r, "policy-principal", found is not None, f"principal {arn} does not exist")


# -------------------------------------------------------------------------------------------------- S3


@handles("aws:s3/bucket:Bucket")
def bucket(rp: Replay, r: Resource, i: Inputs) -> None:
    name = i.get("bucket") or r.outputs.get("bucket") or f"{i.get('bucketPrefix') or r.name + '-'}{_hash(r.urn, 12)}"
    region = rp.region_of(r)
    location = None if region == "us-east-1" else {"LocationConstraint": region}
    rp.call(r, "s3", "create_bucket", Bucket=name, CreateBucketConfiguration=location,
            ObjectLockEnabledForBucket=i.get("objectLockEnabled"))  # fmt: skip
    if i.get("tags"):
        rp.call(r, "s3", "put_bucket_tagging", Bucket=name, Tagging={"TagSet": kv(i["tags"])})


@handles("aws:s3/bucketPolicy:BucketPolicy")
def bucket_policy(rp: Replay, r: Resource, i: Inputs) -> None:
    name, policy = i["bucket"], i["policy"]
    rp.check(r, "bucket-policy", rules.policy_problems(policy, "s3"))
    for resource in rules.policy_resources(policy):
        ok = re.fullmatch(rf"arn:[a-z-]+:s3:::{re.escape(name)}(/.*)?", resource) is not None
        rp.expect(r, "bucket-policy", ok, f"resource {resource} is not this bucket (S3: Policy has invalid resource)")
    principals_exist(rp, r, policy)
    rp.call(r, "s3", "put_bucket_policy", Bucket=name, Policy=policy)


@handles("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
def public_access_block(rp: Replay, r: Resource, i: Inputs) -> None:
    keys = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
    config = {k: bool(i.get(k[0].lower() + k[1:]) or False) for k in keys}
    rp.call(r, "s3", "put_public_access_block", Bucket=i["bucket"], PublicAccessBlockConfiguration=config)


@handles("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
def bucket_encryption(rp: Replay, r: Resource, i: Inputs) -> None:
    rules_ = [prune({
        "ApplyServerSideEncryptionByDefault": {
            "SSEAlgorithm": (rule.get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm"),
            "KMSMasterKeyID": (rule.get("applyServerSideEncryptionByDefault") or {}).get("kmsMasterKeyId"),
        } if rule.get("applyServerSideEncryptionByDefault") else None,
        "BucketKeyEnabled": rule.get("bucketKeyEnabled"),
    }) for rule in i["rules"]]  # fmt: skip
    rp.call(r, "s3", "put_bucket_encryption", Bucket=i["bucket"],
            ServerSideEncryptionConfiguration={"Rules": rules_})  # fmt: skip


@handles("aws:s3/bucketVersioning:BucketVersioning")
def bucket_versioning(rp: Replay, r: Resource, i: Inputs) -> None:
    config = i["versioningConfiguration"]
    rp.call(r, "s3", "put_bucket_versioning", Bucket=i["bucket"], MFA=i.get("mfa"),
            VersioningConfiguration=prune({"Status": config.get("status"), "MFADelete": config.get("mfaDelete")}))  # fmt: skip


@handles("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
def bucket_ownership(rp: Replay, r: Resource, i: Inputs) -> None:
    rp.call(r, "s3", "put_bucket_ownership_controls", Bucket=i["bucket"],
            OwnershipControls={"Rules": [{"ObjectOwnership": i["rule"]["objectOwnership"]}]})  # fmt: skip


def lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A lifecycle rule in the provider's shape as the S3 API takes it (the provider's expandLifecycleRules)."""

    def filter_(f: dict[str, Any] | None) -> dict[str, Any] | None:
        if f is None:
            return None
        tag = f.get("tag")
        both = f.get("and")
        return prune({
            "Prefix": f.get("prefix"),
            "Tag": {"Key": tag["key"], "Value": tag["value"]} if tag else None,
            "ObjectSizeGreaterThan": int(f["objectSizeGreaterThan"]) if f.get("objectSizeGreaterThan") else None,
            "ObjectSizeLessThan": int(f["objectSizeLessThan"]) if f.get("objectSizeLessThan") else None,
            "And": {"Prefix": both.get("prefix"), "Tags": kv(both.get("tags")),
                    "ObjectSizeGreaterThan": both.get("objectSizeGreaterThan"),
                    "ObjectSizeLessThan": both.get("objectSizeLessThan")} if both else None,
        })  # fmt: skip

    expiration = rule.get("expiration")
    noncurrent = rule.get("noncurrentVersionExpiration")
    abort = rule.get("abortIncompleteMultipartUpload")
    return prune({
        "ID": rule.get("id"), "Status": rule.get("status"), "Prefix": rule.get("prefix"),
        "Filter": filter_(rule.get("filter")),
        "Expiration": {"Days": expiration.get("days"), "Date": expiration.get("date"),
                       "ExpiredObjectDeleteMarker": expiration.get("expiredObjectDeleteMarker")} if expiration else None,
        "Transitions": [{"Days": t.get("days"), "Date": t.get("date"), "StorageClass": t.get("storageClass")}
                        for t in rule.get("transitions", [])] or None,
        "NoncurrentVersionExpiration": {
            "NoncurrentDays": noncurrent.get("noncurrentDays"),
            "NewerNoncurrentVersions": int(noncurrent["newerNoncurrentVersions"])
            if noncurrent.get("newerNoncurrentVersions") else None,
        } if noncurrent else None,
        "NoncurrentVersionTransitions": [{"NoncurrentDays": t.get("noncurrentDays"), "StorageClass": t.get("storageClass")}
                                         for t in rule.get("noncurrentVersionTransitions", [])] or None,
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": abort.get("daysAfterInitiation")} if abort else None,
    })  # fmt: skip


@handles("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
def bucket_lifecycle(rp: Replay, r: Resource, i: Inputs) -> None:
    converted = [lifecycle_rule(rule) for rule in i["rules"]]
    ids = [rule.get("ID") for rule in converted]
    rp.expect(r, "s3-lifecycle", len(set(ids)) == len(ids), f"rule IDs repeat: {ids}")
    for rule in converted:
        actions = {"Expiration", "Transitions", "NoncurrentVersionExpiration", "NoncurrentVersionTransitions",
                   "AbortIncompleteMultipartUpload"}  # fmt: skip
        rp.expect(r, "s3-lifecycle", bool(actions & set(rule)), f"rule {rule.get('ID')} has no action")
    rp.call(r, "s3", "put_bucket_lifecycle_configuration", Bucket=i["bucket"],
            ExpectedBucketOwner=i.get("expectedBucketOwner"), LifecycleConfiguration={"Rules": converted},
            TransitionDefaultMinimumSize=i.get("transitionDefaultMinimumSize"))  # fmt: skip


@handles("aws:s3/bucketNotification:BucketNotification")
def bucket_notification(rp: Replay, r: Resource, i: Inputs) -> None:
    def config(items: list[dict[str, Any]] | None, arn_key: str, api_key: str) -> list[dict[str, Any]] | None:
        return [prune({"Id": c.get("id"), api_key: c[arn_key], "Events": c["events"], "Filter": {"Key": {
            "FilterRules": [{"Name": "prefix", "Value": c["filterPrefix"]}] if c.get("filterPrefix") else []
            + ([{"Name": "suffix", "Value": c["filterSuffix"]}] if c.get("filterSuffix") else [])}}})
            for c in items] if items else None  # fmt: skip

    rp.call(r, "s3", "put_bucket_notification_configuration", Bucket=i["bucket"],
            NotificationConfiguration=prune({
                "LambdaFunctionConfigurations": config(i.get("lambdaFunctions"), "lambdaFunctionArn", "LambdaFunctionArn"),
                "QueueConfigurations": config(i.get("queues"), "queueArn", "QueueArn"),
                "TopicConfigurations": config(i.get("topics"), "topicArn", "TopicArn"),
                "EventBridgeConfiguration": {} if i.get("eventbridge") else None,
            }))  # fmt: skip


# ------------------------------------------------------------------------------------------------- EFS


@handles("aws:efs/fileSystem:FileSystem")
def file_system(rp: Replay, r: Resource, i: Inputs) -> None:
    answer = rp.call(r, "efs", "create_file_system", CreationToken=i.get("creationToken") or _hash(r.urn, 32),
                     PerformanceMode=i.get("performanceMode"), ThroughputMode=i.get("throughputMode"),
                     ProvisionedThroughputInMibps=i.get("provisionedThroughputInMibps"), Encrypted=i.get("encrypted"),
                     KmsKeyId=i.get("kmsKeyId"), AvailabilityZoneName=i.get("availabilityZoneName"),
                     Tags=kv(i.get("tags")))  # fmt: skip
    rp.bind(r.id, answer["FileSystemId"])
    rp.bind(r.outputs.get("arn"), answer["FileSystemArn"])
    policies = [prune({"TransitionToIA": p.get("transitionToIa"), "TransitionToPrimaryStorageClass":
                       p.get("transitionToPrimaryStorageClass"), "TransitionToArchive": p.get("transitionToArchive")})
                for p in i.get("lifecyclePolicies") or []]  # fmt: skip
    if policies:
        rp.call(
            r, "efs", "put_lifecycle_configuration", FileSystemId=answer["FileSystemId"], LifecyclePolicies=policies
        )
    protection = i.get("protection")
    if protection:
        rp.call(r, "efs", "update_file_system_protection", FileSystemId=answer["FileSystemId"],
                ReplicationOverwriteProtection=protection.get("replicationOverwrite"))  # fmt: skip


@handles("aws:efs/accessPoint:AccessPoint")
def access_point(rp: Replay, r: Resource, i: Inputs) -> None:
    user, root = i.get("posixUser"), i.get("rootDirectory")
    creation = (root or {}).get("creationInfo")
    answer = rp.call(r, "efs", "create_access_point", ClientToken=_hash(r.urn, 32), FileSystemId=i["fileSystemId"],
                     PosixUser=prune({"Uid": user["uid"], "Gid": user["gid"], "SecondaryGids": user.get("secondaryGids")})
                     if user else None,
                     RootDirectory=prune({"Path": root.get("path"), "CreationInfo": {
                         "OwnerUid": creation["ownerUid"], "OwnerGid": creation["ownerGid"],
                         "Permissions": creation["permissions"]} if creation else None}) if root else None,
                     Tags=kv(i.get("tags")))  # fmt: skip
    rp.bind(r.id, answer["AccessPointId"])
    rp.bind(r.outputs.get("arn"), answer["AccessPointArn"])


@handles("aws:efs/backupPolicy:BackupPolicy")
def efs_backup_policy(rp: Replay, r: Resource, i: Inputs) -> None:
    rp.call(r, "efs", "put_backup_policy", FileSystemId=i["fileSystemId"],
            BackupPolicy={"Status": i["backupPolicy"]["status"]})  # fmt: skip


@handles("aws:efs/mountTarget:MountTarget")
def mount_target(rp: Replay, r: Resource, i: Inputs) -> None:
    subnet, groups = i["subnetId"], i.get("securityGroups") or []
    facts = rp.facts
    zone = facts.get("subnet_az", {}).get(subnet)
    taken = facts.setdefault("mount_target_zones", set())
    rp.expect(r, "efs-mount-target", (i["fileSystemId"], zone) not in taken, f"a second mount target in {zone}")
    taken.add((i["fileSystemId"], zone))
    for group in groups:
        rp.expect(r, "efs-mount-target", facts.get("sg_vpc", {}).get(group) == facts.get("subnet_vpc", {}).get(subnet),
                  f"security group {group} is not in the subnet's VPC")  # fmt: skip
    answer = rp.call(r, "efs", "create_mount_target", FileSystemId=i["fileSystemId"], SubnetId=subnet,
                     SecurityGroups=groups or None, IpAddress=i.get("ipAddress"))  # fmt: skip
    rp.bind(r.id, answer["MountTargetId"])
    facts.setdefault("mount_targets", {}).setdefault(i["fileSystemId"], set()).add(zone)


@handles("aws:efs/fileSystemPolicy:FileSystemPolicy")
def file_system_policy(rp: Replay, r: Resource, i: Inputs) -> None:
    fs, policy = i["fileSystemId"], i["policy"]
    rp.check(r, "efs-policy", rules.policy_problems(policy, "efs"))
    arn = f"arn:{rules.partition_of(rp.region_of(r))}:elasticfilesystem:{rp.region_of(r)}:"
    for resource in rules.policy_resources(policy):
        rp.expect(r, "efs-policy", resource.startswith(arn) and resource.endswith(f":file-system/{fs}"),
                  f"resource {resource} is not this file system ({fs})")  # fmt: skip
    for values in _condition_values(policy, "elasticfilesystem:AccessPointArn"):
        rp.expect(r, "efs-policy", rp.exists(values), f"access point {values} does not exist")
    principals_exist(rp, r, policy)
    rp.call(r, "efs", "put_file_system_policy", FileSystemId=fs, Policy=policy,
            BypassPolicyLockoutSafetyCheck=i.get("bypassPolicyLockoutSafetyCheck"))  # fmt: skip


def _condition_values(policy: str, key: str) -> list[str]:
    found: list[str] = []
    for st in rules._strings(json.loads(policy).get("Statement", [])):
        for block in (st.get("Condition") or {}).values():
            found += [v for v in rules._strings(block.get(key, [])) if isinstance(v, str)]
    return found


# ------------------------------------------------------------------------------------------------- KMS


@handles("aws:kms/key:Key")
def kms_key(rp: Replay, r: Resource, i: Inputs) -> None:
    policy = i.get("policy")
    if policy:
        rp.check(r, "key-policy", rules.policy_problems(policy, "kms"))
        principals_exist(rp, r, policy)
    window = i.get("deletionWindowInDays")
    rp.expect(r, "kms-deletion-window", window is None or 7 <= window <= 30, f"deletionWindowInDays {window}: 7 to 30")
    answer = rp.call(r, "kms", "create_key", Description=i.get("description"), KeyUsage=i.get("keyUsage"),
                     KeySpec=i.get("customerMasterKeySpec"), Policy=policy, MultiRegion=i.get("multiRegion"),
                     BypassPolicyLockoutSafetyCheck=i.get("bypassPolicyLockoutSafetyCheck"),
                     Tags=kv(i.get("tags"), "TagKey", "TagValue"))["KeyMetadata"]  # fmt: skip
    rp.bind(r.id, answer["KeyId"])
    rp.bind(r.outputs.get("keyId"), answer["KeyId"])
    rp.bind(r.outputs.get("arn"), answer["Arn"])
    if i.get("enableKeyRotation"):
        rp.call(r, "kms", "enable_key_rotation", KeyId=answer["KeyId"],
                RotationPeriodInDays=i.get("rotationPeriodInDays"))  # fmt: skip


# ------------------------------------------------------------------------------------------------- SQS

_SQS_ATTRIBUTES = {
    "visibilityTimeoutSeconds": "VisibilityTimeout", "messageRetentionSeconds": "MessageRetentionPeriod",
    "maxMessageSize": "MaximumMessageSize", "delaySeconds": "DelaySeconds",
    "receiveWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds", "policy": "Policy", "redrivePolicy": "RedrivePolicy",
    "redriveAllowPolicy": "RedriveAllowPolicy", "fifoQueue": "FifoQueue",
    "contentBasedDeduplication": "ContentBasedDeduplication", "kmsMasterKeyId": "KmsMasterKeyId",
    "kmsDataKeyReusePeriodSeconds": "KmsDataKeyReusePeriodSeconds", "sqsManagedSseEnabled": "SqsManagedSseEnabled",
    "deduplicationScope": "DeduplicationScope", "fifoThroughputLimit": "FifoThroughputLimit",
}  # fmt: skip


@handles("aws:sqs/queue:Queue")
def queue(rp: Replay, r: Resource, i: Inputs) -> None:
    name = physical_name(r, i)
    attributes = {api: str(_str(i[key])) for key, api in _SQS_ATTRIBUTES.items() if i.get(key) is not None}
    rp.check(r, "sqs-attributes", rules.sqs_problems(name, attributes))
    if "Policy" in attributes:
        rp.check(r, "queue-policy", rules.policy_problems(attributes["Policy"], "sqs"))
    url = rp.call(r, "sqs", "create_queue", QueueName=name, Attributes=attributes or None, tags=i.get("tags"))
    url = url["QueueUrl"]
    stored = rp.call(r, "sqs", "get_queue_attributes", QueueUrl=url, AttributeNames=["All"])["Attributes"]
    rp.bind(r.id, url)
    rp.bind(r.outputs.get("url"), url)
    rp.bind(r.outputs.get("arn"), stored["QueueArn"])
    for key in ("VisibilityTimeout", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds"):
        if key in attributes:
            rp.expect(r, "sqs-attributes", stored.get(key) == attributes[key],
                      f"{key} {attributes[key]} was stored as {stored.get(key)}")  # fmt: skip


# --------------------------------------------------------------------------------- secrets, topics, logs


@handles("aws:secretsmanager/secret:Secret")
def secret(rp: Replay, r: Resource, i: Inputs) -> None:
    window = i.get("recoveryWindowInDays")
    rp.expect(r, "secret-recovery-window", window is None or window == 0 or 7 <= window <= 30,
              f"recoveryWindowInDays {window}: 0 or 7 to 30")  # fmt: skip
    replicas = [prune({"Region": x["region"], "KmsKeyId": x.get("kmsKeyId")}) for x in i.get("replicas") or []]
    answer = rp.call(r, "secretsmanager", "create_secret", Name=physical_name(r, i), Description=i.get("description"),
                     KmsKeyId=i.get("kmsKeyId"), Tags=kv(i.get("tags")), AddReplicaRegions=replicas or None,
                     ForceOverwriteReplicaSecret=i.get("forceOverwriteReplicaSecret"))  # fmt: skip
    rp.bind(r.id, answer["ARN"])
    rp.bind(r.outputs.get("arn"), answer["ARN"])
    if i.get("policy"):
        rp.check(r, "secret-policy", rules.policy_problems(i["policy"], "s3"))
        rp.call(r, "secretsmanager", "put_resource_policy", SecretId=answer["ARN"], ResourcePolicy=i["policy"])


@handles("aws:secretsmanager/secretVersion:SecretVersion")
def secret_version(rp: Replay, r: Resource, i: Inputs) -> None:
    # The value is a secret: it goes to moto, never into a message.
    rp.call(r, "secretsmanager", "put_secret_value", SecretId=i["secretId"], SecretString=i.get("secretString"),
            SecretBinary=i.get("secretBinary"), VersionStages=i.get("versionStages"))  # fmt: skip


@handles("aws:sns/topic:Topic")
def topic(rp: Replay, r: Resource, i: Inputs) -> None:
    key = i.get("kmsMasterKeyId")
    region = rp.region_of(r)
    if key and not key.startswith("alias/aws/"):
        rp.expect(r, "sns-kms-key", rp.look("kms", "describe_key", region, KeyId=key) is not None,
                  f"KMS key {key} does not exist in {region}")  # fmt: skip
    attributes = {"KmsMasterKeyId": key, "Policy": i.get("policy"), "DisplayName": i.get("displayName"),
                  "DeliveryPolicy": i.get("deliveryPolicy"), "FifoTopic": _str(i.get("fifoTopic")),
                  "ContentBasedDeduplication": _str(i.get("contentBasedDeduplication")),
                  "SignatureVersion": _str(i.get("signatureVersion")), "TracingConfig": i.get("tracingConfig")}  # fmt: skip
    attributes = {k: v for k, v in attributes.items() if v is not None}
    answer = rp.call(r, "sns", "create_topic", Name=physical_name(r, i), Attributes=attributes or None,
                     Tags=kv(i.get("tags")))  # fmt: skip
    rp.bind(r.id, answer["TopicArn"])
    rp.bind(r.outputs.get("arn"), answer["TopicArn"])


@handles("aws:sns/topicSubscription:TopicSubscription")
def topic_subscription(rp: Replay, r: Resource, i: Inputs) -> None:
    protocol, endpoint = i["protocol"], i["endpoint"]
    if protocol in ("email", "email-json"):
        rp.expect(r, "sns-endpoint", re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", endpoint) is not None,
                  f"{endpoint!r} is not an e-mail address")  # fmt: skip
    attributes = {"FilterPolicy": i.get("filterPolicy"), "FilterPolicyScope": i.get("filterPolicyScope"),
                  "RawMessageDelivery": _str(i.get("rawMessageDelivery")), "RedrivePolicy": i.get("redrivePolicy"),
                  "DeliveryPolicy": i.get("deliveryPolicy"), "SubscriptionRoleArn": i.get("subscriptionRoleArn")}  # fmt: skip
    attributes = {k: v for k, v in attributes.items() if v is not None}
    answer = rp.call(r, "sns", "subscribe", TopicArn=i["topic"], Protocol=protocol, Endpoint=endpoint,
                     Attributes=attributes or None, ReturnSubscriptionArn=True)  # fmt: skip
    rp.bind(r.id, answer["SubscriptionArn"])


@handles("aws:cloudwatch/logGroup:LogGroup")
def log_group(rp: Replay, r: Resource, i: Inputs) -> None:
    name = physical_name(r, i)
    days = i.get("retentionInDays")
    rp.expect(r, "log-retention", days in (None, 0) or days in rules.LOG_RETENTION_DAYS,
              f"retentionInDays {days} is not one of {sorted(rules.LOG_RETENTION_DAYS)}")  # fmt: skip
    rp.call(r, "logs", "create_log_group", logGroupName=name, kmsKeyId=i.get("kmsKeyId"), tags=i.get("tags"),
            logGroupClass=i.get("logGroupClass"))  # fmt: skip
    if days:
        rp.call(r, "logs", "put_retention_policy", logGroupName=name, retentionInDays=days)
    rp.facts.setdefault("log_groups", set()).add((rp.region_of(r), name))
