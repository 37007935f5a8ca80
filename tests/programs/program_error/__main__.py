"""A program with a bug inside an apply: the error must point at this file's line, not at the SDK."""

import pulumi
import pulumi_aws as aws

ports = pulumi.Config().require_object("ports")
group = aws.ec2.SecurityGroup("web", description="web")


def rule_name(group_id: str) -> str:
    return f"{group_id}-{ports[2]}"  # the bug: there are two ports


pulumi.export("rule", group.id.apply(rule_name))
