"""A program that imports a package its environment does not have (and does not declare)."""

import pulumi_aws as aws
import pulumi_datadog as datadog  # not installed, not in any requirements file

aws.sqs.Queue("jobs")
datadog.Monitor("jobs-age", name="jobs age", type="metric alert", query="avg(last_5m):x > 1", message="x")
