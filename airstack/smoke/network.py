"""Loopback addresses and ports for the smoke's tasks, and the forwarders that stand in for a task's address.

On ECS every task has its own address, so every worker serves its logs on 8793 and the api-server reaches
each at ``<task address>:8793``. Locally every task gets a loopback address of its own (127.0.0.N: all of
127.0.0.0/8 is loopback on Linux), and since Airflow's log servers bind every interface, each listens on a
free port while a forwarder on ``<task address>:<rendered port>`` passes connections on to it. A task's
CloudWatch agent stand-in binds its StatsD port (UDP) at the task's address too: what a task's containers call
localhost is its address.
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    """A port nothing listens on now (the OS picks it; another process could take it before we do)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(64)
    except OSError:
        sock.close()
        raise
    return sock


def bind_datagram(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


Bound = dict[tuple[str, int, str], socket.socket]
"""(address, port, ``tcp`` | ``udp``) -> the socket bound there."""


def allocate_addresses(
    tasks: Sequence[str],
    ports: Mapping[str, Sequence[int]],
    bind: Callable[[str, int], socket.socket] = listen,
    rng: random.Random | None = None,
    datagram_ports: Mapping[str, Sequence[int]] | None = None,
    bind_udp: Callable[[str, int], socket.socket] = bind_datagram,
) -> tuple[dict[str, str], Bound]:
    """A loopback address per task, such that each task's TCP ``ports`` can be listened on at its address and its
    ``datagram_ports`` bound there for UDP.

    Returns the addresses and the sockets (already bound, so no other process can take them). Addresses are
    drawn from a random block of 127.0.0.0/8 so that two smokes on one machine do not collide.
    """
    rng = rng or random.Random()
    datagram_ports = datagram_ports or {}
    sockets: Bound = {}
    addresses: dict[str, str] = {}
    taken: set[str] = set()
    for task in tasks:
        wanted = [(p, "tcp", bind) for p in ports.get(task, [])] + [
            (p, "udp", bind_udp) for p in datagram_ports.get(task, [])
        ]
        for _ in range(200):
            address = f"127.{rng.randint(1, 254)}.{rng.randint(0, 255)}.{rng.randint(2, 254)}"
            if address in taken:
                continue
            bound: Bound = {}
            try:
                for port, protocol, binder in wanted:
                    bound[(address, port, protocol)] = binder(address, port)
            except OSError:
                for sock in bound.values():
                    sock.close()
                continue
            addresses[task] = address
            taken.add(address)
            sockets.update(bound)
            break
        else:
            for sock in sockets.values():
                sock.close()
            listed = [f"{p}/{protocol}" for p, protocol, _ in wanted]
            raise OSError(f"no loopback address where {task} could listen on {listed}")
    return addresses, sockets


@dataclass
class Forwarder:
    """Accepts on a bound socket and pipes every connection to ``target`` (both directions)."""

    listener: socket.socket
    target: tuple[str, int]
    _threads: list[threading.Thread] = field(default_factory=list)
    _closed: bool = False

    def start(self) -> None:
        thread = threading.Thread(target=self._accept, daemon=True, name=f"forward-{self.target[1]}")
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=10)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        pump = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
        pump.start()
        _pipe(client, upstream)
        pump.join(timeout=60)
        for sock in (client, upstream):
            sock.close()

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
