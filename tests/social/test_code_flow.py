"""POST social/ and social/<provider>/: an authorization code (PKCE) exchanged at GOOGLE_TOKEN_URL (the
local stand-in), its ID token then verified as for google/."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from accounts.models import User
from social.models import SocialIdentity
from tenants.audit import AuditEventType as E
from tests.api import claims
from tests.audit.helpers import assert_no_secret_stored, only, token_secrets
from tests.fake_google import CLIENT_ID
from tests.social.helpers import (
    REDIRECT_URI,
    SOCIAL,
    VERIFIER,
    closed_port_url,
    code_sign_in,
    counts,
    failures,
)

SOCIAL_GOOGLE = f"{SOCIAL}google/"
UNKNOWN_PROVIDER = {"detail": "Unknown identity provider.", "code": "unknown_provider"}
INVALID_CODE = {
    "detail": "The authorization code is invalid, expired or was already used.",
    "code": "invalid_code",
}


@pytest.mark.django_db
def test_the_provider_in_the_body_signs_in_with_pkce(api_client, google):
    code = google.code_for(google.id_token())

    response = code_sign_in(
        api_client, provider="google", code=code, redirect_uri=REDIRECT_URI, code_verifier=VERIFIER
    )

    assert response.status_code == HTTPStatus.CREATED
    body = response.json()
    user = User.objects.get()
    assert body["user"]["id"] == str(user.id)
    assert (body["user"]["email"], body["organizations"], body["org"]) == ("ada@gmail.com", [], None)
    assert claims(body["access"])["amr"] == ["ext"]
    assert SocialIdentity.objects.get().subject == "google-sub-ada"
    assert google.token_requests == [
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": CLIENT_ID,  # the first of GOOGLE_OAUTH_CLIENT_IDS
            "client_secret": "test-client-secret",
            "code_verifier": VERIFIER,
        }
    ]
    assert only(E.SIGN_IN_SUCCEEDED).details == {"method": "google", "amr": ["ext"]}
    assert only(E.USER_REGISTERED).details == {"method": "google"}
    assert_no_secret_stored(code, VERIFIER, "test-client-secret", *token_secrets(body))


@pytest.mark.django_db
def test_the_provider_in_the_path_signs_in(api_client, google):
    code = google.code_for(google.id_token())

    response = code_sign_in(api_client, SOCIAL_GOOGLE, code=code, redirect_uri=REDIRECT_URI)

    assert response.status_code == HTTPStatus.CREATED
    assert len(google.token_requests) == 1
    sent = google.token_requests[0]
    assert "code_verifier" not in sent
    assert (sent["code"], sent["redirect_uri"], sent["client_id"]) == (code, REDIRECT_URI, CLIENT_ID)


@pytest.mark.django_db
def test_the_same_provider_in_body_and_path_is_accepted(api_client, google):
    code = google.code_for(google.id_token())

    response = code_sign_in(
        api_client, SOCIAL_GOOGLE, provider="google", code=code, redirect_uri=REDIRECT_URI
    )

    assert response.status_code == HTTPStatus.CREATED


@pytest.mark.django_db
def test_a_second_code_sign_in_is_200_for_the_same_user(api_client, google):
    first = code_sign_in(
        api_client, SOCIAL_GOOGLE, code=google.code_for(google.id_token()), redirect_uri=REDIRECT_URI
    )
    second = code_sign_in(
        api_client, SOCIAL_GOOGLE, code=google.code_for(google.id_token()), redirect_uri=REDIRECT_URI
    )

    assert (first.status_code, second.status_code) == (HTTPStatus.CREATED, HTTPStatus.OK)
    assert first.json()["user"]["id"] == second.json()["user"]["id"]
    assert counts() == (1, 1, 2)


@pytest.mark.django_db
def test_an_unknown_code_is_400_invalid_code(api_client, google):
    response = code_sign_in(api_client, SOCIAL_GOOGLE, code="made-up", redirect_uri=REDIRECT_URI)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == INVALID_CODE
    assert len(google.token_requests) == 1
    assert counts() == (0, 0, 0)
    assert failures() == [{"method": "google", "reason": "invalid_code"}]


@pytest.mark.django_db
def test_a_reused_code_is_400_invalid_code(api_client, google):
    code = google.code_for(google.id_token())
    first = code_sign_in(api_client, SOCIAL_GOOGLE, code=code, redirect_uri=REDIRECT_URI)

    again = code_sign_in(api_client, SOCIAL_GOOGLE, code=code, redirect_uri=REDIRECT_URI)

    assert first.status_code == HTTPStatus.CREATED
    assert again.status_code == HTTPStatus.BAD_REQUEST
    assert again.json() == INVALID_CODE
    assert counts() == (1, 1, 1)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/auth/google/callback",
        REDIRECT_URI + "/",
        REDIRECT_URI + "?next=https://evil.example",
        REDIRECT_URI.upper(),
    ],
)
def test_a_redirect_uri_not_allowed_is_400_and_google_is_never_asked(api_client, google, redirect_uri):
    code = google.code_for(google.id_token())

    response = code_sign_in(api_client, SOCIAL_GOOGLE, code=code, redirect_uri=redirect_uri)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert set(response.json()) == {"redirect_uri"}
    assert google.token_requests == []
    assert counts() == (0, 0, 0)


@pytest.mark.django_db
def test_another_allowed_redirect_uri_is_accepted_and_passed_on(api_client, google, settings):
    other = "https://app.example.com/auth/google/callback"
    settings.OAUTH_REDIRECT_URIS = [REDIRECT_URI, other]
    code = google.code_for(google.id_token())

    response = code_sign_in(api_client, SOCIAL_GOOGLE, code=code, redirect_uri=other)

    assert response.status_code == HTTPStatus.CREATED
    assert google.token_requests[0]["redirect_uri"] == other


@pytest.mark.django_db
@pytest.mark.parametrize("path", [f"{SOCIAL}github/", f"{SOCIAL}GOOGLE/", f"{SOCIAL}__proto__/"])
def test_an_unknown_provider_in_the_path_is_400(api_client, google, path):
    code = google.code_for(google.id_token())

    response = code_sign_in(api_client, path, code=code, redirect_uri=REDIRECT_URI)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == UNKNOWN_PROVIDER
    assert google.token_requests == []


@pytest.mark.django_db
@pytest.mark.parametrize("provider", ["github", "", None], ids=["github", "blank", "missing"])
def test_an_unknown_or_missing_provider_in_the_body_is_400(api_client, google, provider):
    body = {"code": google.code_for(google.id_token()), "redirect_uri": REDIRECT_URI}
    if provider is not None:
        body["provider"] = provider

    response = code_sign_in(api_client, **body)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    if provider == "":
        assert set(response.json()) == {"provider"}  # a blank field is a validation error
    else:
        assert response.json() == UNKNOWN_PROVIDER
    assert google.token_requests == []
    assert counts() == (0, 0, 0)


@pytest.mark.django_db
def test_a_body_provider_differing_from_the_path_is_400(api_client, google):
    code = google.code_for(google.id_token())

    response = code_sign_in(
        api_client, SOCIAL_GOOGLE, provider="github", code=code, redirect_uri=REDIRECT_URI
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert set(response.json()) == {"provider"}
    assert google.token_requests == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [{}, {"code": "c"}, {"redirect_uri": REDIRECT_URI}, {"code": "", "redirect_uri": REDIRECT_URI}],
)
def test_missing_fields_are_400(api_client, google, body):
    response = code_sign_in(api_client, SOCIAL_GOOGLE, **body)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert google.token_requests == []


@pytest.mark.django_db
def test_a_token_endpoint_error_is_503_provider_unavailable(api_client, google):
    google.token_status = 500
    code = google.code_for(google.id_token())

    response = code_sign_in(api_client, SOCIAL_GOOGLE, code=code, redirect_uri=REDIRECT_URI)

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["code"] == "provider_unavailable"
    assert counts() == (0, 0, 0)
    assert failures() == [{"method": "google", "reason": "provider_unavailable"}]


@pytest.mark.django_db
def test_a_token_endpoint_401_is_our_misconfiguration_not_the_users_code(api_client, google, caplog):
    """401 is invalid_client (a wrong secret): 503 for the user, an error in the log for the operator."""
    google.token_status = 401
    code = google.code_for(google.id_token())

    response = code_sign_in(api_client, SOCIAL_GOOGLE, code=code, redirect_uri=REDIRECT_URI)

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["code"] == "provider_unavailable"
    assert any(
        record.levelname == "ERROR" and "token endpoint" in record.getMessage() for record in caplog.records
    )


@pytest.mark.django_db
def test_an_unreachable_token_endpoint_is_503(api_client, google, settings):
    settings.GOOGLE_TOKEN_URL = closed_port_url("/token")

    response = code_sign_in(api_client, SOCIAL_GOOGLE, code="any", redirect_uri=REDIRECT_URI)

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["code"] == "provider_unavailable"
    assert counts() == (0, 0, 0)


@pytest.mark.django_db
def test_no_client_secret_is_503_without_asking_google(api_client, google, settings):
    settings.GOOGLE_OAUTH_CLIENT_SECRET = ""
    code = google.code_for(google.id_token())

    response = code_sign_in(api_client, SOCIAL_GOOGLE, code=code, redirect_uri=REDIRECT_URI)

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert google.token_requests == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("token_arguments", "reason"),
    [
        ({"aud": "someone-else.apps.googleusercontent.com"}, "wrong_audience"),
        ({"email_verified": False}, "email_unverified"),
        ({"iss": "https://evil.example"}, "wrong_issuer"),
    ],
)
def test_a_returned_id_token_failing_verification_is_401(api_client, google, token_arguments, reason):
    code = google.code_for(google.id_token(**token_arguments))

    response = code_sign_in(api_client, SOCIAL_GOOGLE, code=code, redirect_uri=REDIRECT_URI)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == {"detail": "The ID token is invalid.", "code": "invalid_id_token"}
    assert counts() == (0, 0, 0)
    assert failures() == [{"method": "google", "reason": reason}]
