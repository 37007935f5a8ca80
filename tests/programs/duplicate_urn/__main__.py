"""Two resources of one type with one name under one parent: the engine refuses the second."""

import pulumi_aws as aws

aws.sqs.Queue("jobs")
aws.sqs.Queue("jobs")
