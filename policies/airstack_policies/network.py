"""What faces the internet: only load balancers, only on 80 (to redirect) and 443, with modern TLS."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from airstack_policies._props import (
    EC2_INSTANCE,
    LISTENER,
    LOAD_BALANCER,
    SECURITY_GROUP,
    SERVICE,
    SUBNET,
    UNKNOWN,
    as_int,
    as_list,
    peek,
    plain,
    refers_to,
    refers_to_any,
)
from airstack_policies._rules import resource_policy, stack_policy

INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LEGACY_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
OPEN_CIDRS = ("0.0.0.0/0", "::/0")
WEB_PORTS = (80, 443)
MODERN_TLS_POLICIES = re.compile(r"^ELBSecurityPolicy-(TLS13-1-[23]|TLS-1-2|FS-1-2)")


def _ports(props: Mapping[str, Any]) -> tuple[int | None, int | None]:
    return as_int(props.get("fromPort")), as_int(props.get("toPort"))


def _web_only(from_port: int | None, to_port: int | None) -> bool:
    return from_port is not None and from_port == to_port and from_port in WEB_PORTS


def internet_facing(balancer: PolicyResource) -> bool:
    return peek(balancer.props, "internal") is not True


def _uses_group(user: PolicyResource, prop: str, group: PolicyResource) -> bool:
    return refers_to_any(user, prop, group)


def _public_subnet(instance: PolicyResource, resources: list[PolicyResource]) -> bool:
    """An instance without a subnet lands in the default VPC, whose subnets give public IPs."""
    subnet_id = peek(instance.props, "subnetId")
    if subnet_id is None:
        return True
    subnets = [s for s in resources if s.resource_type == SUBNET and refers_to(instance, "subnetId", s)]
    return any(peek(s.props, "mapPublicIpOnLaunch") is True for s in subnets)


def _publicly_reachable(resources: list[PolicyResource]) -> list[tuple[PolicyResource, str, str]]:
    """Compute with a public IP, with the property naming its security groups and how it gets the IP."""
    found = []
    for r in resources:
        if r.resource_type == SERVICE:
            network = peek(r.props, "networkConfiguration")
            if isinstance(network, Mapping) and peek(network, "assignPublicIp") is True:
                found.append((r, "networkConfiguration", f"service {r.name} (public task IPs)"))
        elif r.resource_type == EC2_INSTANCE:
            public = peek(r.props, "associatePublicIpAddress")
            if public is True or (public is None and _public_subnet(r, resources)):
                for prop in ("vpcSecurityGroupIds", "securityGroups"):
                    found.append((r, prop, f"instance {r.name} (public IP)"))
    return found


def _shared_with_public_compute(groups: list[PolicyResource], resources: list[PolicyResource],
                                balancer_groups: set[str]) -> dict[str, list[str]]:  # fmt: skip
    reachable = _publicly_reachable(resources)
    shared: dict[str, list[str]] = {}
    for group in groups:
        if group.urn not in balancer_groups:
            continue
        users = sorted({label for r, prop, label in reachable if _uses_group(r, prop, group)})
        if users:
            shared[group.urn] = users
    return shared


def _check_open_ingress(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    groups = [r for r in resources if r.resource_type == SECURITY_GROUP]
    balancers = [r for r in resources if r.resource_type in LOAD_BALANCER]
    balancer_groups = {g.urn for g in groups for lb in balancers if _uses_group(lb, "securityGroups", g)}
    shared = _shared_with_public_compute(groups, resources, balancer_groups)

    def judge(owner: str | None, label: str, urn: str, cidrs: list[str], ports: tuple[int | None, int | None]) -> None:
        open_cidrs = [c for c in cidrs if c in OPEN_CIDRS]
        if not open_cidrs:
            return
        where = "ports " + "-".join(str(p) for p in ports if p is not None) if any(ports) else "all ports"
        if owner in balancer_groups and _web_only(*ports):
            if owner in shared:
                users = shared[owner]
                report(f"{label} opens {where} to the internet for a load balancer, but {' and '.join(users)} "
                       f"use{'s' if len(users) == 1 else ''} the same group: the internet reaches "
                       f"{'it' if len(users) == 1 else 'them'} directly, bypassing the load balancer", urn)  # fmt: skip
            return
        report(f"{label} opens {where} to {', '.join(open_cidrs)}; only a load balancer's 443 (and 80 for the "
               "redirect) may be open to the internet", urn)  # fmt: skip

    for group in groups:
        for rule in as_list(group.props.get("ingress")):
            if isinstance(rule, Mapping):
                cidrs = [str(c) for c in as_list(rule.get("cidrBlocks")) + as_list(rule.get("ipv6CidrBlocks"))]
                judge(group.urn, f"security group {group.name}", group.urn, cidrs, _ports(rule))
    for rule in resources:
        if rule.resource_type == INGRESS_RULE:
            cidrs = [str(rule.props.get(k)) for k in ("cidrIpv4", "cidrIpv6") if rule.props.get(k)]
        elif rule.resource_type == LEGACY_RULE and rule.props.get("type") == "ingress":
            cidrs = [str(c) for c in as_list(rule.props.get("cidrBlocks")) + as_list(rule.props.get("ipv6CidrBlocks"))]
        else:
            continue
        owner = next((g.urn for g in groups if refers_to(rule, "securityGroupId", g)), None)
        judge(owner, f"rule {rule.name}", rule.urn, cidrs, _ports(rule.props))


sg_no_open_ingress = stack_policy(
    name="sg-no-open-ingress",
    description=(
        "Nothing but an internet-facing load balancer faces the internet, and it only on 443 (and 80 to "
        "redirect). No security group or rule opens another port to 0.0.0.0/0 or ::/0, and the load balancer's "
        "group is not shared with compute that has a public IP."
    ),
    fix=(
        "Replace 0.0.0.0/0 with the security group that needs access (referenced_security_group_id) or a narrow "
        "CIDR; reach instances through SSM Session Manager instead of opening SSH; give tasks and instances their "
        "own security group that admits only the load balancer's group, and no public IP."
    ),
    validate=_check_open_ingress,
)


def _check_https(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in LISTENER:
        return
    protocol = str(args.props.get("protocol") or "HTTP").upper()
    actions = [plain(a) for a in as_list(args.props.get("defaultActions")) if isinstance(a, Mapping)]
    if protocol == "HTTP":
        redirects = [a for a in actions if a.get("type") == "redirect"]
        if not redirects or any(
            str((a.get("redirect") or {}).get("protocol", "")).upper() != "HTTPS" for a in redirects
        ):
            kinds = ", ".join(str(a.get("type")) for a in actions) or "none"
            report(f"listener {args.name} serves plain HTTP with actions {kinds}; its only action must redirect to "
                   "HTTPS, or passwords and session cookies cross the network in clear", None)  # fmt: skip
    elif protocol in ("HTTPS", "TLS"):
        policy = str(args.props.get("sslPolicy") or "")
        if not MODERN_TLS_POLICIES.match(policy):
            report(f"listener {args.name} uses TLS policy {policy or '(default)'}; use "
                   "ELBSecurityPolicy-TLS13-1-2-2021-06 or another TLS 1.2+ policy", None)  # fmt: skip
        if not peek(args.props, "certificateArn"):
            report(f"listener {args.name} has no certificateArn", None)


alb_https_only = resource_policy(
    name="alb-https-only",
    description=(
        "Web traffic carries credentials and session cookies. HTTP listeners only redirect to HTTPS, and HTTPS "
        "or TLS listeners use a TLS 1.2+ policy with a certificate."
    ),
    fix=(
        "Make the HTTP listener's only default action a redirect to HTTPS (status HTTP_301), and give HTTPS "
        'listeners ssl_policy "ELBSecurityPolicy-TLS13-1-2-2021-06" and an ACM certificate_arn.'
    ),
    validate=_check_https,
)


def _check_listener_ports(args: StackValidationArgs, report: ReportViolation) -> None:
    balancers = [r for r in args.resources if r.resource_type in LOAD_BALANCER and internet_facing(r)]
    for listener in args.resources:
        if listener.resource_type not in LISTENER:
            continue
        balancer = next((lb for lb in balancers if refers_to(listener, "loadBalancerArn", lb)), None)
        if balancer is None:
            continue
        protocol = str(peek(listener.props, "protocol") or "HTTP").upper()
        port = as_int(peek(listener.props, "port"))
        if port is None and peek(listener.props, "port") is UNKNOWN:
            port = as_int(listener.props["port"])  # raises: undecidable until the port is known
        if port is None:
            port = 443 if protocol in ("HTTPS", "TLS") else 80
        if port in WEB_PORTS:
            continue
        report(f"listener {listener.name} of internet-facing load balancer {balancer.name} forwards port {port} "
               f"({protocol}) from the whole internet; service ports (databases, caches, SSH, admin consoles) are "
               "found by scanners within minutes", listener.urn)  # fmt: skip


lb_internet_listeners_web_only = stack_policy(
    name="lb-internet-listeners-web-only",
    description=(
        "An internet-facing load balancer exposes only web ports: its listeners are on 443 (and 80 to "
        "redirect). A network load balancer that forwards Redis, PostgreSQL, SSH or another service port from "
        "the internet bypasses every security group of the service behind it."
    ),
    fix=(
        "Make the load balancer internal (internal=True) and reach the service from inside the VPC, a VPN or "
        "a bastion; if the port must be public, restrict the load balancer's security group to known CIDRs and "
        "exempt the listener with a reason."
    ),
    validate=_check_listener_ports,
)

POLICIES = [sg_no_open_ingress, alb_https_only, lb_internet_listeners_web_only]
