"""Airflow's Celery workers on ElastiCache Redis: the broker's visibility timeout (1 h) is shorter than the tasks
may run (2 h), the group takes no AUTH token, and a network load balancer publishes Redis to the internet "for
debugging"."""

import json

import pulumi
import pulumi_aws as aws

config = pulumi.Config()
task_timeout = config.require_int("taskTimeoutSeconds")

redis = aws.elasticache.ReplicationGroup(
    "broker",
    description="Celery broker",
    engine="redis",
    node_type="cache.t4g.small",
    num_cache_clusters=2,
    automatic_failover_enabled=True,
    at_rest_encryption_enabled=True,
    transit_encryption_enabled=True,
    subnet_group_name="private",
)
nlb = aws.lb.LoadBalancer("redis", load_balancer_type="network", subnets=["subnet-pub-a", "subnet-pub-b"])
redis_targets = aws.lb.TargetGroup("redis", port=6379, protocol="TCP", vpc_id="vpc-0abc", target_type="ip")
aws.lb.Listener(
    "redis",
    load_balancer_arn=nlb.arn,
    port=6379,
    protocol="TCP",
    default_actions=[{"type": "forward", "target_group_arn": redis_targets.arn}],
)

logs = aws.cloudwatch.LogGroup("airflow", retention_in_days=30)
broker_url = redis.primary_endpoint_address.apply(lambda host: f"rediss://{host}:6379/0")
environment = {
    "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
    "AIRFLOW__CORE__DEFAULT_TASK_EXECUTION_TIMEOUT": str(task_timeout),
    "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "3600",
    "AIRFLOW__LOGGING__REMOTE_LOGGING": "True",
    "AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER": "s3://data-airflow-logs/tasks",
}
aws.ecs.TaskDefinition(
    "worker",
    family="airflow-worker",
    cpu="1024",
    memory="4096",
    network_mode="awsvpc",
    requires_compatibilities=["FARGATE"],
    container_definitions=pulumi.Output.all(broker_url, logs.name).apply(
        lambda args: json.dumps(
            [
                {
                    "name": "worker",
                    "image": "apache/airflow:3.1.3",
                    "command": ["celery", "worker"],
                    "environment": [
                        {"name": k, "value": v}
                        for k, v in {**environment, "AIRFLOW__CELERY__BROKER_URL": args[0]}.items()
                    ],
                    "logConfiguration": {
                        "logDriver": "awslogs",
                        "options": {
                            "awslogs-group": args[1],
                            "awslogs-region": "eu-west-1",
                            "awslogs-stream-prefix": "w",
                        },
                    },
                }
            ]
        )
    ),
)
