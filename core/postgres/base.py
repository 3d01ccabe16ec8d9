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
"""

from __future__ import annotations

import re
import select
import time
from collections.abc import Sequence
from typing import Any

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


class DatabaseWrapper(postgresql.DatabaseWrapper):
    # The names PREPAREd on the current connection; None: send statements whole (prepared statements off,
    # or this connection's set is in doubt after a failed message: it retires when its request ends).
    prepared_statements: set[str] | None = None

    def init_connection_state(self) -> None:
        super().init_connection_state()
        self.prepared_statements = set() if self.settings_dict.get("PREPARED_STATEMENTS", True) else None

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
    round trip, with the transaction's ``BEGIN`` in it when it is the first statement of a Django
    transaction (``atomic``) that psycopg has not begun yet, and the ``PREPARE`` of any prepared
    statement the connection lacks.

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
