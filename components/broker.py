"""Broker tier: one encrypted SQS queue per team queue, each with a dead-letter queue; or a Redis broker.

The queue's visibility timeout is the one the config derives from the team's longest task; its tags record
the longest task and the margin so that the policy pack can check the queue without the stack config.
With ``broker.type: redis`` the tier holds an ElastiCache replication group instead (``broker_redis``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.broker_redis import RedisBrokerArgs, RedisBrokerResources, broker_alarms
from components.common import child, with_tags

MAX_RECEIVE_COUNT = 3
"""A message received this often without being deleted is a task that keeps killing its worker."""
ROLE_TAG = "airstack:role"
LONGEST_TASK_TAG = "airstack:longest-task-seconds"
MARGIN_TAG = "airstack:visibility-margin-percent"
QUEUE_TAG = "airstack:celery-queue"


@dataclass(frozen=True)
class QueueSpec:
    queue: str
    team: str
    longest_task_seconds: int
    visibility_timeout_seconds: int


@dataclass(frozen=True)
class BrokerArgs:
    stack: str
    queues: tuple[QueueSpec, ...]
    margin_percent: int
    protect: bool
    tags: Mapping[str, str]
    redis: RedisBrokerArgs | None = None
    """A Redis broker instead of SQS queues (``queues`` is then empty)."""


class Broker(pulumi.ComponentResource):
    queues: dict[str, aws.sqs.Queue]
    dead_letter_queues: dict[str, aws.sqs.Queue]
    redis: RedisBrokerResources | None
    secret_names: dict[str, str]
    """Secret key -> name of the secrets this tier creates (a Redis broker's URL and AUTH token)."""
    client_security_group_ids: list[pulumi.Output[str]]
    """Security groups a task that talks to the broker is added to (the Redis clients' group)."""

    def __init__(self, name: str, args: BrokerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airstack:broker:Broker", name, None, opts)
        self._name, self._args = name, args
        self.queues = {}
        self.dead_letter_queues = {}
        self.redis = RedisBrokerResources(self, name, args.redis) if args.redis else None
        self.secret_names = dict(self.redis.secret_names) if self.redis else {}
        self.client_security_group_ids = [self.redis.clients_security_group.id] if self.redis else []
        for spec in args.queues:
            physical = f"airstack-{args.stack}-{spec.queue}"
            dlq = aws.sqs.Queue(
                f"{name}-{spec.queue}-dlq",
                name=f"{physical}-dlq",
                message_retention_seconds=14 * 24 * 3600,
                sqs_managed_sse_enabled=True,
                tags=with_tags(args.tags, **{ROLE_TAG: "celery-dead-letter", QUEUE_TAG: spec.queue}),
                opts=child(self, protect=args.protect),
            )
            self.dead_letter_queues[spec.queue] = dlq
            self.queues[spec.queue] = aws.sqs.Queue(
                f"{name}-{spec.queue}",
                name=physical,
                visibility_timeout_seconds=spec.visibility_timeout_seconds,
                message_retention_seconds=4 * 24 * 3600,
                receive_wait_time_seconds=20,
                sqs_managed_sse_enabled=True,
                redrive_policy=dlq.arn.apply(
                    lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": MAX_RECEIVE_COUNT})
                ),
                tags=with_tags(
                    args.tags,
                    **{
                        ROLE_TAG: "celery-broker",
                        QUEUE_TAG: spec.queue,
                        "airstack:team": spec.team,
                        LONGEST_TASK_TAG: str(spec.longest_task_seconds),
                        MARGIN_TAG: str(args.margin_percent),
                    },
                ),
                opts=child(self, protect=args.protect),
            )
        outputs: dict[str, pulumi.Input[object]] = {"queueUrls": {queue: q.url for queue, q in self.queues.items()}}
        if self.redis:
            outputs["redisEndpoint"] = self.redis.group.primary_endpoint_address
        self.register_outputs(outputs)

    def alarm(self, topic_arn: pulumi.Input[str]) -> None:
        """Alarms on the broker itself, to the stack's alert topic (which exists only after this tier)."""
        redis = self._args.redis
        if redis:
            broker_alarms(self, self._name, redis.stack, redis.settings, topic_arn, redis.tags)
