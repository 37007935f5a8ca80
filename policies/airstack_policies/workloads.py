"""Containers, networks and identities: secrets by reference, private tasks, HTTPS, least privilege, logs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from airstack_policies._props import (
    BUCKET,
    DB_INSTANCE,
    FILE_SYSTEM,
    TASK_DEFINITION,
    UNKNOWN,
    as_int,
    as_json,
    as_list,
    containers,
    depends_on,
    environment,
    is_airflow,
    peek,
    plain,
    refers_to,
    statements,
    tags_of,
)

SERVICE = "aws:ecs/service:Service"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LEGACY_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
LOAD_BALANCER = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LISTENER = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SECRET = "aws:secretsmanager/secret:Secret"
ECR_REPOSITORY = "aws:ecr/repository:Repository"
OPEN_CIDRS = ("0.0.0.0/0", "::/0")
ALB_OPEN_PORTS = (80, 443)
MODERN_TLS_POLICIES = re.compile(r"^ELBSecurityPolicy-(TLS13-1-[23]|TLS-1-2|FS-1-2)")

# ------------------------------------------------------------------------------------------------ secrets

_SECRET_NAME = re.compile(
    r"(PASSWORD|PASSWD|SECRET|TOKEN|FERNET|PRIVATE_KEY|API_KEY|ACCESS_KEY|CREDENTIAL|SQL_ALCHEMY_CONN|RESULT_BACKEND)"
)
_CREDENTIAL_URI = re.compile(r"^[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.IGNORECASE)
_CREDENTIAL_JSON = re.compile(r'"(password|aws_secret_access_key|secret|token)"\s*:\s*"[^"]+"', re.IGNORECASE)


def _last_segment(name: str) -> str:
    # AIRFLOW__SECRETS__BACKEND names a config section, not a secret; judge the option name.
    return name.rsplit("__", 1)[-1].upper()


def _check_plaintext_secrets(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != TASK_DEFINITION:
        return
    for container in containers(args.props):
        for name, value in environment(container).items():
            if _SECRET_NAME.search(_last_segment(name)) and value:
                report(
                    f"container {container.get('name')} of {args.name} passes {name} as plain environment; "
                    "store it in Secrets Manager and pass it under `secrets` (valueFrom)",
                    None,
                )
            elif _CREDENTIAL_URI.search(value) or _CREDENTIAL_JSON.search(value):
                report(
                    f"container {container.get('name')} of {args.name} has credentials inside {name}; pass the "
                    "value under `secrets` (valueFrom) instead",
                    None,
                )


ecs_no_plaintext_secrets = ResourceValidationPolicy(
    name="ecs-no-plaintext-secrets",
    description=(
        "Task definitions are readable by anyone with ecs:Describe* and end up in logs and diffs. Passwords, "
        "keys, tokens and connection strings reach containers as ECS secrets (valueFrom), never as environment."
    ),
    validate=_check_plaintext_secrets,
    enforcement_level=EnforcementLevel.MANDATORY,
)

# ----------------------------------------------------------------------------------------------- network


def _check_private_networking(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == SERVICE:
        network = args.props.get("networkConfiguration") or {}
        if network.get("assignPublicIp") is True:
            report(
                f"service {args.name} has assignPublicIp True; it must be False (tasks run in private subnets)", None
            )
    if args.resource_type == TASK_DEFINITION and args.props.get("networkMode") not in (None, "awsvpc"):
        report(f"task definition {args.name} uses networkMode {args.props.get('networkMode')}; use awsvpc", None)


ecs_private_networking = ResourceValidationPolicy(
    name="ecs-private-networking",
    description=(
        "Airflow's tasks are reachable only through the load balancer. Services never assign public IPs and "
        "task definitions use awsvpc networking so that security groups apply per task."
    ),
    validate=_check_private_networking,
    enforcement_level=EnforcementLevel.MANDATORY,
)


def _ports(props: Mapping[str, Any]) -> tuple[int | None, int | None]:
    return as_int(props.get("fromPort")), as_int(props.get("toPort"))


def _open_to_world_only_on_web(from_port: int | None, to_port: int | None) -> bool:
    return from_port is not None and from_port == to_port and from_port in ALB_OPEN_PORTS


def _uses_group(balancer: Any, group: Any) -> bool:
    if depends_on(balancer, "securityGroups", group):
        return True
    group_id = peek(group.props, "id")
    return group_id not in (None, UNKNOWN) and group_id in as_list(peek(balancer.props, "securityGroups"))


def _check_open_ingress(args: StackValidationArgs, report: ReportViolation) -> None:
    groups = [r for r in args.resources if r.resource_type == SECURITY_GROUP]
    balancers = [r for r in args.resources if r.resource_type in LOAD_BALANCER]
    alb_groups = {g.urn for g in groups for lb in balancers if _uses_group(lb, g)}

    def judge(
        owner_urn: str | None, label: str, urn: str, cidrs: list[str], ports: tuple[int | None, int | None]
    ) -> None:
        open_cidrs = [c for c in cidrs if c in OPEN_CIDRS]
        if not open_cidrs:
            return
        if owner_urn in alb_groups and _open_to_world_only_on_web(*ports):
            return
        where = "ports " + "-".join(str(p) for p in ports if p is not None) if any(ports) else "all ports"
        report(
            f"{label} opens {where} to {', '.join(open_cidrs)}; only a load balancer's 443 (and 80 for the "
            "redirect) may be open to the internet. Reference a security group or a narrower CIDR",
            urn,
        )

    for group in groups:
        for rule in as_list(group.props.get("ingress")):
            if isinstance(rule, Mapping):
                cidrs = [str(c) for c in as_list(rule.get("cidrBlocks")) + as_list(rule.get("ipv6CidrBlocks"))]
                judge(group.urn, f"security group {group.name}", group.urn, cidrs, _ports(rule))
    for rule in args.resources:
        if rule.resource_type == INGRESS_RULE:
            cidrs = [str(rule.props.get(k)) for k in ("cidrIpv4", "cidrIpv6") if rule.props.get(k)]
        elif rule.resource_type == LEGACY_RULE and rule.props.get("type") == "ingress":
            cidrs = [str(c) for c in as_list(rule.props.get("cidrBlocks")) + as_list(rule.props.get("ipv6CidrBlocks"))]
        else:
            continue
        owner = next((g.urn for g in groups if refers_to(rule, "securityGroupId", g)), None)
        judge(owner, f"rule {rule.name}", rule.urn, cidrs, _ports(rule.props))


sg_no_open_ingress = StackValidationPolicy(
    name="sg-no-open-ingress",
    description=(
        "Nothing but the load balancer faces the internet, and it only on 443 (and 80 to redirect). No security "
        "group or rule opens any other port to 0.0.0.0/0 or ::/0."
    ),
    validate=_check_open_ingress,
    enforcement_level=EnforcementLevel.MANDATORY,
)


def _check_https(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in LISTENER:
        return
    protocol = str(args.props.get("protocol", "HTTP")).upper()
    actions = [plain(a) for a in as_list(args.props.get("defaultActions")) if isinstance(a, Mapping)]
    if protocol == "HTTP":
        redirects = [a for a in actions if a.get("type") == "redirect"]
        if not redirects or any(
            str((a.get("redirect") or {}).get("protocol", "")).upper() != "HTTPS" for a in redirects
        ):
            kinds = ", ".join(str(a.get("type")) for a in actions) or "none"
            report(
                f"listener {args.name} serves plain HTTP with actions {kinds}; its only action must redirect to HTTPS",
                None,
            )
    elif protocol == "HTTPS":
        policy = str(args.props.get("sslPolicy") or "")
        if not MODERN_TLS_POLICIES.match(policy):
            report(
                f"listener {args.name} uses TLS policy {policy or '(default)'}; use ELBSecurityPolicy-TLS13-1-2-2021-06"
                " or another TLS 1.2+ policy",
                None,
            )
        if not peek(args.props, "certificateArn"):
            report(f"listener {args.name} has no certificateArn", None)


alb_https_only = ResourceValidationPolicy(
    name="alb-https-only",
    description=(
        "The Airflow UI carries session cookies and credentials. HTTP listeners only redirect to HTTPS, and "
        "HTTPS listeners use a TLS 1.2+ policy with a certificate."
    ),
    validate=_check_https,
    enforcement_level=EnforcementLevel.MANDATORY,
)

# ------------------------------------------------------------------------------------------ identity, logs


def _wildcard(statement: dict[str, Any]) -> str | None:
    if statement.get("Effect") != "Allow":
        return None
    actions = [str(a) for a in as_list(statement.get("Action"))]
    resources = [str(r) for r in as_list(statement.get("Resource"))]
    for action in actions:
        if action == "*" or action.lower() == "iam:*":
            return action
        if action.endswith(":*") and "*" in resources:
            return f"{action} on *"
    return None


_POLICY_TYPES = {
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/policy:Policy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
}
_ADMIN_POLICIES = ("arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/IAMFullAccess")


def _check_wildcards(args: ResourceValidationArgs, report: ReportViolation) -> None:
    documents = []
    if args.resource_type in _POLICY_TYPES:
        documents.append(args.props.get(_POLICY_TYPES[args.resource_type]))
    if args.resource_type == "aws:iam/role:Role":
        documents += [p.get("policy") for p in as_list(args.props.get("inlinePolicies")) if isinstance(p, Mapping)]
    for document in documents:
        for s in statements(document):
            found = _wildcard(s)
            if found:
                report(f"{args.name} allows {found}; grant the actions and resources the role needs", None)
    attachment = args.resource_type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
    if attachment and str(args.props.get("policyArn")) in _ADMIN_POLICIES:
        report(f"{args.name} attaches {args.props.get('policyArn')}; grant the actions the role needs", None)


iam_no_wildcard_admin = ResourceValidationPolicy(
    name="iam-no-wildcard-admin",
    description=(
        "A compromised DAG runs with its worker's role. No policy allows `*`, `iam:*` or `service:*` on every "
        "resource, and no role gets AdministratorAccess."
    ),
    validate=_check_wildcards,
    enforcement_level=EnforcementLevel.MANDATORY,
)


def _check_retention(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != LOG_GROUP:
        return
    days = as_int(args.props.get("retentionInDays"))
    if not days:
        shown = args.props.get("retentionInDays")
        report(
            f"log group {args.name} has retentionInDays {shown!r}, so it keeps logs forever; set a number of days "
            "(e.g. 30)",
            None,
        )


log_retention_set = ResourceValidationPolicy(
    name="log-retention-set",
    description="CloudWatch keeps logs forever by default and bills for it. Every log group sets retentionInDays.",
    validate=_check_retention,
    enforcement_level=EnforcementLevel.MANDATORY,
)


def _check_remote_logging(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != TASK_DEFINITION:
        return
    for container in containers(args.props):
        if not is_airflow(container):
            continue
        env = environment(container)
        label = f"container {container.get('name')} of {args.name}"
        remote = env.get("AIRFLOW__LOGGING__REMOTE_LOGGING")
        if (remote or "").lower() != "true":
            report(
                f"{label} has AIRFLOW__LOGGING__REMOTE_LOGGING={remote!r}, so task logs stay on the container's "
                "disk, which Fargate discards; it must be True",
                None,
            )
        elif not env.get("AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER", "").startswith("s3://"):
            folder = env.get("AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER")
            report(f"{label} has AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER={folder!r}; it must be an s3:// URL", None)
        if (container.get("logConfiguration") or {}).get("logDriver") != "awslogs":
            driver = (container.get("logConfiguration") or {}).get("logDriver")
            report(f"{label} has log driver {driver!r}; it must be awslogs, or its output is lost with the task", None)


remote_logging_enabled = ResourceValidationPolicy(
    name="remote-logging-enabled",
    description=(
        "Fargate tasks are volatile: a log on the container's disk is gone when the task stops. Every Airflow "
        "container ships task logs to S3 (remote logging) and its output to CloudWatch (awslogs)."
    ),
    validate=_check_remote_logging,
    enforcement_level=EnforcementLevel.MANDATORY,
)

TAGGABLE_PREFIXES = (
    "aws:sqs/queue:", "aws:s3/bucket:Bucket", "aws:rds/instance:", "aws:efs/fileSystem:", "aws:efs/accessPoint:",
    "aws:ecs/cluster:", "aws:ecs/service:", "aws:ecs/taskDefinition:", "aws:lb/loadBalancer:", "aws:lb/targetGroup:",
    "aws:iam/role:", "aws:secretsmanager/secret:", "aws:cloudwatch/logGroup:", "aws:sns/topic:",
    "aws:ec2/securityGroup:", "aws:ec2/vpcEndpoint:", "aws:ecr/repository:", "aws:lambda/function:",
)  # fmt: skip
"""Custom resources only: a component (awsx's VPC) passes its tags to the children that carry them."""
DEFAULT_REQUIRED_TAGS = ["Environment", "Owner", "CostCenter", "ManagedBy"]


def _check_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not args.resource_type.startswith(TAGGABLE_PREFIXES):
        return
    required = list(args.get_config().get("requiredTags", DEFAULT_REQUIRED_TAGS))
    tags = {**_default_tags(args), **tags_of(args.props)}
    missing = [t for t in required if not tags.get(t)]
    if missing:
        report(f"{args.name} lacks the tags {', '.join(missing)}; costs and owners cannot be traced without them", None)


def _default_tags(args: ResourceValidationArgs) -> dict[str, Any]:
    """The provider's ``defaultTags`` (``aws:defaultTags`` in the stack config) apply to every resource."""
    if args.provider is None:
        return {}
    defaults = as_json(peek(args.provider.props, "defaultTags"))
    defaults = defaults[0] if isinstance(defaults, list) and defaults else defaults
    tags = defaults.get("tags") if isinstance(defaults, dict) else None
    return tags if isinstance(tags, dict) else {}


required_tags = ResourceValidationPolicy(
    name="required-tags",
    description=(
        "Every cost and every alarm must lead to an owner. Taggable resources carry the pack's requiredTags "
        "(default Environment, Owner, CostCenter, ManagedBy)."
    ),
    validate=_check_tags,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=PolicyConfigSchema(
        properties={"requiredTags": {"type": "array", "items": {"type": "string"}, "default": DEFAULT_REQUIRED_TAGS}}
    ),
)

STATEFUL_TYPES = (DB_INSTANCE, FILE_SYSTEM, BUCKET, SECRET, ECR_REPOSITORY)


def _check_protected(args: StackValidationArgs, report: ReportViolation) -> None:
    for resource in args.resources:
        if resource.resource_type in STATEFUL_TYPES and not resource.opts.protect:
            report(
                f"{resource.name} ({resource.resource_type.split(':')[-1]}) holds state but is not protected; "
                "create it with ResourceOptions(protect=True) so that no update can delete or replace it",
                resource.urn,
            )


stateful_resources_protected = StackValidationPolicy(
    name="stateful-resources-protected",
    description=(
        "In prod and dr a rename or a refactor must never delete data. Databases, file systems, buckets, "
        "secrets and image repositories are created with protect."
    ),
    validate=_check_protected,
    enforcement_level=EnforcementLevel.ADVISORY,
)

POLICIES = [
    ecs_no_plaintext_secrets,
    ecs_private_networking,
    sg_no_open_ingress,
    alb_https_only,
    iam_no_wildcard_admin,
    log_retention_set,
    remote_logging_enabled,
    required_tags,
    stateful_resources_protected,
]
