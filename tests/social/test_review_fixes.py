"""What the security review of Google sign-in found, pinned: odd claims are 401s (not 500s), a Workspace
``hd`` vouches only for its own domain, the PKCE verifier's format, the token endpoint's errors mapped."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from social.models import SocialIdentity
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.social.helpers import counts, google_sign_in

REDIRECT_URI = "http://localhost:3000/auth/google/callback"


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": ["https://accounts.google.com"]},
        {"sub": "s" * 256},
        {"email": "a" * 250 + "@gmail.com"},
        {"email": "ada\x00@gmail.com"},
        {"email": "not-an-address"},
        {"aud": ["web-client.apps.googleusercontent.com", "someone-else"]},
        {"hd": ["acme.test"]},
    ],
    ids=["iss-list", "long-sub", "long-email", "nul-email", "bad-email", "aud-list", "hd-list"],
)
@pytest.mark.django_db
def test_odd_claims_are_refused_not_a_server_error(api_client, google, claims):
    before = counts()

    response = google_sign_in(api_client, google.id_token(**claims))

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "invalid_id_token"
    assert counts() == before


@pytest.mark.django_db
def test_names_keep_printable_characters_only(api_client, google):
    response = google_sign_in(api_client, google.id_token(given_name="Ada\x00\x1b[31m", family_name=7))

    assert response.status_code == HTTPStatus.CREATED
    assert (response.json()["user"]["first_name"], response.json()["user"]["last_name"]) == ("Ada[31m", "")


@pytest.mark.django_db(transaction=True)
def test_a_workspace_hd_vouches_for_its_own_domain_only(api_client, google):
    make_user(email="ada@elsewhere.test", password=DEFAULT_PASSWORD, email_verified=True)

    response = google_sign_in(api_client, google.id_token(email="ada@elsewhere.test", hd="acme.test"))

    assert response.status_code == HTTPStatus.CONFLICT
    assert not SocialIdentity.objects.exists()


@pytest.mark.parametrize("verifier", ["short", "x" * 129, "has space" + "x" * 40, "ü" * 43])
@pytest.mark.django_db
def test_a_malformed_code_verifier_is_400_before_the_token_endpoint(api_client, google, verifier):
    response = api_client.post(
        "/api/auth/social/google/",
        {"code": "c", "redirect_uri": REDIRECT_URI, "code_verifier": verifier},
        format="json",
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert set(response.json()) == {"code_verifier"}
    assert google.token_requests == []


@pytest.mark.django_db
def test_a_token_endpoint_redirect_is_not_followed(api_client, google):
    google.token_status = 307  # the fake answers it without a Location: either way, never followed

    response = api_client.post(
        "/api/auth/social/google/", {"code": "c", "redirect_uri": REDIRECT_URI}, format="json"
    )

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert len(google.token_requests) == 1
