"""Ingress tier: the ALB in front of the api-server. HTTPS only; port 80 only redirects."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.airflow_settings import API_PORT, HEALTH_PATH
from components.common import child, with_tags

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


@dataclass(frozen=True)
class IngressArgs:
    stack: str
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    security_group_id: pulumi.Input[str]
    internet_facing: bool
    certificate_arn: str
    domain: str | None
    protect: bool
    tags: Mapping[str, str]


class Ingress(pulumi.ComponentResource):
    target_group_arn: pulumi.Output[str]
    dns_name: pulumi.Output[str]
    url: pulumi.Output[str]
    https_listener: aws.lb.Listener

    def __init__(self, name: str, args: IngressArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airstack:ingress:Ingress", name, None, opts)
        alb = aws.lb.LoadBalancer(
            f"{name}-alb",
            load_balancer_type="application",
            internal=not args.internet_facing,
            subnets=args.subnet_ids,
            security_groups=[args.security_group_id],
            drop_invalid_header_fields=True,
            enable_deletion_protection=args.protect,
            idle_timeout=120,
            tags=with_tags(args.tags, Name=f"airstack-{args.stack}"),
            opts=child(self),
        )
        target_group = aws.lb.TargetGroup(
            f"{name}-api-server",
            port=API_PORT,
            protocol="HTTP",
            target_type="ip",
            vpc_id=args.vpc_id,
            deregistration_delay=30,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                path=HEALTH_PATH, matcher="200", interval=30, timeout=10, healthy_threshold=2, unhealthy_threshold=3
            ),
            tags=args.tags,
            opts=child(self),
        )
        aws.lb.Listener(
            f"{name}-http",
            load_balancer_arn=alb.arn,
            port=80,
            protocol="HTTP",
            default_actions=[
                aws.lb.ListenerDefaultActionArgs(
                    type="redirect",
                    redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                        protocol="HTTPS", port="443", status_code="HTTP_301"
                    ),
                )
            ],
            tags=args.tags,
            opts=child(self),
        )
        self.https_listener = aws.lb.Listener(
            f"{name}-https",
            load_balancer_arn=alb.arn,
            port=443,
            protocol="HTTPS",
            ssl_policy=TLS_POLICY,
            certificate_arn=args.certificate_arn,
            default_actions=[aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=target_group.arn)],
            tags=args.tags,
            opts=child(self),
        )
        self.target_group_arn = target_group.arn
        self.dns_name = alb.dns_name
        self.url = (
            pulumi.Output.from_input(f"https://{args.domain}/")
            if args.domain
            else alb.dns_name.apply(lambda dns: f"https://{dns}/")
        )
        self.register_outputs({"url": self.url, "dnsName": self.dns_name})
