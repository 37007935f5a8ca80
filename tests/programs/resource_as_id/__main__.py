"""A resource passed where its ID is expected: the SDK sends a reference, the provider gets the ID."""

import pulumi_aws as aws

vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16", tags={"Name": "demo"})
subnet = aws.ec2.Subnet("subnet", vpc_id=vpc, cidr_block="10.0.1.0/24")  # type: ignore[arg-type]
