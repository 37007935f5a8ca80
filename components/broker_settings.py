"""The Celery broker as Airflow's processes see it, and the names of a Redis broker's resources. Pure: no Pulumi.

SQS: the URL ``sqs://`` with the region and each process's queues (Celery's predefined queues), in plain env.
Redis (ElastiCache): the URL holds the AUTH token, so it is a Secrets Manager secret that ECS injects into the
processes that talk to the broker (the scheduler sends tasks, the workers receive them), never plain env.

The visibility timeout differs between the two. SQS keeps it per queue, so a worker needs only its own queue's.
kombu's Redis transport keeps every unacknowledged message of every queue in one sorted set (``unacked_index``)
and *any* consuming worker puts back those older than its own ``visibility_timeout``: a worker of a team with
short tasks would redeliver another team's long task. So on Redis every process gets the stack's longest.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

from components import naming
from components.config import StackConfig, Team

BROKER_URL_ENV = "AIRFLOW__CELERY__BROKER_URL"
REGION_ENV = "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__REGION"
BROKER_KIND_ENV = "AIRSTACK_CELERY_BROKER"
"""The broker's kind (``redis``) in plain env where its URL is a secret: for the image's Celery settings, the
policy pack and operators, none of which may read the URL."""
BROKER_ROLES = ("scheduler", "worker")
"""Airflow 3 processes that talk to the Celery broker: the scheduler's CeleryExecutor sends, workers receive."""

REDIS_PORT = 6379
REDIS_DATABASE = 0
BROKER_URL_SECRET = "celery-broker-url"
AUTH_TOKEN_SECRET = "broker-auth-token"
REDIS_SECRETS = (BROKER_URL_SECRET, AUTH_TOKEN_SECRET)
REPLICATION_GROUP_ID_MAX = 40
"""ElastiCache: 1-40 lowercase letters, digits and hyphens, starting with a letter."""
AUTH_TOKEN_LENGTH = 64
"""ElastiCache takes an AUTH token of 16 to 128 printable characters; letters and digits go into the URL as is."""


@dataclass(frozen=True)
class BrokerSettings:
    environment: dict[str, str]
    secrets: dict[str, str] = field(default_factory=dict)
    """Environment variable -> the secret (a key of the stack's secrets) it is read from."""


def celery_broker_settings(
    config: StackConfig, role: str, team: Team | None, queue_urls: Mapping[str, str]
) -> BrokerSettings:
    """What one process needs to reach the broker (``team`` for a worker, else every team's queues)."""
    from components.airflow_settings import QUEUES_ENV, VISIBILITY_ENV

    if config.broker.type == "redis":
        return BrokerSettings(
            environment={VISIBILITY_ENV: str(config.max_visibility_timeout), BROKER_KIND_ENV: "redis"},
            secrets={BROKER_URL_ENV: BROKER_URL_SECRET} if role in BROKER_ROLES else {},
        )
    teams = (team,) if team is not None else config.teams
    visibility = config.visibility_timeout(team) if team else config.max_visibility_timeout
    return BrokerSettings(
        environment={
            BROKER_URL_ENV: "sqs://",
            REGION_ENV: config.aws_region,
            VISIBILITY_ENV: str(visibility),
            QUEUES_ENV: json.dumps({t.queue_name: queue_urls[t.queue_name] for t in teams}, sort_keys=True),
        }
    )


def broker_secret_keys(config: StackConfig, role: str) -> set[str]:
    """The broker's own secrets a role's containers read (beside ``airflow_settings.secret_names``)."""
    return {BROKER_URL_SECRET} if config.broker.type == "redis" and role in BROKER_ROLES else set()


def broker_secret_names(config: StackConfig) -> dict[str, str]:
    """Secret key -> its name in Secrets Manager, for the secrets the broker tier creates."""
    keys = REDIS_SECRETS if config.broker.type == "redis" else ()
    return {key: naming.internal_secret_name(config.stack, key) for key in keys}


def redis_broker_url(token: str, host: str, port: int) -> str:
    """Celery's URL for ElastiCache: TLS (``rediss``) with the server's certificate verified, the AUTH token as
    the password. kombu reads ``ssl_cert_reqs`` from the URL; without it a ``rediss://`` URL skips verification."""
    return f"rediss://:{quote(token, safe='')}@{host}:{int(port)}/{REDIS_DATABASE}?ssl_cert_reqs=required"


# ------------------------------------------------------------------------------------------------ names


def replication_group_id(stack: str) -> str:
    return naming.physical(stack, "broker")


def subnet_group_name(stack: str) -> str:
    return naming.physical(stack, "broker")


def parameter_group_name(stack: str, family: str) -> str:
    """Named after its family: a new engine major makes a new group instead of colliding with the old one."""
    return naming.physical(stack, "broker", family.replace(".", "-"))


def broker_log_group(stack: str, kind: str) -> str:
    """Where the replication group delivers its ``slow-log`` or ``engine-log``."""
    return naming.log_group_name(stack, f"broker-{kind}")


def member_cluster_ids(stack: str, nodes: int) -> list[str]:
    """ElastiCache names a replication group's nodes ``<group>-001``, ``-002``, ...: the metrics' CacheClusterId."""
    return [f"{replication_group_id(stack)}-{index:03d}" for index in range(1, nodes + 1)]
