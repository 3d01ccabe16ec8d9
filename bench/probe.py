"""In-process probes (Django's test client, the server's settings): the database work of each request.

Counts Django's queries and the wire round trips from a libpq protocol trace, which also shows what
Django does not log (a health check, ``BEGIN``/``COMMIT`` of ``ATOMIC_REQUESTS``, role
switches), and checks that the stock rotation baseline really is stock.

Django and the app are imported inside the functions: they can only be imported once ``django_setup``
has configured this process, which happens after the database is migrated.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.postgres.trace import WireTrace, wire_trace

if TYPE_CHECKING:
    from django.test.utils import CaptureQueriesContext
    from rest_framework.authentication import BaseAuthentication


def django_setup(env: dict[str, str]) -> None:
    """Configure this process with the server's environment, so in-process figures share its settings."""
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()


@dataclass
class DbWork:
    """The database work of one request: Django's queries, wire round trips, statements in order."""

    label: str
    status: int
    queries: int
    round_trips: int
    statements: list[str]
    messages: list[str] | None = None  # whole, for the report's wire traces


def _abbreviate(statement: str, limit: int = 48) -> str:
    """Each ``;``-separated part of a statement on one line, cut at ``limit`` characters, for the table."""
    parts = [re.sub(r"\s+", " ", part).strip() for part in statement.split(";")]
    return "; ".join(part if len(part) <= limit else part[: limit - 1] + "…" for part in parts if part)


def _statements(wire: WireTrace) -> list[str]:
    return [_abbreviate(message) for message in wire.messages]


def _sql_count(captured: CaptureQueriesContext) -> int:
    """Django's logged queries, less the BEGIN/COMMIT markers it logs for transaction management."""
    return sum(
        1 for query in captured.captured_queries if query["sql"] not in ("BEGIN", "COMMIT", "ROLLBACK")
    )


def database_work() -> tuple[list[DbWork], list[str]]:
    """Django queries and wire round trips per request (Django's test client, in-process), and checks.

    ``close_old_connections()`` before each request does what gunicorn's ``request_started`` does and
    the test client skips: it re-arms ``CONN_HEALTH_CHECKS``, so a health check would be counted as it is
    paid in production. Every request is made once untraced first (on a persistent connection the hot
    statements are prepared by then, as they are in production after a connection's first request).
    """
    from django.db import close_old_connections, connection, transaction
    from django.test import Client, RequestFactory
    from django.test.utils import CaptureQueriesContext
    from rest_framework.request import Request
    from rest_framework_simplejwt.authentication import JWTAuthentication
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    from accounts.authentication import BearerAuthentication

    client = Client(HTTP_HOST="127.0.0.1")
    tag = secrets.token_hex(4)
    email, password = f"bench-inprocess-{tag}@example.com", f"bench-{secrets.token_hex(8)}-passphrase"

    def post(path: str, body: dict[str, Any], expect: int) -> Any:
        response = client.post(path, body, content_type="application/json")
        if response.status_code != expect:
            raise SystemExit(f"in-process POST {path}: {response.status_code} {response.content[:300]!r}")
        return response.json()

    post("/api/auth/register/", {"email": email, "password": password, "organization_name": f"IP {tag}"}, 201)
    login = {"email": email, "password": password}
    access = post("/api/auth/login/", login, 200)["access"]
    ours = [post("/api/auth/login/", login, 200)["refresh"] for _ in range(2)]
    stock = post("/bench/simplejwt/mint/", {"email": email, "count": 3}, 200)["refresh"]

    def request(method: str, path: str, body: dict[str, Any] | None, token: str | None):
        extra = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
        data = json.dumps(body) if body is not None else ""
        close_old_connections()
        return client.generic(method, path, data, content_type="application/json", **extra)

    def traced(
        label: str,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        token: str | None = None,
        *,
        warm_body: dict[str, Any] | None = None,
        whole: bool = False,
    ) -> DbWork:
        """One whole request through the test client, after an untraced one (``warm_body``, if the body
        can only be used once)."""
        request(method, path, warm_body or body, token)
        with CaptureQueriesContext(connection) as queries, wire_trace() as wire:
            response = request(method, path, body, token)
        return DbWork(
            label,
            response.status_code,
            _sql_count(queries),
            wire.round_trips,
            _statements(wire),
            wire.messages if whole else None,
        )

    def authentication_only(label: str, authenticator: BaseAuthentication) -> DbWork:
        """``authenticate`` alone as a request's first database work: its ``BEGIN`` included."""
        request = Request(RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {access}"))
        with transaction.atomic():
            authenticator.authenticate(request)  # warm: prepared statements, as after a first request
        with transaction.atomic():
            with CaptureQueriesContext(connection) as queries, wire_trace() as wire:
                result = authenticator.authenticate(request)
        return DbWork(label, 200 if result else 401, _sql_count(queries), wire.round_trips, _statements(wire))

    work = [
        traced("bare Django `GET /bench/django/`", "GET", "/bench/django/"),
        traced("bare DRF `GET /bench/drf/`", "GET", "/bench/drf/"),
        traced("stock SimpleJWT `GET /bench/simplejwt/`", "GET", "/bench/simplejwt/", token=access),
        traced("ours `GET /api/auth/me/`", "GET", "/api/auth/me/", token=access, whole=True),
        traced("diagnostic: ours auth only `GET /bench/bearer/`", "GET", "/bench/bearer/", token=access),
        traced("ours `GET /api/auth/org/members/`", "GET", "/api/auth/org/members/", token=access),
    ]
    work.insert(3, authentication_only("↳ stock `JWTAuthentication.authenticate` alone", JWTAuthentication()))
    work.append(
        authentication_only("↳ ours `BearerAuthentication.authenticate` alone", BearerAuthentication())
    )

    checks = []
    logging.getLogger("django.request").setLevel(logging.ERROR)  # the expected 401 below is not news
    work.append(
        traced(
            "stock rotation `POST /bench/simplejwt/refresh/`",
            "POST",
            "/bench/simplejwt/refresh/",
            {"refresh": stock[0]},
            warm_body={"refresh": stock[1]},
        )
    )
    outstanding, blacklisted = OutstandingToken.objects.count(), BlacklistedToken.objects.count()
    post("/bench/simplejwt/refresh/", {"refresh": stock[2]}, 200)
    grown = (OutstandingToken.objects.count() - outstanding, BlacklistedToken.objects.count() - blacklisted)
    again = client.post("/bench/simplejwt/refresh/", {"refresh": stock[2]}, content_type="application/json")
    checks.append(
        f"stock rotation is stock: one rotation wrote {grown[0]} OutstandingToken and {grown[1]} "
        f"BlacklistedToken row(s); presenting the spent token again → {again.status_code} "
        f"({'blacklisted, as expected' if again.status_code == 401 else 'UNEXPECTED'})"
    )
    work.append(
        traced(
            "ours `POST /api/auth/refresh/`",
            "POST",
            "/api/auth/refresh/",
            {"refresh": ours[0]},
            warm_body={"refresh": ours[1]},
            whole=True,
        )
    )
    work.append(traced("ours `POST /api/auth/login/`", "POST", "/api/auth/login/", login, whole=True))
    bad = [item for item in work if item.status >= 400]
    if bad:
        raise SystemExit(f"in-process request failed: {bad}")
    connection.close()
    return work, checks
