"""The security baseline a production AWS account is audited against (AWS Foundational Security Best Practices),
and the isolation of Celery workers: what a regression would silently undo.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs, StackValidationArgs

from airstack_policies._props import (
    DB_INSTANCE,
    TASK_DEFINITION,
    as_int,
    containers,
    environment,
    items,
    peek,
    plain,
    refers_to,
    secret_names,
)
from airstack_policies._rules import resource_policy, stack_policy

VPC = "aws:ec2/vpc:Vpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
WEB_ACL_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
SECRET = "aws:secretsmanager/secret:Secret"
WORKER_FORBIDDEN = (
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET",
)
"""What a Celery worker of Airflow 3 never needs: the metadata database, the key to its secrets, the signing key."""


def _check_flow_logs(args: StackValidationArgs, report: ReportViolation) -> None:
    logs = [r for r in args.resources if r.resource_type == FLOW_LOG]
    for vpc in (r for r in args.resources if r.resource_type == VPC):
        if not any(refers_to(log, "vpcId", vpc) for log in logs):
            report(
                f"VPC {vpc.name} has no flow log; without one there is no record of who connected to what "
                "during an incident",
                vpc.urn,
            )


vpc_flow_logs = stack_policy(
    name="vpc-flow-logs",
    description=(
        "Investigating an incident needs a record of the network's connections. Every VPC has a flow log (FSBP EC2.6)."
    ),
    fix=(
        "Add an aws.ec2.FlowLog with vpc_id=<the VPC>, traffic_type ALL, to S3 (a bucket policy that lets "
        "delivery.logs.amazonaws.com write, conditioned on your account) or to CloudWatch Logs."
    ),
    validate=_check_flow_logs,
)


def _check_default_group(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != DEFAULT_SECURITY_GROUP:
        return
    rules = [kind for kind in ("ingress", "egress") if items(peek(args.props, kind))]
    if rules:
        report(
            f"default security group {args.name} keeps {' and '.join(rules)} rules; anything launched without a "
            "group gets them",
            None,
        )


default_security_group_closed = resource_policy(
    name="default-security-group-closed",
    description=(
        "A resource launched without a security group lands in the VPC's default group. The default group "
        "keeps no rules, so that nothing is reachable by accident (FSBP EC2.2)."
    ),
    fix="Manage the VPC's aws.ec2.DefaultSecurityGroup with no ingress and no egress rules.",
    validate=_check_default_group,
)


def _check_access_logs(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in LOAD_BALANCERS or peek(args.props, "loadBalancerType", "application") != "application":
        return
    logs = plain(peek(args.props, "accessLogs"))
    logs = logs[0] if isinstance(logs, list) and logs else logs
    if not (isinstance(logs, dict) and logs.get("enabled") is True and logs.get("bucket")):
        report(f"load balancer {args.name} keeps no access logs; requests to it cannot be traced", None)


alb_access_logs = resource_policy(
    name="alb-access-logs",
    description=(
        "Who called the UI and the API, from where, and what they got, is only known from the load "
        "balancer's access logs. Application load balancers log access to S3 (FSBP ELB.5)."
    ),
    fix=(
        "Set access_logs={'bucket': <bucket>, 'prefix': ..., 'enabled': True} and let Elastic Load Balancing "
        "write to that prefix in the bucket's policy."
    ),
    validate=_check_access_logs,
)


def _internet_facing(balancer: Any) -> bool:
    return (
        peek(balancer.props, "internal") is not True
        and peek(balancer.props, "loadBalancerType", "application") == "application"
    )


def _check_web_acl(args: StackValidationArgs, report: ReportViolation) -> None:
    associations = [r for r in args.resources if r.resource_type == WEB_ACL_ASSOCIATION]
    for balancer in (r for r in args.resources if r.resource_type in LOAD_BALANCERS and _internet_facing(r)):
        if not any(refers_to(a, "resourceArn", balancer) for a in associations):
            report(
                f"internet-facing load balancer {balancer.name} has no web ACL; common exploits and known bad "
                "inputs reach the application unfiltered",
                balancer.urn,
            )


web_acl_on_internet_facing = stack_policy(
    name="web-acl-on-internet-facing",
    description=(
        "What faces the internet meets scanners and exploit kits first. Internet-facing application load "
        "balancers are associated with a WAF web ACL (FSBP ELB.16)."
    ),
    fix=(
        "Create an aws.wafv2.WebAcl (scope REGIONAL) with AWS managed rule groups (e.g. "
        "AWSManagedRulesCommonRuleSet) and an aws.wafv2.WebAclAssociation with resource_arn=<the load balancer>."
    ),
    validate=_check_web_acl,
    level=EnforcementLevel.ADVISORY,
)


def _check_rds_observability(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != DB_INSTANCE:
        return
    missing = []
    if not (as_int(peek(args.props, "monitoringInterval")) or 0):
        missing.append("enhanced monitoring (monitoringInterval)")
    exports = [str(e) for e in items(peek(args.props, "enabledCloudwatchLogsExports"))]
    engine = str(peek(args.props, "engine", ""))
    wanted = {"postgres": "postgresql", "mysql": "error", "mariadb": "error"}.get(engine)
    if wanted and wanted not in exports:
        missing.append(f"its {wanted} log in CloudWatch (enabledCloudwatchLogsExports)")
    if missing:
        report(f"database {args.name} lacks {' and '.join(missing)}; an incident on it could not be diagnosed", None)


rds_observability = resource_policy(
    name="rds-monitoring-and-logs",
    description=(
        "A slow or failing database is diagnosed from its OS metrics and its own log. RDS instances have "
        "enhanced monitoring and export their engine log to CloudWatch (FSBP RDS.6, RDS.9)."
    ),
    fix=(
        "Set monitoring_interval=60 with a monitoring_role_arn (AmazonRDSEnhancedMonitoringRole) and "
        "enabled_cloudwatch_logs_exports=['postgresql'] (create the log group first, with a retention)."
    ),
    validate=_check_rds_observability,
)


def _check_master_password(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if (
        args.resource_type != DB_INSTANCE
        or peek(args.props, "replicateSourceDb")
        or peek(args.props, "snapshotIdentifier")
    ):
        return
    if peek(args.props, "manageMasterUserPassword") is not True:
        report(
            f"database {args.name} has a master password set by the program; nothing rotates it, and everyone "
            "who can read the program's state has it",
            None,
        )


rds_managed_master_password = resource_policy(
    name="rds-managed-master-password",
    description=(
        "A database master password set by a program is never rotated and sits in the program's state. RDS "
        "manages and rotates it in Secrets Manager instead (manageMasterUserPassword; FSBP SecretsManager.1)."
    ),
    fix=(
        "Set manage_master_user_password=True and drop password; give applications their own database roles "
        "(created with the master login once) instead of the master login."
    ),
    validate=_check_master_password,
)


def _check_recovery_window(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != SECRET:
        return
    minimum = int(args.get_config().get("minimumRecoveryWindowDays", 7))
    days = as_int(peek(args.props, "recoveryWindowInDays"))
    if days is not None and days < minimum:
        report(
            f"secret {args.name} has recoveryWindowInDays {days}; a deleted secret could not be restored "
            f"(at least {minimum} days here)",
            None,
        )


secrets_recovery_window = resource_policy(
    name="secrets-recovery-window",
    description=(
        "A secret deleted by mistake (a rename, a destroyed stack) takes every service that reads it down. "
        "Secrets keep a recovery window of at least the environment's minimum (Secrets Manager's default is 30 "
        "days; 0 deletes at once)."
    ),
    fix="Set recovery_window_in_days to 7-30 (omit it for Secrets Manager's 30).",
    validate=_check_recovery_window,
    properties={"minimumRecoveryWindowDays": {"type": "integer", "default": 7, "minimum": 0, "maximum": 30}},
)


def _is_celery_worker(container: dict[str, Any]) -> bool:
    command = [str(c) for c in container.get("command") or []]
    words = command[1:] if command[:1] == ["airflow"] else command
    return words[:2] == ["celery", "worker"]


def _check_worker_secrets(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != TASK_DEFINITION:
        return
    for container in containers(args.props):
        if not _is_celery_worker(container):
            continue
        given = set(environment(container)) | set(secret_names(container))
        for name in sorted(given & set(WORKER_FORBIDDEN)):
            report(
                f"Celery worker {container.get('name')} of {args.name} gets {name}; every DAG it runs could then "
                "read and change every team's runs, connections and variables",
                None,
            )


airflow_workers_least_secrets = resource_policy(
    name="airflow-workers-least-secrets",
    description=(
        "Airflow 3 workers run tasks through the Execution API with the token each task carries. A worker "
        "that also holds the metadata database's URL, the Fernet key or the JWT signing key hands them to every "
        "DAG it runs. Celery workers get none of them."
    ),
    fix=(
        "Give workers only the Celery result backend (its own database and role) and the log server's secret "
        "key; keep AIRFLOW__DATABASE__SQL_ALCHEMY_CONN, AIRFLOW__CORE__FERNET_KEY and "
        "AIRFLOW__API_AUTH__JWT_SECRET to the core services."
    ),
    validate=_check_worker_secrets,
)

POLICIES = [
    vpc_flow_logs,
    default_security_group_closed,
    alb_access_logs,
    web_acl_on_internet_facing,
    rds_observability,
    rds_managed_master_password,
    secrets_recovery_window,
    airflow_workers_least_secrets,
]
