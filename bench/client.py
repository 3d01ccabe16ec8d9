"""A minimal JSON client of the served app, for what is not measured: the health check and seeding."""

from __future__ import annotations

import http.client
import json
from typing import Any


class Api:
    """One short-lived connection per call, so nothing of the client lingers into a measurement."""

    def __init__(self, port: int) -> None:
        self.port = port

    def call(
        self, method: str, path: str, body: dict[str, Any] | None = None, token: str | None = None
    ) -> tuple[int, Any]:
        """``(status, parsed JSON body)``; a body that is not JSON comes back as text."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = data.decode(errors="replace")
        return response.status, parsed

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
