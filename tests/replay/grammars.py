"""Documents and settings that AWS checks and moto does not, as pure checks: ECR lifecycle policies, WAF web ACL
rules, Lambda function settings. Each returns messages; an empty list means accepted."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

# ------------------------------------------------------------------------------------------ ECR lifecycle

_LIFECYCLE_RULE_KEYS = frozenset({"rulePriority", "description", "selection", "action"})
_SELECTION_KEYS = frozenset({"tagStatus", "tagPatternList", "tagPrefixList", "countType", "countUnit", "countNumber"})


def lifecycle_policy_problems(text: str) -> list[str]:  # noqa: PLR0912 (one branch per documented rule)
    """ECR's lifecycle policy grammar (Lifecycle policy properties, Amazon ECR User Guide): unique integer
    priorities, the ``any`` rule last, tag lists only (and one of them always) for tagged images, a count unit
    exactly for ``sinceImagePushed``, a positive count, the ``expire`` action."""
    try:
        policy = json.loads(text)
    except ValueError as error:
        return [f"not JSON: {error}"]
    rules = policy.get("rules") if isinstance(policy, dict) else None
    if not isinstance(rules, list) or not rules:
        return ['a lifecycle policy is {"rules": [...]} with at least one rule']
    problems: list[str] = []
    priorities = [r.get("rulePriority") for r in rules if isinstance(r, dict)]
    repeated = sorted(p for p, n in Counter(map(str, priorities)).items() if n > 1)
    if repeated:
        problems.append(f"rulePriority repeats: {', '.join(repeated)} (each rule needs its own)")
    for rule in rules:
        if not isinstance(rule, dict):
            problems.append(f"rule {rule!r} is not an object")
            continue
        priority = rule.get("rulePriority")
        where = f"rule {priority}"
        problems += [f"{where}: unknown property {k!r}" for k in sorted(set(rule) - _LIFECYCLE_RULE_KEYS)]
        if not isinstance(priority, int) or isinstance(priority, bool) or priority < 1:
            problems.append(f"{where}: rulePriority is a positive integer")
        if (rule.get("action") or {}).get("type") != "expire":
            problems.append(f"{where}: action type {(rule.get('action') or {}).get('type')!r} is not 'expire'")
        selection = rule.get("selection") or {}
        problems += [f"{where}: unknown selection property {k!r}" for k in sorted(set(selection) - _SELECTION_KEYS)]
        status = selection.get("tagStatus")
        lists = [k for k in ("tagPrefixList", "tagPatternList") if k in selection]
        if status not in ("tagged", "untagged", "any"):
            problems.append(f"{where}: tagStatus {status!r} is not tagged, untagged or any")
        elif status == "tagged" and len(lists) != 1:
            problems.append(f"{where}: a tagged rule has exactly one of tagPrefixList and tagPatternList")
        elif status != "tagged" and lists:
            problems.append(f"{where}: {lists[0]} is only for tagStatus tagged")
        for key in lists:
            values = selection[key]
            if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
                problems.append(f"{where}: {key} is a non-empty list of non-empty strings")
            elif key == "tagPatternList" and any(v.count("*") > 4 for v in values):
                problems.append(f"{where}: a tag pattern has at most four wildcards")
        count_type, unit, number = selection.get("countType"), selection.get("countUnit"), selection.get("countNumber")
        if count_type == "sinceImagePushed" and unit != "days":
            problems.append(f"{where}: sinceImagePushed counts in countUnit 'days'")
        elif count_type == "imageCountMoreThan" and unit is not None:
            problems.append(f"{where}: imageCountMoreThan takes no countUnit")
        elif count_type not in ("sinceImagePushed", "imageCountMoreThan"):
            problems.append(f"{where}: countType {count_type!r} is not imageCountMoreThan or sinceImagePushed")
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            problems.append(f"{where}: countNumber {number!r} is a positive integer")
    anys = [
        r.get("rulePriority")
        for r in rules
        if isinstance(r, dict) and (r.get("selection") or {}).get("tagStatus") == "any"
    ]
    numeric = [p for p in priorities if isinstance(p, int)]
    if anys and (len(anys) > 1 or anys[0] != max(numeric, default=0)):
        problems.append("a rule with tagStatus 'any' must be the only one and have the highest rulePriority")
    return problems


# ---------------------------------------------------------------------------------------------------- WAF

MANAGED_RULE_GROUPS: dict[str, tuple[int, frozenset[str] | None]] = {
    # AWS Managed Rules (vendor AWS): name -> (WCU, the group's rules where the replay knows them all).
    "AWSManagedRulesCommonRuleSet": (700, frozenset({
        "NoUserAgent_HEADER", "UserAgent_BadBots_HEADER", "SizeRestrictions_QUERYSTRING",
        "SizeRestrictions_Cookie_HEADER", "SizeRestrictions_BODY", "SizeRestrictions_URIPATH", "EC2MetaDataSSRF_BODY",
        "EC2MetaDataSSRF_COOKIE", "EC2MetaDataSSRF_URIPATH", "EC2MetaDataSSRF_QUERYARGUMENTS",
        "GenericLFI_QUERYARGUMENTS", "GenericLFI_URIPATH", "GenericLFI_BODY", "RestrictedExtensions_URIPATH",
        "RestrictedExtensions_QUERYARGUMENTS", "GenericRFI_QUERYARGUMENTS", "GenericRFI_BODY", "GenericRFI_URIPATH",
        "CrossSiteScripting_COOKIE", "CrossSiteScripting_QUERYARGUMENTS", "CrossSiteScripting_BODY",
        "CrossSiteScripting_URIPATH",
    })),
    "AWSManagedRulesAmazonIpReputationList": (25, frozenset({
        "AWSManagedIPReputationList", "AWSManagedReconnaissanceList", "AWSManagedIPDDoSList",
    })),
    "AWSManagedRulesKnownBadInputsRuleSet": (200, None),
    "AWSManagedRulesAdminProtectionRuleSet": (100, None),
    "AWSManagedRulesSQLiRuleSet": (200, None),
    "AWSManagedRulesLinuxRuleSet": (200, None),
    "AWSManagedRulesUnixRuleSet": (100, None),
    "AWSManagedRulesWindowsRuleSet": (200, None),
    "AWSManagedRulesPHPRuleSet": (100, None),
    "AWSManagedRulesWordPressRuleSet": (100, None),
    "AWSManagedRulesAnonymousIpList": (50, None),
    "AWSManagedRulesBotControlRuleSet": (50, None),
    "AWSManagedRulesATPRuleSet": (50, None),
    "AWSManagedRulesACFPRuleSet": (50, None),
}  # fmt: skip
WEB_ACL_MAX_WCU = 5000
"""A web ACL's capacity limit; above 1,500 WCU, requests cost more."""
_METRIC_NAME = re.compile(r"[A-Za-z0-9_-]{1,128}")
_RESERVED_METRIC_NAMES = frozenset({"All", "Default_Action"})


def metric_name_problems(name: Any, where: str) -> list[str]:
    """WAF's VisibilityConfig.MetricName: 1-128 of A-Z a-z 0-9 - _, not a name WAF reserves."""
    if not isinstance(name, str) or not _METRIC_NAME.fullmatch(name):
        return [f"{where} metric name {name!r}: 1 to 128 letters, digits, - and _"]
    if name in _RESERVED_METRIC_NAMES:
        return [f"{where} metric name {name!r} is reserved by WAF"]
    return []


def web_acl_problems(rules: list[dict[str, Any]], visibility: dict[str, Any]) -> list[str]:
    """A web ACL's rules as WAF takes them (API shape): unique names and priorities, an override action exactly
    for rule group references, managed groups that exist, overrides of rules the group has, the capacity limit."""
    problems = metric_name_problems(visibility.get("MetricName"), "the web ACL's")
    for key in ("Name", "Priority"):
        values = [str(rule.get(key)) for rule in rules]
        repeated = sorted(v for v, n in Counter(values).items() if n > 1)
        if repeated:
            problems.append(f"rule {key.lower()} repeats: {', '.join(repeated)}")
    capacity = 0
    for rule in rules:
        where = f"rule {rule.get('Name')!r}"
        statement = rule.get("Statement") or {}
        group = statement.get("ManagedRuleGroupStatement")
        references_group = bool(group) or "RuleGroupReferenceStatement" in statement
        if references_group != ("OverrideAction" in rule) or references_group == ("Action" in rule):
            problems.append(f"{where}: a rule group reference takes OverrideAction, any other rule Action")
        problems += metric_name_problems((rule.get("VisibilityConfig") or {}).get("MetricName"), where)
        if not group:
            continue
        vendor, name = group.get("VendorName"), group.get("Name")
        if vendor != "AWS":
            continue  # a Marketplace group: what it holds is the seller's
        known = MANAGED_RULE_GROUPS.get(name)
        if known is None:
            problems.append(f"{where}: AWS has no managed rule group {name!r}")
            continue
        capacity += known[0]
        overridden = [o.get("Name") for o in group.get("RuleActionOverrides", [])]
        overridden += [e.get("Name") for e in group.get("ExcludedRules", [])]
        unknown = sorted(str(n) for n in overridden if known[1] is not None and n not in known[1])
        if unknown:
            problems.append(f"{where}: {name} has no rule {', '.join(unknown)}; the override would change nothing")
    if capacity > WEB_ACL_MAX_WCU:
        problems.append(f"the rules need {capacity} WCU, a web ACL holds at most {WEB_ACL_MAX_WCU}")
    return problems


# ------------------------------------------------------------------------------------------------- Lambda

_RESERVED_ENVIRONMENT = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
})  # fmt: skip
"""Environment variables Lambda sets itself and refuses to take from a function's configuration."""
RETIRED_RUNTIMES = frozenset({
    "nodejs", "nodejs4.3", "nodejs4.3-edge", "nodejs6.10", "nodejs8.10", "nodejs10.x", "python2.7", "python3.6",
    "dotnetcore1.0", "dotnetcore2.0", "dotnetcore2.1", "ruby2.5",
})  # fmt: skip
"""Runtimes botocore still lists that Lambda has long refused for new functions (a conservative list)."""
MOUNT_PATH = re.compile(r"/mnt/[a-zA-Z0-9\-_.]+")
ZIP_UPLOAD_LIMIT = 50 * 1024 * 1024
UNZIPPED_LIMIT = 250 * 1024 * 1024


def function_problems(params: dict[str, Any]) -> list[str]:  # noqa: PLR0912 (one branch per documented limit)
    """A CreateFunction request against Lambda's documented limits: name, memory 128-10240 MB, timeout 1-900 s,
    ephemeral storage 512-10240 MB, a runtime it accepts, environment variables (4 KB, names, reserved ones),
    one file system mounted under /mnt/ from inside a VPC."""
    problems: list[str] = []
    name = params.get("FunctionName", "")
    if not re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", name):
        problems.append(f"function name {name!r}: 1 to 64 letters, digits, - and _")
    memory, timeout = params.get("MemorySize", 128), params.get("Timeout", 3)
    if not 128 <= memory <= 10240:
        problems.append(f"memory {memory} MB: Lambda allows 128 to 10240")
    if not 1 <= timeout <= 900:
        problems.append(f"timeout {timeout} s: Lambda allows 1 to 900")
    storage = (params.get("EphemeralStorage") or {}).get("Size", 512)
    if not 512 <= storage <= 10240:
        problems.append(f"ephemeral storage {storage} MB: Lambda allows 512 to 10240")
    if params.get("Runtime") in RETIRED_RUNTIMES:
        problems.append(f"runtime {params['Runtime']} is retired: Lambda creates no functions with it")
    variables: dict[str, str] = (params.get("Environment") or {}).get("Variables") or {}
    size = sum(len(k.encode()) + len(str(v).encode()) for k, v in variables.items())
    if size > 4096:
        problems.append(f"environment variables take {size} bytes, Lambda allows 4 KB")
    for key in variables:
        if not re.fullmatch(r"[a-zA-Z][a-zA-Z0-9_]+", key):
            problems.append(f"environment variable {key!r}: a letter, then letters, digits and _")
        if key in _RESERVED_ENVIRONMENT:
            problems.append(f"environment variable {key} is reserved: Lambda sets it")
    mounts = params.get("FileSystemConfigs") or []
    if len(mounts) > 1:
        problems.append(f"{len(mounts)} file systems: a function mounts at most one")
    for mount in mounts:
        if not MOUNT_PATH.fullmatch(mount.get("LocalMountPath", "")):
            problems.append(f"mount path {mount.get('LocalMountPath')!r} is not /mnt/<letters, digits, - _ .>")
        if not re.fullmatch(r"arn:aws[a-z-]*:elasticfilesystem:[a-z0-9-]+:\d{12}:access-point/fsap-[0-9a-f]+",
                            mount.get("Arn", "")):  # fmt: skip
            problems.append(f"file system {mount.get('Arn')!r} is not an EFS access point ARN")
    if mounts and not (params.get("VpcConfig") or {}).get("SubnetIds"):
        problems.append("a function that mounts a file system runs in a VPC (no VpcConfig subnets)")
    return problems


def permission_problems(params: dict[str, Any], account: str) -> list[str]:
    """Lambda AddPermission: an action of Lambda, a principal Lambda accepts, and for a service acting on behalf
    of a resource, the resource: a source ARN, and for S3 (its ARNs name no account) the source account."""
    problems: list[str] = []
    action, principal = params.get("Action", ""), params.get("Principal", "")
    if not re.fullmatch(r"lambda:[*]|lambda:[a-zA-Z]+|[*]", action):
        problems.append(f"action {action!r} is not lambda:<Action>")
    service = re.fullmatch(r"([a-z0-9.-]+)\.amazonaws\.com", principal)
    if not (service or principal == "*" or re.fullmatch(r"\d{12}|arn:aws[a-z-]*:iam::\d{12}:(root|role/.+|user/.+)",
                                                           principal)):  # fmt: skip
        problems.append(f"principal {principal!r} is neither a service, an account, a role or a user")
    source_arn, source_account = params.get("SourceArn"), params.get("SourceAccount")
    if service and service[1] not in ("lambda", "apigateway") and not source_arn:
        problems.append(f"{principal} may invoke the function for any resource of any account: no SourceArn")
    if source_account is not None and not re.fullmatch(r"\d{12}", source_account):
        problems.append(f"source account {source_account!r} is not 12 digits")
    if source_arn and source_arn.startswith("arn:") and source_arn.split(":")[2] == "s3":
        if source_account is None:
            problems.append("an S3 ARN names no account: without SourceAccount, a bucket of that name in any "
                            "account may invoke the function")  # fmt: skip
        elif source_account != account:
            problems.append(f"source account {source_account} is not the bucket owner {account}")
    return problems
