"""The replay's calls for SQS queues and SNS topics and subscriptions."""

from __future__ import annotations

import re

from airstack.offline import Resource
from tests.replay import Inputs, Replay, handles, policies, rules
from tests.replay.shapes import kv, physical_name, text

# ------------------------------------------------------------------------------------------------- SQS

_SQS_ATTRIBUTES = {
    "visibilityTimeoutSeconds": "VisibilityTimeout", "messageRetentionSeconds": "MessageRetentionPeriod",
    "maxMessageSize": "MaximumMessageSize", "delaySeconds": "DelaySeconds",
    "receiveWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds", "policy": "Policy", "redrivePolicy": "RedrivePolicy",
    "redriveAllowPolicy": "RedriveAllowPolicy", "fifoQueue": "FifoQueue",
    "contentBasedDeduplication": "ContentBasedDeduplication", "kmsMasterKeyId": "KmsMasterKeyId",
    "kmsDataKeyReusePeriodSeconds": "KmsDataKeyReusePeriodSeconds", "sqsManagedSseEnabled": "SqsManagedSseEnabled",
    "deduplicationScope": "DeduplicationScope", "fifoThroughputLimit": "FifoThroughputLimit",
}  # fmt: skip


@handles("aws:sqs/queue:Queue")
def queue(rp: Replay, r: Resource, i: Inputs) -> None:
    name = physical_name(r, i)
    attributes = {api: str(text(i[key])) for key, api in _SQS_ATTRIBUTES.items() if i.get(key) is not None}
    rp.check(r, "sqs-attributes", rules.sqs_problems(name, attributes))
    if "Policy" in attributes:
        rp.check(r, "queue-policy", policies.policy_problems(attributes["Policy"], "sqs"))
    created = rp.call(r, "sqs", "create_queue", QueueName=name, Attributes=attributes or None, tags=i.get("tags"))
    url = created["QueueUrl"]
    stored = rp.call(r, "sqs", "get_queue_attributes", QueueUrl=url, AttributeNames=["All"])["Attributes"]
    rp.bind(r.id, url)
    rp.bind(r.outputs.get("url"), url)
    rp.bind(r.outputs.get("arn"), stored["QueueArn"])
    for key in ("VisibilityTimeout", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds"):
        if key in attributes:
            rp.expect(r, "sqs-attributes", stored.get(key) == attributes[key],
                      f"{key} {attributes[key]} was stored as {stored.get(key)}")  # fmt: skip


@handles("aws:sns/topic:Topic")
def topic(rp: Replay, r: Resource, i: Inputs) -> None:
    key = i.get("kmsMasterKeyId")
    region = rp.region_of(r)
    if key and not key.startswith("alias/aws/"):
        rp.expect(r, "sns-kms-key", rp.look("kms", "describe_key", region, KeyId=key) is not None,
                  f"KMS key {key} does not exist in {region}")  # fmt: skip
    attributes = {"KmsMasterKeyId": key, "Policy": i.get("policy"), "DisplayName": i.get("displayName"),
                  "DeliveryPolicy": i.get("deliveryPolicy"), "FifoTopic": text(i.get("fifoTopic")),
                  "ContentBasedDeduplication": text(i.get("contentBasedDeduplication")),
                  "SignatureVersion": text(i.get("signatureVersion")), "TracingConfig": i.get("tracingConfig")}  # fmt: skip
    attributes = {k: v for k, v in attributes.items() if v is not None}
    answer = rp.call(r, "sns", "create_topic", Name=physical_name(r, i), Attributes=attributes or None,
                     Tags=kv(i.get("tags")))  # fmt: skip
    rp.bind(r.id, answer["TopicArn"])
    rp.bind(r.outputs.get("arn"), answer["TopicArn"])


@handles("aws:sns/topicSubscription:TopicSubscription")
def topic_subscription(rp: Replay, r: Resource, i: Inputs) -> None:
    protocol, endpoint = i["protocol"], i["endpoint"]
    if protocol in ("email", "email-json"):
        rp.expect(r, "sns-endpoint", re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", endpoint) is not None,
                  f"{endpoint!r} is not an e-mail address")  # fmt: skip
    attributes = {"FilterPolicy": i.get("filterPolicy"), "FilterPolicyScope": i.get("filterPolicyScope"),
                  "RawMessageDelivery": text(i.get("rawMessageDelivery")), "RedrivePolicy": i.get("redrivePolicy"),
                  "DeliveryPolicy": i.get("deliveryPolicy"), "SubscriptionRoleArn": i.get("subscriptionRoleArn")}  # fmt: skip
    attributes = {k: v for k, v in attributes.items() if v is not None}
    answer = rp.call(r, "sns", "subscribe", TopicArn=i["topic"], Protocol=protocol, Endpoint=endpoint,
                     Attributes=attributes or None, ReturnSubscriptionArn=True)  # fmt: skip
    rp.bind(r.id, answer["SubscriptionArn"])
