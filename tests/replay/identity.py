"""The replay's calls for IAM (roles, inline and managed policies), KMS keys and Secrets Manager."""

from __future__ import annotations

from airstack.offline import Resource
from tests.replay import Inputs, Replay, handles, policies
from tests.replay.shapes import kv, physical_name, prune

# ------------------------------------------------------------------------------------------------- IAM


@handles("aws:iam/role:Role")
def role(rp: Replay, r: Resource, i: Inputs) -> None:
    name = physical_name(r, i)
    trust = i["assumeRolePolicy"]
    rp.check(r, "trust-policy", policies.policy_problems(trust, "trust"))
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
    rp.check(r, "identity-policy", policies.policy_problems(document, "identity"))
    sizes = rp.facts.setdefault("inline_policy_chars", {})
    sizes[role_name] = sizes.get(role_name, 0) + len("".join(document.split()))
    limit = policies.POLICY_LIMITS["identity"]
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
    for arn in policies.principal_arns(document):
        kind, _, name = arn.split(":", 5)[-1].partition("/")
        region = rp.region_of(r)
        if kind == "role":
            found = rp.look("iam", "get_role", region, RoleName=name.rsplit("/", 1)[-1])
            rp.expect(r, "policy-principal", found is not None, f"principal {arn} does not exist")


# ------------------------------------------------------------------------------------------------- KMS


@handles("aws:kms/key:Key")
def kms_key(rp: Replay, r: Resource, i: Inputs) -> None:
    policy = i.get("policy")
    if policy:
        rp.check(r, "key-policy", policies.policy_problems(policy, "kms"))
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


# ------------------------------------------------------------------------------------------ Secrets Manager


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
        rp.check(r, "secret-policy", policies.policy_problems(i["policy"], "s3"))
        rp.call(r, "secretsmanager", "put_resource_policy", SecretId=answer["ARN"], ResourcePolicy=i["policy"])


@handles("aws:secretsmanager/secretVersion:SecretVersion")
def secret_version(rp: Replay, r: Resource, i: Inputs) -> None:
    # The value is a secret: it goes to moto, never into a message.
    rp.call(r, "secretsmanager", "put_secret_value", SecretId=i["secretId"], SecretString=i.get("secretString"),
            SecretBinary=i.get("secretBinary"), VersionStages=i.get("versionStages"))  # fmt: skip
