"""Fixtures of the invitation tests.

``EMAIL_DELIVERY`` is ``immediate`` in tests: the email job runs in the request and its mail goes out
when the request commits. The ``api_client`` here (the pattern of ``tests/magiclinks/conftest.py``) runs
each request's on-commit callbacks as it ends, so ``mailoutbox`` holds what a request sent.

Acme (``org``): Ada owner; ``grace`` admin; ``bob`` member. Globex (``other_org``): Hank owner.
"""

from __future__ import annotations

import pytest

from accounts.models import User
from tenants.policy import MembershipRole
from tests.api import CommittingAPIClient
from tests.factories import add_member, make_user
from tests.invitations.helpers import access_for


@pytest.fixture
def api_client(django_capture_on_commit_callbacks) -> CommittingAPIClient:
    return CommittingAPIClient(django_capture_on_commit_callbacks)


@pytest.fixture
def ada_access(api_client, user, org) -> str:
    return access_for(api_client, "ada@example.com")


@pytest.fixture
def grace(org) -> User:
    grace = make_user(email="grace@example.com", first_name="Grace", last_name="Hopper")
    add_member(org=org, user=grace, role=MembershipRole.ADMIN)
    return grace


@pytest.fixture
def grace_access(api_client, grace) -> str:
    return access_for(api_client, grace.email)


@pytest.fixture
def bob_access(api_client, org) -> str:
    add_member(org=org, user=make_user(email="bob@example.com"), role=MembershipRole.MEMBER)
    return access_for(api_client, "bob@example.com")


@pytest.fixture
def hank_access(api_client, other_org) -> str:
    return access_for(api_client, "hank@globex.test")
