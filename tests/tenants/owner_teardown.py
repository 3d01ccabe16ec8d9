"""Run the teardown of transactional tests as the database owner.

``django_db(transaction=True)`` tests empty the database afterwards with Django's ``flush``, i.e.
``TRUNCATE``. The runtime role the suite connects as has DML only (``TRUNCATE`` ignores row-level
security, so it must not have it) and the flush fails with "permission denied". The session fixture
in ``tests/conftest.py`` creates the test database as the owner; this hook empties it as the owner
too. Import ``pytest_runtest_teardown`` into a ``conftest.py`` to apply it to that folder.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

from tenants.roles import owner_connection


def is_transactional(item: pytest.Item) -> bool:
    marker = item.get_closest_marker("django_db")
    transactional = bool(marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])))
    return transactional or "transactional_db" in getattr(item, "fixturenames", ())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None]:
    if not is_transactional(item):
        return (yield)
    with owner_connection("default"):
        return (yield)
