"""Fixtures of the API-key tests.

Acme (``org``): Ada owner; ``grace`` admin; ``bob`` member. Globex (``other_org``): Hank owner.
The ``api_client`` runs each request's on-commit callbacks as it ends (``tests/invitations/conftest.py``),
so the mail an invitation made with a key sends lands in ``mailoutbox``.
"""

from __future__ import annotations

from http import HTTPStatus

import pytest

from tenants.models import Membership
from tenants.policy import MembershipRole
from tests.api import CommittingAPIClient, login
from tests.apikeys.helpers import new_key
from tests.factories import add_member, make_user


def access_for(client, email: str) -> str:
    response = login(client, email)
    assert response.status_code == HTTPStatus.OK, response.json()
    return response.json()["access"]


@pytest.fixture
def api_client(django_capture_on_commit_callbacks) -> CommittingAPIClient:
    return CommittingAPIClient(django_capture_on_commit_callbacks)


@pytest.fixture
def ada_access(api_client, user, org) -> str:
    return access_for(api_client, "ada@example.com")


@pytest.fixture
def grace_access(api_client, org) -> str:
    add_member(org=org, user=make_user(email="grace@example.com"), role=MembershipRole.ADMIN)
    return access_for(api_client, "grace@example.com")


@pytest.fixture
def bob_member(org) -> Membership:
    return add_member(org=org, user=make_user(email="bob@example.com"), role=MembershipRole.MEMBER)


@pytest.fixture
def bob_access(api_client, bob_member) -> str:
    return access_for(api_client, "bob@example.com")


@pytest.fixture
def hank_access(api_client, other_org) -> str:
    return access_for(api_client, "hank@globex.test")


@pytest.fixture
def acme_key(api_client, ada_access) -> dict:
    """An Acme key with the default (read) scopes: the create response, ``key`` included."""
    return new_key(api_client, ada_access)


@pytest.fixture
def acme_writer(api_client, ada_access) -> dict:
    """An Acme key with every scope."""
    return new_key(
        api_client,
        ada_access,
        name="Provisioning",
        scopes=["members:read", "members:write", "invitations:read", "invitations:write", "audit:read"],
    )


@pytest.fixture
def globex_key(api_client, hank_access) -> dict:
    return new_key(api_client, hank_access, name="Globex sync", scopes=["members:read", "members:write"])
