"""A stand-in for the ECS agent's task scale-in protection endpoint, on a local port in a thread.

It answers as the agent does (amazon-ecs-agent, tmds/handlers/taskprotection/v1): 200 with ``protection`` on
success, 200 with ``failure`` when ECS refuses, 4xx/5xx with ``error``. ``mode`` makes it misbehave.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

PATH = "/task-protection/v1/state"
TASK_ARN = "arn:aws:ecs:eu-west-1:111122223333:task/airstack-prod/0123456789abcdef"
Mode = Literal["ok", "error", "refuse", "throttle"]


@dataclass
class FakeAgent:
    mode: Mode = "ok"
    fail_next: int = 0
    """Answer this many requests with 503 before behaving as ``mode`` says."""
    protected: bool = False
    minutes: int | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def puts(self) -> list[bool]:
        """ProtectionEnabled of every PUT so far, in order."""
        with self._lock:
            return [r["ProtectionEnabled"] for r in self.requests]

    def __enter__(self) -> FakeAgent:
        agent = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                status, answer = agent.handle(self.path, body)
                raw = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    def handle(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if path != PATH:
                return 404, {"error": {"Code": "NotFound", "Message": path}}
            unknown = set(body) - {"ProtectionEnabled", "ExpiresInMinutes"}
            if unknown or not isinstance(body.get("ProtectionEnabled"), bool):
                return 400, {"error": {"Code": "InvalidParameterException", "Message": f"bad request {body}"}}
            minutes = body.get("ExpiresInMinutes")
            if minutes is not None and not 1 <= minutes <= 2880:
                return 400, {"error": {"Code": "InvalidParameterException", "Message": "ExpiresInMinutes"}}
            self.requests.append(body)
            if self.fail_next > 0:
                self.fail_next -= 1
                return 503, {"error": {"Code": "ServerException", "Message": "try again"}}
            if self.mode == "error":
                return 500, {"error": {"Arn": TASK_ARN, "Code": "ServerException", "Message": "agent trouble"}}
            if self.mode == "throttle":
                return 429, {"error": {"Arn": TASK_ARN, "Code": "ThrottlingException", "Message": "slow down"}}
            if self.mode == "refuse":
                return 200, {"failure": {"Arn": TASK_ARN, "Reason": "TASK_NOT_VALID", "Detail": "not in a service"}}
            self.protected = body["ProtectionEnabled"]
            self.minutes = minutes if self.protected else None
            return 200, {"protection": {"ProtectionEnabled": self.protected, "TaskArn": TASK_ARN}}
