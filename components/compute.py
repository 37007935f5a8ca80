"""Compute tier: the ECS cluster and one Fargate service per Airflow role, plus one worker service per team.

The api-server is reachable from the ALB and, for the Execution API, from the other tasks through ECS
Service Connect (``http://api-server:8080/execution/``): no internal load balancer to pay for or to secure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import naming, recovery
from components.airflow_settings import API_PORT, Endpoints
from components.broker_settings import BROKER_ROLES
from components.buckets import PrivateBucket
from components.common import child, with_tags
from components.config import StackConfig
from components.scaling import ServiceScaling, scale_service, scaled
from components.services import SECURITY_GROUP_OF, ServiceSpec, service_specs
from components.task_definitions import container_definition, mounts_dags, scratch_volumes, task_containers

API_DISCOVERY_NAME = "api-server"
EXECUTION_API_URL = f"http://{API_DISCOVERY_NAME}:{API_PORT}/execution/"


@dataclass(frozen=True)
class ComputeArgs:
    config: StackConfig
    account: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    security_group_ids: Mapping[str, pulumi.Input[str]]
    target_group_arn: pulumi.Input[str]
    listener: pulumi.Resource
    logs_bucket: PrivateBucket
    queues: Mapping[str, aws.sqs.Queue]
    file_system_id: pulumi.Input[str]
    access_points: Mapping[str, aws.efs.AccessPoint]
    secret_names: Mapping[str, str]
    """Secret key -> its name in Secrets Manager; containers refer to it by its suffix-less ARN."""
    execution_roles: Mapping[str, aws.iam.Role]
    task_roles: Mapping[str, aws.iam.Role]
    tags: Mapping[str, str]
    image_sources: Sequence[pulumi.Resource] = ()
    """What must exist before a task can pull its images (the pull-through cache of ECR Public)."""
    broker_security_group_ids: Sequence[pulumi.Input[str]] = ()
    """Added to the tasks that talk to the Celery broker (a Redis broker's clients)."""


class Compute(pulumi.ComponentResource):
    cluster_name: pulumi.Output[str]
    services: dict[str, aws.ecs.Service]

    def __init__(self, name: str, args: ComputeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airstack:compute:Compute", name, None, opts)
        self._name = name
        self._args = args
        config = args.config
        self._namespace = aws.servicediscovery.HttpNamespace(
            f"{name}-namespace",
            name=naming.service_connect_namespace(config.stack),
            description="Service Connect namespace for the Execution API",
            tags=args.tags,
            opts=child(self),
        )
        self._cluster = aws.ecs.Cluster(
            f"{name}-cluster",
            name=naming.cluster_name(config.stack),
            settings=[aws.ecs.ClusterSettingArgs(name="containerInsights", value="enabled")],
            service_connect_defaults=aws.ecs.ClusterServiceConnectDefaultsArgs(namespace=self._namespace.arn),
            tags=args.tags,
            opts=child(self),
        )
        self._capacity = aws.ecs.ClusterCapacityProviders(
            f"{name}-capacity",
            cluster_name=self._cluster.name,
            capacity_providers=["FARGATE", "FARGATE_SPOT"],
            default_capacity_provider_strategies=[
                aws.ecs.ClusterCapacityProvidersDefaultCapacityProviderStrategyArgs(
                    capacity_provider="FARGATE", weight=1
                )
            ],
            opts=child(self),
        )
        region = config.aws_region
        account = pulumi.Output.from_input(args.account)
        # Built from names, not from outputs that exist only after creation: the container definitions are
        # then known on the first preview of a new stack, and the policy pack can judge them.
        self._endpoints = pulumi.Output.all(
            account=account,
            bucket=args.logs_bucket.name,
            # Output.all() of no queues (a Redis broker) would be a list, not a mapping.
            queues=pulumi.Output.all(**{q: queue.name for q, queue in args.queues.items()}) if args.queues else {},
        ).apply(
            lambda v: Endpoints(
                logs_bucket=v["bucket"],
                queue_urls={q: naming.queue_url(region, v["account"], n) for q, n in v["queues"].items()},
                execution_api_url=EXECUTION_API_URL,
                secrets_prefix=naming.secrets_prefix(recovery.secrets_stack(config)),
                data_bucket=naming.bucket_name(config.stack, "data", v["account"], region),
                registry=naming.registry(region, v["account"]),
            )
        )
        self._secret_refs = account.apply(
            lambda a: {k: naming.secret_partial_arn(region, a, n) for k, n in args.secret_names.items()}
        )

        specs = service_specs(config)
        self.services = {spec.service: self._service(spec) for spec in specs}
        self.cluster_name = self._cluster.name
        self.register_outputs({"clusterName": self.cluster_name})

    # ------------------------------------------------------------------------------------------ services

    def _container_definitions(self, spec: ServiceSpec, log_group: str) -> pulumi.Output[str]:
        config = self._args.config

        def build(endpoints: Endpoints, secret_refs: dict[str, str]) -> str:
            containers = task_containers(config, spec.role, endpoints, log_group, spec.team)
            return json.dumps([container_definition(c, secret_refs) for c in containers])

        return pulumi.Output.all(self._endpoints, self._secret_refs).apply(lambda v: build(v[0], v[1]))

    def _service(self, spec: ServiceSpec) -> aws.ecs.Service:
        args, config, name = self._args, self._args.config, f"{self._name}-{spec.service}"
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=naming.log_group_name(config.stack, spec.service),
            retention_in_days=config.logs.retention_days,
            tags=args.tags,
            opts=child(self, protect=config.protected),
        )
        teams = (spec.team,) if spec.team else config.teams
        dag_volumes = (
            [
                aws.ecs.TaskDefinitionVolumeArgs(
                    name=f"dags-{t.name}",
                    efs_volume_configuration=aws.ecs.TaskDefinitionVolumeEfsVolumeConfigurationArgs(
                        file_system_id=args.file_system_id,
                        transit_encryption="ENABLED",
                        authorization_config=aws.ecs.TaskDefinitionVolumeEfsVolumeConfigurationAuthorizationConfigArgs(
                            access_point_id=args.access_points[t.name].id, iam="ENABLED"
                        ),
                    ),
                )
                for t in teams
            ]
            if mounts_dags(spec.role)
            else []
        )
        # The containers' root file systems are read-only: each writes only to these, the task's own storage
        # (a bind mount with no host: fresh per task, gone with it).
        volumes = [*dag_volumes, *(aws.ecs.TaskDefinitionVolumeArgs(name=v) for v in scratch_volumes(spec.role))]
        task_definition = aws.ecs.TaskDefinition(
            f"{name}-task-definition",
            family=naming.task_family(config.stack, spec.service),
            cpu=str(spec.size.cpu),
            memory=str(spec.size.memory),
            network_mode="awsvpc",
            requires_compatibilities=["FARGATE"],
            runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
                cpu_architecture=spec.size.architecture, operating_system_family="LINUX"
            ),
            execution_role_arn=args.execution_roles[spec.service].arn,
            task_role_arn=args.task_roles[spec.service].arn,
            container_definitions=self._container_definitions(spec, naming.log_group_name(config.stack, spec.service)),
            volumes=volumes,
            tags=with_tags(args.tags, **({"airstack:team": spec.team.name} if spec.team else {})),
            opts=child(self, depends_on=[log_group, *args.image_sources]),
        )
        service = aws.ecs.Service(
            name,
            name=spec.service,
            cluster=self._cluster.arn,
            task_definition=task_definition.arn,
            desired_count=self._desired_count(spec),
            capacity_provider_strategies=[
                aws.ecs.ServiceCapacityProviderStrategyArgs(
                    capacity_provider="FARGATE_SPOT" if spec.spot else "FARGATE",
                    weight=1,
                )
            ],
            network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                subnets=args.subnet_ids,
                security_groups=[
                    args.security_group_ids[SECURITY_GROUP_OF[spec.role]],
                    *(args.broker_security_group_ids if spec.role in BROKER_ROLES else ()),
                ],
                assign_public_ip=False,
            ),
            deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(enable=True, rollback=True),
            # New tasks start before old ones stop, so a deploy never leaves a role (or a team) without capacity.
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=200,
            load_balancers=[
                aws.ecs.ServiceLoadBalancerArgs(
                    target_group_arn=args.target_group_arn, container_name="api-server", container_port=API_PORT
                )
            ]
            if spec.role == "api-server"
            else None,
            health_check_grace_period_seconds=180 if spec.role == "api-server" else None,
            service_connect_configuration=self._service_connect(spec),
            enable_execute_command=False,
            propagate_tags="SERVICE",
            # A changed capacity provider (Spot on or off) takes effect only through a new deployment.
            force_new_deployment=True,
            # `up` fails when the core services never become healthy, instead of reporting success.
            wait_for_steady_state=config.wait_for_steady_state and spec.team is None,
            tags=with_tags(args.tags, **({"airstack:team": spec.team.name} if spec.team else {})),
            opts=child(
                self,
                depends_on=[self._capacity, args.listener],
                # Application Auto Scaling owns the count of scaled and hibernating services; `up` must not undo it.
                ignore_changes=["desiredCount"] if scaled(config, spec) else None,
                # The service's name is fixed: a replacement must remove the old one first, or the names collide.
                delete_before_replace=True,
            ),
        )
        if scaled(config, spec):
            scale_service(
                ServiceScaling(
                    parent=self,
                    name=name,
                    config=config,
                    spec=spec,
                    running=self._desired_count(spec),
                    cluster_name=self._cluster.name,
                    service=service,
                    queue=args.queues.get(spec.team.queue_name) if spec.team else None,
                    tags=args.tags,
                )
            )
        return service

    def _desired_count(self, spec: ServiceSpec) -> int:
        return spec.count if self._args.config.services_running else 0

    def _service_connect(self, spec: ServiceSpec) -> aws.ecs.ServiceServiceConnectConfigurationArgs:
        if spec.role != "api-server":
            return aws.ecs.ServiceServiceConnectConfigurationArgs(enabled=True, namespace=self._namespace.arn)
        return aws.ecs.ServiceServiceConnectConfigurationArgs(
            enabled=True,
            namespace=self._namespace.arn,
            services=[
                aws.ecs.ServiceServiceConnectConfigurationServiceArgs(
                    port_name="api",
                    discovery_name=API_DISCOVERY_NAME,
                    client_alias=[
                        aws.ecs.ServiceServiceConnectConfigurationServiceClientAliasArgs(
                            port=API_PORT, dns_name=API_DISCOVERY_NAME
                        )
                    ],
                )
            ],
        )
