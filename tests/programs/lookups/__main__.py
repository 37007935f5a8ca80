"""A program that looks things up, as real programs do: a policy document, the account, the region, the zones,
a hosted zone and another stack's outputs."""

import json

import pulumi
import pulumi_aws as aws

identity = aws.get_caller_identity()
region = aws.get_region()
partition = aws.get_partition()
zones = aws.get_availability_zones(state="available")

network = pulumi.StackReference("acme/network/prod")
zone = aws.route53.get_zone(name="example.com")

bucket = aws.s3.Bucket(
    "artifacts",
    bucket=f"artifacts-{identity.account_id}-{region.region}",
    opts=pulumi.ResourceOptions(protect=True),
)
aws.s3.BucketPublicAccessBlock(
    "artifacts",
    bucket=bucket.id,
    block_public_acls=True,
    block_public_policy=True,
    ignore_public_acls=True,
    restrict_public_buckets=True,
)
aws.s3.BucketServerSideEncryptionConfiguration(
    "artifacts",
    bucket=bucket.id,
    rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms"}}],
)
aws.s3.BucketVersioning("artifacts", bucket=bucket.id, versioning_configuration={"status": "Enabled"})

read_only = aws.iam.get_policy_document_output(
    statements=[
        aws.iam.GetPolicyDocumentStatementArgs(
            sid="ReadArtifacts",
            actions=["s3:GetObject", "s3:ListBucket"],
            resources=[bucket.arn, bucket.arn.apply(lambda arn: f"{arn}/*")],
            principals=[
                aws.iam.GetPolicyDocumentStatementPrincipalArgs(
                    type="AWS", identifiers=[f"arn:{partition.partition}:iam::{identity.account_id}:root"]
                )
            ],
        ),
        aws.iam.GetPolicyDocumentStatementArgs(
            effect="Deny",
            actions=["s3:*"],
            resources=[bucket.arn.apply(lambda arn: f"{arn}/*")],
            principals=[aws.iam.GetPolicyDocumentStatementPrincipalArgs(type="*", identifiers=["*"])],
            conditions=[
                aws.iam.GetPolicyDocumentStatementConditionArgs(
                    test="Bool", variable="aws:SecureTransport", values=["false"]
                )
            ],
        ),
    ]
)
aws.s3.BucketPolicy("artifacts", bucket=bucket.id, policy=read_only.json)

assume = aws.iam.get_policy_document(
    statements=[
        {
            "actions": ["sts:AssumeRole"],
            "principals": [{"type": "Service", "identifiers": ["ecs-tasks.amazonaws.com"]}],
        }
    ]
)
aws.iam.Role("task", assume_role_policy=assume.json)

shared_vpc = aws.ec2.Vpc.get("shared", "vpc-0a1b2c3d4e5f")
aws.ec2.SecurityGroup("app", vpc_id=network.get_output("vpcId"), description="app")

pulumi.export("zones", zones.names)
pulumi.export("zoneId", zone.zone_id)
pulumi.export("subnets", network.get_output("privateSubnetIds"))
pulumi.export("assume", json.loads(assume.json))
pulumi.export("sharedCidr", shared_vpc.cidr_block)
