"""POST /api/auth/token/: the form-encoded OAuth2 password grant (Swagger UI's Authorize button)."""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import urlencode

import pytest

from accounts.models import Session
from tests.api import AUTH, bearer, claims
from tests.factories import DEFAULT_PASSWORD

TOKEN = f"{AUTH}/token/"
ME = f"{AUTH}/me/"


def token_request(client, **fields):
    return client.post(TOKEN, urlencode(fields), content_type="application/x-www-form-urlencoded")


def password_grant(client, username: str = "ada@example.com", password: str = DEFAULT_PASSWORD):
    return token_request(client, grant_type="password", username=username, password=password)


@pytest.mark.django_db
def test_password_grant_answers_an_oauth2_token_response(api_client, user, org):
    response = password_grant(api_client)

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body == {
        "access_token": body["access_token"],
        "token_type": "bearer",
        "expires_in": 900,
        "refresh_token": body["refresh_token"],
    }
    assert claims(body["access_token"])["token_type"] == "access"
    assert claims(body["refresh_token"])["token_type"] == "refresh"


@pytest.mark.django_db
def test_password_grant_response_is_not_cached(api_client, user, org):
    response = password_grant(api_client)

    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"


@pytest.mark.django_db
def test_password_grant_access_token_works_as_bearer(api_client, user, org):
    access = password_grant(api_client).json()["access_token"]

    response = api_client.get(ME, **bearer(access))

    assert response.status_code == HTTPStatus.OK
    assert response.json()["email"] == "ada@example.com"
    assert response.json()["org"]["id"] == str(org.id)


@pytest.mark.django_db
def test_password_grant_opens_a_session(api_client, user, org):
    access = password_grant(api_client).json()["access_token"]

    assert [str(session.id) for session in Session.objects.filter(user=user)] == [claims(access)["sid"]]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("username", "password"),
    [
        pytest.param("ada@example.com", "wrong horse battery staple", id="wrong-password"),
        pytest.param("nobody@example.com", DEFAULT_PASSWORD, id="unknown-user"),
    ],
)
def test_password_grant_with_bad_credentials_is_invalid_grant(api_client, user, org, username, password):
    response = password_grant(api_client, username, password)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"error": "invalid_grant", "error_description": "Invalid username or password."}
    assert not Session.objects.exists()


@pytest.mark.django_db
def test_client_credentials_grant_with_user_fields_is_unsupported(api_client, user, org):
    response = token_request(
        api_client, grant_type="client_credentials", username="ada@example.com", password=DEFAULT_PASSWORD
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {
        "error": "unsupported_grant_type",
        "error_description": "Only the password grant is supported.",
    }
    assert not Session.objects.exists()


@pytest.mark.django_db
def test_client_credentials_grant_is_unsupported(api_client):
    response = token_request(
        api_client, grant_type="client_credentials", client_id="swagger", client_secret="s"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["error"] == "unsupported_grant_type"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"grant_type": "password", "password": DEFAULT_PASSWORD}, id="no-username"),
        pytest.param({"grant_type": "password", "username": "ada@example.com"}, id="no-password"),
        pytest.param({"username": "ada@example.com", "password": DEFAULT_PASSWORD}, id="no-grant-type"),
        pytest.param({}, id="empty-body"),
    ],
)
def test_password_grant_with_missing_fields_is_invalid_request(api_client, user, org, fields):
    response = token_request(api_client, **fields)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "grant_type, username and password are required.",
    }


@pytest.mark.django_db
def test_token_endpoint_refuses_json(api_client, user, org):
    response = api_client.post(
        TOKEN,
        {"grant_type": "password", "username": "ada@example.com", "password": DEFAULT_PASSWORD},
        format="json",
    )

    assert response.status_code == HTTPStatus.UNSUPPORTED_MEDIA_TYPE
