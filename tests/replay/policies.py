"""The IAM policy language as AWS checks it (identity, trust and resource policies), ARNs and principals; and
whether a set of policies allows an action on a resource."""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from tests.replay.catalogue import action_problems, known_regions


def partition_of(region: str) -> str:
    """The partition of a region, independent of ``components.naming`` on purpose: a check, not a copy."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


_ARN_RESOURCE = {
    # service -> (region and account present?, resource pattern)
    "s3": (False, r"[a-z0-9*?][a-z0-9.\-*?]{0,62}(/.*)?"),
    "iam": (False, r"(root|(role|user|group|policy|instance-profile|oidc-provider|saml-provider|mfa)/.+)"),
    "sts": (False, r"(assumed-role|federated-user)/.+"),
    "sqs": (True, r"[A-Za-z0-9_\-*?]{1,80}(\.fifo)?"),
    "sns": (True, r"[A-Za-z0-9_\-*?]{1,256}(\.fifo)?(:[0-9a-f-]{36})?"),
    "secretsmanager": (True, r"secret:.+"),
    "kms": (True, r"(key|alias)/.+"),
    "logs": (True, r"log-group:[^:]+(:\*|:log-stream:.*)?|\*"),
    "elasticfilesystem": (True, r"(file-system|access-point)/.+"),
    "ecs": (True, r"(cluster|service|task|task-definition|container-instance|capacity-provider|task-set)/.+"),
    "ecr": (True, r"repository/.+"),
    "rds": (True, r"(db|cluster|pg|cluster-pg|subgrp|snapshot|cluster-snapshot|og|es|secgrp|ri):.+"),
    "ssm": (True, r"parameter/.+"),
    "elasticloadbalancing": (True, r"(loadbalancer|targetgroup|listener|listener-rule)/.+"),
}


def arn_problems(arn: Any, what: str = "resource") -> list[str]:
    """An ARN's partition, region, account and the service's resource format (wildcards allowed)."""
    if arn == "*":
        return []
    if not isinstance(arn, str):
        return [f"{what} {arn!r} is not a string"]
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return [f"{what} {arn!r} is not an ARN (arn:partition:service:region:account:resource)"]
    _, partition, service, region, account, resource = parts
    problems: list[str] = []
    if partition not in ("aws", "aws-cn", "aws-us-gov", "*"):
        problems.append(f"{what} {arn!r}: unknown partition {partition!r}")
    if not re.fullmatch(r"[a-z0-9-]+|\*", service):
        problems.append(f"{what} {arn!r}: bad service {service!r}")
    if region and "*" not in region and region not in known_regions():
        problems.append(f"{what} {arn!r}: {region!r} is not an AWS region")
    if region and "*" not in region and partition not in ("*", partition_of(region)):
        problems.append(f"{what} {arn!r}: region {region} is in partition {partition_of(region)}, not {partition}")
    if account and not re.fullmatch(r"\d{12}|aws|\*", account):
        problems.append(f"{what} {arn!r}: account {account!r} is not 12 digits")
    spec = _ARN_RESOURCE.get(service)
    if spec is not None:
        regional, pattern = spec
        if regional and not (region and account):
            problems.append(f"{what} {arn!r}: {service} ARNs name a region and an account")
        if not regional and region:
            problems.append(f"{what} {arn!r}: {service} ARNs have no region")
        if not re.fullmatch(pattern, resource):
            problems.append(f"{what} {arn!r}: not a {service} resource ({pattern})")
    return problems


_CONDITION_OPERATORS = frozenset({
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike",
    "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
    "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals", "DateNotEquals", "DateLessThan",
    "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals", "Bool", "BinaryEquals", "IpAddress",
    "NotIpAddress", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "Null",
})  # fmt: skip
_STATEMENT_KEYS = frozenset({"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource",
                             "NotResource", "Condition"})  # fmt: skip
POLICY_LIMITS = {"identity": 10240, "trust": 2048, "s3": 20480, "kms": 32768, "efs": 20000, "sqs": 8192}
"""Characters (IAM: without whitespace) a document of each kind may have."""


def strings(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_problems(document: str, kind: str) -> list[str]:
    """The IAM policy grammar for ``kind``: identity (no principal), trust (a principal, sts actions, no resource),
    or a resource policy (s3, kms, efs, sqs: a principal and a resource)."""
    try:
        doc = json.loads(document)
    except (TypeError, ValueError) as error:
        return [f"not JSON: {error}"]
    if not isinstance(doc, dict):
        return ["a policy is a JSON object"]
    problems: list[str] = []
    size = len(re.sub(r"\s", "", document)) if kind in ("identity", "trust") else len(document.encode())
    if size > POLICY_LIMITS[kind]:
        problems.append(f"{size} characters, a {kind} policy may have {POLICY_LIMITS[kind]}")
    problems += [f"unknown top-level element {k!r}" for k in doc if k not in ("Version", "Id", "Statement")]
    if doc.get("Version") != "2012-10-17":
        problems.append(f"Version {doc.get('Version')!r}: use 2012-10-17 (policy variables need it)")
    statements = doc.get("Statement")
    statements = [statements] if isinstance(statements, dict) else statements
    if not isinstance(statements, list) or not statements:
        return [*problems, "Statement must be a non-empty list of statements"]
    sids: set[str] = set()
    for n, st in enumerate(statements):
        where = f"Statement[{n}]" + (f" ({st.get('Sid')})" if isinstance(st, dict) and st.get("Sid") else "")
        if not isinstance(st, dict):
            problems.append(f"{where} is not an object")
            continue
        problems += [f"{where}: unknown element {k!r}" for k in st if k not in _STATEMENT_KEYS]
        if st.get("Effect") not in ("Allow", "Deny"):
            problems.append(f"{where}: Effect {st.get('Effect')!r} is not Allow or Deny")
        sid = st.get("Sid")
        if sid is not None:
            if sid in sids:
                problems.append(f"{where}: Sid {sid!r} is not unique")
            sids.add(sid)
            if kind == "identity" and not re.fullmatch(r"[A-Za-z0-9]*", str(sid)):
                problems.append(f"{where}: an IAM Sid has only letters and digits")
        problems += [f"{where}: {p}" for p in _element_problems(st, kind)]
    return problems


def _element_problems(st: dict[str, Any], kind: str) -> Iterator[str]:  # noqa: PLR0912
    actions = [k for k in ("Action", "NotAction") if k in st]
    if len(actions) != 1:
        yield "needs exactly one of Action or NotAction"
    for key in actions:
        values = strings(st[key])
        if not values:
            yield f"{key} is empty"
        for action in values:
            yield from action_problems(action)
            if kind == "trust" and action not in (
                "sts:AssumeRole", "sts:AssumeRoleWithSAML", "sts:AssumeRoleWithWebIdentity", "sts:TagSession",
                "sts:SetSourceIdentity", "sts:SetContext",
            ):  # fmt: skip
                yield f"a trust policy allows only sts:AssumeRole* actions, not {action!r}"
    resources = [k for k in ("Resource", "NotResource") if k in st]
    if kind == "trust" and resources:
        yield "a trust policy has no Resource"
    elif kind != "trust" and len(resources) != 1:
        yield "needs exactly one of Resource or NotResource"
    for key in resources:
        for resource in strings(st[key]):
            yield from arn_problems(resource)
            if kind == "kms" and resource != "*":
                yield f"a key policy's Resource is '*' (the key itself), not {resource!r}"
    principals = [k for k in ("Principal", "NotPrincipal") if k in st]
    if kind == "identity" and principals:
        yield "an identity policy has no Principal (it applies to the role it is attached to)"
    elif kind != "identity" and len(principals) != 1:
        yield "needs exactly one of Principal or NotPrincipal"
    for key in principals:
        yield from (f"{key}: {p}" for p in principal_problems(st[key]))
    condition = st.get("Condition", {})
    if not isinstance(condition, dict):
        yield "Condition must be an object"
        return
    for operator, block in condition.items():
        base = re.sub(r"^(ForAnyValue:|ForAllValues:)", "", operator).removesuffix("IfExists")
        if base not in _CONDITION_OPERATORS:
            yield f"unknown condition operator {operator!r}"
        if not isinstance(block, dict) or not block:
            yield f"condition {operator!r} must map keys to values"
            continue
        for key, values in block.items():
            if ":" not in key:
                yield f"condition key {key!r} is not service:key"
            for value in strings(values):
                if not isinstance(value, str | bool | int | float):
                    yield f"condition {operator} {key}: value {value!r} is not a string, number or boolean"
                elif base == "Bool" and str(value).lower() not in ("true", "false"):
                    yield f"condition Bool {key}: {value!r} is not true or false"
                elif base.startswith("Arn") and value != "*":
                    yield from arn_problems(value, f"condition {key}")


def principal_problems(principal: Any) -> list[str]:
    if principal == "*":
        return []
    if not isinstance(principal, dict) or not principal:
        return [f"{principal!r} is neither '*' nor an object"]
    problems: list[str] = []
    for kind, values in principal.items():
        for value in strings(values):
            if not isinstance(value, str):
                problems.append(f"{kind} {value!r} is not a string")
            elif kind == "AWS":
                if value != "*" and not re.fullmatch(r"\d{12}", value):
                    problems += arn_problems(value, "principal")
                    if not re.match(r"arn:[a-z-]+:(iam|sts)::", value):
                        problems.append(f"principal {value!r} is not an IAM or STS ARN")
            elif kind == "Service":
                if not re.fullmatch(r"[a-z0-9.-]+\.amazonaws\.com(\.cn)?", value):
                    problems.append(f"service principal {value!r} is not <service>.amazonaws.com")
            elif kind not in ("Federated", "CanonicalUser"):
                problems.append(f"unknown principal type {kind!r}")
    return problems


def principal_arns(document: str) -> list[str]:
    """The IAM ARNs a resource policy names as principals (AWS checks they exist when the policy is set)."""
    found: list[str] = []
    for st in strings(json.loads(document).get("Statement", [])):
        for key in ("Principal", "NotPrincipal"):
            block = st.get(key)
            if isinstance(block, dict):
                found += [v for v in strings(block.get("AWS", [])) if isinstance(v, str) and v.startswith("arn:")]
    return found


def policy_resources(document: str) -> list[str]:
    """Every Resource a policy names."""
    return [r for st in strings(json.loads(document).get("Statement", [])) for r in strings(st.get("Resource", []))]


def allows(documents: Iterable[str], action: str, resource: str) -> bool:
    """Whether some Allow statement grants ``action`` on ``resource`` and no Deny refuses it (no conditions)."""
    allowed = False
    for document in documents:
        for st in strings(json.loads(document).get("Statement", [])):
            if "Action" not in st or "Resource" not in st or "Condition" in st:
                continue
            acts = any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in strings(st["Action"]))
            res = any(fnmatch.fnmatchcase(resource, r) for r in strings(st["Resource"]))
            if acts and res:
                if st.get("Effect") == "Deny":
                    return False
                allowed = True
    return allowed


def grants(document: str | dict[str, Any], principal: tuple[str, str], action: str, resource: str | None,
           context: dict[str, str]) -> bool:  # fmt: skip
    """Whether a resource or trust policy lets ``principal`` (``("Service", "delivery.logs.amazonaws.com")``) do
    ``action`` on ``resource`` (None: a trust policy, which names none) in the request ``context``: some Allow
    statement applies and no Deny does. Conditions are evaluated against ``context``."""
    doc = json.loads(document) if isinstance(document, str) else document
    allowed = False
    for st in strings(doc.get("Statement", [])):
        if _applies(st, principal, action, resource, context):
            if st.get("Effect") == "Deny":
                return False
            allowed = allowed or st.get("Effect") == "Allow"
    return allowed


def _applies(st: dict[str, Any], principal: tuple[str, str], action: str, resource: str | None,
             context: dict[str, str]) -> bool:  # fmt: skip
    def named(block: Any) -> bool:
        if block == "*":
            return True
        values = strings(block.get(principal[0], [])) if isinstance(block, dict) else []
        return any(v in ("*", principal[1]) for v in values)

    def matches(patterns: Any, value: str, *, case: bool) -> bool:
        fold = (lambda s: s) if case else str.lower
        return any(fnmatch.fnmatchcase(fold(value), fold(str(p))) for p in strings(patterns))

    principal_ok = (
        named(st["Principal"]) if "Principal" in st else "NotPrincipal" in st and not named(st["NotPrincipal"])
    )
    action_ok = (
        matches(st["Action"], action, case=False)
        if "Action" in st
        else ("NotAction" in st and not matches(st["NotAction"], action, case=False))
    )
    if resource is None:
        resource_ok = True
    elif "Resource" in st:
        resource_ok = matches(st["Resource"], resource, case=True)
    else:
        resource_ok = "NotResource" in st and not matches(st["NotResource"], resource, case=True)
    return principal_ok and action_ok and resource_ok and conditions_hold(st.get("Condition") or {}, context)


def conditions_hold(condition: dict[str, Any], context: dict[str, str]) -> bool:
    """IAM's condition evaluation for the string, ARN, Bool and Null operators (keys case-insensitive; a missing
    key fails a positive operator and satisfies a negated one). An operator it does not know does not hold."""
    known = {k.lower(): v for k, v in context.items()}
    for operator, block in condition.items():
        base = re.sub(r"^(ForAnyValue:|ForAllValues:)", "", operator)
        if_exists = base.endswith("IfExists")
        base = base.removesuffix("IfExists")
        for key, values in block.items():
            value = known.get(key.lower())
            expected = [str(v) for v in strings(values)]
            if base == "Null":
                if (value is None) != (expected[0].lower() == "true"):
                    return False
                continue
            negated = "Not" in base
            if value is None:
                if not (if_exists or negated):
                    return False
                continue
            test = _CONDITION_TESTS.get(base.replace("Not", ""))
            if test is None or any(test(value, e) for e in expected) == negated:
                return False
    return True


_CONDITION_TESTS = {
    "StringEquals": lambda v, e: v == e,
    "StringEqualsIgnoreCase": lambda v, e: v.lower() == e.lower(),
    "StringLike": fnmatch.fnmatchcase,
    "ArnEquals": fnmatch.fnmatchcase,
    "ArnLike": fnmatch.fnmatchcase,
    "Bool": lambda v, e: v.lower() == e.lower(),
}
