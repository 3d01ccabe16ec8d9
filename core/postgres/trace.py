"""What a block of code sends to Postgres, from libpq's protocol trace: round trips and statements.

Django logs the queries it runs, but not what the driver adds (``BEGIN``, the health check) nor how
statements are grouped into messages; the wire is what a request waits on. A diagnostic for the benchmark
(bench/probe.py) and the tests that pin the request path's round trips, never used while serving.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class WireTrace:
    """Filled when the traced block ends: one round trip per ``ReadyForQuery``, and each message's SQL."""

    round_trips: int = 0
    messages: list[str] = field(default_factory=list)


_MESSAGE = re.compile(r'^F\t\d+\t(Query|Parse)\t (?:"[^"\n]*" )?"(.*?)"[^"\n]*\n(?=[FB]\t)', re.M | re.S)


@contextlib.contextmanager
def wire_trace(using: str = "default") -> Iterator[WireTrace]:
    """Trace the protocol of Django's ``using`` connection (opened first if need be) during the block."""
    from django.db import connections
    from psycopg import pq

    connection = connections[using]
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    trace = WireTrace()
    with tempfile.TemporaryFile("w+") as log:
        pgconn.trace(log.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            yield trace
        finally:
            pgconn.untrace()
            log.seek(0)
            lines = log.read().splitlines()
    text = "\n".join(lines) + "\n"
    trace.round_trips = sum(1 for line in lines if "\tReadyForQuery" in line)
    trace.messages = [match.group(2) for match in _MESSAGE.finditer(text)]
