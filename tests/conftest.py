"""Test fixtures. The suite runs against real Postgres with RLS on, as the runtime role.

The test database is created and migrated as the owner (``owner_connection``) exactly as ``migrate``
does in production; tests then connect as ``DATABASE_APP_ROLE``, bound by the policies.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest
from django.db import connections
from django.test.utils import setup_databases, teardown_databases

from tenants.rls.postgres_roles import owner_connection
from tests.factories import make_org, make_user


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_blocker):
    # One test database per pytest process, so parallel runs on one server don't drop each other's.
    default = connections["default"].settings_dict
    default.setdefault("TEST", {})["NAME"] = f"test_{default['NAME']}_{os.getpid()}"
    with django_db_blocker.unblock(), owner_connection("default"):
        config = setup_databases(verbosity=0, interactive=False, keepdb=False)
    yield
    with django_db_blocker.unblock(), owner_connection("default"):
        teardown_databases(config, verbosity=0)


def _is_transactional(item: pytest.Item) -> bool:
    marker = item.get_closest_marker("django_db")
    transactional = bool(marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])))
    return transactional or "transactional_db" in getattr(item, "fixturenames", ())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None]:
    """Transactional tests are emptied with ``flush`` (TRUNCATE): as the owner, since the runtime role
    rightly has DML only (TRUNCATE ignores row-level security)."""
    if not _is_transactional(item):
        return (yield)
    with owner_connection("default"):
        return (yield)


@pytest.fixture
def user(db):
    return make_user(email="ada@example.com", password="correct horse battery staple")


@pytest.fixture
def org(db, user):
    return make_org(name="Acme", owner=user)


@pytest.fixture
def other_org(db):
    return make_org(name="Globex", owner=make_user(email="hank@globex.test"))


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hasher():
    """Hashing is not what most tests are about: MD5 first (hashes it made still verify); tests about
    hashing itself set ``PASSWORD_HASHERS`` back with the ``settings`` fixture."""
    from django.conf import settings
    from django.contrib.auth.hashers import get_hashers, get_hashers_by_algorithm

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *settings.PASSWORD_HASHERS]
    get_hashers.cache_clear()
    get_hashers_by_algorithm.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_throttle_buckets():
    """Throttle counters live in the cache: every test starts with empty buckets."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def superuser(db):
    from accounts.models import User

    return User.objects.create_superuser(email="root@example.com", password="root password 12345")


@pytest.fixture
def admin_client(client, superuser):
    """Django's test client, signed in to the admin as ``superuser``."""
    client.force_login(superuser)
    return client


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def private_postgres(tmp_path):
    """A Postgres server of the test's own (bench.server.private_postgres), stopped afterwards."""
    from bench.server import private_postgres as start

    server = start(tmp_path)
    try:
        yield server
    finally:
        server.cleanup()
