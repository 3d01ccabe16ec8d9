"""A minimal JSON client of the served app, for what is not measured by wrk: the health check, seeding, the
load run's clients and the tests that serve the app with gunicorn."""

from __future__ import annotations

import http.client
import json
from typing import Any, NamedTuple


class Reply(NamedTuple):
    status: int
    body: Any  # the parsed JSON; text when the body is not JSON; None when empty
    headers: http.client.HTTPMessage


class Api:
    """One short-lived connection per call, so nothing of the client lingers into a measurement."""

    def __init__(self, port: int, *, timeout: float = 30) -> None:
        self.port = port
        self.timeout = timeout

    def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """The answer to one request: status, parsed body and headers (``headers`` are sent besides the
        JSON ones and the Bearer ``token``)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        sent = {"Accept": "application/json", **(headers or {})}
        if body is not None:
            sent["Content-Type"] = "application/json"
        if token:
            sent["Authorization"] = f"Bearer {token}"
        try:
            conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=sent)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = data.decode(errors="replace")
        return Reply(response.status, parsed, response.headers)

    def call(
        self, method: str, path: str, body: dict[str, Any] | None = None, token: str | None = None
    ) -> tuple[int, Any]:
        """``(status, parsed JSON body)``; a body that is not JSON comes back as text."""
        reply = self.request(method, path, body, token)
        return reply.status, reply.body

    def expect(
        self,
        status: int,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        token: str | None = None,
    ) -> Any:
        """The parsed body; any other status stops the run, since the setup it serves is then broken."""
        got, data = self.call(method, path, body, token)
        if got != status:
            raise SystemExit(f"{method} {path}: expected {status}, got {got}: {data}")
        return data
