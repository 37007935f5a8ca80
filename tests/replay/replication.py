"""The replay's calls for what copies images, files and objects elsewhere: ECR pull-through cache rules, repository
creation templates and registry replication, EFS replication and S3 bucket replication. moto implements S3's and
ECR's replication settings without checking them and lacks the rest, so AWS's documented rules are checked here."""

from __future__ import annotations

import json
import re
from typing import Any

from airstack.mocks import ACCOUNT_ID
from airstack.offline import Resource
from tests.replay import Inputs, Replay, grammars, handles, identity, policies
from tests.replay.shapes import kv, prune

# --------------------------------------------------------------------------------------------- ECR rules

_REPOSITORY = r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*"
# Upstream registries of a pull through cache rule (Amazon ECR User Guide, "Sync an upstream registry"): URL ->
# whether the rule needs a Secrets Manager credential (ecr-pullthroughcache/ secrets) to reach it.
_UPSTREAMS: list[tuple[str, bool]] = [
    (r"public\.ecr\.aws", False), (r"registry\.k8s\.io", False), (r"quay\.io", False),
    (r"registry-1\.docker\.io", True), (r"ghcr\.io", True), (r"registry\.gitlab\.com", True),
    (r"[a-z0-9-]+\.azurecr\.io", True), (r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com", False),
]  # fmt: skip


def pull_through_cache_problems(prefix: str, upstream: str, credential: str | None) -> list[str]:
    """CreatePullThroughCacheRule: a repository prefix of 2-30 characters (or ROOT), an upstream registry ECR
    supports, a credential exactly where the upstream needs one (a secret named ecr-pullthroughcache/...)."""
    problems: list[str] = []
    if prefix != "ROOT" and not (2 <= len(prefix) <= 30 and re.fullmatch(_REPOSITORY, prefix)):
        problems.append(f"ecrRepositoryPrefix {prefix!r}: 2 to 30 lowercase letters, digits and ._-/ (or ROOT)")
    if upstream.startswith(("https://", "http://")) or upstream.endswith("/"):
        problems.append(f"upstreamRegistryUrl {upstream!r} is a host name, without scheme or path")
    needs = next((needs for pattern, needs in _UPSTREAMS if re.fullmatch(pattern, upstream)), None)
    if needs is None:
        problems.append(f"upstreamRegistryUrl {upstream!r} is no upstream registry ECR caches")
    elif needs and not credential:
        problems.append(f"{upstream} needs a credentialArn (a Secrets Manager secret ecr-pullthroughcache/...)")
    elif not needs and credential and "ecr.aws" in upstream:
        problems.append(f"{upstream} takes no credential")
    if credential and not re.search(r":secret:ecr-pullthroughcache/", credential):
        problems.append(f"credentialArn {credential}: the secret's name starts with ecr-pullthroughcache/")
    return problems


@handles("aws:ecr/pullThroughCacheRule:PullThroughCacheRule")
def pull_through_cache_rule(rp: Replay, r: Resource, i: Inputs) -> None:
    prefix, upstream = i["ecrRepositoryPrefix"], i["upstreamRegistryUrl"]
    rp.check(r, "ecr-pull-through-cache", pull_through_cache_problems(prefix, upstream, i.get("credentialArn")))
    region = rp.region_of(r)
    rules = rp.facts.setdefault("pull_through_prefixes", {})
    rp.expect(r, "ecr-pull-through-cache", (region, prefix) not in rules, f"a second rule for prefix {prefix}")
    rp.call(r, "ecr", "create_pull_through_cache_rule", ecrRepositoryPrefix=prefix, upstreamRegistryUrl=upstream,
            registryId=i.get("registryId"), credentialArn=i.get("credentialArn"), customRoleArn=i.get("customRoleArn"),
            upstreamRepositoryPrefix=i.get("upstreamRepositoryPrefix"))  # fmt: skip
    rules[region, prefix] = upstream


_APPLIED_FOR = frozenset({"REPLICATION", "PULL_THROUGH_CACHE", "CREATE_ON_PUSH"})


def creation_template_problems(params: dict[str, Any]) -> list[str]:
    """CreateRepositoryCreationTemplate: a prefix of repository name parts (or ROOT), the scenarios it applies
    for, the lifecycle policy's grammar, a key exactly for KMS encryption, and a custom role where the template
    tags or encrypts with KMS ("If you intend to use KMS keys, resource tags, or a combination of both ... you
    need to" create a role ECR assumes: Amazon ECR User Guide, repository-creation-templates-create.html)."""
    problems: list[str] = []
    prefix = params.get("prefix", "")
    if prefix != "ROOT" and not (1 <= len(prefix) <= 256 and re.fullmatch(rf"{_REPOSITORY}/?", prefix)):
        problems.append(f"prefix {prefix!r}: repository name parts (lowercase, digits, ._-/), or ROOT")
    applied = params.get("appliedFor") or []
    if not applied or set(applied) - _APPLIED_FOR or len(set(applied)) != len(applied):
        problems.append(f"appliedFor {applied}: one or more of {', '.join(sorted(_APPLIED_FOR))}, each once")
    if params.get("lifecyclePolicy"):
        problems += [f"lifecyclePolicy: {p}" for p in grammars.lifecycle_policy_problems(params["lifecyclePolicy"])]
    if params.get("repositoryPolicy"):
        problems += [f"repositoryPolicy: {p}" for p in policies.policy_problems(params["repositoryPolicy"], "s3")]
    encryption = params.get("encryptionConfiguration") or {}
    kms = encryption.get("encryptionType") in ("KMS", "KMS_DSSE")
    if encryption.get("kmsKey") and not kms:
        problems.append(f"a kmsKey with encryptionType {encryption.get('encryptionType')}")
    if (params.get("resourceTags") or kms) and not params.get("customRoleArn"):
        problems.append("a template with resourceTags or KMS encryption needs a customRoleArn: ECR creates the "
                        "repositories with the service-linked role otherwise, which may not tag or use the key")  # fmt: skip
    return problems


@handles("aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate")
def creation_template(rp: Replay, r: Resource, i: Inputs) -> None:
    encryption = i.get("encryptionConfigurations") or []
    rp.expect(r, "ecr-template", len(encryption) <= 1, f"{len(encryption)} encryption configurations, at most one")
    filters = [{"filterType": f["filterType"], "filter": f["filter"]}
               for f in i.get("imageTagMutabilityExclusionFilters") or []]  # fmt: skip
    params = prune({
        "prefix": i["prefix"], "description": i.get("description"), "appliedFor": i["appliedFors"],
        "encryptionConfiguration": prune({"encryptionType": encryption[0]["encryptionType"],
                                          "kmsKey": encryption[0].get("kmsKey")}) if encryption else None,
        "resourceTags": kv(i.get("resourceTags")), "imageTagMutability": i.get("imageTagMutability"),
        "imageTagMutabilityExclusionFilters": filters or None, "repositoryPolicy": i.get("repositoryPolicy"),
        "lifecyclePolicy": i.get("lifecyclePolicy"), "customRoleArn": i.get("customRoleArn"),
    })  # fmt: skip
    rp.check(r, "ecr-template", creation_template_problems(params))
    role = params.get("customRoleArn")
    if role:
        _trusts(rp, r, "ecr-template", role, "ecr.amazonaws.com")
    rp.call(r, "ecr", "create_repository_creation_template", **params)
    templates = rp.facts.setdefault("creation_templates", {})
    for scenario in params["appliedFor"]:
        templates.setdefault((rp.region_of(r), scenario), set()).add(params["prefix"])


def registry_replication_problems(rules: list[dict[str, Any]], region: str, account: str) -> list[str]:
    """PutReplicationConfiguration: 1-10 rules, at most 25 destinations in all, none the registry itself (this
    region of this account), PREFIX_MATCH filters of repository names."""
    problems: list[str] = []
    if not 1 <= len(rules) <= 10:
        problems.append(f"{len(rules)} rules: a registry has 1 to 10")
    destinations = [d for rule in rules for d in rule.get("destinations", [])]
    if len(destinations) > 25:
        problems.append(f"{len(destinations)} destinations: at most 25 across the rules")
    for rule in rules:
        if not rule.get("destinations"):
            problems.append("a rule without destinations")
        for d in rule.get("destinations", []):
            if d.get("region") == region and d.get("registryId") == account:
                problems.append(f"destination {d.get('region')}/{d.get('registryId')} is this registry itself")
            elif d.get("region") not in policies.known_regions():
                problems.append(f"destination region {d.get('region')!r} is not an AWS region")
        for f in rule.get("repositoryFilters", []):
            if f.get("filterType") != "PREFIX_MATCH" or not re.fullmatch(rf"{_REPOSITORY}/?", f.get("filter", "")):
                problems.append(f"repository filter {f}: PREFIX_MATCH of a repository name prefix")
    return problems


@handles("aws:ecr/replicationConfiguration:ReplicationConfiguration")
def registry_replication(rp: Replay, r: Resource, i: Inputs) -> None:
    rules = [prune({
        "destinations": [{"region": d["region"], "registryId": d["registryId"]} for d in rule.get("destinations", [])],
        "repositoryFilters": [{"filter": f["filter"], "filterType": f["filterType"]}
                              for f in rule.get("repositoryFilters") or []] or None,
    }) for rule in (i.get("replicationConfiguration") or {}).get("rules", [])]  # fmt: skip
    rp.check(r, "ecr-replication", registry_replication_problems(rules, rp.region_of(r), ACCOUNT_ID))
    rp.call(r, "ecr", "put_replication_configuration", replicationConfiguration={"rules": rules})


# ------------------------------------------------------------------------------------------------- EFS


@handles("aws:efs/replicationConfiguration:ReplicationConfiguration")
def efs_replication(rp: Replay, r: Resource, i: Inputs) -> None:
    source, destination = i["sourceFileSystemId"], i["destination"]
    region = rp.region_of(r)
    target_region = destination.get("region")
    # The destination file system is another stack's (a config value): its ID is not one this replay assigned.
    target: str | None = r.inputs["destination"].get("fileSystemId")
    rp.expect(r, "efs-replication", rp.look("efs", "describe_file_systems", region, FileSystemId=source) is not None,
              f"source file system {source} does not exist in {region}")  # fmt: skip
    rp.expect(r, "efs-replication", bool(target_region) != bool(destination.get("availabilityZoneName")),
              "the destination names a region or, for One Zone, an availability zone")  # fmt: skip
    if target_region:
        rp.expect(r, "efs-replication", target_region in policies.known_regions()
                  and policies.partition_of(target_region) == policies.partition_of(region),
                  f"destination region {target_region!r} is not an AWS region of this partition")  # fmt: skip
    if target:
        rp.expect(r, "efs-replication", re.fullmatch(r"fs-[0-9a-f]{8,40}", target) is not None,
                  f"destination fileSystemId {target!r} is not a file system ID")  # fmt: skip
        if (target_region or region, target) == (region, source):
            rp.problem(r, "efs-replication", "the destination is the source file system")
    rp.call(r, "efs", "create_replication_configuration", SourceFileSystemId=source,
            Destinations=[prune({"Region": target_region, "AvailabilityZoneName": destination.get("availabilityZoneName"),
                                 "KmsKeyId": destination.get("kmsKeyId"), "FileSystemId": target})])  # fmt: skip
    if target:
        rp.facts.setdefault("efs_destinations", []).append((r, target_region or region, target))


# -------------------------------------------------------------------------------------------------- S3


def _rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A replication rule in the provider's shape as PutBucketReplication takes it (expandReplicationRules)."""
    destination: dict[str, Any] = rule["destination"]
    metrics, rtc = destination.get("metrics"), destination.get("replicationTime")
    f, deletes = rule.get("filter"), rule.get("deleteMarkerReplication")
    tag = (f or {}).get("tag")
    both = (f or {}).get("and")
    return prune({
        "ID": rule.get("id"), "Priority": rule.get("priority"), "Status": rule["status"], "Prefix": rule.get("prefix"),
        "Filter": prune({"Prefix": f.get("prefix"), "Tag": {"Key": tag["key"], "Value": tag["value"]} if tag else None,
                         "And": {"Prefix": both.get("prefix"), "Tags": kv(both.get("tags"))} if both else None})
        if f is not None else None,
        "DeleteMarkerReplication": {"Status": deletes["status"]} if deletes else None,
        "Destination": prune({
            "Bucket": destination["bucket"], "StorageClass": destination.get("storageClass"),
            "Account": destination.get("account"),
            "AccessControlTranslation": {"Owner": destination["accessControlTranslation"]["owner"]}
            if destination.get("accessControlTranslation") else None,
            "EncryptionConfiguration": {"ReplicaKmsKeyID": destination["encryptionConfiguration"]["replicaKmsKeyId"]}
            if destination.get("encryptionConfiguration") else None,
            "Metrics": prune({"Status": metrics["status"], "EventThreshold": {"Minutes": metrics["eventThreshold"]["minutes"]}
                              if metrics.get("eventThreshold") else None}) if metrics else None,
            "ReplicationTime": {"Status": rtc["status"], "Time": {"Minutes": rtc["time"]["minutes"]}} if rtc else None,
        }),
    })  # fmt: skip


def bucket_replication_problems(source: str, rules: list[dict[str, Any]]) -> list[str]:  # noqa: PLR0912
    """PutBucketReplication's rules (S3 API Reference, ReplicationRule and Destination): 1-1,000 rules with
    unique IDs of up to 255 characters; with a Filter, a priority (unique) and DeleteMarkerReplication (Disabled
    for tag filters); a Filter of exactly one of Prefix, Tag and And; a destination bucket ARN other than the
    source; S3 Replication Time Control of 15 minutes, only with metrics at a 15-minute threshold."""
    problems: list[str] = []
    if not 1 <= len(rules) <= 1000:
        problems.append(f"{len(rules)} rules: 1 to 1000")
    ids = [rule.get("ID") for rule in rules if rule.get("ID") is not None]
    if len(set(ids)) != len(ids):
        problems.append(f"rule IDs repeat: {ids}")
    with_filter = [rule for rule in rules if "Filter" in rule]
    priorities = [rule.get("Priority") for rule in with_filter]
    if len(set(priorities)) != len(priorities):
        problems.append(f"rule priorities repeat: {priorities}")
    for rule in rules:
        where = f"rule {rule.get('ID')!r}"
        if len(str(rule.get("ID", ""))) > 255:
            problems.append(f"{where}: an ID has at most 255 characters")
        f = rule.get("Filter")
        if f is not None:
            if len(f) != 1:
                problems.append(f"{where}: a Filter has exactly one of Prefix, Tag and And, not {sorted(f)}")
            if "Priority" not in rule or "DeleteMarkerReplication" not in rule:
                problems.append(f"{where}: a rule with a Filter needs Priority and DeleteMarkerReplication")
            tagged = "Tag" in f or bool((f.get("And") or {}).get("Tags"))
            if tagged and (rule.get("DeleteMarkerReplication") or {}).get("Status") == "Enabled":
                problems.append(f"{where}: S3 replicates no delete markers for a tag-based rule")
        elif "Prefix" not in rule:
            problems.append(f"{where}: neither a Filter nor a Prefix")
        destination = rule.get("Destination") or {}
        bucket = destination.get("Bucket", "")
        found = re.fullmatch(r"arn:aws[a-z-]*:s3:::([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])", bucket)
        if found is None:
            problems.append(f"{where}: destination {bucket!r} is not a bucket ARN")
        elif found[1] == source:
            problems.append(f"{where}: the destination is the source bucket")
        metrics, rtc = destination.get("Metrics"), destination.get("ReplicationTime")
        if rtc is not None and rtc.get("Status") == "Enabled":
            if (rtc.get("Time") or {}).get("Minutes") != 15:
                problems.append(f"{where}: S3 Replication Time Control's time is 15 minutes")
            if not metrics or metrics.get("Status") != "Enabled":
                problems.append(f"{where}: Replication Time Control needs replication metrics enabled")
        if metrics and metrics.get("Status") == "Enabled" and rtc and \
                (metrics.get("EventThreshold") or {}).get("Minutes") != 15:  # fmt: skip
            problems.append(f"{where}: with Replication Time Control, the metrics' event threshold is 15 minutes")
    return problems


def _versioned(rp: Replay, bucket: str) -> bool | None:
    """Whether moto has ``bucket`` with versioning enabled; None if it has no such bucket."""
    if rp.look("s3", "head_bucket", rp.run.region, Bucket=bucket) is None:
        return None
    found = rp.look("s3", "get_bucket_versioning", rp.run.region, Bucket=bucket) or {}
    return found.get("Status") == "Enabled"


@handles("aws:s3/bucketReplicationConfig:BucketReplicationConfig")
def bucket_replication(rp: Replay, r: Resource, i: Inputs) -> None:
    bucket, role = i["bucket"], i["role"]
    rules = [_rule(rule) for rule in i["rules"]]
    rp.check(r, "s3-replication", bucket_replication_problems(bucket, rules))
    # S3 refuses a configuration on a bucket without versioning (InvalidRequest), and a destination that does not
    # exist or is not versioned; a destination of another stack is checked where that stack is replayed too.
    rp.expect(r, "s3-replication", _versioned(rp, bucket) is not False,
              f"bucket {bucket} is not versioned: S3 replicates only from versioned buckets")  # fmt: skip
    planned = {str(b.inputs.get("bucket") or b.outputs.get("bucket")) for b in rp.run.by_type("aws:s3/bucket:Bucket")}
    documents = _trusts(rp, r, "s3-replication", role, "s3.amazonaws.com")
    for rule in rules:
        target = rule["Destination"]["Bucket"].rsplit(":", 1)[-1]
        versioned = _versioned(rp, target)
        if versioned is None and (target in planned or rp.facts.get("world")):
            rp.problem(r, "s3-replication", f"destination bucket {target} does not exist")
        elif versioned is False:
            rp.problem(r, "s3-replication", f"destination bucket {target} is not versioned")
        prefix = (rule.get("Filter") or {}).get("Prefix", rule.get("Prefix", ""))
        source_arn, target_arn = f"arn:aws:s3:::{bucket}", rule["Destination"]["Bucket"]
        if documents is not None:
            for action, resource in (("s3:GetReplicationConfiguration", source_arn), ("s3:ListBucket", source_arn),
                                     ("s3:GetObjectVersionForReplication", f"{source_arn}/{prefix}x"),
                                     ("s3:ReplicateObject", f"{target_arn}/{prefix}x")):  # fmt: skip
                rp.expect(r, "s3-replication", policies.allows(documents, action, resource),
                          f"the role {role} may not {action} on {resource}")  # fmt: skip
            if rule.get("DeleteMarkerReplication", {}).get("Status") == "Enabled":
                rp.expect(r, "s3-replication", policies.allows(documents, "s3:ReplicateDelete", f"{target_arn}/{prefix}x"),
                          f"the role {role} may not s3:ReplicateDelete on {target_arn}: delete markers are not copied")  # fmt: skip
    rp.call(r, "s3", "put_bucket_replication", Bucket=bucket, Token=i.get("token"),
            ReplicationConfiguration={"Role": role, "Rules": rules})  # fmt: skip


def _trusts(rp: Replay, r: Resource, rule: str, role_arn: str, service: str) -> list[str] | None:
    """The role exists and ``service`` may assume it: its policies' documents, else None (a problem recorded)."""
    name = role_arn.rsplit("/", 1)[-1]
    found = rp.look("iam", "get_role", rp.run.region, RoleName=name)
    if found is None:
        rp.problem(r, rule, f"role {role_arn} does not exist")
        return None
    trust = found["Role"]["AssumeRolePolicyDocument"]
    trust = trust if isinstance(trust, str) else json.dumps(trust)
    rp.expect(r, rule, policies.grants(trust, ("Service", service), "sts:AssumeRole", None, {}),
              f"the role {role_arn} does not let {service} assume it")  # fmt: skip
    return identity.role_documents(rp, name)


# ---------------------------------------------------------------------------------------- across resources


def after_all(rp: Replay, others: list[Replay]) -> None:
    """What another stack replayed into the same moto holds for this one: an EFS replication's destination file
    system exists in its region and lets the replication overwrite it."""
    for r, region, mock_id in rp.facts.get("efs_destinations", []):
        owners = [o for o in others if o.run.region == region and mock_id in o.real_ids()]
        if not owners:
            continue
        owner = owners[0]
        real = owner.real_ids()[mock_id]
        found = rp.look("efs", "describe_file_systems", region, FileSystemId=real)
        rp.expect(r, "efs-replication", found is not None, f"destination file system {mock_id} does not exist")
        # AWS: "the destination file system's replication overwrite protection must be disabled".
        protection = owner.facts.get("efs_protection", {}).get(real) or "ENABLED"
        rp.expect(r, "efs-replication", found is None or protection in ("DISABLED", "REPLICATING"),
                  f"destination file system {mock_id} has replication overwrite protection {protection}: "
                  "EFS replicates only into a file system whose protection is DISABLED")  # fmt: skip
