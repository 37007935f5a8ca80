"""The replay's calls for S3 (a bucket and each of its settings resources) and EFS."""

from __future__ import annotations

import json
import re
from typing import Any

from airstack.mocks import ACCOUNT_ID
from airstack.offline import Resource
from tests.replay import Inputs, Replay, handles, policies
from tests.replay.identity import principals_exist
from tests.replay.shapes import hash_of, kv, prune

# -------------------------------------------------------------------------------------------------- S3


@handles("aws:s3/bucket:Bucket")
def bucket(rp: Replay, r: Resource, i: Inputs) -> None:
    name = i.get("bucket") or r.outputs.get("bucket") or f"{i.get('bucketPrefix') or r.name + '-'}{hash_of(r.urn, 12)}"
    region = rp.region_of(r)
    location = None if region == "us-east-1" else {"LocationConstraint": region}
    rp.call(r, "s3", "create_bucket", Bucket=name, CreateBucketConfiguration=location,
            ObjectLockEnabledForBucket=i.get("objectLockEnabled"))  # fmt: skip
    if i.get("tags"):
        rp.call(r, "s3", "put_bucket_tagging", Bucket=name, Tagging={"TagSet": kv(i["tags"])})


@handles("aws:s3/bucketPolicy:BucketPolicy")
def bucket_policy(rp: Replay, r: Resource, i: Inputs) -> None:
    name, policy = i["bucket"], i["policy"]
    rp.check(r, "bucket-policy", policies.policy_problems(policy, "s3"))
    for resource in policies.policy_resources(policy):
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
            "FilterRules": ([{"Name": "prefix", "Value": c["filterPrefix"]}] if c.get("filterPrefix") else [])
            + ([{"Name": "suffix", "Value": c["filterSuffix"]}] if c.get("filterSuffix") else [])}}})
            for c in items] if items else None  # fmt: skip

    for c in i.get("lambdaFunctions") or []:
        _invocable_by_s3(rp, r, i["bucket"], c["lambdaFunctionArn"])

    rp.call(r, "s3", "put_bucket_notification_configuration", Bucket=i["bucket"],
            NotificationConfiguration=prune({
                "LambdaFunctionConfigurations": config(i.get("lambdaFunctions"), "lambdaFunctionArn", "LambdaFunctionArn"),
                "QueueConfigurations": config(i.get("queues"), "queueArn", "QueueArn"),
                "TopicConfigurations": config(i.get("topics"), "topicArn", "TopicArn"),
                "EventBridgeConfiguration": {} if i.get("eventbridge") else None,
            }))  # fmt: skip


def _invocable_by_s3(rp: Replay, r: Resource, bucket: str, function: str) -> None:
    """S3 validates a notification's destinations when it is set ("Unable to validate the following destination
    configurations"): the function exists and its policy lets S3 invoke it for this bucket and account."""
    region = rp.region_of(r)
    if rp.look("lambda", "get_function", region, FunctionName=function) is None:
        rp.problem(r, "s3-notification", f"function {function} does not exist")
        return
    policy = (rp.look("lambda", "get_policy", region, FunctionName=function) or {}).get("Policy")
    context = {"aws:SourceArn": f"arn:{policies.partition_of(region)}:s3:::{bucket}", "aws:SourceAccount": ACCOUNT_ID}
    ok = policy is not None and policies.grants(policy, ("Service", "s3.amazonaws.com"), "lambda:InvokeFunction",
                                                function, context)  # fmt: skip
    rp.expect(
        r, "s3-notification", ok, f"the policy of {function} does not let s3.amazonaws.com invoke it for {bucket}"
    )


# ------------------------------------------------------------------------------------------------- EFS


@handles("aws:efs/fileSystem:FileSystem")
def file_system(rp: Replay, r: Resource, i: Inputs) -> None:
    answer = rp.call(r, "efs", "create_file_system", CreationToken=i.get("creationToken") or hash_of(r.urn, 32),
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
    # moto keeps no protection: what a replication into this file system needs is checked from here.
    rp.facts.setdefault("efs_protection", {})[answer["FileSystemId"]] = (protection or {}).get("replicationOverwrite")


@handles("aws:efs/accessPoint:AccessPoint")
def access_point(rp: Replay, r: Resource, i: Inputs) -> None:
    user, root = i.get("posixUser"), i.get("rootDirectory")
    creation = (root or {}).get("creationInfo")
    answer = rp.call(r, "efs", "create_access_point", ClientToken=hash_of(r.urn, 32), FileSystemId=i["fileSystemId"],
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
    rp.check(r, "efs-policy", policies.policy_problems(policy, "efs"))
    arn = f"arn:{policies.partition_of(rp.region_of(r))}:elasticfilesystem:{rp.region_of(r)}:"
    for resource in policies.policy_resources(policy):
        rp.expect(r, "efs-policy", resource.startswith(arn) and resource.endswith(f":file-system/{fs}"),
                  f"resource {resource} is not this file system ({fs})")  # fmt: skip
    for values in _condition_values(policy, "elasticfilesystem:AccessPointArn"):
        rp.expect(r, "efs-policy", rp.exists(values), f"access point {values} does not exist")
    principals_exist(rp, r, policy)
    rp.call(r, "efs", "put_file_system_policy", FileSystemId=fs, Policy=policy,
            BypassPolicyLockoutSafetyCheck=i.get("bypassPolicyLockoutSafetyCheck"))  # fmt: skip


def _condition_values(policy: str, key: str) -> list[str]:
    found: list[str] = []
    for st in policies.strings(json.loads(policy).get("Statement", [])):
        for block in (st.get("Condition") or {}).values():
            found += [v for v in policies.strings(block.get(key, [])) if isinstance(v, str)]
    return found
