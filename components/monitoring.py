"""Monitoring tier: an SNS topic for the on-call and the alarms that mean Airflow needs a human."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.common import child, policy_document
from components.naming import partition_of


@dataclass(frozen=True)
class MonitoringArgs:
    stack: str
    region: str
    emails: tuple[str, ...]
    webhook_url: pulumi.Input[str] | None
    dead_letter_queue_names: Mapping[str, pulumi.Input[str]]
    db_instance_id: pulumi.Input[str]
    protect: bool
    tags: Mapping[str, str]


def alert_key_policy(account_id: str, region: str) -> str:
    partition = partition_of(region).name
    return policy_document(
        [
            {
                "Sid": "AccountAdministers",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "CloudWatchAlarmsPublish",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
                # Only this account's alarms: the service principal alone would let any account's (confused deputy).
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account_id},
                    "ArnLike": {"aws:SourceArn": f"arn:{partition}:cloudwatch:{region}:{account_id}:alarm:*"},
                },
            },
        ]
    )


class Monitoring(pulumi.ComponentResource):
    topic_arn: pulumi.Output[str]

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airstack:monitoring:Monitoring", name, None, opts)
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        # CloudWatch alarms cannot publish to a topic under the AWS-managed aws/sns key: its key policy does not
        # let cloudwatch.amazonaws.com use it. The topic gets its own key that does.
        key = aws.kms.Key(
            f"{name}-alerts-key",
            description=f"airstack {args.stack}: encrypts the alert topic; usable by CloudWatch alarms",
            enable_key_rotation=True,
            deletion_window_in_days=7,
            policy=account.apply(lambda a: alert_key_policy(a, args.region)),
            tags=args.tags,
            opts=child(self, protect=args.protect),
        )
        topic = aws.sns.Topic(
            f"{name}-alerts",
            name=f"airstack-{args.stack}-alerts",
            kms_master_key_id=key.arn,
            tags=args.tags,
            opts=child(self),
        )
        for index, email in enumerate(args.emails):
            aws.sns.TopicSubscription(
                f"{name}-email-{index}", topic=topic.arn, protocol="email", endpoint=email, opts=child(self)
            )
        if args.webhook_url is not None:
            aws.sns.TopicSubscription(
                f"{name}-webhook", topic=topic.arn, protocol="https", endpoint=args.webhook_url, opts=child(self)
            )
        for queue, dlq_name in args.dead_letter_queue_names.items():
            aws.cloudwatch.MetricAlarm(
                f"{name}-{queue}-dead-letters",
                alarm_description=f"tasks of the {queue} queue were dead-lettered: a task keeps killing its worker",
                namespace="AWS/SQS",
                metric_name="ApproximateNumberOfMessagesVisible",
                dimensions={"QueueName": dlq_name},
                statistic="Maximum",
                period=300,
                evaluation_periods=1,
                threshold=1,
                comparison_operator="GreaterThanOrEqualToThreshold",
                alarm_actions=[topic.arn],
                tags=args.tags,
                opts=child(self),
            )
        for metric, threshold, comparison, why in (
            ("CPUUtilization", 80, "GreaterThanThreshold", "the metastore is CPU bound"),
            ("FreeStorageSpace", 5 * 1024**3, "LessThanThreshold", "the metastore has under 5 GiB free"),
        ):
            aws.cloudwatch.MetricAlarm(
                f"{name}-db-{metric.lower()}",
                alarm_description=why,
                namespace="AWS/RDS",
                metric_name=metric,
                dimensions={"DBInstanceIdentifier": args.db_instance_id},
                statistic="Average",
                period=300,
                evaluation_periods=3,
                threshold=threshold,
                comparison_operator=comparison,
                alarm_actions=[topic.arn],
                ok_actions=[topic.arn],
                tags=args.tags,
                opts=child(self),
            )
        self.topic_arn = topic.arn
        self.register_outputs({"topicArn": topic.arn})
