"""WordPress as quick-starts write it, with the mistakes they make: one security group for the load balancer and
the servers, SSH open to the world, HTTP only, the database password in a container's environment."""

import json

import pulumi
import pulumi_aws as aws

config = pulumi.Config()
db_password = config.require_secret("dbPassword")
vpc = aws.ec2.get_vpc(default=True)
subnets = aws.ec2.get_subnets(filters=[{"name": "vpc-id", "values": [vpc.id]}])
ami = aws.ec2.get_ami(
    most_recent=True, owners=["amazon"], filters=[{"name": "name", "values": ["al2023-ami-2023.*-x86_64"]}]
)

web = aws.ec2.SecurityGroup(
    "web",
    vpc_id=vpc.id,
    description="web traffic",
    ingress=[
        {"protocol": "tcp", "from_port": 80, "to_port": 80, "cidr_blocks": ["0.0.0.0/0"]},
        {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["0.0.0.0/0"]},
    ],
    egress=[{"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]}],
)
database_sg = aws.ec2.SecurityGroup(
    "database",
    vpc_id=vpc.id,
    description="mysql from the web servers",
    ingress=[{"protocol": "tcp", "from_port": 3306, "to_port": 3306, "security_groups": [web.id]}],
)

db = aws.rds.Instance(
    "wordpress",
    engine="mysql",
    engine_version="8.0",
    instance_class="db.t4g.micro",
    allocated_storage=20,
    db_name="wordpress",
    username="wordpress",
    password=db_password,
    vpc_security_group_ids=[database_sg.id],
    backup_retention_period=7,
    multi_az=True,
    deletion_protection=True,
    skip_final_snapshot=True,
    opts=pulumi.ResourceOptions(protect=True),
)

server = aws.ec2.Instance(
    "wordpress",
    ami=ami.id,
    instance_type="t3.small",
    vpc_security_group_ids=[web.id],
    user_data=db.address.apply(lambda host: f"#!/bin/bash\necho WORDPRESS_DB_HOST={host} >> /etc/environment\n"),
)

alb = aws.lb.LoadBalancer("wordpress", load_balancer_type="application", security_groups=[web.id], subnets=subnets.ids)
pool = aws.lb.TargetGroup("wordpress", port=80, protocol="HTTP", vpc_id=vpc.id, target_type="ip")
aws.lb.TargetGroupAttachment("wordpress", target_group_arn=pool.arn, target_id=server.private_ip)
aws.lb.Listener(
    "http",
    load_balancer_arn=alb.arn,
    port=80,
    protocol="HTTP",
    default_actions=[{"type": "forward", "target_group_arn": pool.arn}],
)

logs = aws.cloudwatch.LogGroup("wordpress", retention_in_days=14)
cluster = aws.ecs.Cluster("wordpress")
task = aws.ecs.TaskDefinition(
    "wordpress",
    family="wordpress",
    cpu="512",
    memory="1024",
    network_mode="awsvpc",
    requires_compatibilities=["FARGATE"],
    container_definitions=pulumi.Output.all(db.address, logs.name).apply(
        lambda args: json.dumps(
            [
                {
                    "name": "wordpress",
                    "image": "wordpress:6.7-apache",
                    "portMappings": [{"containerPort": 80}],
                    "environment": [
                        {"name": "WORDPRESS_DB_HOST", "value": args[0]},
                        {"name": "WORDPRESS_DB_USER", "value": "wordpress"},
                        {"name": "WORDPRESS_DB_PASSWORD", "value": "wordpress-db-password"},
                    ],
                    "logConfiguration": {
                        "logDriver": "awslogs",
                        "options": {
                            "awslogs-group": args[1],
                            "awslogs-region": "us-east-1",
                            "awslogs-stream-prefix": "wp",
                        },
                    },
                }
            ]
        )
    ),
)
aws.ecs.Service(
    "wordpress",
    cluster=cluster.arn,
    task_definition=task.arn,
    desired_count=2,
    launch_type="FARGATE",
    network_configuration={"subnets": subnets.ids, "security_groups": [web.id], "assign_public_ip": True},
    load_balancers=[{"target_group_arn": pool.arn, "container_name": "wordpress", "container_port": 80}],
)
pulumi.export("url", alb.dns_name)
