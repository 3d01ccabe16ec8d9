"""Database roles: provisioning the runtime and cross-tenant roles, and the owner connection.

Run by ``migrate`` (see ``tenants/management/commands/migrate.py``) as the database owner or a
superuser; every statement is idempotent.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_owner_depth = threading.local()


def _role(name: str) -> str:
    if not _ROLE_NAME.match(name):
        raise ImproperlyConfigured(f"Database role name {name!r} must match {_ROLE_NAME.pattern}")
    return name


def ensure_roles(connection) -> None:
    """Create the runtime and cross-tenant roles if missing and wire their memberships.

    * runtime role: NOLOGIN NOINHERIT (give it LOGIN and a password yourself for the
      separate-credentials setup), no superuser, no BYPASSRLS;
    * cross-tenant role: NOLOGIN; the runtime role is a member **without inherit**, so it can
      ``SET ROLE`` to it (the named cross-tenant path) but never gets its policy implicitly;
    * a non-superuser owner becomes a member of both, so ``assume_role`` and the cross-tenant path
      work on the owner's connection too.
    """
    app, cross = _role(settings.DATABASE_APP_ROLE), _role(settings.DATABASE_CROSS_TENANT_ROLE)
    body = f"""
    DO $provision$
    BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{app}') THEN
        CREATE ROLE "{app}" NOLOGIN NOINHERIT NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
      END IF;
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{cross}') THEN
        CREATE ROLE "{cross}" NOLOGIN NOINHERIT NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
      END IF;
      IF NOT pg_has_role('{app}', '{cross}', 'MEMBER') THEN
        IF current_setting('server_version_num')::int >= 160000 THEN
          EXECUTE 'GRANT "{cross}" TO "{app}" WITH INHERIT FALSE';
        ELSE
          EXECUTE 'GRANT "{cross}" TO "{app}"';
        END IF;
      END IF;
      IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        IF current_setting('server_version_num')::int >= 160000 THEN
          -- PostgreSQL 16 gives a role's creator ADMIN on it but not SET: grant SET explicitly.
          IF NOT pg_has_role(current_user, '{app}', 'SET') THEN
            EXECUTE format('GRANT "{app}" TO %I WITH SET TRUE', current_user);
          END IF;
          IF NOT pg_has_role(current_user, '{cross}', 'SET') THEN
            EXECUTE format('GRANT "{cross}" TO %I WITH SET TRUE', current_user);
          END IF;
        ELSE
          IF NOT pg_has_role(current_user, '{app}', 'MEMBER') THEN
            EXECUTE format('GRANT "{app}" TO %I', current_user);
          END IF;
          IF NOT pg_has_role(current_user, '{cross}', 'MEMBER') THEN
            EXECUTE format('GRANT "{cross}" TO %I', current_user);
          END IF;
        END IF;
      END IF;
    END
    $provision$;
    """  # noqa: S608 (role names are validated by _role)
    with connection.cursor() as cursor:
        cursor.execute(body)


def grant_runtime_privileges(connection) -> None:
    """Give both roles DML (never DDL, TRUNCATE or ownership) on every table of the schema."""
    app, cross = _role(settings.DATABASE_APP_ROLE), _role(settings.DATABASE_CROSS_TENANT_ROLE)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        schema = connection.ops.quote_name(cursor.fetchone()[0])
        cursor.execute(f'GRANT USAGE ON SCHEMA {schema} TO "{app}", "{cross}"')
        cursor.execute(
            f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO "{app}", "{cross}"'
        )
        cursor.execute(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO "{app}", "{cross}"')


@contextmanager
def owner_connection(alias: str = "default") -> Iterator[None]:
    """Within the block, this thread's ``alias`` connects as the owner (no ``assume_role``).

    Used by ``migrate`` and the test database setup. The connection gets a copy of its settings with
    the owner's credentials, so other threads keep the runtime role; afterwards the original settings
    dict is put back first (whatever ``close()`` does), so a database NAME changed inside the block
    (the test database, which Django also writes to ``settings.DATABASES``) is kept.
    """
    connection = connections[alias]
    overrides = settings.DATABASE_OWNER_OVERRIDES if alias == "default" else {}
    original = connection.settings_dict
    connection.close()
    connection.settings_dict = {**original, **{key: _copy(value) for key, value in overrides.items()}}
    depth = _owner_depth.__dict__
    depth[alias] = depth.get(alias, 0) + 1
    try:
        yield
    finally:
        depth[alias] -= 1
        original["NAME"] = connection.settings_dict["NAME"]
        connection.settings_dict = original
        connection.close()


def is_owner_connection(alias: str = "default") -> bool:
    """True inside :func:`owner_connection` for ``alias`` (in this thread)."""
    return _owner_depth.__dict__.get(alias, 0) > 0


def _copy(value):
    return dict(value) if isinstance(value, dict) else value
