"""A program that waits forever on something that never comes (a future nobody resolves)."""

import asyncio

import pulumi
import pulumi_aws as aws


async def forever(_: object) -> str:
    await asyncio.get_running_loop().create_future()
    return "never"


queue = aws.sqs.Queue("jobs")
pulumi.export("never", queue.arn.apply(forever))
