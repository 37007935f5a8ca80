"""A public website bucket (exempted, with the reason), a private data bucket and a logs bucket, on BucketV2."""

import json

import pulumi
import pulumi_aws as aws

protect = pulumi.ResourceOptions(protect=True)

site = aws.s3.BucketV2(
    "site",
    tags={"airstack:exempt": "s3-public-access-blocked: public website, content is public by design"},
    opts=protect,
)
aws.s3.BucketWebsiteConfigurationV2("site", bucket=site.id, index_document={"suffix": "index.html"})
aws.s3.BucketPublicAccessBlock(
    "site",
    bucket=site.id,
    block_public_acls=True,
    ignore_public_acls=True,
    block_public_policy=False,
    restrict_public_buckets=False,
)
aws.s3.BucketPolicy(
    "site-public-read",
    bucket=site.id,
    policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::www.example.com/*",
                }
            ],
        }
    ),
)
aws.s3.BucketServerSideEncryptionConfigurationV2(
    "site", bucket=site.id, rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}]
)
aws.s3.BucketVersioningV2("site", bucket=site.id, versioning_configuration={"status": "Enabled"})

data = aws.s3.BucketV2("data", opts=protect)
aws.s3.BucketPublicAccessBlock(
    "data",
    bucket=data.id,
    block_public_acls=True,
    block_public_policy=True,
    ignore_public_acls=True,
    restrict_public_buckets=True,
)
aws.s3.BucketServerSideEncryptionConfigurationV2(
    "data", bucket=data.id, rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms"}}]
)
aws.s3.BucketVersioningV2("data", bucket=data.id, versioning_configuration={"status": "Enabled"})

logs = aws.s3.BucketV2("access-logs", opts=protect)
aws.s3.BucketPublicAccessBlock(
    "access-logs",
    bucket=logs.id,
    block_public_acls=True,
    block_public_policy=True,
    ignore_public_acls=True,
    restrict_public_buckets=True,
)
aws.s3.BucketServerSideEncryptionConfigurationV2(
    "access-logs", bucket=logs.id, rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}]
)
aws.s3.BucketVersioningV2("access-logs", bucket=logs.id, versioning_configuration={"status": "Enabled"})
aws.s3.BucketLifecycleConfigurationV2(
    "access-logs",
    bucket=logs.id,
    rules=[{"id": "expire", "status": "Disabled", "expiration": {"days": 90}}],  # disabled: logs never expire
)

pulumi.export("url", site.bucket_regional_domain_name)
