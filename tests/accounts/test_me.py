"""GET/PATCH /api/auth/me/: the signed-in user, their org, role and permissions."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from accounts.models import User
from tenants.policy import MembershipRole
from tests.api import AUTH, bearer, login
from tests.factories import add_member, make_user

ME = f"{AUTH}/me/"
OWNER_PERMISSIONS = {
    "organization": ["read", "write", "delete"],
    "members": ["read", "write"],
    "invitations": ["read", "write"],
    "api_keys": ["read", "write"],
    "audit": ["read"],
}
NOT_AUTHENTICATED = {"detail": "Authentication credentials were not provided.", "code": "not_authenticated"}
TOKEN_NOT_VALID = {"detail": "Token is invalid or expired.", "code": "token_not_valid"}


def membership(org, role: str) -> dict:
    return {"id": str(org.id), "name": org.name, "slug": org.slug, "role": role}


def access_for(client, email: str, **extra) -> str:
    response = login(client, email, **extra)
    assert response.status_code == HTTPStatus.OK, response.json()
    return response.json()["access"]


@pytest.fixture
def ada_access(api_client, user, org) -> str:
    return access_for(api_client, "ada@example.com")


@pytest.mark.django_db
def test_me_describes_an_owner(api_client, user, org, ada_access):
    response = api_client.get(ME, **bearer(ada_access))

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {
        "id": str(user.id),
        "email": "ada@example.com",
        "first_name": "",
        "last_name": "",
        "email_verified": False,
        "mfa_enabled": False,
        "org": membership(org, "owner"),
        "role": "owner",
        "role_level": 100,
        "permissions": OWNER_PERMISSIONS,
        "organizations": [membership(org, "owner")],
    }


@pytest.mark.django_db
def test_me_describes_a_member(api_client, org):
    bob = make_user(email="bob@example.com", first_name="Bob", last_name="Byte")
    add_member(org=org, user=bob, role=MembershipRole.MEMBER)

    response = api_client.get(ME, **bearer(access_for(api_client, "bob@example.com")))

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {
        "id": str(bob.id),
        "email": "bob@example.com",
        "first_name": "Bob",
        "last_name": "Byte",
        "email_verified": False,
        "mfa_enabled": False,
        "org": membership(org, "member"),
        "role": "member",
        "role_level": 10,
        "permissions": {"organization": ["read"], "members": ["read"]},
        "organizations": [membership(org, "member")],
    }


@pytest.mark.django_db
def test_me_of_a_token_without_an_org_has_no_role(api_client, user, org, other_org):
    add_member(org=other_org, user=user, role=MembershipRole.ADMIN)

    response = api_client.get(ME, **bearer(access_for(api_client, "ada@example.com")))

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {
        "id": str(user.id),
        "email": "ada@example.com",
        "first_name": "",
        "last_name": "",
        "email_verified": False,
        "mfa_enabled": False,
        "org": None,
        "role": None,
        "role_level": 0,
        "permissions": {},
        "organizations": [membership(org, "owner"), membership(other_org, "admin")],
    }


@pytest.mark.django_db
def test_me_without_credentials_is_unauthorized_with_a_bearer_challenge(api_client):
    response = api_client.get(ME)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == NOT_AUTHENTICATED
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("Bearer not-a-jwt", id="garbage-token"),
        pytest.param("Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl", id="forged-jwt"),
        # WSGI hands headers over as latin-1: this is what UTF-8 bytes on the wire look like.
        pytest.param("Bearer " + "tökén-🔑".encode().decode("latin-1"), id="non-ascii-token"),
        pytest.param("Bearer " + "x" * 5000, id="oversized-token"),
    ],
)
def test_me_with_an_invalid_token_is_unauthorized(api_client, user, org, authorization):
    response = api_client.get(ME, HTTP_AUTHORIZATION=authorization)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == TOKEN_NOT_VALID


@pytest.mark.django_db
def test_me_with_an_invalid_token_has_a_bearer_challenge(api_client):
    response = api_client.get(ME, HTTP_AUTHORIZATION="Bearer not-a-jwt")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("Bearer", id="keyword-without-token"),
        pytest.param("Bearer two tokens", id="two-tokens"),
    ],
)
def test_me_with_a_malformed_authorization_header_is_unauthorized(api_client, authorization):
    response = api_client.get(ME, HTTP_AUTHORIZATION=authorization)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == {"detail": "Malformed Authorization header.", "code": "token_not_valid"}


@pytest.mark.django_db
def test_me_with_a_refresh_token_as_bearer_is_unauthorized(api_client, user, org):
    refresh = login(api_client, "ada@example.com").json()["refresh"]

    response = api_client.get(ME, **bearer(refresh))

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == TOKEN_NOT_VALID


@pytest.mark.django_db
def test_patch_me_updates_the_names(api_client, user, org, ada_access):
    response = api_client.patch(
        ME, {"first_name": "Ada", "last_name": "Lovelace"}, format="json", **bearer(ada_access)
    )

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {
        "id": str(user.id),
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email_verified": False,
        "mfa_enabled": False,
        "org": membership(org, "owner"),
        "role": "owner",
        "role_level": 100,
        "permissions": OWNER_PERMISSIONS,
        "organizations": [membership(org, "owner")],
    }
    user.refresh_from_db()
    assert (user.first_name, user.last_name) == ("Ada", "Lovelace")


@pytest.mark.django_db
def test_patch_me_leaves_omitted_names_alone(api_client, user, org, ada_access):
    User.objects.filter(pk=user.pk).update(first_name="Ada", last_name="Byron")

    response = api_client.patch(ME, {"last_name": "Lovelace"}, format="json", **bearer(ada_access))

    assert response.status_code == HTTPStatus.OK
    user.refresh_from_db()
    assert (user.first_name, user.last_name) == ("Ada", "Lovelace")


@pytest.mark.django_db
def test_patch_me_ignores_fields_other_than_names(api_client, user, org, ada_access):
    response = api_client.patch(
        ME, {"email": "eve@example.com", "is_staff": True}, format="json", **bearer(ada_access)
    )

    assert response.status_code == HTTPStatus.OK
    user.refresh_from_db()
    assert (user.email, user.is_staff) == ("ada@example.com", False)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "errors"),
    [
        pytest.param(
            {"first_name": "x" * 151},
            {"first_name": ["Ensure this field has no more than 150 characters."]},
            id="first-name-of-151-chars",
        ),
        pytest.param(
            {"last_name": "Love\x00lace"}, {"last_name": ["Null characters are not allowed."]}, id="null-byte"
        ),
        pytest.param({"first_name": None}, {"first_name": ["This field may not be null."]}, id="null-name"),
        pytest.param({"first_name": ["Ada"]}, {"first_name": ["Not a valid string."]}, id="list-name"),
    ],
)
def test_patch_me_rejects_invalid_names(api_client, user, org, ada_access, body, errors):
    response = api_client.patch(ME, body, format="json", **bearer(ada_access))

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == errors
    user.refresh_from_db()
    assert (user.first_name, user.last_name) == ("", "")


@pytest.mark.django_db
def test_patch_me_without_credentials_is_unauthorized(api_client, user):
    response = api_client.patch(ME, {"first_name": "Eve"}, format="json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == NOT_AUTHENTICATED
