"""POST /api/auth/login/: email + password (+ optional org) for a token pair."""

from __future__ import annotations

import uuid
from http import HTTPStatus

import pytest

from accounts.models import Session
from tenants.models import Membership
from tenants.policy import MembershipRole
from tenants.rls.context import cross_tenant
from tests.api import AUTH, claims, login
from tests.factories import DEFAULT_PASSWORD, add_member, make_user

LOGIN = f"{AUTH}/login/"
INVALID_CREDENTIALS = {"detail": "Invalid email or password.", "code": "invalid_credentials"}


def membership(org, role: str) -> dict:
    return {"id": str(org.id), "name": org.name, "slug": org.slug, "role": role}


def membership_of(user, org) -> Membership:
    with cross_tenant():
        return Membership.objects.get(user=user, org=org)


@pytest.fixture
def two_org_user(user, org, other_org):
    """Ada: owner of Acme, member of Globex."""
    add_member(org=other_org, user=user, role=MembershipRole.MEMBER)
    return user


@pytest.mark.django_db
def test_login_of_a_single_org_user_chooses_that_org(api_client, user, org):
    response = login(api_client, "ada@example.com")

    assert response.status_code == HTTPStatus.OK
    body = response.json()
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
        "organizations": [membership(org, "owner")],
        "org": membership(org, "owner"),
    }
    access = claims(body["access"])
    assert (access["org_id"], access["profile_id"]) == (str(org.id), str(membership_of(user, org).id))


@pytest.mark.django_db
def test_login_matches_the_email_case_insensitively(api_client, user, org):
    response = login(api_client, "  ADA@Example.com ")

    assert response.status_code == HTTPStatus.OK
    assert response.json()["user"]["email"] == "ada@example.com"


@pytest.mark.django_db
def test_login_of_a_multi_org_user_chooses_no_org(api_client, two_org_user, org, other_org):
    response = login(api_client, "ada@example.com")

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body["org"] is None
    assert body["organizations"] == [membership(org, "owner"), membership(other_org, "member")]
    for token in (body["access"], body["refresh"]):
        token_claims = claims(token)
        assert (token_claims["org_id"], token_claims["profile_id"]) == (None, None)
        assert token_claims["user_id"] == str(two_org_user.id)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "reference",
    [
        pytest.param(lambda org: str(org.id), id="org-id"),
        pytest.param(lambda org: org.slug, id="org-slug"),
        pytest.param(lambda org: org.slug.upper(), id="org-slug-upper-case"),
    ],
)
def test_login_with_an_org_chooses_it(api_client, two_org_user, org, other_org, reference):
    response = login(api_client, "ada@example.com", org=reference(other_org))

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body["org"] == membership(other_org, "member")
    assert body["organizations"] == [membership(org, "owner"), membership(other_org, "member")]
    expected = {"org_id": str(other_org.id), "profile_id": str(membership_of(two_org_user, other_org).id)}
    for token in (body["access"], body["refresh"]):
        token_claims = claims(token)
        assert {claim: token_claims[claim] for claim in expected} == expected


@pytest.mark.django_db
def test_login_with_an_unknown_email_is_invalid_credentials(api_client, user):
    response = login(api_client, "nobody@example.com")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == INVALID_CREDENTIALS


@pytest.mark.django_db
def test_login_with_a_wrong_password_is_invalid_credentials(api_client, user):
    response = login(api_client, "ada@example.com", "wrong horse battery staple")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == INVALID_CREDENTIALS


@pytest.mark.django_db
def test_login_answers_alike_for_unknown_email_and_wrong_password(api_client, user):
    unknown = login(api_client, "nobody@example.com")
    wrong = login(api_client, "ada@example.com", "wrong horse battery staple")

    assert (unknown.status_code, unknown.json()) == (wrong.status_code, wrong.json())


@pytest.mark.django_db
def test_login_of_an_inactive_user_is_invalid_credentials(api_client, user, org):
    user.is_active = False
    user.save(update_fields=["is_active"])

    response = login(api_client, "ada@example.com")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == INVALID_CREDENTIALS


@pytest.mark.django_db
def test_login_of_a_passwordless_user_is_invalid_credentials(api_client):
    make_user(email="nopass@example.com", password=None)

    response = login(api_client, "nopass@example.com", DEFAULT_PASSWORD)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == INVALID_CREDENTIALS


@pytest.mark.django_db
def test_login_with_an_org_the_user_is_not_in_is_forbidden(api_client, user, org, other_org):
    response = login(api_client, "ada@example.com", org=other_org.slug)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json() == {"detail": "You are not a member of this organization.", "code": "not_a_member"}
    assert not Session.objects.exists()


@pytest.mark.django_db
def test_login_with_an_org_of_an_ended_membership_is_forbidden(api_client, two_org_user, other_org):
    with cross_tenant():
        Membership.objects.filter(user=two_org_user, org=other_org).update(is_active=False)

    response = login(api_client, "ada@example.com", org=str(other_org.id))

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == "not_a_member"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "reference",
    [pytest.param("no-such-org", id="unknown-slug"), pytest.param(str(uuid.uuid4()), id="unknown-id")],
)
def test_login_with_an_unknown_org_is_not_found(api_client, user, org, reference):
    response = login(api_client, "ada@example.com", org=reference)

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == {"detail": "Organization not found.", "code": "org_not_found"}
    assert not Session.objects.exists()


@pytest.mark.django_db
def test_login_with_an_org_checks_the_password_first(api_client, user, org, other_org):
    response = login(api_client, "ada@example.com", "wrong horse battery staple", org=other_org.slug)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == INVALID_CREDENTIALS


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "errors"),
    [
        pytest.param(
            {"email": "ada", "password": DEFAULT_PASSWORD},
            {"email": ["Enter a valid email address."]},
            id="malformed-email",
        ),
        pytest.param(
            {"email": "ada@example.com"}, {"password": ["This field is required."]}, id="no-password"
        ),
        pytest.param(
            {"email": "ada@example.com", "password": ""},
            {"password": ["This field may not be blank."]},
            id="blank-password",
        ),
        pytest.param({"password": DEFAULT_PASSWORD}, {"email": ["This field is required."]}, id="no-email"),
        pytest.param(
            {"email": "ada@example.com", "password": DEFAULT_PASSWORD, "org": ""},
            {"org": ["This field may not be blank."]},
            id="blank-org",
        ),
        pytest.param(
            {"email": "ada@example.com", "password": {"$ne": ""}},
            {"password": ["Not a valid string."]},
            id="password-is-an-object",
        ),
    ],
)
def test_login_rejects_invalid_input(api_client, user, org, body, errors):
    response = api_client.post(LOGIN, body, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == errors


@pytest.mark.django_db
def test_login_records_a_session_with_user_agent_and_ip(api_client, user, org):
    response = api_client.post(
        LOGIN,
        {"email": "ada@example.com", "password": DEFAULT_PASSWORD},
        format="json",
        HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
        REMOTE_ADDR="203.0.113.7",
    )

    assert response.status_code == HTTPStatus.OK
    session = Session.objects.get(user=user)
    assert str(session.id) == claims(response.json()["access"])["sid"]
    assert session.user_agent == "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"
    assert session.ip == "203.0.113.7"
    assert session.active_org_id == org.id
    assert session.revoked_at is None


@pytest.mark.django_db
def test_each_login_opens_a_new_session(api_client, user, org):
    first = claims(login(api_client, "ada@example.com").json()["access"])
    second = claims(login(api_client, "ada@example.com").json()["access"])

    assert first["sid"] != second["sid"]
    assert Session.objects.filter(user=user).count() == 2


@pytest.mark.django_db
def test_login_cleans_a_hostile_user_agent_before_storing_it(api_client, user, org):
    response = api_client.post(
        LOGIN,
        {"email": "ada@example.com", "password": DEFAULT_PASSWORD},
        format="json",
        HTTP_USER_AGENT="evil\x00agent " + "A" * 1000,
    )

    assert response.status_code == HTTPStatus.OK
    session = Session.objects.get(user=user)
    assert session.user_agent == ("evilagent " + "A" * 1000)[:512]


@pytest.mark.django_db
def test_login_behind_a_proxy_records_the_forwarded_ip(api_client, settings, user, org):
    settings.NUM_PROXIES = 1

    response = api_client.post(
        LOGIN,
        {"email": "ada@example.com", "password": DEFAULT_PASSWORD},
        format="json",
        HTTP_X_FORWARDED_FOR="198.51.100.9, 203.0.113.50",
    )

    assert response.status_code == HTTPStatus.OK
    assert Session.objects.get(user=user).ip == "203.0.113.50"


@pytest.mark.django_db
def test_login_with_a_garbled_forwarded_ip_records_the_peer_address(api_client, settings, user, org):
    settings.NUM_PROXIES = 1

    response = api_client.post(
        LOGIN,
        {"email": "ada@example.com", "password": DEFAULT_PASSWORD},
        format="json",
        HTTP_X_FORWARDED_FOR="999.0.0.1",
    )

    assert response.status_code == HTTPStatus.OK
    assert Session.objects.get(user=user).ip == "127.0.0.1"
