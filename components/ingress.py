"""Ingress tier: the ALB in front of the api-server. HTTPS only; port 80 only redirects.

With a Route 53 hosted zone the tier requests the ACM certificate itself, validates it through DNS, waits for the
validation before the HTTPS listener uses it, and points the domain at the load balancer; otherwise it uses the
certificate the stack file names. ``url`` is set only where it resolves: a domain whose record this tier owns.
"""

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
    certificate_arn: str | None
    """An existing ACM certificate; None to request one in ``hosted_zone_id``."""
    domain: str | None
    hosted_zone_id: str | None
    protect: bool
    tags: Mapping[str, str]


class Ingress(pulumi.ComponentResource):
    target_group_arn: pulumi.Output[str]
    dns_name: pulumi.Output[str]
    url: pulumi.Output[str] | None
    """The UI's URL when this tier owns the domain's DNS record (else None: only the load balancer's name is known)."""
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
            certificate_arn=self._certificate(name, args),
            default_actions=[aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=target_group.arn)],
            tags=args.tags,
            opts=child(self),
        )
        self.target_group_arn = target_group.arn
        self.dns_name = alb.dns_name
        self.url = None
        if args.hosted_zone_id and args.domain:
            record = aws.route53.Record(
                f"{name}-alias",
                zone_id=args.hosted_zone_id,
                name=args.domain,
                type="A",
                aliases=[
                    aws.route53.RecordAliasArgs(name=alb.dns_name, zone_id=alb.zone_id, evaluate_target_health=True)
                ],
                opts=child(self),
            )
            self.url = record.fqdn.apply(lambda fqdn: f"https://{fqdn.rstrip('.')}/")
        self.register_outputs({"url": self.url, "dnsName": self.dns_name})

    def _certificate(self, name: str, args: IngressArgs) -> pulumi.Input[str]:
        """The stack's certificate, or one requested here and validated through the hosted zone (its ARN once valid)."""
        if args.certificate_arn:
            return args.certificate_arn
        if not (args.hosted_zone_id and args.domain):
            raise ValueError("the ingress needs a certificate ARN, or a hosted zone and a domain to request one")
        certificate = aws.acm.Certificate(
            f"{name}-certificate",
            domain_name=args.domain,
            validation_method="DNS",
            tags=args.tags,
            opts=child(self, protect=args.protect),
        )
        option = certificate.domain_validation_options[0]
        record = aws.route53.Record(
            f"{name}-certificate-validation",
            zone_id=args.hosted_zone_id,
            name=option.resource_record_name,
            type=option.resource_record_type,
            records=[option.resource_record_value],
            ttl=60,
            allow_overwrite=True,
            opts=child(self),
        )
        # The listener takes the ARN from the validation: creating it waits until ACM has issued the certificate.
        validation = aws.acm.CertificateValidation(
            f"{name}-certificate-valid",
            certificate_arn=certificate.arn,
            validation_record_fqdns=[record.fqdn],
            opts=child(self),
        )
        return validation.certificate_arn
