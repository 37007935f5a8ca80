"""The CloudWatch agent's stand-in: a StatsD listener on a UDP socket, recording what the agent would publish.

One per agent container, bound where the agent listens inside its task (its task's own loopback address and the
port of its configuration); a thread of the smoke, not a process. It records every metric it receives, as the
agent names it for CloudWatch (``sidecars.published``), with how often it arrived.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field

from airstack.smoke.sidecars import Published, StatsdListener, lines, published

MAX_DATAGRAM = 65535


@dataclass
class AgentStandIn:
    """Receives StatsD on ``sock`` and keeps what the agent configured by ``listener`` would publish."""

    name: str
    """The agent container's process name (``<service>.<container>``)."""
    sock: socket.socket
    listener: StatsdListener
    received: Counter[Published] = field(default_factory=Counter)
    ignored: int = 0
    """Lines that are not StatsD metrics."""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None
    _closed: bool = False

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.sock.getsockname()[:2]
        return str(host), int(port)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._receive, daemon=True, name=f"statsd-{self.name}")
        self._thread.start()

    def _receive(self) -> None:
        while not self._closed:
            try:
                datagram = self.sock.recv(MAX_DATAGRAM)
            except OSError:
                return
            for line in lines(datagram):
                metric = published(line, self.listener)
                with self._lock:
                    if metric is None:
                        self.ignored += 1
                    else:
                        self.received[metric] += 1

    def metrics(self) -> Counter[Published]:
        with self._lock:
            return Counter(self.received)

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
