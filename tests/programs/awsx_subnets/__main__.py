"""A VPC from awsx with three kinds of subnets, used the way real programs use its outputs."""

import pulumi
import pulumi_aws as aws
import pulumi_awsx as awsx

vpc = awsx.ec2.Vpc(
    "main",
    cidr_block="10.20.0.0/16",
    number_of_availability_zones=3,
    nat_gateways=awsx.ec2.NatGatewayConfigurationArgs(strategy=awsx.ec2.NatGatewayStrategy.SINGLE),
    subnet_specs=[
        awsx.ec2.SubnetSpecArgs(type=awsx.ec2.SubnetType.PUBLIC, cidr_mask=24, name="edge"),
        awsx.ec2.SubnetSpecArgs(type=awsx.ec2.SubnetType.PRIVATE, cidr_mask=20, name="app"),
        awsx.ec2.SubnetSpecArgs(type=awsx.ec2.SubnetType.ISOLATED, cidr_mask=24, name="data"),
    ],
)

alb_sg = aws.ec2.SecurityGroup("alb", vpc_id=vpc.vpc_id, description="https from anywhere")
aws.vpc.SecurityGroupIngressRule(
    "alb-https", security_group_id=alb_sg.id, cidr_ipv4="0.0.0.0/0", from_port=443, to_port=443, ip_protocol="tcp"
)
app_sg = aws.ec2.SecurityGroup("app", vpc_id=vpc.vpc_id, description="from the load balancer")
aws.vpc.SecurityGroupIngressRule(
    "app-from-alb",
    security_group_id=app_sg.id,
    referenced_security_group_id=alb_sg.id,
    from_port=8080,
    to_port=8080,
    ip_protocol="tcp",
)
db_sg = aws.ec2.SecurityGroup("db", vpc_id=vpc.vpc_id, description="from the app")
aws.vpc.SecurityGroupIngressRule(
    "db-from-app",
    security_group_id=db_sg.id,
    referenced_security_group_id=app_sg.id,
    from_port=5432,
    to_port=5432,
    ip_protocol="tcp",
)

alb = aws.lb.LoadBalancer("api", security_groups=[alb_sg.id], subnets=vpc.public_subnet_ids)
target = aws.lb.TargetGroup("api", port=8080, protocol="HTTP", target_type="ip", vpc_id=vpc.vpc_id)
aws.lb.Listener(
    "https",
    load_balancer_arn=alb.arn,
    port=443,
    protocol="HTTPS",
    ssl_policy="ELBSecurityPolicy-TLS13-1-2-2021-06",
    certificate_arn="arn:aws:acm:eu-west-1:111122223333:certificate/0c0ffee0",
    default_actions=[{"type": "forward", "target_group_arn": target.arn}],
)

subnet_group = aws.rds.SubnetGroup("db", subnet_ids=vpc.isolated_subnet_ids)
aws.rds.Instance(
    "db",
    engine="postgres",
    instance_class="db.t4g.small",
    allocated_storage=20,
    username="api",
    manage_master_user_password=True,
    db_subnet_group_name=subnet_group.name,
    vpc_security_group_ids=[db_sg.id],
    storage_encrypted=True,
    backup_retention_period=7,
    multi_az=True,
    deletion_protection=True,
    skip_final_snapshot=False,
    opts=pulumi.ResourceOptions(protect=True),
)

cluster = aws.ecs.Cluster("api")
aws.ecs.Service(
    "api",
    cluster=cluster.arn,
    desired_count=2,
    launch_type="FARGATE",
    task_definition="api:1",
    network_configuration={
        "subnets": vpc.private_subnet_ids,
        "security_groups": [app_sg.id],
        "assign_public_ip": False,
    },
    load_balancers=[{"target_group_arn": target.arn, "container_name": "api", "container_port": 8080}],
)
pulumi.export("privateSubnets", vpc.private_subnet_ids)
pulumi.export("isolatedSubnets", vpc.isolated_subnet_ids)
