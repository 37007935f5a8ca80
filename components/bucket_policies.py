"""What each bucket's own policy allows, as pure functions of known names. No Pulumi here.

Every bucket refuses requests without TLS. The logs bucket also takes two AWS log deliveries, each only into
its own prefix and only for this account: the load balancer's access logs (FSBP ELB.5) and the VPC's flow logs
(FSBP EC2.6).
"""

from __future__ import annotations

from typing import Any

from components.common import policy_document
from components.naming import partition_of

ALB_LOG_PREFIX = "alb"
FLOW_LOG_PREFIX = "vpc-flow-logs"

ELB_ACCOUNTS = {
    "us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980",
    "us-west-2": "797873946194", "af-south-1": "098369216593", "ap-east-1": "754344448648",
    "ap-southeast-3": "589379963580", "ap-south-1": "718504428378", "ap-northeast-3": "383597477331",
    "ap-northeast-2": "600734575887", "ap-southeast-1": "114774131450", "ap-southeast-2": "783225319266",
    "ap-northeast-1": "582318560864", "ca-central-1": "985666609251", "eu-central-1": "054676820928",
    "eu-west-1": "156460612806", "eu-west-2": "652711504416", "eu-south-1": "635631232127",
    "eu-west-3": "009996457667", "eu-north-1": "897822967062", "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
}  # fmt: skip
"""Elastic Load Balancing's own account per region that existed before August 2022: in these regions the
access logs are written by that account; in later regions by the log delivery service principal."""


def _tls_only(bucket_arn: str) -> dict[str, Any]:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def _alb_logs(bucket_arn: str, region: str, account: str) -> dict[str, Any]:
    partition = partition_of(region).name
    principal: dict[str, Any] = {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
    if region in ELB_ACCOUNTS:
        principal = {"AWS": f"arn:{partition}:iam::{ELB_ACCOUNTS[region]}:root"}
    return {
        "Sid": "LoadBalancerAccessLogs",
        "Effect": "Allow",
        "Principal": principal,
        "Action": "s3:PutObject",
        "Resource": f"{bucket_arn}/{ALB_LOG_PREFIX}/AWSLogs/{account}/*",
    }


def _flow_logs(bucket_arn: str, region: str, account: str) -> list[dict[str, Any]]:
    partition = partition_of(region).name
    source = {
        "StringEquals": {"aws:SourceAccount": account},
        "ArnLike": {"aws:SourceArn": f"arn:{partition}:logs:{region}:{account}:*"},
    }
    return [
        {
            "Sid": "FlowLogsWrite",
            "Effect": "Allow",
            "Principal": {"Service": "delivery.logs.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/{FLOW_LOG_PREFIX}/AWSLogs/{account}/*",
            "Condition": source,
        },
        {
            "Sid": "FlowLogsCheckAcl",
            "Effect": "Allow",
            "Principal": {"Service": "delivery.logs.amazonaws.com"},
            "Action": ["s3:GetBucketAcl", "s3:ListBucket"],
            "Resource": bucket_arn,
            "Condition": source,
        },
    ]


def bucket_policy(bucket_arn: str, purpose: str, region: str, account: str) -> str:
    statements = [_tls_only(bucket_arn)]
    if purpose == "logs":
        statements += [_alb_logs(bucket_arn, region, account), *_flow_logs(bucket_arn, region, account)]
    return policy_document(statements)
