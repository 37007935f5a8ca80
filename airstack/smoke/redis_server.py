"""A throw-away redis-server from the system's packages, standing in for an ElastiCache broker, on 127.0.0.1.

Like ElastiCache with transit encryption and an AUTH token it speaks TLS only (no plain port) and requires a
password (``requirepass``); its certificate is made for this run, for 127.0.0.1, and the broker URL the
containers get names that certificate (``ssl_ca_certs``) so that ``ssl_cert_reqs=required`` verifies it, as
it verifies ElastiCache's certificate in the cloud. ``maxmemory-policy noeviction`` as on the stack's broker;
nothing is saved (no RDB, no AOF: a broker's messages are transient there too).

``RedisClient`` speaks just enough RESP over TLS for the checks (``AUTH``, ``LLEN``, ``HLEN``), so that the
smoke needs no Redis client library of its own.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from airstack.smoke.certificates import make_certificate
from airstack.smoke.processes import Process, Supervisor

HOST = "127.0.0.1"
PACKAGE = "redis-server"


class RedisError(Exception):
    pass


def find_server() -> Path | None:
    found = shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/local/bin/redis-server") if Path(p).exists()), None
    )
    return Path(found) if found else None


def ensure_installed(say: Callable[[str], None]) -> Path:
    """``redis-server``; installed with apt-get when missing and allowed (root), else a clear error."""
    found = find_server()
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise RedisError(
            "a stack on a Redis broker needs redis-server for the smoke: install your system's `redis-server` "
            "package (e.g. `sudo apt-get install -y redis-server`) and run it again"
        )
    say("installing redis-server with apt-get (not found on this machine)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # The package's service is not started: the smoke runs its own server.
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", PACKAGE]
    for command in (["apt-get", "update", "-q"], install):
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RedisError(f"`{' '.join(command)}` failed:\n{(done.stdout + done.stderr)[-2000:]}")
    found = find_server()
    if not found:
        raise RedisError("apt-get installed redis-server, but it is still not found")
    return found


def server_version(binary: Path) -> str:
    done = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=False)
    version = next((w.removeprefix("v=") for w in done.stdout.split() if w.startswith("v=")), "")
    return version or done.stdout.strip() or "?"


@dataclass
class RedisServer:
    port: int
    password: str
    ca_file: Path
    """The server's self-signed certificate, which clients trust (``ssl_ca_certs``)."""
    process: Process
    version: str

    def client(self) -> RedisClient:
        return RedisClient(HOST, self.port, self.password, self.ca_file)


def start(
    supervisor: Supervisor,
    binary: Path,
    run_dir: Path,
    port: int,
    password: str,
    python: Path,
    plain_port: int | None = None,
) -> RedisServer:
    """The server on 127.0.0.1:``port`` with TLS and ``requirepass``; returns once it answers an authenticated PING.

    ``python`` is any Python with ``cryptography`` (it makes the certificate). ``plain_port`` also takes plain
    connections, for a stack whose broker URL is ``redis://`` (ElastiCache with transit encryption has none).
    """
    directory = run_dir / "redis"
    directory.mkdir(parents=True)
    cert, key = directory / "server.crt", directory / "server.key"
    failure = make_certificate(python, cert, key, "airstack smoke broker")
    if failure is not None:
        raise RedisError(f"could not make the server's certificate: {failure}")
    config = directory / "redis.conf"
    # In a file, not on the command line: the password stays out of the process list.
    config.write_text(
        "\n".join(
            [
                f"bind {HOST}",
                "protected-mode yes",
                f"port {plain_port or 0}",
                f"tls-port {port}",
                f"tls-cert-file {cert}",
                f"tls-key-file {key}",
                f"tls-ca-cert-file {cert}",
                "tls-auth-clients no",
                f"requirepass {password}",
                "maxmemory-policy noeviction",
                'save ""',
                "appendonly no",
                f"dir {directory}",
                "daemonize no",
                "",
            ]
        )
    )
    config.chmod(0o600)
    process = supervisor.start(
        "redis",
        [str(binary), str(config)],
        {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8"},
        cwd=directory,
        signal_group=False,
        stop_timeout=10,
    )
    server = RedisServer(port, password, cert, process, server_version(binary))
    deadline = time.monotonic() + 30
    last = ""
    while time.monotonic() < deadline:
        if process.returncode is not None:
            raise RedisError(f"redis-server exited with {process.returncode}")
        try:
            if server.client().command("PING") == "PONG":
                return server
        except (OSError, RedisError) as error:
            last = str(error)
        time.sleep(0.2)
    raise RedisError(f"redis-server did not answer within 30 s ({last})")


class RedisClient:
    """One TLS connection per call sequence, authenticated (RESP2 replies: strings, integers, arrays)."""

    def __init__(self, host: str, port: int, password: str, ca_file: Path, timeout: float = 5.0) -> None:
        self.host, self.port, self.password, self.ca_file, self.timeout = host, port, password, ca_file, timeout

    def command(self, *args: str) -> Reply:
        return self.commands([args])[0]

    def commands(self, calls: list[tuple[str, ...]]) -> list[Reply]:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        with (
            socket.create_connection((self.host, self.port), timeout=self.timeout) as raw,
            context.wrap_socket(raw, server_hostname=self.host) as conn,
        ):
            reader = conn.makefile("rb")
            replies = []
            for args in [("AUTH", self.password), *calls]:
                conn.sendall(_encode(args))
                replies.append(_reply(reader))
            return replies[1:]


def _encode(args: tuple[str, ...]) -> bytes:
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


Reply = str | int | list["Reply"] | None


def _reply(reader: object) -> Reply:
    line = reader.readline()  # type: ignore[attr-defined]
    if not line:
        raise RedisError("the server closed the connection")
    kind, body = line[:1], line[1:].rstrip(b"\r\n").decode()
    if kind == b"+":
        return body
    if kind == b"-":
        raise RedisError(body)
    if kind == b":":
        return int(body)
    if kind == b"$":
        length = int(body)
        if length < 0:
            return None
        data = reader.read(length + 2)  # type: ignore[attr-defined]
        return data[:-2].decode(errors="replace")
    if kind == b"*":
        return [_reply(reader) for _ in range(int(body))] if int(body) >= 0 else None
    raise RedisError(f"unexpected reply {line[:40]!r}")
