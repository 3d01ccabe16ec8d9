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
"""

from __future__ import annotations

import select
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


class DatabaseWrapper(postgresql.DatabaseWrapper):
    def close_if_health_check_failed(self) -> None:
        """Django's per-request health check (``CONN_HEALTH_CHECKS``), without the ``SELECT 1``."""
        if self.connection is None or not self.health_check_enabled or self.health_check_done:
            return
        if self.pool is None and _ended_by_server(self.connection):
            self.close()
        self.health_check_done = True


def execute_first(cursor, sql: str, params: dict[str, Any] | None = None) -> None:
    """``cursor.execute(sql, params)``, with the transaction's ``BEGIN`` in the same message when it is
    the first statement of a Django transaction (``atomic``) that psycopg has not begun yet.

    psycopg sends ``BEGIN`` before a statement when it is not in autocommit mode and the server is idle.
    Here, the client-side autocommit flag is turned on (no I/O while idle) and ``BEGIN;`` goes in front
    of ``sql``: the server is then in the transaction Django opened, and psycopg, seeing it, sends no
    ``BEGIN`` of its own for the rest of it; Django's ``COMMIT``/``ROLLBACK`` go out as always (psycopg
    ends whatever transaction the server reports) and leave autocommit on, as Django sets it after a
    transaction anyway. If the message never started a transaction (it failed before being sent), the
    flag is put back, so the next statement begins one as usual. The cursor is left on ``sql``'s first
    result. Only for a plain transaction (no isolation level, read-only or deferrable option of psycopg's).
    """
    raw = cursor.db.connection
    if (
        cursor.db.in_atomic_block
        and not raw.autocommit
        and raw.pgconn.transaction_status == _IDLE
        and raw.isolation_level is None
        and raw.read_only is None
        and not raw.deferrable
    ):
        raw.autocommit = True
        try:
            cursor.execute(f"BEGIN;\n{sql}", params)
        finally:
            if raw.pgconn.transaction_status == _IDLE:
                raw.autocommit = False
        cursor.nextset()  # past BEGIN
    else:
        cursor.execute(sql, params)
