"""Resources tagged through the default provider (the stack's aws:defaultTags), and through an explicit provider
for a second region whose default tags lack CostCenter."""

import pulumi
import pulumi_aws as aws

aws.sqs.Queue("orders", sqs_managed_sse_enabled=True, tags={"Name": "orders"})
aws.cloudwatch.LogGroup("orders", retention_in_days=30)

replica_region = aws.Provider(
    "replica",
    region="eu-central-1",
    default_tags=aws.ProviderDefaultTagsArgs(tags={"Environment": "prod", "Owner": "payments", "ManagedBy": "pulumi"}),
)
aws.cloudwatch.LogGroup("orders-replica", retention_in_days=30, opts=pulumi.ResourceOptions(provider=replica_region))
