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
from components.bucket_policies import ALB_LOG_PREFIX
from components.common import child, with_tags

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
MANAGED_RULE_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # Triggering a DAG with a large `conf` or uploading a variables file has a body over the rule's 8 KB.
    ("AWSManagedRulesCommonRuleSet", ("SizeRestrictions_BODY",)),
    ("AWSManagedRulesKnownBadInputsRuleSet", ()),
    ("AWSManagedRulesAmazonIpReputationList", ()),
)
"""AWS's managed rule groups, each with the rules that only count (not block) for the Airflow UI."""


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
    access_logs_bucket: pulumi.Input[str]
    """The logs bucket: access logs go to its ``alb/`` prefix (FSBP ELB.5)."""
    access_logs_ready: pulumi.Resource
    """The logs bucket's policy that lets Elastic Load Balancing write there."""
    web_acl: bool
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
            access_logs=aws.lb.LoadBalancerAccessLogsArgs(
                bucket=args.access_logs_bucket, prefix=ALB_LOG_PREFIX, enabled=True
            ),
            tags=with_tags(args.tags, Name=f"airstack-{args.stack}"),
            opts=child(self, depends_on=[args.access_logs_ready]),
        )
        if args.web_acl:
            self._web_acl(name, args, alb)
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

    def _web_acl(self, name: str, args: IngressArgs, alb: aws.lb.LoadBalancer) -> None:
        """AWS's managed rule groups in front of the UI (FSBP ELB.16): common exploits, bad inputs, bad IPs."""
        rules = []
        for priority, (group, count_only) in enumerate(MANAGED_RULE_GROUPS):
            rules.append(
                aws.wafv2.WebAclRuleArgs(
                    name=group,
                    priority=priority,
                    override_action=aws.wafv2.WebAclRuleOverrideActionArgs(
                        none=aws.wafv2.WebAclRuleOverrideActionNoneArgs()
                    ),
                    statement=aws.wafv2.WebAclRuleStatementArgs(
                        managed_rule_group_statement=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs(
                            vendor_name="AWS",
                            name=group,
                            rule_action_overrides=[
                                aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideArgs(
                                    name=rule,
                                    action_to_use=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseArgs(
                                        count=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseCountArgs()
                                    ),
                                )
                                for rule in count_only
                            ],
                        )
                    ),
                    visibility_config=aws.wafv2.WebAclRuleVisibilityConfigArgs(
                        cloudwatch_metrics_enabled=True, metric_name=group, sampled_requests_enabled=True
                    ),
                )
            )
        acl = aws.wafv2.WebAcl(
            f"{name}-web-acl",
            scope="REGIONAL",
            description=f"airstack {args.stack}: AWS managed rules in front of the Airflow UI",
            default_action=aws.wafv2.WebAclDefaultActionArgs(allow=aws.wafv2.WebAclDefaultActionAllowArgs()),
            rules=rules,
            visibility_config=aws.wafv2.WebAclVisibilityConfigArgs(
                cloudwatch_metrics_enabled=True, metric_name=f"airstack-{args.stack}-ui", sampled_requests_enabled=True
            ),
            tags=args.tags,
            opts=child(self),
        )
        aws.wafv2.WebAclAssociation(
            f"{name}-web-acl-association", resource_arn=alb.arn, web_acl_arn=acl.arn, opts=child(self)
        )

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
