"""The replay's calls for delivery: the ECR repository and its lifecycle policy, and a Lambda function with its
invoke permissions and asynchronous-invocation settings; once everything exists, what the function needs when it
runs (its role's permissions for the VPC, its logs, its file system and its destinations)."""

from __future__ import annotations

import re
from typing import Any

from airstack.mocks import ACCOUNT_ID
from airstack.offline import Resource
from tests.replay import Failed, Inputs, Replay, archives, grammars, handles, identity, policies
from tests.replay.shapes import hash_of, kv, physical_name, prune

# ------------------------------------------------------------------------------------------------- ECR


@handles("aws:ecr/repository:Repository")
def repository(rp: Replay, r: Resource, i: Inputs) -> None:
    name = physical_name(r, i)
    encryption = i.get("encryptionConfigurations") or []
    rp.expect(r, "ecr", len(encryption) <= 1, f"{len(encryption)} encryption configurations: a repository has one")
    key = encryption[0].get("kmsKey") if encryption else None
    if key:
        found = rp.look("kms", "describe_key", rp.region_of(r), KeyId=key)
        rp.expect(r, "ecr", found is not None, f"KMS key {key} does not exist in {rp.region_of(r)}")
    scanning = i.get("imageScanningConfiguration")
    filters = [
        {"filterType": f["filterType"], "filter": f["filter"]}
        for f in i.get("imageTagMutabilityExclusionFilters") or []
    ]
    answer = rp.call(r, "ecr", "create_repository", repositoryName=name, imageTagMutability=i.get("imageTagMutability"),
                     imageTagMutabilityExclusionFilters=filters or None,
                     encryptionConfiguration=prune({"encryptionType": encryption[0]["encryptionType"], "kmsKey": key})
                     if encryption else None,
                     imageScanningConfiguration={"scanOnPush": bool(scanning.get("scanOnPush"))} if scanning else None,
                     tags=kv(i.get("tags")))["repository"]  # fmt: skip
    rp.bind(r.outputs.get("arn"), answer["repositoryArn"])
    rp.bind(r.outputs.get("repositoryUrl"), answer["repositoryUri"])
    rp.call(r, "ecr", "describe_repositories", repositoryNames=[name])


@handles("aws:ecr/lifecyclePolicy:LifecyclePolicy")
def lifecycle_policy(rp: Replay, r: Resource, i: Inputs) -> None:
    rp.check(r, "ecr-lifecycle", grammars.lifecycle_policy_problems(i["policy"]))
    rp.call(r, "ecr", "put_lifecycle_policy", repositoryName=i["repository"], lifecyclePolicyText=i["policy"])
    rp.call(r, "ecr", "get_lifecycle_policy", repositoryName=i["repository"])


# ---------------------------------------------------------------------------------------------- Lambda


def _code(rp: Replay, r: Resource, i: Inputs) -> dict[str, Any]:
    """The code as CreateFunction takes it: the zip the engine builds from the archive (checked: size, handler),
    or the S3 object or image named."""
    if i.get("imageUri"):
        return {"ImageUri": i["imageUri"]}
    if i.get("s3Bucket"):
        return prune({"S3Bucket": i["s3Bucket"], "S3Key": i.get("s3Key"), "S3ObjectVersion": i.get("s3ObjectVersion"),
                      "SourceKMSKeyArn": i.get("sourceKmsKeyArn")})  # fmt: skip
    try:
        files = archives.archive_files(i.get("code"))
    except archives.ArchiveError as error:
        rp.problem(r, "lambda-code", str(error))
        raise Failed from error
    zipped = archives.zip_bytes(files)
    unzipped = sum(map(len, files.values()))
    rp.expect(r, "lambda-code", len(zipped) <= grammars.ZIP_UPLOAD_LIMIT,
              f"the zip has {len(zipped)} bytes; uploaded directly, Lambda takes 50 MB (use S3)")  # fmt: skip
    rp.expect(r, "lambda-code", unzipped <= grammars.UNZIPPED_LIMIT, f"unzipped, the code has {unzipped} bytes: 250 MB")
    rp.check(r, "lambda-handler", archives.handler_problems(i.get("runtime") or "", i.get("handler") or "", files))
    return prune({"ZipFile": zipped, "SourceKMSKeyArn": i.get("sourceKmsKeyArn")})


@handles("aws:lambda/function:Function")
def function(rp: Replay, r: Resource, i: Inputs) -> None:
    name = physical_name(r, i)
    # Pulumi's bookkeeping: how the code changed, what replaces the groups on destroy, how long to wait.
    i.ignore("sourceCodeHash", "replaceSecurityGroupsOnDestroy", "replacementSecurityGroupIds",
             "useResourceTimeoutForPropagation")  # fmt: skip
    package = i.get("packageType") or "Zip"
    vpc = i.get("vpcConfig")
    mount = i.get("fileSystemConfig")
    logging = i.get("loggingConfig")
    params = prune({
        "FunctionName": name, "Role": i["role"], "Code": _code(rp, r, i), "PackageType": package,
        "Handler": i.get("handler") if package == "Zip" else None, "Runtime": i.get("runtime") if package == "Zip" else None,
        "Description": i.get("description") or "", "MemorySize": _given(i.get("memorySize"), 128),
        "Timeout": _given(i.get("timeout"), 3), "Publish": bool(i.get("publish")), "Tags": i.get("tags"),
        "Architectures": i.get("architectures"), "Layers": i.get("layers"), "KMSKeyArn": i.get("kmsKeyArn"),
        "Environment": {"Variables": i["environment"]["variables"]} if (i.get("environment") or {}).get("variables") else None,
        "EphemeralStorage": {"Size": i["ephemeralStorage"]["size"]} if i.get("ephemeralStorage") else None,
        "FileSystemConfigs": [{"Arn": mount["arn"], "LocalMountPath": mount["localMountPath"]}] if mount else None,
        "VpcConfig": {"SubnetIds": vpc.get("subnetIds") or [], "SecurityGroupIds": vpc.get("securityGroupIds") or [],
                      "Ipv6AllowedForDualStack": bool(vpc.get("ipv6AllowedForDualStack"))} if vpc else None,
        "DeadLetterConfig": {"TargetArn": i["deadLetterConfig"]["targetArn"]} if i.get("deadLetterConfig") else None,
        "TracingConfig": {"Mode": i["tracingConfig"]["mode"]} if i.get("tracingConfig") else None,
        "LoggingConfig": {"LogFormat": logging.get("logFormat"), "LogGroup": logging.get("logGroup"),
                          "ApplicationLogLevel": logging.get("applicationLogLevel"),
                          "SystemLogLevel": logging.get("systemLogLevel")} if logging else None,
        "SnapStart": {"ApplyOn": i["snapStart"]["applyOn"]} if i.get("snapStart") else None,
        "ImageConfig": {"EntryPoint": i["imageConfig"].get("entryPoints"), "Command": i["imageConfig"].get("commands"),
                        "WorkingDirectory": i["imageConfig"].get("workingDirectory")} if i.get("imageConfig") else None,
        "CodeSigningConfigArn": i.get("codeSigningConfigArn"),
    })  # fmt: skip
    rp.check(r, "lambda-function", grammars.function_problems(params))
    _trusts_lambda(rp, r, params["Role"])
    _network(rp, r, params)
    region = rp.region_of(r)
    group = (logging or {}).get("logGroup") or f"/aws/lambda/{name}"
    rp.expect(r, "lambda-logs", (region, group) in rp.facts.get("log_groups", set()),
              f"log group {group} is not created before the function (Lambda would create it, without retention)")  # fmt: skip
    answer = rp.call(r, "lambda", "create_function", **params)
    rp.bind(r.id, name)
    rp.bind(r.outputs.get("arn"), answer["FunctionArn"])
    rp.call(r, "lambda", "get_function", FunctionName=name)
    concurrency = i.get("reservedConcurrentExecutions")
    if concurrency is not None and concurrency >= 0:
        rp.call(r, "lambda", "put_function_concurrency", FunctionName=name, ReservedConcurrentExecutions=concurrency)
    rp.facts.setdefault("functions", {})[name] = (r, answer["FunctionArn"], params, group)


def _given(value: Any, default: int) -> Any:
    """The provider's schema default where the program gave nothing (0 is given, and refused)."""
    return default if value is None else value


def _trusts_lambda(rp: Replay, r: Resource, role_arn: str) -> None:
    found = rp.look("iam", "get_role", rp.region_of(r), RoleName=role_arn.rsplit("/", 1)[-1])
    if found is None:
        return  # CreateFunction refuses it: "The role defined for the function cannot be assumed by Lambda"
    trust = found["Role"]["AssumeRolePolicyDocument"]
    rp.expect(r, "lambda-role", policies.grants(trust, _LAMBDA, "sts:AssumeRole", None, {}),
              f"the trust policy of {role_arn} does not let lambda.amazonaws.com assume it")  # fmt: skip


_LAMBDA = ("Service", "lambda.amazonaws.com")


def _network(rp: Replay, r: Resource, params: dict[str, Any]) -> None:
    """The subnets and security groups exist in one VPC; a file system's access point exists, in the function's
    region, with a mount target of its file system in that VPC in each AZ the function runs in."""
    vpc = params.get("VpcConfig") or {}
    subnet_vpc, sg_vpc = rp.facts.get("subnet_vpc", {}), rp.facts.get("sg_vpc", {})
    for subnet in vpc.get("SubnetIds", []):
        rp.expect(r, "lambda-vpc", subnet in subnet_vpc, f"subnet {subnet} does not exist")
    for group in vpc.get("SecurityGroupIds", []):
        rp.expect(r, "lambda-vpc", group in sg_vpc, f"security group {group} does not exist")
    vpcs = {subnet_vpc.get(s) for s in vpc.get("SubnetIds", [])} | {
        sg_vpc.get(g) for g in vpc.get("SecurityGroupIds", [])
    }
    rp.expect(r, "lambda-vpc", len(vpcs) <= 1, "the subnets and security groups are not all in one VPC")
    zones = {rp.facts.get("subnet_az", {}).get(s) for s in vpc.get("SubnetIds", [])} - {None}
    for mount in params.get("FileSystemConfigs", []):
        arn = mount["Arn"]
        rp.expect(r, "lambda-file-system", rp.exists(arn), f"access point {arn} does not exist")
        rp.expect(r, "lambda-file-system", arn.split(":")[3:4] == [rp.region_of(r)],
                  f"access point {arn} is not in the function's region {rp.region_of(r)}")  # fmt: skip
        point = rp.look("efs", "describe_access_points", rp.region_of(r), AccessPointId=arn.rsplit("/", 1)[-1])
        if not point or not point.get("AccessPoints"):
            continue
        fs = point["AccessPoints"][0]["FileSystemId"]
        targets = (rp.look("efs", "describe_mount_targets", rp.region_of(r), FileSystemId=fs) or {}).get(
            "MountTargets", []
        )
        reachable = {rp.facts.get("subnet_az", {}).get(t["SubnetId"]) for t in targets
                     if subnet_vpc.get(t["SubnetId"]) in vpcs}  # fmt: skip
        missing = sorted(z for z in zones - reachable if z)
        rp.expect(r, "lambda-file-system", not missing,
                  f"file system {fs} has no mount target in the function's VPC in {', '.join(missing)}")  # fmt: skip
        rp.facts.setdefault("function_mounts", {})[params["FunctionName"]] = (fs, arn)


@handles("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
def event_invoke_config(rp: Replay, r: Resource, i: Inputs) -> None:
    given = i.get("destinationConfig") or {}
    config = prune({
        "OnFailure": {"Destination": given["onFailure"]["destination"]} if given.get("onFailure") else None,
        "OnSuccess": {"Destination": given["onSuccess"]["destination"]} if given.get("onSuccess") else None,
    })  # fmt: skip
    destinations = [c["Destination"] for c in config.values()]
    for arn in destinations:
        service = arn.split(":")[2] if arn.count(":") >= 5 else ""
        rp.expect(r, "lambda-destination", service in _DESTINATION_ACTIONS,
                  f"destination {arn} is not an SQS queue, SNS topic, Lambda function, event bus or S3 bucket")  # fmt: skip
        exists = rp.look("s3", "head_bucket", rp.region_of(r), Bucket=arn.split(":")[-1]) is not None \
            if service == "s3" else rp.exists(arn)  # fmt: skip
        rp.expect(r, "lambda-destination", exists, f"destination {arn} does not exist")
    retries = i.get("maximumRetryAttempts")
    retries = 2 if retries is None else retries  # the provider's default
    age = i.get("maximumEventAgeInSeconds")
    rp.expect(r, "lambda-async", 0 <= retries <= 2, f"maximumRetryAttempts {retries}: 0 to 2")
    rp.expect(r, "lambda-async", age is None or 60 <= age <= 21600, f"maximumEventAgeInSeconds {age}: 60 to 21600")
    rp.call(r, "lambda", "put_function_event_invoke_config", FunctionName=i["functionName"],
            Qualifier=i.get("qualifier"), MaximumRetryAttempts=retries, MaximumEventAgeInSeconds=age,
            DestinationConfig=config or None)  # fmt: skip
    rp.facts.setdefault("function_destinations", []).append((r, i["functionName"], destinations))


_DESTINATION_ACTIONS = {"sqs": "sqs:SendMessage", "sns": "sns:Publish", "lambda": "lambda:InvokeFunction",
                        "events": "events:PutEvents", "s3": "s3:PutObject"}  # fmt: skip


@handles("aws:lambda/permission:Permission")
def permission(rp: Replay, r: Resource, i: Inputs) -> None:
    prefix = i.get("statementIdPrefix")
    statement = (
        f"{prefix}{hash_of(r.urn, 26)}" if prefix and not i.get("statementId") else physical_name(r, i, "statementId")
    )
    params = prune({
        "FunctionName": i["function"], "StatementId": statement, "Action": i["action"], "Principal": i["principal"],
        "SourceArn": i.get("sourceArn"), "SourceAccount": i.get("sourceAccount"), "Qualifier": i.get("qualifier"),
        "EventSourceToken": i.get("eventSourceToken"), "PrincipalOrgID": i.get("principalOrgId"),
        "FunctionUrlAuthType": i.get("functionUrlAuthType"), "InvokedViaFunctionUrl": i.get("invokedViaFunctionUrl"),
    })  # fmt: skip
    rp.check(r, "lambda-permission", grammars.permission_problems(params, ACCOUNT_ID))
    if params["Action"] not in ("*", "lambda:*"):
        rp.check(r, "lambda-permission", policies.action_problems(params["Action"]))
    source = params.get("SourceArn", "")
    bucket = re.fullmatch(r"arn:aws[a-z-]*:s3:::([^/*?]+)", source)
    if bucket:
        exists = rp.look("s3", "head_bucket", rp.region_of(r), Bucket=bucket[1]) is not None
        rp.expect(r, "lambda-permission", exists, f"source bucket {bucket[1]} does not exist")
    key = (params["FunctionName"], params.get("Qualifier"))
    taken = rp.facts.setdefault("permission_statements", {}).setdefault(key, set())
    rp.expect(r, "lambda-permission", statement not in taken, f"statement ID {statement} is taken on this function")
    taken.add(statement)
    rp.call(r, "lambda", "add_permission", **params)
    rp.bind(r.id, statement)


# ------------------------------------------------------------------------------------------ across resources


def after_all(rp: Replay) -> None:
    """What a function needs when it runs, from its role as finally attached: to create its network interfaces
    (CreateFunction refuses a VPC function without), to write its logs, to mount and write its file system
    (when the file system has a policy), and to send to its destinations (Lambda refuses the event invoke config
    without)."""
    functions = rp.facts.get("functions", {})
    for name, (r, arn, params, group) in functions.items():
        _runs(rp, r, name, arn, params, group)
    for r, function_name, destinations in rp.facts.get("function_destinations", []):
        entry = functions.get(function_name) or next((f for f in functions.values() if f[1] == function_name), None)
        if entry is None:
            continue
        role = entry[2]["Role"].rsplit("/", 1)[-1]
        documents = identity.role_documents(rp, role)
        for destination in destinations:
            action = _DESTINATION_ACTIONS.get(destination.split(":")[2], "")
            rp.expect(r, "lambda-destination", bool(action) and policies.allows(documents, action, destination),
                      f"the function's role {role} may not {action} on {destination}")  # fmt: skip


def _runs(rp: Replay, r: Resource, name: str, arn: str, params: dict[str, Any], group: str) -> None:
    role = params["Role"].rsplit("/", 1)[-1]
    documents = identity.role_documents(rp, role)

    def may(action: str, resource: str, why: str) -> None:
        rp.expect(r, "lambda-role", policies.allows(documents, action, resource),
                  f"the role {role} may not {action} on {resource} ({why})")  # fmt: skip

    if (params.get("VpcConfig") or {}).get("SubnetIds"):
        for action in ("ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface"):
            may(action, "*", "to run in the VPC")
    region = arn.split(":")[3]
    stream = f"arn:{policies.partition_of(region)}:logs:{region}:{ACCOUNT_ID}:log-group:{group}:log-stream:x"
    may("logs:CreateLogStream", stream, "to write its logs")
    may("logs:PutLogEvents", stream, "to write its logs")
    mounted = rp.facts.get("function_mounts", {}).get(name)
    if mounted:
        fs, access_point = mounted
        _file_system_access(rp, r, params["Role"], region, fs, access_point, documents)


def _file_system_access(rp: Replay, r: Resource, role_arn: str, region: str, fs: str, access_point: str,
                        documents: list[str]) -> None:  # fmt: skip
    """With a file system policy, the function's role must be allowed to mount and write (by the policy or by
    its own); Lambda mounts over TLS through the access point."""
    policy = (rp.look("efs", "describe_file_system_policy", region, FileSystemId=fs) or {}).get("Policy")
    if policy is None:
        return
    fs_arn = f"arn:{policies.partition_of(region)}:elasticfilesystem:{region}:{ACCOUNT_ID}:file-system/{fs}"
    context = {"elasticfilesystem:AccessPointArn": access_point, "aws:SecureTransport": "true"}
    for action in ("elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"):
        ok = policies.allows(documents, action, fs_arn) or policies.grants(policy, ("AWS", role_arn), action, fs_arn,
                                                                           context)  # fmt: skip
        rp.expect(r, "lambda-file-system", ok, f"the role {role_arn} may not {action} on {fs} through {access_point}")
