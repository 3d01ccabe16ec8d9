"""Deleting old rows in batches: each batch its own short transaction, so a table is never locked for
long and an interrupted run resumes next time (the ``*_purge`` commands run from cron)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from django.db import connection, transaction


def delete_in_batches(
    sql: str,
    params: Sequence[Any],
    *,
    batch_size: int,
    scope: Callable[[], AbstractContextManager[Any]] = contextlib.nullcontext,
) -> int:
    """Run ``sql`` (a ``DELETE`` of at most ``%s`` rows, the batch size being its last parameter) until a
    batch deletes fewer rows than ``batch_size``; each batch in a transaction entered with ``scope``.
    Returns how many rows went."""
    total = 0
    while True:
        with transaction.atomic(), scope(), connection.cursor() as cursor:
            cursor.execute(sql, [*params, batch_size])
            deleted = cursor.rowcount
        total += deleted
        if deleted < batch_size:
            return total
