"""POST google/: a Google ID token (Google Identity Services) verified with google-auth against the
local stand-in's key set; any failure is 401 ``invalid_id_token`` with nothing written but the audit event."""

from __future__ import annotations

import base64
import json
import time
from http import HTTPStatus

import pytest

from accounts.models import Session, User
from social.models import SocialIdentity
from tenants.audit import AuditEventType as E
from tests.api import claims
from tests.audit.helpers import assert_no_secret_stored, committed_events, events, only, token_secrets
from tests.fake_google import CLIENT_ID, OTHER_CLIENT_ID, STRANGER_KEY_PEM
from tests.social.helpers import counts, failures, google_sign_in

INVALID_ID_TOKEN = {"detail": "The ID token is invalid.", "code": "invalid_id_token"}


@pytest.mark.django_db
def test_a_valid_token_creates_the_user_and_answers_a_pair(api_client, google):
    response = google_sign_in(api_client, google.id_token())

    assert response.status_code == HTTPStatus.CREATED
    body = response.json()
    created = User.objects.get()
    assert body == {
        "access": body["access"],
        "refresh": body["refresh"],
        "expires_in": 900,
        "user": {
            "id": str(created.id),
            "email": "ada@gmail.com",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email_verified": True,
        },
        "organizations": [],
        "org": None,
    }
    assert created.email_verified is True
    assert not created.has_usable_password()
    assert (created.first_name, created.last_name) == ("Ada", "Lovelace")
    identity = SocialIdentity.objects.get()
    assert (identity.user_id, identity.provider, identity.subject, identity.email) == (
        created.id,
        "google",
        "google-sub-ada",
        "ada@gmail.com",
    )
    access = claims(body["access"])
    assert access["amr"] == ["ext"]
    assert access["user_id"] == str(created.id)
    assert (access["org_id"], access["profile_id"]) == (None, None)
    session = Session.objects.get()
    assert (session.user_id, session.amr, session.revoked_at) == (created.id, ["ext"], None)


@pytest.mark.django_db
def test_a_second_sign_in_is_200_for_the_same_user_and_links_nothing_more(api_client, google):
    first = google_sign_in(api_client, google.id_token())
    second = google_sign_in(api_client, google.id_token())

    assert (first.status_code, second.status_code) == (HTTPStatus.CREATED, HTTPStatus.OK)
    assert second.json()["user"]["id"] == first.json()["user"]["id"]
    assert counts() == (1, 1, 2)  # one user, one identity, a session per sign-in


@pytest.mark.django_db
def test_sign_in_records_registration_link_and_success(api_client, google):
    token = google.id_token()
    first = google_sign_in(api_client, token).json()
    second = google_sign_in(api_client, token).json()

    user_id = User.objects.get().id
    identity = SocialIdentity.objects.get()
    registered = only(E.USER_REGISTERED)
    assert (registered.details, registered.subject_user_id) == ({"method": "google"}, user_id)
    linked = only(E.IDENTITY_LINKED)
    assert linked.details == {"provider": "google"}
    assert (linked.subject_user_id, linked.subject_id) == (user_id, str(identity.id))
    succeeded = events(type=E.SIGN_IN_SUCCEEDED)
    assert [event.details for event in succeeded] == [{"method": "google", "amr": ["ext"]}] * 2
    assert {event.actor_user_id for event in succeeded} == {user_id}
    assert failures() == []
    assert_no_secret_stored(token, *token_secrets(first, second))


@pytest.mark.django_db
def test_a_token_for_the_second_client_id_is_accepted(api_client, google):
    response = google_sign_in(api_client, google.id_token(aud=OTHER_CLIENT_ID, azp=OTHER_CLIENT_ID))

    assert response.status_code == HTTPStatus.CREATED
    assert SocialIdentity.objects.get().subject == "google-sub-ada"


@pytest.mark.django_db
def test_the_short_issuer_form_is_accepted(api_client, google):
    response = google_sign_in(api_client, google.id_token(iss="accounts.google.com"))

    assert response.status_code == HTTPStatus.CREATED


@pytest.mark.django_db
def test_email_verified_as_the_string_true_is_accepted(api_client, google):
    response = google_sign_in(api_client, google.id_token(email_verified="true"))

    assert response.status_code == HTTPStatus.CREATED


@pytest.mark.django_db
def test_an_expiry_within_the_clock_skew_is_accepted(api_client, google):
    now = int(time.time())

    response = google_sign_in(api_client, google.id_token(iat=now - 3600, exp=now - 3))

    assert response.status_code == HTTPStatus.CREATED


def _past() -> dict:
    now = int(time.time())
    return {"iat": now - 7200, "exp": now - 60}  # beyond the 10 s skew


# (token arguments, audit reason); the token is built in the test from these.
REFUSED = {
    "wrong_aud": ({"aud": "someone-else.apps.googleusercontent.com"}, "wrong_audience"),
    "missing_aud": ({"omit": ("aud",)}, "wrong_audience"),
    "wrong_iss": ({"iss": "https://evil.example"}, "wrong_issuer"),
    "expired": (None, "expired"),
    "bad_signature": ({"key_pem": STRANGER_KEY_PEM}, "bad_signature"),
    "unknown_kid": ({"kid": "kid-unknown"}, "unknown_key"),
    "email_unverified": ({"email_verified": False}, "email_unverified"),
    "email_unverified_string": ({"email_verified": "false"}, "email_unverified"),
    "email_verified_missing": ({"omit": ("email_verified",)}, "email_unverified"),
    "missing_email": ({"omit": ("email",)}, "no_subject_or_email"),
    "missing_sub": ({"omit": ("sub",)}, "no_subject_or_email"),
    "missing_exp": ({"omit": ("exp",)}, "malformed"),
    "issued_in_the_future": ({"iat": int(time.time()) + 600}, "not_yet_valid"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", REFUSED)
def test_a_refused_token_is_401_with_nothing_written(api_client, google, case):
    arguments, reason = REFUSED[case]
    token = google.id_token(**(arguments if arguments is not None else _past()))

    response = google_sign_in(api_client, token)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == INVALID_ID_TOKEN
    assert response["WWW-Authenticate"]
    assert counts() == (0, 0, 0)
    assert failures() == [{"method": "google", "reason": reason}]
    failed = only(E.SIGN_IN_FAILED)
    assert (failed.actor_user_id, failed.subject_user_id) == (None, None)
    assert events(type=E.SIGN_IN_SUCCEEDED) == []
    assert events(type=E.USER_REGISTERED) == []


@pytest.mark.django_db(transaction=True)
def test_a_refusal_is_committed_to_the_audit_log_although_the_request_fails(api_client, google):
    token = google.id_token(key_pem=STRANGER_KEY_PEM)

    response = google_sign_in(api_client, token)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert committed_events(type=E.SIGN_IN_FAILED) == [
        (E.SIGN_IN_FAILED, {"method": "google", "reason": "bad_signature"})
    ]
    assert counts() == (0, 0, 0)
    assert_no_secret_stored(token)


@pytest.mark.django_db
def test_a_refusal_does_not_touch_an_existing_account(api_client, google):
    google_sign_in(api_client, google.id_token())
    before = counts()

    response = google_sign_in(api_client, google.id_token(aud="someone-else"))

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize("token", ["abc", "a.b.c", "x" * 8000, "eyJ.eyJ.sig"])
def test_a_malformed_token_is_401(api_client, google, token):
    response = google_sign_in(api_client, token)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == INVALID_ID_TOKEN
    assert counts() == (0, 0, 0)
    assert failures() == [{"method": "google", "reason": "malformed"}]


def _unsigned(header: dict, payload: dict) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(payload)}."


@pytest.mark.django_db
@pytest.mark.parametrize("alg", ["none", "HS256"])
def test_a_token_without_an_rsa_signature_is_401(api_client, google, alg):
    now = int(time.time())
    payload = {
        "iss": "https://accounts.google.com",
        "aud": CLIENT_ID,
        "sub": "google-sub-mallory",
        "email": "ada@gmail.com",
        "email_verified": True,
        "iat": now,
        "exp": now + 3600,
    }

    response = google_sign_in(api_client, _unsigned({"alg": alg, "kid": "kid-1", "typ": "JWT"}, payload))

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == INVALID_ID_TOKEN
    assert counts() == (0, 0, 0)


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{"id_token": ""}, {}, {"id_token": None}, {"id_token": 123}])
def test_a_missing_or_blank_token_is_a_400_validation_error(api_client, google, body):
    response = api_client.post("/api/auth/google/", body, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert set(response.json()) == {"id_token"}
    assert counts() == (0, 0, 0)
    assert google.certs_fetches == 0


@pytest.mark.django_db
def test_an_oversized_token_is_a_400(api_client, google):
    response = google_sign_in(api_client, "x" * 9000)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert set(response.json()) == {"id_token"}


@pytest.mark.django_db
def test_no_configured_client_id_refuses_every_token(api_client, google, settings):
    """google-auth skips the audience check with ``audience=None``: with no client id nothing passes."""
    settings.GOOGLE_OAUTH_CLIENT_IDS = []

    response = google_sign_in(api_client, google.id_token(aud=CLIENT_ID))

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == INVALID_ID_TOKEN
    assert counts() == (0, 0, 0)
    assert failures() == [{"method": "google", "reason": "not_configured"}]


# --- hosted domains (GOOGLE_ALLOWED_HOSTED_DOMAINS) -------------------------------------------------


@pytest.mark.django_db
def test_an_allowed_hosted_domain_signs_in(api_client, google, settings):
    settings.GOOGLE_ALLOWED_HOSTED_DOMAINS = ["acme.test"]

    response = google_sign_in(api_client, google.id_token(email="ada@acme.test", hd="acme.test"))

    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["user"]["email"] == "ada@acme.test"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "claims_",
    [
        {"email": "ada@other.test", "hd": "other.test"},
        {"email": "ada@gmail.com"},  # a consumer account has no hd
        {"email": "ada@acme.test.evil", "hd": "ACME.test.evil"},
    ],
    ids=["other_domain", "no_hd", "lookalike"],
)
def test_a_hosted_domain_not_allowed_is_refused(api_client, google, settings, claims_):
    settings.GOOGLE_ALLOWED_HOSTED_DOMAINS = ["acme.test"]

    response = google_sign_in(api_client, google.id_token(**claims_))

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == INVALID_ID_TOKEN
    assert counts() == (0, 0, 0)
    assert failures() == [{"method": "google", "reason": "hosted_domain_not_allowed"}]
