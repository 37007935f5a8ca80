"""Uses a package that only its requirements.txt brings (not installed where airstack runs)."""

import pulumi_aws as aws
from ticket_tags import standard_tags

aws.cloudwatch.LogGroup("tickets", retention_in_days=30, tags=standard_tags("support", "prod"))
aws.cloudwatch.LogGroup("tickets-audit", tags=standard_tags("support", "prod"))
