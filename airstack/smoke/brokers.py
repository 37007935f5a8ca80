"""The Celery broker's stand-in, chosen by the broker URL the stack renders (in the environment or a secret).

SQS (``sqs://``) is stood in for by moto, which also holds the stack's queues and dead-letter queues.

Adding Redis (``redis://``/``rediss://``, e.g. ElastiCache with TLS and an auth token) takes three steps, each
in one place: start a local ``redis-server`` (TLS with a throw-away certificate, ``requirepass``) beside
PostgreSQL in ``run.Smoke._stand_ins``; rebuild the broker URL secret for it in ``secret_values`` (host, port,
auth token; scheme and options kept, as for database URLs) instead of refusing it; and count the messages
left in its queues (``LLEN`` of each Celery queue) where ``checks.Checker.queues_empty`` asks moto. Until
then a Redis stack is refused with a clear message.
"""

from __future__ import annotations

from airstack.smoke.plan import PlanError, SmokePlan

BROKER_VARIABLE = "AIRFLOW__CELERY__BROKER_URL"
STAND_INS = {"sqs": "moto (SQS)"}


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
    """The broker's stand-in; PlanError for a broker the smoke cannot stand in for yet."""
    schemes = broker_schemes(plan)
    unsupported = {s: sorted(c) for s, c in schemes.items() if s not in STAND_INS}
    if unsupported:
        described = "; ".join(f"{s}:// ({', '.join(c)})" for s, c in unsupported.items())
        raise PlanError(f"no stand-in for the Celery broker {described} yet: the smoke stands in for SQS only")
    return ", ".join(STAND_INS[s] for s in schemes) or "none"
