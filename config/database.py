"""Database configuration: parse ``DATABASE_URL``, or start the embedded development Postgres.

Two roles take part (see README, "Row-level security"):

* the **owner** (``DATABASE_MIGRATE_URL``, else the ``DATABASE_URL`` user) runs migrations and
  provisions the runtime role;
* the **runtime role** (``DATABASE_APP_ROLE``, default ``authsvc_app``) handles requests and is bound
  by row-level security. It is reached either with Django's ``assume_role`` option on the owner's
  connection (the default) or, when ``DATABASE_MIGRATE_URL`` is set, with ``DATABASE_URL``'s own
  non-owner credentials.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

EMBEDDED_DATABASE_NAME = "authsvc"
CONNECT_TIMEOUT_SECONDS = 5

logger = logging.getLogger(__name__)


def parse_database_url(url: str) -> dict[str, Any]:
    """Turn ``postgres://user:password@host:port/name?sslmode=require`` into Django settings.

    A ``host`` query parameter (a Unix socket directory, as the embedded server hands out) wins over
    the network location. Other query parameters become connection ``OPTIONS``.
    """
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise ValueError(f"DATABASE_URL must be a postgres:// URL, not {parts.scheme!r}")
    options = dict(parse_qsl(parts.query))
    host = options.pop("host", None) or parts.hostname or ""
    return {
        "ENGINE": "core.postgres",  # Django's backend, minus two round trips a request
        "NAME": unquote(parts.path.lstrip("/")) or "postgres",
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host,
        "PORT": str(parts.port or ""),
        "OPTIONS": options,
    }


def embedded_database_url(data_dir: Path) -> str:
    """Start (or join) the embedded Postgres under ``data_dir`` and return a superuser URL to its database.

    pgserver keeps one server per data folder across processes and stops it when the last process
    that asked for it exits. The first call on a fresh machine runs ``initdb`` (a few seconds).
    """
    import warnings

    import psycopg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: "XDG_RUNTIME_DIR is not set" on servers
        import pgserver

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir / "pgdata")
    with psycopg.connect(server.get_uri(database="postgres"), autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [EMBEDDED_DATABASE_NAME]
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{EMBEDDED_DATABASE_NAME}"')
            logger.info("created embedded database %s in %s", EMBEDDED_DATABASE_NAME, data_dir)
    return server.get_uri(database=EMBEDDED_DATABASE_NAME)


def database_settings(
    *, url: str, migrate_url: str | None, app_role: str, conn_max_age: int, prepared_statements: bool = True
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return ``(runtime, owner)`` settings for the ``default`` alias.

    ``runtime`` is what requests use; ``owner`` holds the keys to swap in while migrating (see
    :func:`tenants.rls.postgres_roles.owner_connection`).
    """
    runtime = parse_database_url(url)
    runtime.update(CONN_MAX_AGE=conn_max_age, CONN_HEALTH_CHECKS=True, ATOMIC_REQUESTS=True)
    # The hot statements are prepared per connection (core.postgres.base.Prepared); off behind a pooler
    # in transaction mode.
    runtime["PREPARED_STATEMENTS"] = prepared_statements
    # A database that does not answer fails the request with 503 within seconds, not a worker hung on
    # connect (DATABASE_URL's own ?connect_timeout= wins).
    runtime["OPTIONS"].setdefault("connect_timeout", str(CONNECT_TIMEOUT_SECONDS))
    if migrate_url:
        owner_source = parse_database_url(migrate_url)
    else:
        owner_source = dict(runtime, OPTIONS=dict(runtime["OPTIONS"]))
        runtime["OPTIONS"]["assume_role"] = app_role
    owner = {key: owner_source[key] for key in ("USER", "PASSWORD", "HOST", "PORT", "OPTIONS")}
    return runtime, owner


def resolve_database_url(base_dir: Path, *, allow_embedded: bool) -> str:
    """``DATABASE_URL`` when set, otherwise the embedded server's URL (development only)."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        return url
    if not allow_embedded:
        raise ImproperlyConfigured(
            "DATABASE_URL must be set when DJANGO_DEBUG is off (no embedded database)."
        )
    data_dir = Path(os.environ.get("AUTHSVC_DATA_DIR", base_dir / "var"))
    return embedded_database_url(data_dir)
