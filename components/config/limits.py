"""AWS limits that no single key breaks: names derived from several keys, and how many teams fit.

Names are checked on the raw values before the model runs, so that a stack file gets these problems together
with every other one; the team count is measured on the validated config by rendering the real container
definitions and IAM policies the program would send (``components.task_definitions``), with stand-ins of the
longest form for what only exists after ``up`` (12-digit account, ARNs with their random suffixes).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from components import naming
from components.config._base import NAME_PATTERN, STACK_NAME_PATTERN
from components.config.aws import REGION_PARTITION

if TYPE_CHECKING:
    from components.airflow_settings import Endpoints, Role
    from components.config.stack import StackConfig
    from components.config.workloads import Team
    from components.grants import GrantTargets

ACCOUNT = "1" * naming.ACCOUNT_ID_LENGTH
"""A stand-in of the real length for the account id, unknown until ``up``."""
CORE_SERVICES: tuple[Role, ...] = ("api-server", "scheduler", "dag-processor", "triggerer")
IDENTITY, INGRESS, METASTORE = "iam", "ingress", "metastore"
"""Component names in ``platform.py``: the logical names of auto-named resources start with them."""

TASK_DEFINITION_MAX_BYTES = 64 * 1024
ROLE_POLICY_MAX_CHARS = 10_240
"""IAM: all inline policies of one role together, whitespace not counted."""


@dataclass(frozen=True)
class DerivedName:
    what: str
    name: str
    limit: int
    auto_named: bool = False

    @property
    def excess(self) -> int:
        return len(self.name) - self.limit

    def problem(self, part: str, value: str) -> str | None:
        """Why ``name`` is too long, saying how long ``value`` (the ``part`` it comes from) may be."""
        excess = self.excess
        if excess <= 0:
            return None
        suffix = " (with the '-' and 7 characters Pulumi appends)" if self.auto_named else ""
        return (
            f"the {self.what} {self.name}{suffix} would be {len(self.name)} characters, above the {self.limit} "
            f"AWS allows: use a {part} of at most {len(value) - excess} characters"
        )


def _role_names(service: str) -> list[DerivedName]:
    return [
        DerivedName("IAM role", naming.auto_name(f"{IDENTITY}-{service}-{kind}"), 64, auto_named=True)
        for kind in ("execution", "task")
    ]


def stack_derived_names(stack: str, region: str | None) -> list[DerivedName]:
    names = [
        DerivedName("SNS topic", naming.alert_topic_name(stack), 256),
        DerivedName("ECS cluster", naming.cluster_name(stack), 255),
        DerivedName("RDS final snapshot", naming.final_snapshot_identifier(stack), 255),
        DerivedName("secret", f"{naming.secrets_prefix(stack)}/internal/celery-result-backend", 512),
        DerivedName("load balancer", naming.auto_name(f"{INGRESS}-alb"), 32, auto_named=True),
        DerivedName("target group", naming.auto_name(f"{INGRESS}-api-server"), 32, auto_named=True),
        DerivedName("RDS instance", naming.db_identifier(stack), 63),
    ]
    if region in REGION_PARTITION:
        names += [
            DerivedName("S3 bucket", naming.bucket_name(stack, purpose, ACCOUNT, region), 63)
            for purpose in naming.BUCKET_PURPOSES
        ]
    for service in CORE_SERVICES:
        names += _role_names(service)
        names.append(DerivedName("ECS task family", naming.task_family(stack, service), 255))
        names.append(DerivedName("log group", naming.log_group_name(stack, service), 512))
    return names


def team_derived_names(stack: str, team: str) -> list[DerivedName]:
    service = naming.worker_service(team)
    return [
        *_role_names(service),
        DerivedName("ECS service", service, 255),
        DerivedName("ECS task family", naming.task_family(stack, service), 255),
        DerivedName("log group", naming.log_group_name(stack, service), 512),
    ]


def queue_derived_names(stack: str, queue: str) -> list[DerivedName]:
    return [
        DerivedName("SQS queue", naming.queue_name(stack, queue), 80),
        DerivedName("SQS dead-letter queue", naming.dead_letter_queue_name(stack, queue), 80),
    ]


def broker_name_problems(stack: str, broker: Any) -> list[tuple[str, str, str]]:
    """``(key, value, message)`` when a Redis broker's replication group ID would be longer than ElastiCache allows."""
    from components.broker_settings import REPLICATION_GROUP_ID_MAX, replication_group_id

    kind = broker.get("type") if isinstance(broker, Mapping) else None
    if kind != "redis" or not STACK_NAME_PATTERN.fullmatch(stack):
        return []
    name = DerivedName("ElastiCache replication group", replication_group_id(stack), REPLICATION_GROUP_ID_MAX)
    problem = name.problem("stack name", stack)
    return [("stack name", stack, f"{problem} (with broker.type redis)")] if problem else []


def _longest(names: list[DerivedName]) -> DerivedName | None:
    """Of the names a value makes too long, the one that bounds it most."""
    over = [n for n in names if n.excess > 0]
    return max(over, key=lambda n: n.excess) if over else None


def derived_name_problems(stack: str, region: Any, teams: Any) -> list[tuple[str, str, str]]:
    """``(key, value, message)`` for each value that makes a derived name AWS would refuse."""
    if not STACK_NAME_PATTERN.fullmatch(stack):
        return [
            (
                "stack name",
                stack,
                "use lowercase letters, digits and single hyphens (no uppercase, underscores or dots, no leading, "
                "trailing or doubled hyphen): the stack name is part of S3 bucket names, RDS identifiers and SQS "
                "queue names, which allow nothing else; rename it with `pulumi stack rename`",
            )
        ]
    found: list[tuple[str, str, str]] = []
    worst = _longest(stack_derived_names(stack, region if isinstance(region, str) else None))
    if worst:
        found.append(("stack name", stack, str(worst.problem("stack name", stack))))
    for index, team in enumerate(teams if isinstance(teams, list | tuple) else ()):
        if not isinstance(team, Mapping):
            continue
        name, queue = team.get("name"), team.get("queue")
        if not (isinstance(name, str) and NAME_PATTERN.fullmatch(name)):
            continue
        key = f"airstack:teams[{index}]"
        worst = _longest(team_derived_names(stack, name))
        if worst:
            found.append((f"{key}.name", name, str(worst.problem("team name", name))))
        queue_key = f"{key}.queue" if queue is not None else f"{key}.name"
        queue = name if queue is None else queue
        if not (isinstance(queue, str) and NAME_PATTERN.fullmatch(queue)):
            continue
        worst = _longest(queue_derived_names(stack, queue))
        if worst:
            found.append((queue_key, queue, str(worst.problem(f"queue name (with stack {stack})", queue))))
    return found


# ------------------------------------------------------------------------------------------ team count


def _stand_ins(config: StackConfig) -> tuple[Endpoints, dict[str, str], GrantTargets]:
    """What the program hands the renderers, with a stand-in account: the sizes match what `up` sends."""
    from components import recovery
    from components.airflow_settings import SECRET_NAMES, Endpoints
    from components.broker_settings import broker_secret_names
    from components.identities import grant_targets

    stack, region = config.stack, config.aws_region
    sqs = config.broker.type == "sqs"
    queues = {t.queue_name: naming.queue_name(stack, t.queue_name) for t in config.teams if sqs}
    endpoints = Endpoints(
        logs_bucket=naming.bucket_name(stack, "logs", ACCOUNT, region),
        queue_urls={q: naming.queue_url(region, ACCOUNT, name) for q, name in queues.items()},
        execution_api_url="http://api-server:8080/execution/",
        secrets_prefix=naming.secrets_prefix(recovery.secrets_stack(config)),
        data_bucket=naming.bucket_name(stack, "data", ACCOUNT, region),
        registry=naming.registry(region, ACCOUNT),
    )
    secret_arns = {s: naming.secret_partial_arn(region, ACCOUNT, recovery.secret_name(config, s)) for s in SECRET_NAMES}
    secret_arns |= {s: naming.secret_partial_arn(region, ACCOUNT, n) for s, n in broker_secret_names(config).items()}
    return endpoints, secret_arns, grant_targets(config, ACCOUNT)


def _compact(document: Any) -> int:
    return len(json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode())


def task_definition_bytes(config: StackConfig, role: Role, team: Team | None) -> int:
    """The size of the RegisterTaskDefinition request for one service, tags included."""
    from components.task_definitions import container_definition, mounts_dags, task_containers

    endpoints, secret_arns, _ = _stand_ins(config)
    service = naming.worker_service(team.name) if team else role
    containers = task_containers(config, role, endpoints, naming.log_group_name(config.stack, service), team)
    role_arn = f"arn:{config.partition}:iam::{ACCOUNT}:role/{'r' * 64}"
    volumes = [
        {
            "name": f"dags-{t.name}",
            "efsVolumeConfiguration": {
                "fileSystemId": "fs-0123456789abcdef0",
                "transitEncryption": "ENABLED",
                "authorizationConfig": {"accessPointId": "fsap-0123456789abcdef0", "iam": "ENABLED"},
            },
        }
        for t in ((team,) if team else config.teams)
        if mounts_dags(role)
    ]
    tags = {**config.aws_default_tags.tags, **config.tags, "Environment": config.environment}
    tags |= {"Stack": config.stack, "ManagedBy": "airstack", **({"airstack:team": team.name} if team else {})}
    return _compact(
        {
            "family": naming.task_family(config.stack, service),
            "taskRoleArn": role_arn,
            "executionRoleArn": role_arn,
            "networkMode": "awsvpc",
            "containerDefinitions": [container_definition(c, secret_arns) for c in containers],
            "volumes": volumes,
            "requiresCompatibilities": ["FARGATE"],
            "cpu": "16384",
            "memory": "122880",
            "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
            "tags": [{"key": k, "value": v} for k, v in tags.items()],
        }
    )


def task_role_policy_chars(config: StackConfig, role: Role, team: Team | None) -> int:
    """The size IAM counts for a task role's inline policy (whitespace is not counted)."""
    from components.common import policy_document
    from components.grants import task_role_statements

    _, _, targets = _stand_ins(config)
    statements = task_role_statements(role, targets, team.name if team else None, team.queue_name if team else None)
    return _compact(json.loads(policy_document(statements)))


@dataclass(frozen=True)
class _Measure:
    what: str
    limit: str
    maximum: int
    unit: str
    measure: Any


_MEASURES = (
    _Measure("task definition", "ECS's limit of 64 KiB", TASK_DEFINITION_MAX_BYTES, "bytes", task_definition_bytes),
    _Measure("task role policy", "IAM's limit per role", ROLE_POLICY_MAX_CHARS, "characters", task_role_policy_chars),
)


def _services(config: StackConfig) -> list[tuple[Role, Team | None]]:
    # Every core container carries every team; of the workers, the one with the longest names is the largest.
    widest = max(config.teams, key=lambda t: len(t.name) + len(t.directory) + len(t.queue_name))
    return [*((role, None) for role in CORE_SERVICES), ("worker", widest)]


def teams_that_fit(config: StackConfig, measure: _Measure, role: Role, team: Team | None) -> int:
    """Teams like these that fit under the limit, extrapolated from one team to all of them."""
    one = config.model_copy(update={"teams": config.teams[:1]})
    first = measure.measure(one, role, one.teams[0] if team else None)
    every = measure.measure(config, role, team)
    growth = (every - first) / max(len(config.teams) - 1, 1)
    return 1 + int((measure.maximum - first) // growth) if growth > 0 else len(config.teams)


def capacity_problems(config: StackConfig) -> list[tuple[str, str, str]]:
    """``(key, value, message)`` when the teams make a task definition or a role policy too large for AWS."""
    found = []
    for measure in _MEASURES:
        over = []
        for role, team in _services(config):
            size = measure.measure(config, role, team)
            if size > measure.maximum:
                over.append((role if team is None else naming.worker_service(team.name), size, role, team))
        if over:
            fits = min(teams_that_fit(config, measure, role, team) for _, _, role, team in over)
            plural = "s" if len(over) > 1 else ""
            services = " and ".join(service for service, _, _, _ in over)
            sizes = " and ".join(f"{size:,}" for _, size, _, _ in over)
            found.append(
                (
                    "airstack:teams",
                    f"{len(config.teams)} teams",
                    f"the {services} {measure.what}{plural} would be {sizes} {measure.unit}, over "
                    f"{measure.limit} ({measure.maximum:,}): each names every team (queue URLs and ARNs, DAG "
                    f"bundles, EFS access points), so with names as long as these at most {fits} teams fit; split "
                    "the teams over more stacks",
                )
            )
    return found
