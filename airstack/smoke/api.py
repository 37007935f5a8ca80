"""A small client of Airflow 3's REST API (``/api/v2``) and its FAB login (``/auth/token``), on the stdlib."""

from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode


class ApiError(Exception):
    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path} -> {status}: {body[:500]}")
        self.status = status
        self.body = body


@dataclass
class AirflowApi:
    base: str
    token: str | None = None
    timeout: float = 30

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.base}{path}", data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            raise ApiError(method, path, error.code, error.read().decode(errors="replace")) from None
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return raw

    def login(self, username: str, password: str) -> str:
        """The FAB auth manager's token endpoint: what the UI's login and API clients use."""
        response = self.call("POST", "/auth/token", {"username": username, "password": password})
        token = str(response["access_token"])
        self.token = token
        return token

    def ui_login(self, username: str, password: str) -> str:
        """The UI's login form, as a browser submits it; returns the name of the cookie it sets, or raises."""
        jar = http.cookiejar.CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
        page = opener.open(f"{self.base}/auth/login/", timeout=self.timeout).read().decode(errors="replace")
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        form = {"username": username, "password": password, **({"csrf_token": match.group(1)} if match else {})}
        try:
            opener.open(f"{self.base}/auth/login/", data=urlencode(form).encode(), timeout=self.timeout)
            status = 200
        except urllib.error.HTTPError as error:
            status = error.code
        session = sorted(c.name for c in jar if c.name == "_token")
        if status not in (302, 303) or not session:
            raise ApiError(
                "POST", "/auth/login/", status, f"no session after the login form (cookies: {[c.name for c in jar]})"
            )
        return session[0]

    def health(self) -> dict[str, Any]:
        return self.call("GET", "/api/v2/monitor/health")

    def dags(self) -> list[dict[str, Any]]:
        return self.call("GET", "/api/v2/dags?limit=1000")["dags"]

    def import_errors(self) -> list[dict[str, Any]]:
        return self.call("GET", "/api/v2/importErrors?limit=1000")["import_errors"]

    def unpause(self, dag_id: str) -> None:
        self.call("PATCH", f"/api/v2/dags/{quote(dag_id)}", {"is_paused": False})

    def trigger(self, dag_id: str) -> str:
        return self.call("POST", f"/api/v2/dags/{quote(dag_id)}/dagRuns", {"logical_date": None})["dag_run_id"]

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        return self.call("GET", f"/api/v2/dags/{quote(dag_id)}/dagRuns?limit=100")["dag_runs"]

    def run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self.call("GET", f"/api/v2/dags/{quote(dag_id)}/dagRuns/{quote(run_id, safe='')}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        path = f"/api/v2/dags/{quote(dag_id)}/dagRuns/{quote(run_id, safe='')}/taskInstances?limit=1000"
        return self.call("GET", path)["task_instances"]

    def log(self, dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1) -> str:
        """A task's log as the UI shows it (from the worker while it runs, from S3 afterwards), as text."""
        path = (
            f"/api/v2/dags/{quote(dag_id)}/dagRuns/{quote(run_id, safe='')}/taskInstances/{quote(task_id)}"
            f"/logs/{try_number}?full_content=true&map_index={map_index}"
        )
        content = self.call("GET", path)
        content = content.get("content", content) if isinstance(content, dict) else content
        if isinstance(content, list):
            return "\n".join(json.dumps(line) if not isinstance(line, str) else line for line in content)
        return str(content)
