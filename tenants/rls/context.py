"""Tenant context for Postgres row-level security: the one module that sets ``app.current_org``.

How isolation works (README, "Row-level security"):

* Every tenant table (a :class:`TenantScopedModel`) has RLS enabled **and forced**, with the policy
  ``org_id = NULLIF(current_setting('app.current_org', true), '')::uuid`` for reads and writes. No org
  set means the comparison is against NULL: zero rows, never an error and never every row.
* :func:`activate_org` sets the org with ``set_config(..., is_local => true)``: the value dies with the
  transaction, so a pooled or persistent connection never carries one request's org into the next.
* :func:`own_rows_sql` lets one statement read the signed-in user's own memberships in every org (a
  read-only policy on ``app.current_user``, set for that statement only): sign-in's, ``me/``'s and
  ``orgs/``' membership list.
* :func:`cross_tenant` is the **only** other way to read or write across orgs (a token's row found
  before its org is known, the admin, maintenance commands). It switches the transaction to the
  cross-tenant role, whose policy admits every row; RLS itself is never disabled. ``grep cross_tenant``
  to audit every use.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connections, transaction

from core.postgres.base import Prepared, execute_first

# The statements of one message (core.postgres.base.execute_first): SQL, some of it prepared.
Message = Sequence[str | Prepared]

ORG_SETTING = "app.current_org"
USER_SETTING = "app.current_user"  # set for one statement at a time by own_rows_sql


class TenantContextError(RuntimeError):
    """Programming error: tenant context used outside a transaction.

    Deliberately not an API error: it is a bug, so it reaches Django's 500 handler, which logs it and
    answers a generic body (``config.views.server_error``); its message never goes to the client.
    """


def _require_transaction(using: str) -> None:
    if not connections[using].in_atomic_block:
        # Outside a transaction set_config(..., true) would vanish at once: fail loudly instead.
        raise TenantContextError("Tenant context can only be set inside a transaction (transaction.atomic).")


def _set_local_sql(setting: str, parameter: str) -> str:
    """``SET LOCAL`` of a custom setting to the ``%(parameter)s`` value: ``set_config(…, true)`` without a
    query around it (a utility statement: no plan, no result row; a third of the server's time)."""
    quoted = ".".join(f'"{part}"' for part in setting.split("."))  # "current_user" is a keyword
    return f"SET LOCAL {quoted} = %({parameter})s"


_SET_ORG_SQL = _set_local_sql(ORG_SETTING, "tenant_org")


def _org_params(org_id: uuid.UUID | str | None) -> dict[str, str]:
    return {"tenant_setting": ORG_SETTING, "tenant_org": str(org_id) if org_id else ""}


def activate_org(org_id: uuid.UUID | str | None, *, using: str = "default") -> None:
    """Make ``org_id`` the current org for the rest of the current transaction (``None`` clears it);
    as the transaction's first statement, with its ``BEGIN`` in the same message."""
    _require_transaction(using)
    with connections[using].cursor() as cursor:
        execute_first(cursor, _SET_ORG_SQL, _org_params(org_id))


def leave_org(*, using: str = "default") -> None:
    """Clear the current org, if the connection is in a transaction (outside one there is nothing to
    clear: the setting is transaction-local). For refusals: whatever a failed credential check entered,
    nothing later in the transaction runs in it."""
    if connections[using].in_atomic_block:
        activate_org(None, using=using)


def execute_in_org(cursor, org_id: uuid.UUID | None, message: Message, params: dict[str, Any]) -> None:
    """:func:`activate_org` and ``message``'s statements in one round trip; the cursor is left on the
    first statement's result.

    For the hot paths (authentication, refresh rotation): the statements run under ``org_id``'s RLS
    scope, which lasts for the rest of the transaction as with :func:`activate_org`.
    """
    _require_transaction(cursor.db.alias)
    execute_first(cursor, [_SET_ORG_SQL, *message], {**_org_params(org_id), **params})
    cursor.nextset()


_SCOPED_ONCE_SQL = (
    "SELECT set_config('app.scoped_once_previous', current_setting(%(tenant_setting)s, true), true), "
    "set_config(%(tenant_setting)s, %(tenant_org)s, true);\n{sql};\n"
    "SELECT set_config(%(tenant_setting)s, current_setting('app.scoped_once_previous', true), true)"
)


def execute_once_in_org(cursor, org_id: uuid.UUID | None, sql: str, params: dict[str, Any]) -> None:
    """Run one statement under ``org_id``'s RLS scope and put the previous scope back, in one round trip.

    For statements about another org than the request's (an audit event about the org a user just
    switched to, a membership locked at sign-in): ``tenant_context`` would cost four round trips. The
    cursor is left on ``sql``'s result.
    """
    _require_transaction(cursor.db.alias)
    execute_first(cursor, _SCOPED_ONCE_SQL.format(sql=sql), {**_org_params(org_id), **params})
    cursor.nextset()


_SET_OWN_USER_SQL = _set_local_sql(USER_SETTING, "own_user")
_CLEAR_OWN_USER_SQL = _SET_OWN_USER_SQL.replace("%(own_user)s", "''")


def own_rows_sql(sql: str | Prepared) -> Message:
    """``sql`` as statements that the own-rows policies apply to: it runs with ``app.current_user`` set to
    the ``%(own_user)s`` parameter, which is cleared again right after (three statements for one round
    trip; ``sql``'s result is the second).

    Security decision: a user's own memberships in other orgs are theirs to list at sign-in and on
    ``me/``, so that read need not be cross-tenant. Tenant tables keep the one org policy; a table that
    lets its rows be read by their user adds a ``FOR SELECT`` policy on ``USER_SETTING`` (the membership
    table does, tenants.migrations.0005). The setting lives for this one statement only, so no other
    query of the request, filtered or not, sees a row outside the request's org.
    """
    return (_SET_OWN_USER_SQL, sql, _CLEAR_OWN_USER_SQL)


def own_rows(
    sql: str | Prepared, params: dict[str, Any], *, user_id: uuid.UUID, using: str = "default"
) -> list:
    """The rows of ``sql`` read as ``user_id``'s own rows (:func:`own_rows_sql`), in one round trip."""
    with connections[using].cursor() as cursor:
        execute_first(cursor, own_rows_sql(sql), {**params, "own_user": str(user_id)})
        cursor.nextset()
        return cursor.fetchall()


def current_org_id(*, using: str = "default") -> uuid.UUID | None:
    """The org the current transaction is scoped to, if any."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT NULLIF(current_setting(%s, true), '')", [ORG_SETTING])
        value = cursor.fetchone()[0]
    return uuid.UUID(value) if value else None


@contextmanager
def tenant_context(org_id: uuid.UUID | str | None, *, using: str = "default") -> Iterator[None]:
    """Run the block in a transaction scoped to ``org_id``; the previous scope returns afterwards."""
    with transaction.atomic(using=using):
        previous = current_org_id(using=using)
        activate_org(org_id, using=using)
        yield
        activate_org(previous, using=using)


@contextmanager
def cross_tenant(*, using: str = "default") -> Iterator[None]:
    """The named cross-tenant path: the block sees and may write every org's rows.

    Security decision: instead of disabling RLS (or a GUC "bypass" flag any query could set), the
    transaction switches to ``DATABASE_CROSS_TENANT_ROLE`` with ``SET LOCAL ROLE``. Tenant tables carry
    a second policy granting that role every row; the runtime role is a NOINHERIT member of it, so it
    gets nothing from it until this function switches. The role switch is transaction-local: on normal
    exit it is switched back; on an exception the enclosing transaction is rolled back (savepoint=False
    marks it so), which undoes the switch too. Inside the block ``tenant_context`` does not narrow the
    view: the cross-tenant policy admits every row, so filter by org explicitly there.
    """
    connection = connections[using]
    quote = connection.ops.quote_name
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        # One round trip: remember the role to return to, then switch.
        cursor.execute(f"SELECT current_user; SET LOCAL ROLE {quote(settings.DATABASE_CROSS_TENANT_ROLE)}")
        previous_role = cursor.fetchone()[0]
        yield
        cursor.execute(f"SET LOCAL ROLE {quote(previous_role)}")


def cross_tenant_rows(
    sql: str, params: Sequence[Any] | dict[str, Any] = (), *, using: str = "default"
) -> list:
    """The named cross-tenant path for one read-only query, in a single round trip.

    ``SAVEPOINT; SET LOCAL ROLE <cross-tenant>; <sql>; ROLLBACK TO SAVEPOINT`` travel as one message:
    rolling back to the savepoint undoes the role switch (and anything the query could have written),
    so the transaction continues as the role it had. Use :func:`cross_tenant` for anything else.
    """
    connection = connections[using]
    role = connection.ops.quote_name(settings.DATABASE_CROSS_TENANT_ROLE)
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        cursor.execute(
            f"SAVEPOINT cross_tenant_read; SET LOCAL ROLE {role}; {sql}; "
            "ROLLBACK TO SAVEPOINT cross_tenant_read; RELEASE SAVEPOINT cross_tenant_read",
            params,
        )
        cursor.nextset()  # past SAVEPOINT
        cursor.nextset()  # past SET
        return cursor.fetchall()


def cross_tenant_entry(name: str, sql: str) -> Prepared:
    """The statement :func:`cross_tenant_enter` runs for ``sql`` (whose first column is the row's
    ``org_id``): its rows, each making its org the current one. Prepared as ``name``: a credential that
    names no org is looked up on every request it makes."""
    return Prepared(
        name,
        f"SELECT found.*, set_config('{ORG_SETTING}', found.org_id::text, true) FROM ({sql}) AS found",  # noqa: S608
    )


def cross_tenant_enter(entry: Prepared, params: dict[str, Any], *, using: str = "default") -> list:
    """The named cross-tenant path for a credential that names no org (an API key): read its row across
    orgs and enter the row's org, in one round trip.

    ``entry`` comes from :func:`cross_tenant_entry`. As one message: switch to the cross-tenant role in
    a savepoint (remembering the role it had), select (``set_config`` makes the found row's org the
    current one), switch back to the remembered role, release the savepoint. Only the read runs as the
    cross-tenant role; the rest of the transaction is scoped to the found org, with RLS as for a Bearer
    token of that org. No row: no org is entered. (A prepared statement is planned under the role that
    runs it: Postgres re-applies the row-level policies when the role differs from the one it was
    planned for.)
    """
    connection = connections[using]
    quote = connection.ops.quote_name
    _require_transaction(using)
    with connection.cursor() as cursor:
        execute_first(
            cursor,
            [
                "SAVEPOINT cross_tenant_enter",
                "SELECT set_config('app.enter_previous_role', current_user, true)",
                f"SET LOCAL ROLE {quote(settings.DATABASE_CROSS_TENANT_ROLE)}",
                entry,
                "SELECT set_config('role', current_setting('app.enter_previous_role'), true)",
                "RELEASE SAVEPOINT cross_tenant_enter",
            ],
            params,
        )
        for _ in range(3):  # past SAVEPOINT, the remembered role, SET
            cursor.nextset()
        return [row[:-1] for row in cursor.fetchall()]
