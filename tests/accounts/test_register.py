"""POST /api/auth/register/: a new user who owns a new org, signed in with a token pair."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from accounts.models import Session, User
from tenants.models import Membership, Organization
from tenants.policy import MembershipRole
from tenants.rls.context import cross_tenant
from tests.api import AUTH, claims, login

REGISTER = f"{AUTH}/register/"
STRONG_PASSWORD = "violet tangerine submarine 42"
ACCESS_SECONDS = 15 * 60
REFRESH_SECONDS = 14 * 86400
IDENTITY_CLAIMS = ("user_id", "profile_id", "org_id", "sid")


def register(client, **overrides):
    body = {
        "email": "grace@example.com",
        "password": STRONG_PASSWORD,
        "organization_name": "Hopper Labs",
        "first_name": "Grace",
        "last_name": "Hopper",
        **overrides,
    }
    return client.post(REGISTER, body, format="json")


def owner_memberships(user_id) -> list[Membership]:
    with cross_tenant():
        return list(Membership.objects.filter(user_id=user_id).select_related("org"))


@pytest.mark.django_db
def test_register_answers_201_with_the_token_pair(api_client):
    response = register(api_client)

    assert response.status_code == HTTPStatus.CREATED
    body = response.json()
    user = User.objects.get(email="grace@example.com")
    org = Organization.objects.get(slug="hopper-labs")
    membership = {"id": str(org.id), "name": "Hopper Labs", "slug": "hopper-labs", "role": "owner"}
    assert body == {
        "access": body["access"],
        "refresh": body["refresh"],
        "expires_in": ACCESS_SECONDS,
        "user": {
            "id": str(user.id),
            "email": "grace@example.com",
            "first_name": "Grace",
            "last_name": "Hopper",
            "email_verified": False,
        },
        "organizations": [membership],
        "org": membership,
    }
    assert isinstance(body["access"], str) and isinstance(body["refresh"], str)


@pytest.mark.django_db
def test_register_stores_the_email_lower_cased(api_client):
    response = register(api_client, email="  Grace.Hopper@Example.COM ")

    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["user"]["email"] == "grace.hopper@example.com"
    assert list(User.objects.values_list("email", flat=True)) == ["grace.hopper@example.com"]


@pytest.mark.django_db
def test_register_creates_the_user_the_org_and_the_owner_membership(api_client):
    register(api_client, organization_name="Hopper & Sons, Ltd.")

    user = User.objects.get(email="grace@example.com")
    assert (user.first_name, user.last_name) == ("Grace", "Hopper")
    assert user.check_password(STRONG_PASSWORD)
    org = Organization.objects.get()
    assert (org.name, org.slug) == ("Hopper & Sons, Ltd.", "hopper-sons-ltd")
    assert [(p.org_id, p.role, p.is_active) for p in owner_memberships(user.id)] == [
        (org.id, MembershipRole.OWNER, True)
    ]


@pytest.mark.django_db
def test_register_access_token_carries_the_identity_claims(api_client):
    body = register(api_client).json()

    access = claims(body["access"])
    user = User.objects.get(email="grace@example.com")
    (membership,) = owner_memberships(user.id)
    session = Session.objects.get(user=user)
    assert set(access) == {
        "token_type",
        "exp",
        "iat",
        "jti",
        "iss",
        "aud",
        "amr",
        "acr",
        "aal",
        *IDENTITY_CLAIMS,
    }
    assert (access["iss"], access["aud"], access["amr"]) == ("authsvc", "authsvc", ["pwd"])
    assert (access["acr"], access["aal"]) == ("aal1", 1)  # one factor
    assert access["token_type"] == "access"
    assert access["exp"] - access["iat"] == ACCESS_SECONDS
    assert access["jti"]
    assert {claim: access[claim] for claim in IDENTITY_CLAIMS} == {
        "user_id": str(user.id),
        "profile_id": str(membership.id),
        "org_id": str(membership.org_id),
        "sid": str(session.id),
    }


@pytest.mark.django_db
def test_register_refresh_token_carries_the_same_identity_claims(api_client):
    body = register(api_client).json()

    access, refresh = claims(body["access"]), claims(body["refresh"])
    assert refresh["token_type"] == "refresh"
    assert refresh["exp"] - refresh["iat"] == REFRESH_SECONDS
    assert refresh["jti"] != access["jti"]
    assert {claim: refresh[claim] for claim in IDENTITY_CLAIMS} == {
        claim: access[claim] for claim in IDENTITY_CLAIMS
    }


REQUIRED = ["This field is required."]
INVALID_EMAIL = ["Enter a valid email address."]
NULL_CHARACTERS = ["Null characters are not allowed."]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        pytest.param({"email": "not-an-email"}, {"email": INVALID_EMAIL}, id="malformed-email"),
        pytest.param({"email": "grace@"}, {"email": INVALID_EMAIL}, id="email-without-domain"),
        pytest.param(
            {"email": None, "password": None, "organization_name": None},
            {field: ["This field may not be null."] for field in ("email", "password", "organization_name")},
            id="null-fields",
        ),
        pytest.param(
            {"password": "k3y$9!x"},
            {"password": ["This password is too short. It must contain at least 8 characters."]},
            id="password-of-7-chars",
        ),
        pytest.param(
            {"password": "x9!" * 43},
            {"password": ["This password is too long. It must contain at most 128 characters."]},
            id="password-of-129-chars",
        ),
        pytest.param(
            {"password": "password123"}, {"password": ["This password is too common."]}, id="common-password"
        ),
        pytest.param(
            {"email": "margaret.hamilton@example.com", "password": "margaret.hamilton"},
            {"password": ["The password is too similar to the email."]},
            id="password-similar-to-email",
        ),
        pytest.param(
            {"password": "hopper!!1"},
            {"password": ["The password is too similar to the last name."]},
            id="password-similar-to-a-name",
        ),
        pytest.param(
            {"organization_name": "   "},
            {"organization_name": ["This field may not be blank."]},
            id="blank-organization-name",
        ),
        pytest.param(
            {"organization_name": "x" * 201},
            {"organization_name": ["Ensure this field has no more than 200 characters."]},
            id="organization-name-too-long",
        ),
        pytest.param({"email": 123}, {"email": INVALID_EMAIL}, id="email-is-a-number"),
        pytest.param({"password": ["x"]}, {"password": ["Not a valid string."]}, id="password-is-a-list"),
        pytest.param(
            {"organization_name": {"name": "x"}},
            {"organization_name": ["Not a valid string."]},
            id="organization-name-is-an-object",
        ),
        pytest.param(
            {"first_name": "Gr\x00ace"}, {"first_name": NULL_CHARACTERS}, id="null-byte-in-first-name"
        ),
        pytest.param(
            {"last_name": "x" * 151},
            {"last_name": ["Ensure this field has no more than 150 characters."]},
            id="last-name-too-long",
        ),
    ],
)
def test_register_rejects_invalid_input_with_a_field_map(api_client, overrides, errors):
    response = register(api_client, **overrides)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == errors
    assert not User.objects.exists()


@pytest.mark.django_db
def test_register_rejects_missing_fields(api_client):
    response = api_client.post(REGISTER, {}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"email": REQUIRED, "password": REQUIRED, "organization_name": REQUIRED}


@pytest.mark.django_db
def test_register_rejects_an_organization_name_without_letters_or_digits(api_client):
    response = register(api_client, organization_name="!!!")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {
        "detail": "The organization name must contain letters or digits.",
        "code": "invalid_name",
    }
    assert not User.objects.exists()
    assert not Organization.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("email", ["ada@example.com", "ADA@Example.Com"])
def test_register_with_a_taken_email_is_a_conflict(api_client, user, email):
    response = register(api_client, email=email)

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json() == {"detail": "An account with this email already exists.", "code": "email_taken"}
    assert User.objects.count() == 1
    assert not Organization.objects.filter(slug="hopper-labs").exists()


@pytest.mark.django_db
def test_register_with_a_taken_org_slug_is_a_conflict_and_writes_nothing(api_client, org):
    response = register(api_client, organization_name="ACME")

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json() == {
        "detail": "An organization with this name already exists.",
        "code": "org_slug_taken",
    }
    assert not User.objects.filter(email="grace@example.com").exists()
    assert not Session.objects.exists()
    assert Organization.objects.count() == 1


@pytest.mark.django_db
def test_register_is_refused_when_signup_is_disabled(api_client, settings):
    settings.AUTH_ALLOW_SIGNUP = False

    response = register(api_client)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json() == {"detail": "Sign-up is disabled.", "code": "signup_disabled"}
    assert not User.objects.exists()
    assert not Organization.objects.exists()
    assert not Session.objects.exists()


LONG_UNICODE_PASSWORD = ("Zürich café 東京 ñandú 🦙 " * 8)[:128]


@pytest.mark.django_db
def test_register_accepts_a_128_char_unicode_password_with_spaces(api_client):
    assert len(LONG_UNICODE_PASSWORD) == 128

    response = register(api_client, password=LONG_UNICODE_PASSWORD)

    assert response.status_code == HTTPStatus.CREATED
    assert login(api_client, "grace@example.com", LONG_UNICODE_PASSWORD).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_register_never_truncates_the_password(api_client):
    register(api_client, password=LONG_UNICODE_PASSWORD)

    response = login(api_client, "grace@example.com", LONG_UNICODE_PASSWORD[:127])

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "invalid_credentials"
