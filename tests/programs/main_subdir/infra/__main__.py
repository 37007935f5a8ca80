"""The program lives in infra/ (Pulumi.yaml `main: infra/`) and imports a helper module next to it."""

import pulumi
import pulumi_aws as aws
from naming import queue_name

config = pulumi.Config()
name = queue_name(config.require("queueName"), pulumi.get_stack())
aws.cloudwatch.LogGroup("orders", retention_in_days=config.require_int("retentionDays"))
queue = aws.sqs.Queue(name, name=name, sqs_managed_sse_enabled=config.get_bool("encrypted"))
pulumi.export("queue", queue.name)
pulumi.export("region", aws.get_region().region)
