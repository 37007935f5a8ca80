"""Network tier: the VPC (awsx), VPC endpoints and one security group per role with only the needed flows."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_awsx as awsx

from components.airflow_settings import API_PORT, DB_PORT, TRIGGERER_LOG_PORT, WORKER_LOG_PORT
from components.common import child, with_tags
from components.sizing import subnet_masks

SECURITY_GROUP_ROLES = ("alb", "api-server", "core", "workers", "database", "efs", "endpoints", "dag-sync")
"""``core`` holds the scheduler, dag-processor and triggerer; ``dag-sync`` the DAG deployment function."""


@dataclass(frozen=True)
class Flow:
    to: str
    source: str
    port: int
    why: str


FLOWS: tuple[Flow, ...] = (
    Flow("api-server", "alb", API_PORT, "UI and REST API through the load balancer"),
    Flow("api-server", "workers", API_PORT, "workers run tasks through the Execution API"),
    Flow("api-server", "core", API_PORT, "triggerer and dag-processor use the Execution API"),
    Flow("workers", "api-server", WORKER_LOG_PORT, "the UI reads live logs of running tasks"),
    Flow("core", "api-server", TRIGGERER_LOG_PORT, "the UI reads live logs of deferred tasks"),
    Flow("database", "api-server", DB_PORT, "metadata database"),
    Flow("database", "core", DB_PORT, "metadata database"),
    Flow("database", "workers", DB_PORT, "Celery result backend database"),
    Flow("efs", "core", 2049, "the dag-processor reads DAG files"),
    Flow("efs", "workers", 2049, "workers read the DAG files of their team"),
    Flow("efs", "dag-sync", 2049, "the DAG deployment function writes releases"),
)
"""Every ingress between tiers. A flow not listed here is not open."""

EGRESS_ROLES = ("api-server", "core", "workers")
"""Airflow itself calls AWS APIs and the data sources of tasks; stores and the ALB initiate nothing."""

S3 = "s3"
"""The S3 gateway endpoint's prefix list, as a destination."""


@dataclass(frozen=True)
class Egress:
    source: str
    to: str
    """A security group role, or ``s3`` (the S3 prefix list)."""
    port: int
    why: str


RESTRICTED_EGRESS: tuple[Egress, ...] = (
    *(Egress(role, "endpoints", 443, "AWS APIs through interface endpoints") for role in EGRESS_ROLES),
    *(
        Egress(role, S3, 443, "S3 through the gateway endpoint (image layers, task logs, data)")
        for role in EGRESS_ROLES
    ),
    Egress("api-server", "database", DB_PORT, "metadata database"),
    Egress("api-server", "workers", WORKER_LOG_PORT, "live logs of running tasks"),
    Egress("api-server", "core", TRIGGERER_LOG_PORT, "live logs of deferred tasks"),
    Egress("core", "database", DB_PORT, "metadata database"),
    Egress("core", "efs", 2049, "the dag-processor reads DAG files"),
    Egress("core", "api-server", API_PORT, "the Execution API"),
    Egress("workers", "database", DB_PORT, "Celery result backend database"),
    Egress("workers", "efs", 2049, "the DAG files of their team"),
    Egress("workers", "api-server", API_PORT, "the Execution API"),
)
"""Where Airflow's tasks may connect when egress is restricted: each flow of ``FLOWS``, seen from its source,
and AWS through the VPC's endpoints. Security groups do not filter the VPC's DNS resolver or the ECS agent."""


@dataclass(frozen=True)
class NetworkArgs:
    stack: str
    region: str
    cidr: str
    az_count: int
    nat_strategy: str
    interface_endpoints: tuple[str, ...]
    ui_allowed_cidrs: tuple[str, ...]
    restrict_egress: bool
    worker_egress_cidrs: tuple[str, ...]
    flow_logs_destination: pulumi.Input[str]
    """Where the VPC's flow logs go: an S3 ARN with a prefix (the logs bucket's ``vpc-flow-logs/``)."""
    flow_logs_ready: pulumi.Resource
    """What must exist first: the logs bucket's policy that lets the log delivery write there."""
    tags: Mapping[str, str]


_NAT = {
    "none": awsx.ec2.NatGatewayStrategy.NONE,
    "single": awsx.ec2.NatGatewayStrategy.SINGLE,
    "onePerAz": awsx.ec2.NatGatewayStrategy.ONE_PER_AZ,
}


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    public_subnet_ids: pulumi.Output[Sequence[str]]
    private_subnet_ids: pulumi.Output[Sequence[str]]
    isolated_subnet_ids: pulumi.Output[Sequence[str]]
    security_groups: dict[str, aws.ec2.SecurityGroup]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airstack:network:Network", name, None, opts)
        masks = subnet_masks(ipaddress.IPv4Network(args.cidr).prefixlen, args.az_count)
        vpc = awsx.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.cidr,
            number_of_availability_zones=args.az_count,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            nat_gateways=awsx.ec2.NatGatewayConfigurationArgs(strategy=_NAT[args.nat_strategy]),
            subnet_strategy=awsx.ec2.SubnetAllocationStrategy.AUTO,
            subnet_specs=[
                awsx.ec2.SubnetSpecArgs(type=awsx.ec2.SubnetType.PRIVATE, cidr_mask=masks["private"]),
                awsx.ec2.SubnetSpecArgs(type=awsx.ec2.SubnetType.PUBLIC, cidr_mask=masks["public"]),
                awsx.ec2.SubnetSpecArgs(type=awsx.ec2.SubnetType.ISOLATED, cidr_mask=masks["isolated"]),
            ],
            vpc_endpoint_strategy=awsx.ec2.VpcEndpointStrategy.AUTO,
            # S3 through a gateway endpoint: free, and task logs and data never cross the NAT gateway.
            vpc_endpoint_specs=[
                awsx.ec2.VpcEndpointSpecArgs(
                    service_name=f"com.amazonaws.{args.region}.s3", vpc_endpoint_type="Gateway"
                )
            ],
            tags=with_tags(args.tags, Name=f"airstack-{args.stack}"),
            opts=child(self),
        )
        # The VPC's default security group keeps no rules: nothing can use it by accident (FSBP EC2.2).
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-group",
            vpc_id=vpc.vpc_id,
            tags=with_tags(args.tags, Name=f"airstack-{args.stack}-default-unused"),
            opts=child(self),
        )
        # Every flow in and out of the VPC, for investigations (FSBP EC2.6).
        aws.ec2.FlowLog(
            f"{name}-flow-logs",
            vpc_id=vpc.vpc_id,
            traffic_type="ALL",
            log_destination_type="s3",
            log_destination=args.flow_logs_destination,
            max_aggregation_interval=600,
            tags=args.tags,
            opts=child(self, depends_on=[args.flow_logs_ready]),
        )
        self.vpc_id = vpc.vpc_id
        self.public_subnet_ids = vpc.public_subnet_ids
        self.private_subnet_ids = vpc.private_subnet_ids
        self.isolated_subnet_ids = vpc.isolated_subnet_ids

        self.security_groups = {
            role: aws.ec2.SecurityGroup(
                f"{name}-{role}",
                vpc_id=vpc.vpc_id,
                description=f"airstack {args.stack} {role}",
                tags=with_tags(args.tags, Name=f"airstack-{args.stack}-{role}"),
                opts=child(self),
            )
            for role in SECURITY_GROUP_ROLES
        }
        sg = self.security_groups
        for flow in FLOWS:
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-{flow.to}-from-{flow.source}-{flow.port}",
                security_group_id=sg[flow.to].id,
                referenced_security_group_id=sg[flow.source].id,
                ip_protocol="tcp",
                from_port=flow.port,
                to_port=flow.port,
                description=flow.why,
                tags=args.tags,
                opts=child(self),
            )
        for index, cidr in enumerate(args.ui_allowed_cidrs):
            for port, why in ((443, "HTTPS to the Airflow UI"), (80, "redirected to HTTPS")):
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-alb-from-cidr{index}-{port}",
                    security_group_id=sg["alb"].id,
                    cidr_ipv4=cidr,
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    description=why,
                    tags=args.tags,
                    opts=child(self),
                )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-endpoints-from-vpc-443",
            security_group_id=sg["endpoints"].id,
            cidr_ipv4=args.cidr,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            description="AWS APIs through interface endpoints",
            tags=args.tags,
            opts=child(self),
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-alb-to-api-server",
            security_group_id=sg["alb"].id,
            referenced_security_group_id=sg["api-server"].id,
            ip_protocol="tcp",
            from_port=API_PORT,
            to_port=API_PORT,
            description="forward to the api-server",
            tags=args.tags,
            opts=child(self),
        )
        s3 = aws.ec2.get_prefix_list_output(
            name=f"com.amazonaws.{args.region}.s3", opts=pulumi.InvokeOutputOptions(parent=self)
        ).id
        dag_sync_peers: list[tuple[int, str, dict[str, Any]]] = [
            (443, "release archives from S3 (gateway endpoint)", {"prefix_list_id": s3}),
            (2049, "the DAG file system", {"referenced_security_group_id": sg["efs"].id}),
        ]
        for port, why, peer in dag_sync_peers:
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-dag-sync-egress-{port}",
                security_group_id=sg["dag-sync"].id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                description=why,
                tags=args.tags,
                opts=child(self),
                **peer,
            )
        if args.restrict_egress:
            self._restricted_egress(name, args, s3)
        else:
            for role in EGRESS_ROLES:
                aws.vpc.SecurityGroupEgressRule(
                    f"{name}-{role}-egress",
                    security_group_id=sg[role].id,
                    cidr_ipv4="0.0.0.0/0",
                    ip_protocol="-1",
                    description="AWS APIs, the other tiers and the data sources of tasks",
                    tags=args.tags,
                    opts=child(self),
                )

        for service in args.interface_endpoints:
            aws.ec2.VpcEndpoint(
                f"{name}-endpoint-{service.replace('.', '-')}",
                vpc_id=vpc.vpc_id,
                service_name=f"com.amazonaws.{args.region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=vpc.private_subnet_ids,
                security_group_ids=[sg["endpoints"].id],
                tags=with_tags(args.tags, Name=f"airstack-{args.stack}-{service}"),
                opts=child(self),
            )

        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "privateSubnetIds": self.private_subnet_ids,
                "publicSubnetIds": self.public_subnet_ids,
                "isolatedSubnetIds": self.isolated_subnet_ids,
            }
        )

    def _restricted_egress(self, name: str, args: NetworkArgs, s3: pulumi.Input[str]) -> None:
        sg = self.security_groups
        for flow in RESTRICTED_EGRESS:
            peer: dict[str, Any] = (
                {"prefix_list_id": s3} if flow.to == S3 else {"referenced_security_group_id": sg[flow.to].id}
            )
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-{flow.source}-to-{flow.to}-{flow.port}",
                security_group_id=sg[flow.source].id,
                ip_protocol="tcp",
                from_port=flow.port,
                to_port=flow.port,
                description=flow.why,
                tags=args.tags,
                opts=child(self),
                **peer,
            )
        for index, cidr in enumerate(args.worker_egress_cidrs):
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-workers-to-cidr{index}-443",
                security_group_id=sg["workers"].id,
                cidr_ipv4=cidr,
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                description="the data sources of the tasks of the teams",
                tags=args.tags,
                opts=child(self),
            )
