"""Image repositories and their policies, written with aws.iam.get_policy_document as most programs do."""

import pulumi
import pulumi_aws as aws

PULL = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
org_id = pulumi.Config().require("organizationId")

shared = aws.ecr.Repository("shared", image_tag_mutability="IMMUTABLE", opts=pulumi.ResourceOptions(protect=True))
org_pull = aws.iam.get_policy_document(
    statements=[
        aws.iam.GetPolicyDocumentStatementArgs(
            sid="OrgPull",
            actions=PULL,
            principals=[aws.iam.GetPolicyDocumentStatementPrincipalArgs(type="AWS", identifiers=["*"])],
            conditions=[
                aws.iam.GetPolicyDocumentStatementConditionArgs(
                    test="StringEquals", variable="aws:PrincipalOrgID", values=[org_id]
                )
            ],
        )
    ]
)
aws.ecr.RepositoryPolicy("shared", repository=shared.name, policy=org_pull.json)

tools = aws.ecr.Repository("tools", opts=pulumi.ResourceOptions(protect=True))
anyone_pull = aws.iam.get_policy_document(
    statements=[
        {
            "sid": "AnyonePull",
            "actions": PULL,
            "principals": [{"type": "*", "identifiers": ["*"]}],
        }
    ]
)
aws.ecr.RepositoryPolicy("tools", repository=tools.name, policy=anyone_pull.json)
pulumi.export("policy", anyone_pull.json)
