"""``StackConfig``: one stack's whole configuration, and the tags every resource carries."""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationInfo, field_validator

from components.config._base import PROTECTED_ENVIRONMENTS, Environment, Str, _Model, context_value
from components.config.aws import MAX_TAGS, REGION_PARTITION, ecr_region, region_problem, tag_text_problem
from components.config.metastore import Metastore
from components.config.monitoring import Monitoring
from components.config.network import Network, duplicates
from components.config.operations import Alerting, Buckets, Deployment, DisasterRecovery, Ingress, Logs, Schedule
from components.config.workloads import Broker, Components, Image, Team, WorkerSize
from components.sizing import visibility_timeout_seconds

REQUIRED_TAGS = ("Owner", "CostCenter")
PROGRAM_TAGS = ("Environment", "Stack", "ManagedBy")
"""Tags the program puts on every resource (``platform.stack_tags``)."""
RESOURCE_TAGS = (
    "Name", "airstack:team", "airstack:role", "airstack:celery-queue", "airstack:longest-task-seconds",
    "airstack:visibility-margin-percent", "airstack:bucket", "airstack:secret",
)  # fmt: skip
"""Tags the program puts on some resources. With ``PROGRAM_TAGS`` they count against AWS's 50 per resource."""
RESERVED_TAG_PREFIX = "airstack:"
PROTECTED_NAME_WORDS = frozenset({"prod", "production", "dr"})
"""A stack whose name has one of these words between hyphens holds production data, whatever it declares."""
MAX_TEAMS = 200
"""A bound on the work of validating a file; ECS's and IAM's limits stop well below it (see ``limits``)."""


def tag_problems(tags: dict[str, Any]) -> list[str]:
    problems = []
    for key, value in tags.items():
        for problem in (tag_text_problem(key, key=True), tag_text_problem(value, key=False)):
            if problem:
                problems.append(f"{key}: {problem}")
    return problems


class AwsDefaultTags(_Model):
    """``aws:defaultTags``: the provider adds these to every resource it tags."""

    tags: dict[Str, Str] = Field(default_factory=dict)

    @field_validator("tags")
    @classmethod
    def _aws_rules(cls, value: dict[str, str]) -> dict[str, str]:
        problems = tag_problems(value)
        if problems:
            raise ValueError("; ".join(problems))
        return value


class StackConfig(_Model):
    """One stack's validated configuration (the ``airstack:`` namespace plus ``aws:region``)."""

    stack: str
    aws_region: Str
    aws_default_tags: AwsDefaultTags = AwsDefaultTags()
    environment: Environment
    network: Network
    metastore: Metastore = Metastore()
    broker: Broker = Broker()
    image: Image
    components: Components
    teams: tuple[Team, ...] = Field(min_length=1, max_length=MAX_TEAMS)
    logs: Logs = Logs()
    buckets: Buckets = Buckets()
    alerting: Alerting = Alerting()
    monitoring: Monitoring = Monitoring()
    ingress: Ingress
    schedule: Schedule = Schedule()
    dr: DisasterRecovery = DisasterRecovery()
    deployment: Deployment = Deployment()
    tags: dict[Str, Str]

    @field_validator("aws_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        problem = region_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("environment")
    @classmethod
    def _named_environment(cls, value: str, info: ValidationInfo) -> str:
        stack = context_value(info, "stack")
        words = set(stack.split("-")) if isinstance(stack, str) else set()
        if stack in ("dev", "acc", "prod", "dr") and value != stack:
            raise ValueError(
                f"the {stack} stack declares environment {stack}: a stack file whose name and environment differ "
                "gets the other environment's checks and protections"
            )
        if words & PROTECTED_NAME_WORDS and value not in PROTECTED_ENVIRONMENTS:
            raise ValueError(
                f"a stack named {stack} runs with prod's protections (Multi-AZ, deletion protection, protected "
                "resources, versioned buckets): declare environment prod or dr"
            )
        return value

    @field_validator("teams")
    @classmethod
    def _unique_teams(cls, teams: tuple[Team, ...]) -> tuple[Team, ...]:
        problems = []
        for label, values in (
            ("team name", [t.name for t in teams]),
            ("queue", [t.queue_name for t in teams]),
            ("DAG directory", [t.directory for t in teams]),
        ):
            repeated = duplicates(values)
            if repeated:
                problems.append(f"{label} {', '.join(repeated)} is used by more than one team")
        queues = {t.queue_name for t in teams}
        clashes = sorted(f"{q} and {q}-dlq" for q in queues if f"{q}-dlq" in queues)
        if clashes:
            problems.append(
                f"queues {', '.join(clashes)} clash: the dead-letter queue of the first has the second's name"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return teams

    @field_validator("monitoring")
    @classmethod
    def _agent_reachable(cls, value: Monitoring, info: ValidationInfo) -> Monitoring:
        network = info.data.get("network")
        if value.airflow_metrics and isinstance(network, Network) and not network.reaches_cloudwatch_metrics:
            how = "egress is restricted" if network.egress_restricted else "there is no NAT gateway"
            raise ValueError(
                f"airflowMetrics: {how}, so the CloudWatch agent cannot reach CloudWatch's API; add monitoring to "
                "network.interfaceEndpoints, or set airflowMetrics false"
            )
        return value

    @field_validator("dr")
    @classmethod
    def _standby_image_in_its_region(cls, value: DisasterRecovery, info: ValidationInfo) -> DisasterRecovery:
        image, region = info.data.get("image"), context_value(info, "region")
        if value.role != "standby" or not isinstance(image, Image):
            return value
        registry = ecr_region(image.repository)
        if registry is not None and registry != region:
            raise ValueError(
                f"a standby runs the image replicated to its own region, not the one in {registry}, which is the "
                f"region it takes over from: set image.repository to <account>.dkr.ecr.{region}.amazonaws.com/"
                f"{image.repository_name}"
            )
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        problems = [f"tags must include {t}" for t in REQUIRED_TAGS if not value.get(t)]
        problems += tag_problems(value)
        own = {t.lower() for t in (*PROGRAM_TAGS, *RESOURCE_TAGS)}
        problems += [
            f"{key}: airstack sets this tag itself"
            for key in value
            if key.lower() in own or key.lower().startswith(RESERVED_TAG_PREFIX)
        ]
        default_keys = [k for k in context_value(info, "default_tag_keys") or () if isinstance(k, str)]
        keys = sorted({*value, *default_keys})
        by_case: dict[str, list[str]] = {}
        for key in keys:
            by_case.setdefault(key.lower(), []).append(key)
        problems += [
            f"{' and '.join(same)}: IAM does not tell tag keys apart by case"
            for same in by_case.values()
            if len(same) > 1
        ]
        total = len(by_case) + len(PROGRAM_TAGS) + len(RESOURCE_TAGS)
        if total > MAX_TAGS:
            problems.append(
                f"{len(value)} tags here and {len(default_keys)} in aws:defaultTags, with the "
                f"{len(PROGRAM_TAGS) + len(RESOURCE_TAGS)} airstack adds, make {total}; AWS allows {MAX_TAGS} per "
                "resource"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @property
    def protected(self) -> bool:
        """Stateful resources are protected against deletion and replacement in this stack."""
        return self.environment in PROTECTED_ENVIRONMENTS

    @property
    def bucket_versioning(self) -> bool:
        return self.buckets.versioning if self.buckets.versioning is not None else self.environment != "dev"

    @property
    def wait_for_steady_state(self) -> bool:
        """Whether ``up`` waits for the core services to be healthy (``deployment.waitForSteadyState``)."""
        configured = self.deployment.wait_for_steady_state
        return configured if configured is not None else self.environment != "dev"

    @property
    def partition(self) -> str:
        return REGION_PARTITION[self.aws_region]

    def visibility_timeout(self, team: Team) -> int:
        return visibility_timeout_seconds(team.longest_task_seconds, self.broker.visibility_margin_percent)

    @property
    def max_visibility_timeout(self) -> int:
        """What a Celery process that talks to every queue (the scheduler) must be configured with."""
        return max(self.visibility_timeout(t) for t in self.teams)

    @property
    def max_task_seconds(self) -> int:
        return max(t.longest_task_seconds for t in self.teams)

    def worker_size(self, team: Team) -> WorkerSize:
        return team.worker_size or self.components.worker

    @property
    def services_running(self) -> bool:
        """A DR standby keeps its Airflow services at zero until it is activated."""
        return self.dr.role != "standby" or self.dr.active
