"""Every kind of value the engine sees: integers, secrets, assets, archives, additional secret outputs."""

import pulumi
import pulumi_aws as aws

group = aws.ec2.SecurityGroup(
    "web",
    description="web",
    ingress=[aws.ec2.SecurityGroupIngressArgs(from_port=22, to_port=22, protocol="tcp", cidr_blocks=["10.0.0.0/8"])],
)
secret = aws.secretsmanager.Secret("token")
aws.secretsmanager.SecretVersion(
    "token-value",
    secret_id=secret.id,
    secret_string=pulumi.Output.secret("hunter2-offline"),
    opts=pulumi.ResourceOptions(additional_secret_outputs=["arn"]),
)
bucket = aws.s3.Bucket("site")
aws.s3.BucketObject("index", bucket=bucket.id, key="index.html", source=pulumi.StringAsset("<h1>hi</h1>"))
aws.lambda_.Function(
    "fn",
    role="arn:aws:iam::111122223333:role/fn",
    runtime="python3.12",
    handler="main.handler",
    code=pulumi.AssetArchive({"main.py": pulumi.StringAsset("def handler(e, c):\n    return 1\n")}),
)
pulumi.export("groupId", group.id)
pulumi.export("token", pulumi.Output.secret("exported-secret-value"))
