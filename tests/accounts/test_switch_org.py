"""POST switch-org/: a new pair scoped to another of the caller's orgs; the old session ends."""

from __future__ import annotations

import uuid
from http import HTTPStatus

import pytest

from accounts.models import Session
from tenants.models import Membership
from tenants.policy import MembershipRole
from tenants.rls.context import tenant_context
from tests.api import AUTH, bearer, claims, login
from tests.factories import add_member

SESSION_ENDED = {"detail": "The session of this token has ended.", "code": "token_not_valid"}
TOKEN_NOT_VALID = {"detail": "Token is invalid or expired.", "code": "token_not_valid"}


def switch_org(client, access, org_id):
    return client.post(f"{AUTH}/switch-org/", {"org_id": str(org_id)}, format="json", **bearer(access))


def me(client, access):
    return client.get(f"{AUTH}/me/", **bearer(access))


@pytest.fixture
def membership(user, org, other_org) -> Membership:
    """Ada owns Acme and is a plain member of Globex."""
    return add_member(org=other_org, user=user, role=MembershipRole.MEMBER)


@pytest.fixture
def orgless_pair(api_client, user, membership) -> dict:
    """Ada signs in with two orgs and none chosen."""
    response = login(api_client, user.email)
    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert (body["org"], claims(body["access"])["org_id"]) == (None, None)
    return body


@pytest.fixture
def switched(api_client, orgless_pair, other_org):
    return switch_org(api_client, orgless_pair["access"], other_org.id)


@pytest.mark.django_db
def test_switch_org_answers_a_pair_scoped_to_that_org(user, org, other_org, switched):
    assert switched.status_code == HTTPStatus.OK
    body = switched.json()
    assert body == {
        "access": body["access"],
        "refresh": body["refresh"],
        "expires_in": 900,
        "user": {
            "id": str(user.id),
            "email": "ada@example.com",
            "first_name": "",
            "last_name": "",
            "email_verified": False,
        },
        "organizations": [
            {"id": str(org.id), "name": "Acme", "slug": "acme", "role": "owner"},
            {"id": str(other_org.id), "name": "Globex", "slug": "globex", "role": "member"},
        ],
        "org": {"id": str(other_org.id), "name": "Globex", "slug": "globex", "role": "member"},
    }


@pytest.mark.django_db
@pytest.mark.parametrize("token", ["access", "refresh"])
def test_switch_org_tokens_carry_the_org_and_membership(user, other_org, membership, switched, token):
    payload = claims(switched.json()[token])

    assert payload["token_type"] == token
    assert (payload["user_id"], payload["org_id"], payload["profile_id"]) == (
        str(user.id),
        str(other_org.id),
        str(membership.id),
    )


@pytest.mark.django_db
def test_switch_org_opens_a_new_session(orgless_pair, switched):
    new_sid = claims(switched.json()["access"])["sid"]

    assert new_sid != claims(orgless_pair["access"])["sid"]
    assert Session.objects.get(id=new_sid).revoked_at is None


@pytest.mark.django_db
def test_switch_org_revokes_the_old_session(orgless_pair, switched):
    session = Session.objects.get(id=claims(orgless_pair["access"])["sid"])

    assert session.revoked_at is not None
    assert session.revoked_reason == "switch_org"


@pytest.mark.django_db
def test_switch_org_ends_the_old_access_token(api_client, orgless_pair, switched):
    response = me(api_client, orgless_pair["access"])

    assert (response.status_code, response.json()) == (HTTPStatus.UNAUTHORIZED, SESSION_ENDED)


@pytest.mark.django_db
def test_switch_org_ends_the_old_refresh_token(api_client, orgless_pair, switched):
    response = api_client.post(f"{AUTH}/refresh/", {"refresh": orgless_pair["refresh"]}, format="json")

    assert (response.status_code, response.json()) == (HTTPStatus.UNAUTHORIZED, TOKEN_NOT_VALID)


@pytest.mark.django_db
def test_switched_access_sees_the_new_orgs_members_only(api_client, switched):
    response = api_client.get(f"{AUTH}/org/members/", **bearer(switched.json()["access"]))

    assert response.status_code == HTTPStatus.OK
    assert sorted((row["user"]["email"], row["role"]) for row in response.json()) == [
        ("ada@example.com", "member"),
        ("hank@globex.test", "owner"),
    ]


@pytest.mark.django_db
def test_switched_access_reports_the_new_role_on_me(api_client, other_org, switched):
    body = me(api_client, switched.json()["access"]).json()

    assert (body["org"], body["role"]) == (
        {"id": str(other_org.id), "name": "Globex", "slug": "globex", "role": "member"},
        "member",
    )


@pytest.mark.django_db
def test_switch_org_from_an_org_scoped_session(api_client, user, org, other_org, membership):
    acme = login(api_client, user.email, org="acme").json()

    response = switch_org(api_client, acme["access"], other_org.id)

    assert response.status_code == HTTPStatus.OK
    assert claims(response.json()["access"])["org_id"] == str(other_org.id)
    assert me(api_client, acme["access"]).status_code == HTTPStatus.UNAUTHORIZED


# --- Refusals --------------------------------------------------------------------------------------


@pytest.fixture
def acme_pair(api_client, user, org) -> dict:
    """Ada, a member of Acme only."""
    return login(api_client, user.email).json()


def _foreign_org(other_org, user):
    return other_org.id


def _unknown_org(other_org, user):
    return uuid.uuid4()


def _left_org(other_org, user):
    membership = add_member(org=other_org, user=user)
    with tenant_context(other_org.id):
        Membership.objects.filter(pk=membership.pk).update(is_active=False)
    return other_org.id


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("target", "status", "body"),
    [
        (
            _foreign_org,
            HTTPStatus.FORBIDDEN,
            {"detail": "You are not a member of this organization.", "code": "not_a_member"},
        ),
        (
            _left_org,
            HTTPStatus.FORBIDDEN,
            {"detail": "You are not a member of this organization.", "code": "not_a_member"},
        ),
        (_unknown_org, HTTPStatus.NOT_FOUND, {"detail": "Organization not found.", "code": "org_not_found"}),
    ],
    ids=["not-a-member", "inactive-membership", "unknown-org"],
)
def test_switch_org_refusal(api_client, user, other_org, acme_pair, target, status, body):
    response = switch_org(api_client, acme_pair["access"], target(other_org, user))

    assert (response.status_code, response.json()) == (status, body)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        ({"org_id": "acme"}, {"org_id": ["Must be a valid UUID."]}),
        ({"org_id": "1234"}, {"org_id": ["Must be a valid UUID."]}),
        ({"org_id": 42}, {"org_id": ["Must be a valid UUID."]}),
        ({"org_id": None}, {"org_id": ["This field may not be null."]}),
        ({}, {"org_id": ["This field is required."]}),
    ],
)
def test_switch_org_rejects_malformed_input(api_client, acme_pair, payload, errors):
    response = api_client.post(f"{AUTH}/switch-org/", payload, format="json", **bearer(acme_pair["access"]))

    assert (response.status_code, response.json()) == (HTTPStatus.BAD_REQUEST, errors)


@pytest.mark.django_db
@pytest.mark.parametrize("target", [_foreign_org, _unknown_org], ids=["not-a-member", "unknown-org"])
def test_refused_switch_org_keeps_the_callers_session(api_client, user, other_org, acme_pair, target):
    switch_org(api_client, acme_pair["access"], target(other_org, user))

    assert me(api_client, acme_pair["access"]).status_code == HTTPStatus.OK
    assert Session.objects.filter(user=user).count() == 1


@pytest.mark.django_db
def test_switch_org_without_credentials_is_refused(api_client, other_org):
    response = api_client.post(f"{AUTH}/switch-org/", {"org_id": str(other_org.id)}, format="json")

    assert (response.status_code, response.json()) == (
        HTTPStatus.UNAUTHORIZED,
        {"detail": "Authentication credentials were not provided.", "code": "not_authenticated"},
    )
