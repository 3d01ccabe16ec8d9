"""Test fixtures. The suite runs against real Postgres with RLS on, as the runtime role.

The test database is created and migrated as the owner (``owner_connection``) exactly as ``migrate``
does in production; tests then connect as ``DATABASE_APP_ROLE``, bound by the policies.
"""

from __future__ import annotations

import pytest
from django.test.utils import setup_databases, teardown_databases

from tenants.roles import owner_connection
from tests.factories import make_org, make_user


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_blocker):
    with django_db_blocker.unblock(), owner_connection("default"):
        config = setup_databases(verbosity=0, interactive=False, keepdb=False)
    yield
    with django_db_blocker.unblock(), owner_connection("default"):
        teardown_databases(config, verbosity=0)


@pytest.fixture
def user(db):
    return make_user(email="ada@example.com", password="correct horse battery staple")


@pytest.fixture
def org(db, user):
    return make_org(name="Acme", owner=user)


@pytest.fixture
def other_org(db):
    return make_org(name="Globex", owner=make_user(email="hank@globex.test"))


@pytest.fixture(autouse=True)
def _fresh_throttle_buckets():
    """Throttle counters live in the cache: every test starts with empty buckets."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()
