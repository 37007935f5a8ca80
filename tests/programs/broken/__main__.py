"""Four mistakes operators make: a 30 s queue for an 8 h task, a public bucket, a plaintext password in a
task definition and an unencrypted database. Everything else is done right, so exactly these are found."""

import json

import pulumi
import pulumi_aws as aws

config = pulumi.Config()
longest = config.require_int("longestTaskSeconds")
tags = {"Environment": "dev", "Owner": "team-x", "CostCenter": "cc-9", "ManagedBy": "pulumi"}

dlq = aws.sqs.Queue("tasks-dlq", sqs_managed_sse_enabled=True, tags=tags)
queue = aws.sqs.Queue(
    "tasks",
    visibility_timeout_seconds=30,  # mistake 1: an 8 h task would run again every 30 s
    sqs_managed_sse_enabled=True,
    redrive_policy=dlq.arn.apply(lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 3})),
    tags={**tags, "airstack:longest-task-seconds": str(longest)},
)

reports = aws.s3.Bucket("reports", tags=tags)
aws.s3.BucketPublicAccessBlock(  # mistake 2: the bucket may be made public
    "reports-public-access",
    bucket=reports.id,
    block_public_acls=False,
    block_public_policy=False,
    ignore_public_acls=False,
    restrict_public_buckets=False,
)
aws.s3.BucketServerSideEncryptionConfiguration(
    "reports-encryption",
    bucket=reports.id,
    rules=[
        aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
            apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="AES256"
            )
        )
    ],
)

worker_env = {
    "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
    "AIRFLOW__CELERY__BROKER_URL": "sqs://",
    "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "36000",
    "AIRFLOW__CORE__DEFAULT_TASK_EXECUTION_TIMEOUT": str(longest),
    "AIRFLOW__LOGGING__REMOTE_LOGGING": "True",
    "AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER": "s3://team-x-logs/task-logs",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql://airflow:hunter2@db:5432/airflow",  # mistake 3
}
aws.ecs.TaskDefinition(
    "worker",
    family="team-x-worker",
    cpu="1024",
    memory="2048",
    network_mode="awsvpc",
    requires_compatibilities=["FARGATE"],
    container_definitions=json.dumps(
        [
            {
                "name": "worker",
                "image": "apache/airflow:3.1.3",
                "command": ["celery", "worker"],
                "environment": [{"name": k, "value": v} for k, v in worker_env.items()],
                "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/team-x/worker"}},
            }
        ]
    ),
    tags=tags,
)

aws.rds.Instance(
    "metastore",
    engine="postgres",
    instance_class="db.t4g.micro",
    allocated_storage=20,
    username="airflow",
    manage_master_user_password=True,
    storage_encrypted=False,  # mistake 4
    publicly_accessible=False,
    backup_retention_period=7,
    skip_final_snapshot=True,
    tags=tags,
)
pulumi.export("queueUrl", queue.url)
