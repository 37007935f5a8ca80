"""Aurora as tutorials write it: encrypted, but one instance, reachable from the internet, the default one day of
backups, no deletion protection, and the master password in the code."""

import pulumi
import pulumi_aws as aws

subnets = aws.rds.SubnetGroup("aurora", subnet_ids=["subnet-0a", "subnet-0b"])
cluster = aws.rds.Cluster(
    "aurora",
    engine="aurora-postgresql",
    engine_version="16.4",
    database_name="app",
    master_username="app",
    master_password="Sup3rS3cret!",
    storage_encrypted=True,
    db_subnet_group_name=subnets.name,
    skip_final_snapshot=True,
    opts=pulumi.ResourceOptions(protect=True),
)
aws.rds.ClusterInstance(
    "aurora-writer",
    cluster_identifier=cluster.id,
    instance_class="db.r6g.large",
    engine=cluster.engine,
    publicly_accessible=True,
)
pulumi.export("endpoint", cluster.endpoint)
