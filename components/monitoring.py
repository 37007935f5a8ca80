"""Monitoring tier: the on-call's SNS topic, the alarms that mean Airflow needs a human, and the stack's dashboard.

What is alarmed and drawn is decided in ``components.alarms`` and ``components.dashboard`` from the config and the
names the other tiers report (``components.watched``); this tier only declares it. Every alarm here tells the
topic when it fires and when it recovers.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.alarms import REJECTED_METRIC, AlarmSpec, alarm_specs
from components.cloudwatch import alarm_queries
from components.common import child, policy_document
from components.config import StackConfig
from components.dashboard import dashboard_body
from components.naming import partition_of, physical
from components.watched import Watched


@dataclass(frozen=True)
class MonitoringArgs:
    config: StackConfig
    webhook_url: pulumi.Input[str] | None
    watched: Watched
    """Names and dimensions of what is watched; values may be outputs."""
    dag_sync_log_group: pulumi.Input[str]
    """The DAG deployment function's log group, whose rejection lines become a metric."""
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


def resolved(watched: Watched) -> pulumi.Output[Watched]:
    """The same inventory once every output in it is known (for the dashboard's body)."""
    teams = [
        pulumi.Output.all(t.queue_name, t.dead_letter_name).apply(
            lambda v, t=t: dataclasses.replace(t, queue_name=v[0], dead_letter_name=v[1])
        )
        for t in watched.teams
    ]
    copies = [
        pulumi.Output.all(c.source, c.destination).apply(
            lambda v, c=c: dataclasses.replace(c, source=v[0], destination=v[1])
        )
        for c in watched.bucket_copies
    ]
    names = pulumi.Output.all(
        cluster=watched.cluster,
        load_balancer=watched.load_balancer,
        target_group=watched.target_group,
        file_system=watched.file_system,
        function=watched.function,
        failure_queue=watched.failure_queue,
    )

    def rebuild(values: list[Any]) -> Watched:
        plain, found_teams, found_copies = values[0], values[1], values[2]
        return dataclasses.replace(watched, **plain, teams=tuple(found_teams), bucket_copies=tuple(found_copies))

    return pulumi.Output.all(names, pulumi.Output.all(*teams), pulumi.Output.all(*copies)).apply(rebuild)


class Monitoring(pulumi.ComponentResource):
    topic_arn: pulumi.Output[str]
    alarms: dict[str, aws.cloudwatch.MetricAlarm]
    dashboard_name: pulumi.Output[str]

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airstack:monitoring:Monitoring", name, None, opts)
        config = args.config
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        # CloudWatch alarms cannot publish to a topic under the AWS-managed aws/sns key: its key policy does not
        # let cloudwatch.amazonaws.com use it. The topic gets its own key that does.
        key = aws.kms.Key(
            f"{name}-alerts-key",
            description=f"airstack {config.stack}: encrypts the alert topic; usable by CloudWatch alarms",
            enable_key_rotation=True,
            deletion_window_in_days=7,
            policy=account.apply(lambda a: alert_key_policy(a, config.aws_region)),
            tags=args.tags,
            opts=child(self, protect=args.protect),
        )
        topic = aws.sns.Topic(
            f"{name}-alerts",
            name=f"airstack-{config.stack}-alerts",
            kms_master_key_id=key.arn,
            tags=args.tags,
            opts=child(self),
        )
        for index, email in enumerate(config.alerting.emails):
            aws.sns.TopicSubscription(
                f"{name}-email-{index}", topic=topic.arn, protocol="email", endpoint=email, opts=child(self)
            )
        if args.webhook_url is not None:
            aws.sns.TopicSubscription(
                f"{name}-webhook", topic=topic.arn, protocol="https", endpoint=args.webhook_url, opts=child(self)
            )
        rejections = aws.cloudwatch.LogMetricFilter(
            f"{name}-dag-sync-rejections-filter",
            log_group_name=args.dag_sync_log_group,
            pattern='{ $.status = "rejected" }',
            metric_transformation=aws.cloudwatch.LogMetricFilterMetricTransformationArgs(
                namespace=args.watched.dag_sync_namespace, name=REJECTED_METRIC, value="1", unit="Count"
            ),
            opts=child(self),
        )
        self.alarms = {
            spec.key: self._alarm(
                name, spec, topic.arn, args, [rejections] if spec.key == "dag-sync-rejections" else []
            )
            for spec in alarm_specs(config, args.watched)
        }
        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=physical(config.stack),
            dashboard_body=resolved(args.watched).apply(
                lambda w: json.dumps(dashboard_body(config, w), sort_keys=True)
            ),
            opts=child(self),
        )
        self.topic_arn = topic.arn
        self.dashboard_name = dashboard.dashboard_name
        self.register_outputs({"topicArn": topic.arn, "dashboardName": dashboard.dashboard_name})

    def _alarm(
        self, name: str, spec: AlarmSpec, topic: pulumi.Output[str], args: MonitoringArgs, after: list[pulumi.Resource]
    ) -> aws.cloudwatch.MetricAlarm:
        return aws.cloudwatch.MetricAlarm(
            f"{name}-{spec.key}",
            name=physical(args.config.stack, spec.key),
            alarm_description=spec.description,
            metric_queries=alarm_queries(spec.queries),
            threshold=spec.threshold,
            comparison_operator=spec.comparison,
            evaluation_periods=spec.periods,
            datapoints_to_alarm=spec.periods,
            treat_missing_data=spec.missing,
            alarm_actions=[topic],
            ok_actions=[topic],
            tags=args.tags,
            opts=child(self, depends_on=after or None),
        )
