"""moto in server mode as the stack's SQS, S3 and Secrets Manager, filled with the stack's own resources.

moto answers as the stack's account (``MOTO_ACCOUNT_ID``), so queue URLs and ARNs are the ones the program
renders: with ``AWS_ENDPOINT_URL`` a container uses them unchanged.
"""

from __future__ import annotations

import os
import sys
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airstack.smoke.differences import DUMMY_ACCESS_KEY, DUMMY_SECRET_KEY
from airstack.smoke.plan import SmokePlan
from airstack.smoke.processes import Process, Supervisor
from airstack.smoke.secret_values import select_json_key


class AwsError(Exception):
    pass


def client_errors() -> tuple[type[Exception], ...]:
    """What a call to the stand-in may raise (botocore is imported late: airstack runs without it elsewhere)."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)


@dataclass
class Moto:
    url: str
    region: str
    process: Process

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.url,
            region_name=self.region,
            aws_access_key_id=DUMMY_ACCESS_KEY,
            aws_secret_access_key=DUMMY_SECRET_KEY,
        )

    def create(self, plan: SmokePlan, secrets: Mapping[str, str]) -> None:
        """Queues (dead-letter queues first), buckets and secrets with the stack's names."""
        sqs, s3, manager = self.client("sqs"), self.client("s3"), self.client("secretsmanager")
        dead_letters = {q.arn for q in plan.dead_letter_queues()}
        for queue in sorted(plan.queues, key=lambda q: q.arn not in dead_letters):
            url = sqs.create_queue(QueueName=queue.name, Attributes=dict(queue.attributes))["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            if arn != queue.arn:
                raise AwsError(f"queue {queue.name}: moto made {arn}, the stack renders {queue.arn}")
        for bucket in plan.buckets:
            self.create_bucket(bucket, s3)
        for name, value in secrets.items():
            manager.create_secret(Name=name, SecretString=value)

    def create_bucket(self, name: str, s3: Any = None) -> None:
        region = (
            {} if self.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": self.region}}
        )
        (s3 or self.client("s3")).create_bucket(Bucket=name, **region)

    def resolve(self, plan: SmokePlan, value_from: str) -> str:
        """What ECS injects for a container's ``secrets`` entry, read from the stand-in Secrets Manager."""
        secret, key = plan.secret_for(value_from)
        value = self.client("secretsmanager").get_secret_value(SecretId=secret.name)["SecretString"]
        return select_json_key(value, key, value_from)

    def queue_depths(self, plan: SmokePlan) -> dict[str, int]:
        """Messages in each queue: waiting, in flight and delayed."""
        sqs = self.client("sqs")
        names = (
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        )
        depths = {}
        for queue in plan.queues:
            url = sqs.get_queue_url(QueueName=queue.name)["QueueUrl"]
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(names))["Attributes"]
            depths[queue.name] = sum(int(attributes.get(n, 0)) for n in names)
        return depths

    def keys(self, bucket: str, prefix: str) -> list[str]:
        s3 = self.client("s3")
        keys: list[str] = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys += [o["Key"] for o in page.get("Contents", [])]
        return keys

    def read(self, bucket: str, key: str) -> str:
        return self.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode(errors="replace")


def start(supervisor: Supervisor, run_dir: Path, port: int, plan: SmokePlan) -> Moto:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(run_dir),
        "TMPDIR": str(run_dir),
        "MOTO_ACCOUNT_ID": plan.account,
        "LANG": "C.UTF-8",
    }
    process = supervisor.start(
        "moto", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env, cwd=run_dir
    )
    moto = Moto(f"http://127.0.0.1:{port}", plan.region, process)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.returncode is not None:
            raise AwsError(f"moto exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{moto.url}/moto-api/", timeout=2):
                return moto
        except OSError:
            time.sleep(0.2)
    raise AwsError("moto did not answer within 60 s")
