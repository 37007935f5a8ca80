"""The Celery broker's stand-in, chosen by the broker URL the stack renders (in the environment or a secret).

SQS (``sqs://``) is stood in for by moto, which also holds the stack's queues and dead-letter queues.

Redis (``rediss://``, e.g. ElastiCache with TLS and an AUTH token, or plain ``redis://``) by a local
``redis-server`` (``airstack.smoke.redis_server``): TLS with a throw-away certificate and ``requirepass``,
started beside PostgreSQL in ``run.Smoke._stand_ins``; the broker URL secret is rebuilt for it in
``secret_values`` (host, port, password; scheme and options kept, the certificate named in ``ssl_ca_certs``);
``checks.Checker.queues_empty`` counts what is left in its Celery queues (``LLEN``) and unacknowledged
(``HLEN unacked``). Any other broker is refused with a clear message.
"""

from __future__ import annotations

from airstack.smoke.plan import PlanError, SmokePlan

BROKER_VARIABLE = "AIRFLOW__CELERY__BROKER_URL"
STAND_INS = {"sqs": "moto (SQS)", "rediss": "redis-server (TLS)", "redis": "redis-server"}
REDIS = ("redis", "rediss")
PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (0, 3, 6, 9)
"""kombu's Redis transport keeps a queue's messages in one list per priority step: ``<queue>``, then
``<queue>\\x06\\x163`` and so on (its default ``priority_steps`` and ``sep``)."""
BINDING_PREFIX = "_kombu.binding."
"""kombu records each queue a consumer declares on the broker under this key prefix."""
UNACKED = "unacked"
"""kombu's hash of messages delivered to a worker and not yet acknowledged, for every queue."""


def broker_schemes(plan: SmokePlan) -> dict[str, set[str]]:
    """Broker URL scheme -> the containers that use it."""
    schemes: dict[str, set[str]] = {}
    for container in plan.containers:
        url = container.environment.get(BROKER_VARIABLE)
        if url is None:
            ref = next((r for r in container.secrets if r.variable == BROKER_VARIABLE), None)
            url = (plan.secret_for(ref.value_from)[0].value or "") if ref else None
        if url is not None:
            schemes.setdefault(url.split("://", 1)[0] if "://" in url else url, set()).add(container.key)
    return schemes


def check_broker(plan: SmokePlan) -> str:
    """The broker's stand-in; PlanError for a broker the smoke cannot stand in for."""
    schemes = broker_schemes(plan)
    unsupported = {s: sorted(c) for s, c in schemes.items() if s not in STAND_INS}
    if unsupported:
        described = "; ".join(f"{s}:// ({', '.join(c)})" for s, c in unsupported.items())
        raise PlanError(f"no stand-in for the Celery broker {described}: the smoke stands in for SQS and Redis")
    return ", ".join(sorted({STAND_INS[s] for s in schemes})) or "none"


def redis_schemes(plan: SmokePlan) -> set[str]:
    """The Redis schemes the stack's broker URLs use (empty: no redis-server needed)."""
    return {s for s in broker_schemes(plan) if s in REDIS}


def queue_keys(queue: str) -> list[str]:
    """The Redis lists that hold a Celery queue's waiting messages."""
    return [queue if step == 0 else f"{queue}{PRIORITY_SEPARATOR}{step}" for step in PRIORITY_STEPS]
