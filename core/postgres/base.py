"""Django's PostgreSQL backend (psycopg 3) with two round trips taken off every request.

* **The health check costs no round trip.** ``CONN_HEALTH_CHECKS`` makes Django send ``SELECT 1`` before
  a request's first query on a persistent connection. Here the check asks the kernel instead: an idle
  connection has nothing to read, so a readable socket means the server ended it (a restart, a
  ``pg_terminate_backend``, an idle timeout: Postgres sends its FATAL message and closes) and the
  connection is replaced before use. A connection that breaks without a word (a network partition)
  fails on its first statement instead, and the request is answered 503
  (``core.middleware.DatabaseUnavailableMiddleware``); Django drops the broken connection when the
  request ends, and the next request connects afresh. The app never needs a restart.
* **``BEGIN`` travels with the first statement.** psycopg opens a transaction with a ``BEGIN`` of its
  own, one round trip before the statement. :func:`execute_first` lets a hot path (authentication,
  refresh) send ``BEGIN;`` and its statement as one message instead.

And the hot statements are planned once per connection, not once per request (:class:`Prepared`).

**The runtime role is the transaction's, never the session's.** With ``assume_role`` (the owner's login,
requests as the RLS-bound runtime role) Django would ``SET ROLE`` once per connection: session state, which
an injected ``RESET ROLE`` or ``SET ROLE NONE`` undoes for every later transaction, and which a
transaction-pooling PgBouncer hands to whichever client gets that server connection next (while the app's
next transaction may land on one that never had it). Here nothing is set on the session; instead every
transaction starts with ``SET LOCAL ROLE <runtime role>``, which dies with it (:class:`RuntimeRoleCursor`):

* a hot path's first message carries it after its ``BEGIN`` (:func:`execute_first`): no round trip;
* any other transaction's first statement carries it in front, in the same message (psycopg's own
  ``BEGIN`` goes before, as always): no round trip either;
* a statement outside any transaction (autocommit) carries it in front too: the two then run as one
  implicit transaction, so the role again ends with the statement. Statements that refuse to run in a
  transaction block (``VACUUM``, ``CREATE DATABASE``, ``… CONCURRENTLY``) fail under ``assume_role``:
  they are the owner's work (``migrate``, maintenance), which connects without it
  (``tenants.rls.postgres_roles.owner_connection``), and the runtime role could not run them anyway;
* ``executemany``, a server-side (named) cursor or a server-side-binding cursor can't take a statement in
  front: the role goes in a message of its own first (one round trip more, on those rare paths), in a
  transaction of its own when there was none.
"""

from __future__ import annotations

import contextlib
import re
import select
import time
from collections.abc import Sequence
from typing import Any

import psycopg
from django.db import transaction
from django.db.backends import utils
from django.db.backends.postgresql import base as postgresql
from psycopg import pq

_IDLE = pq.TransactionStatus.IDLE
_CONNECTION_OK = pq.ConnStatus.OK


def _ended_by_server(raw) -> bool:
    """Whether an idle psycopg connection is unusable: closed, broken, or readable while idle (the
    server's goodbye, or its end-of-stream). A kernel query, no round trip."""
    if raw.closed or raw.broken or raw.pgconn.status != _CONNECTION_OK:
        return True
    poller = select.poll()
    poller.register(raw.pgconn.socket, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


class Prepared:
    """A hot statement that Postgres parses and plans once per connection instead of once per request.

    The principal query joins four tables under row-level security: planning it costs Postgres several
    times what running it does (0.23 ms against 0.04 ms here), on every authenticated request. As a
    prepared statement its plan is cached by the connection, and after five runs Postgres settles on a
    generic plan (``plan_cache_mode``). ``sql`` uses ``%(name)s`` parameters, as everywhere else; the
    first message that uses the statement on a connection carries ``PREPARE <name> AS <sql>`` in front,
    later ones only ``EXECUTE <name>(<parameters>)`` (client-side bound, like every other query: one
    simple-protocol message, still one round trip). Put it in a message with :func:`execute_first`.

    Connection poolers in transaction mode (PgBouncer) hand each transaction whatever server connection
    is free, where an SQL-level prepared statement may not exist: set ``DATABASE_PREPARED_STATEMENTS=0``
    behind one, and the statements are sent whole, as before.
    """

    _PARAMETER = re.compile(r"%\((\w+)\)s")

    def __init__(self, name: str, sql: str) -> None:
        order: list[str] = []

        def number(match: re.Match[str]) -> str:
            if match.group(1) not in order:
                order.append(match.group(1))
            return f"${order.index(match.group(1)) + 1}"

        self.name = name
        self.sql = sql
        self.prepare_sql = f"PREPARE {name} AS {self._PARAMETER.sub(number, sql)}"
        self.execute_sql = f"EXECUTE {name}({', '.join(f'%({key})s' for key in order)})"

    def __repr__(self) -> str:
        return f"Prepared({self.name!r})"


def role_switch_sql(role: str) -> str:
    """``SET LOCAL ROLE`` to ``role``, quoted as an identifier."""
    return 'SET LOCAL ROLE "{}"'.format(role.replace('"', '""'))


class RuntimeRoleCursor:
    """Django's cursor wrapper, sending the connection's role switch (``DatabaseWrapper.role_switch``)
    with the first statement of every transaction and with every statement outside one (module
    docstring). Innermost: Django's query log and execute wrappers see the statement as written."""

    def _execute(self, sql, params, *ignored_wrapper_args):
        switch = self.db.role_switch
        if switch is None or not self._role_pending():
            return super()._execute(sql, params, *ignored_wrapper_args)
        if isinstance(sql, str) and isinstance(self.cursor, psycopg.ClientCursor):
            # Bound client-side: one simple-protocol message, any number of statements.
            prefix = switch if params is None else switch.replace("%", "%%")
            result = super()._execute(f"{prefix};\n{sql}", params, *ignored_wrapper_args)
            self.cursor.nextset()  # the caller reads its own statement's result
            return result
        return self._after_role_switch(super()._execute, sql, params, *ignored_wrapper_args)

    def _executemany(self, sql, param_list, *ignored_wrapper_args):
        if self.db.role_switch is None or not self._role_pending():
            return super()._executemany(sql, param_list, *ignored_wrapper_args)
        return self._after_role_switch(super()._executemany, sql, param_list, *ignored_wrapper_args)

    def _role_pending(self) -> bool:
        """Whether the server is outside a transaction, so this statement begins one (psycopg sends its
        ``BEGIN`` first) or runs in autocommit; not while :func:`execute_first` sends a ``BEGIN`` of
        its own, which carries the switch already (psycopg's flag on inside Django's atomic block)."""
        raw = self.db.connection
        return raw.pgconn.transaction_status == _IDLE and not (self.db.in_atomic_block and raw.autocommit)

    def _after_role_switch(self, run, sql, params, *ignored_wrapper_args):
        """``run`` after the switch as a message of its own, inside a transaction (``atomic`` when the
        connection is in autocommit: the switch must last past its own message)."""
        db = self.db
        with transaction.atomic(using=db.alias) if db.get_autocommit() else contextlib.nullcontext():
            db.validate_no_broken_transaction()
            with db.wrap_database_errors:
                db.connection.execute(db.role_switch)  # a cursor of its own: this one may be named
            return run(sql, params, *ignored_wrapper_args)


class _CursorWrapper(RuntimeRoleCursor, utils.CursorWrapper):
    pass


class _CursorDebugWrapper(RuntimeRoleCursor, utils.CursorDebugWrapper):
    pass


class DatabaseWrapper(postgresql.DatabaseWrapper):
    # The names PREPAREd on the current connection; None: send statements whole (prepared statements off,
    # or this connection's set is in doubt after a failed message: it retires when its request ends).
    prepared_statements: set[str] | None = None
    # SET LOCAL ROLE <assume_role> for every transaction (module docstring); None without assume_role.
    role_switch: str | None = None

    def init_connection_state(self) -> None:
        super().init_connection_state()
        self.prepared_statements = set() if self.settings_dict.get("PREPARED_STATEMENTS", True) else None
        role = self.settings_dict["OPTIONS"].get("assume_role")
        self.role_switch = role_switch_sql(role) if role else None

    def _configure_role(self, connection) -> bool:
        """No session-level ``SET ROLE``: the role is set per transaction instead (module docstring)."""
        return False

    def make_cursor(self, cursor):
        return _CursorWrapper(cursor, self)

    def make_debug_cursor(self, cursor):
        return _CursorDebugWrapper(cursor, self)

    def close_if_health_check_failed(self) -> None:
        """Django's per-request health check (``CONN_HEALTH_CHECKS``), without the ``SELECT 1``."""
        if self.connection is None or not self.health_check_enabled or self.health_check_done:
            return
        if self.pool is None and _ended_by_server(self.connection):
            self.close()
        self.health_check_done = True


def execute_first(
    cursor, message: str | Sequence[str | Prepared], params: dict[str, Any] | None = None
) -> None:
    """Execute ``message`` (SQL, or the statements of one message, some of them :class:`Prepared`) as one
    round trip, with the transaction's ``BEGIN`` (and, under ``assume_role``, its role switch) in it when
    it is the first statement of a Django transaction (``atomic``) that psycopg has not begun yet, and the
    ``PREPARE`` of any prepared statement the connection lacks.

    psycopg sends ``BEGIN`` before a statement when it is not in autocommit mode and the server is idle.
    Here, the client-side autocommit flag is turned on (no I/O while idle) and ``BEGIN;`` goes in front
    of ``sql``: the server is then in the transaction Django opened, and psycopg, seeing it, sends no
    ``BEGIN`` of its own for the rest of it; Django's ``COMMIT``/``ROLLBACK`` go out as always (psycopg
    ends whatever transaction the server reports) and leave autocommit on, as Django sets it after a
    transaction anyway. If the message never started a transaction (it failed before being sent), the
    flag is put back, so the next statement begins one as usual. The cursor is left on ``sql``'s first
    result. Only for a plain transaction (no isolation level, read-only or deferrable option of psycopg's).
    """
    db = cursor.db
    parts = (message,) if isinstance(message, str) else message
    known = db.prepared_statements
    prefix = []
    preparing = [] if known is None else [p for p in parts if isinstance(p, Prepared) and p.name not in known]
    raw = db.connection
    begin = (
        db.in_atomic_block
        and not raw.autocommit
        and raw.pgconn.transaction_status == _IDLE
        and raw.isolation_level is None
        and raw.read_only is None
        and not raw.deferrable
    )
    if begin:
        prefix.append("BEGIN")  # first: the PREPAREs then belong to no implicit transaction of their own
        if db.role_switch is not None:
            # The transaction's role, in the same message (module docstring).
            prefix.append(db.role_switch if params is None else db.role_switch.replace("%", "%%"))
    prefix += [statement.prepare_sql for statement in preparing]
    sql = ";\n".join(
        [
            *prefix,
            *(
                part if isinstance(part, str) else part.sql if known is None else part.execute_sql
                for part in parts
            ),
        ]
    )
    if begin:
        raw.autocommit = True
    try:
        cursor.execute(sql, params)
    except Exception:
        if preparing:  # which PREPAREs ran is unknown (they outlive a rollback): no more on this connection
            db.prepared_statements = None
            db.close_at = time.monotonic()
        raise
    finally:
        if begin and raw.pgconn.transaction_status == _IDLE:
            raw.autocommit = False
    if known is not None:
        known.update(statement.name for statement in preparing)
    for _ in prefix:
        cursor.nextset()
