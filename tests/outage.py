"""Take the database out of the app's reach for the length of a block (as a server that is down)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import connection


@contextlib.contextmanager
def database_unreachable() -> Iterator[None]:
    """Every connection attempt in the block fails at once (a socket folder that does not exist)."""
    saved = connection.settings_dict["HOST"]
    connection.close()
    connection.settings_dict["HOST"] = "/nonexistent-socket-dir"
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["HOST"] = saved
