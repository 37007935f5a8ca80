"""`airstack smoke` on a Redis broker: the stand-in redis-server, the rebuilt broker URL, the queue checks.

The pure parts run always; those that start a real redis-server need the binary (installed by .ci/run, or by the
smoke itself as root); the full run of the Redis fixture stack needs AIRSTACK_SMOKE=1, like the dev smoke.
"""

from __future__ import annotations

import os
import secrets
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from airstack.smoke import redis_server
from airstack.smoke.brokers import check_broker, queue_keys, redis_schemes
from airstack.smoke.checks import Checker
from airstack.smoke.network import free_port
from airstack.smoke.plan import PlanError, Secret, smoke_plan
from airstack.smoke.processes import Supervisor
from airstack.smoke.secret_values import BrokerEndpoint, generate
from tests.test_redis_config import REDIS_STACK
from tests.test_redis_stack import redis_run
from tests.test_smoke_run import RUN_DIR, left_behind, smoke

PLAN = smoke_plan(redis_run("dev"))
ENDPOINT = BrokerEndpoint("127.0.0.1", 6390, "local-pass", "/run/redis/server.crt")
URL = "rediss://:tok3n@master.airstack-redis-broker.abc.cache.amazonaws.com:6379/0?ssl_cert_reqs=required"
needs_redis = pytest.mark.skipif(redis_server.find_server() is None, reason="redis-server is not installed")


def test_the_redis_stack_is_stood_in_for_by_redis_server() -> None:
    assert check_broker(PLAN) == "redis-server (TLS)"
    assert redis_schemes(PLAN) == {"rediss"}
    assert queue_keys("ml") == ["ml", "ml\x06\x163", "ml\x06\x166", "ml\x06\x169"]


def test_the_broker_url_is_rebuilt_for_the_local_server_keeping_scheme_database_and_options() -> None:
    stand_ins = generate(
        [Secret("u", "arn:u", URL), Secret("t", "arn:t", "tok3n"), Secret("o", "arn:o", "other-value")],
        "127.0.0.1",
        6543,
        ENDPOINT,
    )
    url = urlsplit(stand_ins.values["u"])
    assert (url.scheme, url.hostname, url.port, url.password, url.path) == (
        "rediss", "127.0.0.1", 6390, "local-pass", "/0",
    )  # fmt: skip
    assert parse_qs(url.query) == {"ssl_cert_reqs": ["required"], "ssl_ca_certs": ["/run/redis/server.crt"]}
    assert stand_ins.values["t"] == "local-pass", "the AUTH token secret is the local password too"
    assert stand_ins.values["o"] != "other-value"
    assert stand_ins.how["u"] == "broker URL for the local redis-server"


def test_the_fixture_stacks_own_secrets_get_the_local_broker() -> None:
    stand_ins = generate(PLAN.secrets, "127.0.0.1", 6543, ENDPOINT)
    url = stand_ins.values["airstack/redis/internal/celery-broker-url"]
    assert url.startswith("rediss://:local-pass@127.0.0.1:6390/0?ssl_cert_reqs=required&ssl_ca_certs=")
    assert stand_ins.values["airstack/redis/internal/broker-auth-token"] == "local-pass"


def test_a_broker_without_its_stand_in_is_refused_by_name() -> None:
    with pytest.raises(PlanError, match="secret u: a rediss:// broker has no local stand-in"):
        generate([Secret("u", "arn:u", URL)], "127.0.0.1", 6543)
    with pytest.raises(PlanError, match="a redis:// broker URL without TLS"):
        generate([Secret("u", "arn:u", "redis://:t@cache:6379/0")], "127.0.0.1", 6543, ENDPOINT)
    with pytest.raises(PlanError, match="secret a: a amqps:// broker has no local stand-in"):
        generate([Secret("a", "arn:a", "amqps://u:p@mq:5671//")], "127.0.0.1", 6543, ENDPOINT)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[redis_server.RedisServer]:
    import sys

    supervisor = Supervisor(tmp_path / "logs")
    binary = redis_server.find_server()
    assert binary is not None
    started = redis_server.start(
        supervisor, binary, tmp_path, free_port(), secrets.token_urlsafe(24), Path(sys.executable),
        plain_port=None,
    )  # fmt: skip
    yield started
    supervisor.stop_all()


@needs_redis
def test_the_stand_in_speaks_tls_only_with_a_password_and_never_evicts(server: redis_server.RedisServer) -> None:
    client = server.client()
    assert client.commands([("PING",), ("CONFIG", "GET", "maxmemory-policy"), ("CONFIG", "GET", "save")]) == [
        "PONG", ["maxmemory-policy", "noeviction"], ["save", ""],
    ]  # fmt: skip
    wrong = redis_server.RedisClient(redis_server.HOST, server.port, "wrong", server.ca_file)
    with pytest.raises(redis_server.RedisError, match="WRONGPASS"):
        wrong.command("PING")
    system_cas = Path(ssl.get_default_verify_paths().openssl_cafile)
    with pytest.raises(ssl.SSLCertVerificationError):  # the certificate is this run's own: verification is real
        redis_server.RedisClient(redis_server.HOST, server.port, server.password, system_cas).command("PING")
    assert _plain_text_reply(server.port) == b"", "no plain-text Redis on the TLS port"


def _plain_text_reply(port: int) -> bytes:
    with socket.create_connection((redis_server.HOST, port), timeout=5) as conn:
        conn.sendall(b"PING\r\n")
        try:
            return conn.recv(64)
        except ConnectionResetError:
            return b""


@needs_redis
def test_the_queue_check_counts_waiting_and_unacknowledged_messages(server: redis_server.RedisServer) -> None:
    from types import SimpleNamespace

    client = server.client()
    client.commands([("LPUSH", "ml", "m1"), ("LPUSH", "ml\x06\x166", "m2"), ("HSET", "unacked", "tag", "m3")])
    teams = [SimpleNamespace(team=SimpleNamespace(queue=q), worker=f"w-{q}") for q in ("ml", "analytics")]
    checker = Checker(PLAN, None, None, teams, ("a", "p"), "api", "sched", None, None, None, lambda: None,  # type: ignore[arg-type]
                      broker=client)  # fmt: skip
    assert checker.broker_depths() == {"redis analytics": 0, "redis ml": 2, "redis unacked": 1}
    client.commands([("DEL", "ml"), ("DEL", "ml\x06\x166"), ("HDEL", "unacked", "tag")])
    assert not any(checker.broker_depths().values())


@pytest.mark.skipif(os.environ.get("AIRSTACK_SMOKE") != "1", reason="set AIRSTACK_SMOKE=1 to run the smoke")
def test_the_redis_stack_runs_end_to_end_through_a_local_redis_server() -> None:
    process = smoke(str(REDIS_STACK))
    output, _ = process.communicate(timeout=900)
    match = RUN_DIR.search(output)
    assert match, output[-5000:]
    assert process.returncode == 0, output[-8000:]
    for check in ("tasks went through the Redis broker", "queues and dead-letter queues empty", "logs through the API",
                  "through the triggerer", "runs its tasks with only its own secrets",
                  "Celery results reach the result backend"):  # fmt: skip
        assert check in output, f"check {check!r} did not run:\n{output[-5000:]}"
    assert "redis analytics" in output
    assert "FAILED" not in output
    assert not Path(match.group(1)).exists()
    assert left_behind(match.group(1)) == []
