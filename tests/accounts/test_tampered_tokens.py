"""Forged, altered and misused JWTs: every one is a 401, and nothing is written.

Access-token forgeries go to ``me/`` (Bearer); refresh-token forgeries to ``refresh/``. Only HS256
signed with ``JWT_SIGNING_KEY`` is accepted, and a correctly signed token must still name a live
session of its user.

A refused ``refresh/`` leaves pytest-django's per-test transaction marked for rollback (that view runs
outside the request transaction), so the refresh table is transactional.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
import warnings
from http import HTTPStatus

import jwt
import pytest
from django.conf import settings

from accounts.models import Session
from tests.api import AUTH, bearer, claims, login

ANOTHER_KEY = "another-signing-key-that-is-long-enough-0123456789"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value: dict) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def signed(payload: dict, *, key: str | None = None, algorithm: str = "HS256") -> str:
    return jwt.encode(payload, key or settings.JWT_SIGNING_KEY, algorithm=algorithm)


# --- Forgeries: each takes the genuine token and returns the forged one ------------------------------


def alg_none(token: str) -> str:
    _, payload, _ = token.split(".")
    return f"{b64url_json({'alg': 'none', 'typ': 'JWT'})}.{payload}."


def signature_stripped(token: str) -> str:
    header, payload, _ = token.split(".")
    return f"{header}.{payload}."


def payload_edited(token: str) -> str:
    header, _, signature = token.split(".")
    return f"{header}.{b64url_json({**claims(token), 'user_id': str(uuid.uuid4())})}.{signature}"


def lifetime_extended(token: str) -> str:
    header, _, signature = token.split(".")
    return f"{header}.{b64url_json({**claims(token), 'exp': claims(token)['exp'] + 86400})}.{signature}"


def another_key(token: str) -> str:
    return signed(claims(token), key=ANOTHER_KEY)


def hs512_right_key(token: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the dev key is shorter than HS512 recommends; irrelevant here
        return signed(claims(token), algorithm="HS512")


def rs256_header_hmac_signature(token: str) -> str:
    """Algorithm confusion: claim RS256 but sign with the HMAC secret."""
    signing_input = f"{b64url_json({'alg': 'RS256', 'typ': 'JWT'})}.{token.split('.')[1]}"
    mac = hmac.new(settings.JWT_SIGNING_KEY.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


def expired(token: str) -> str:
    now = int(time.time())
    return signed({**claims(token), "iat": now - 7200, "exp": now - 60})


def unknown_session(token: str) -> str:
    return signed({**claims(token), "sid": str(uuid.uuid4())})


def another_users_identity(token: str) -> str:
    return signed({**claims(token), "user_id": str(uuid.uuid4())})


def missing_session_claim(token: str) -> str:
    payload = claims(token)
    del payload["sid"]
    return signed(payload)


def malformed_session_claim(token: str) -> str:
    return signed({**claims(token), "sid": "not-a-uuid"})


def missing_jti(token: str) -> str:
    payload = claims(token)
    del payload["jti"]
    return signed(payload)


def missing_issuer(token: str) -> str:
    payload = claims(token)
    del payload["iss"]
    return signed(payload)


def missing_audience(token: str) -> str:
    payload = claims(token)
    del payload["aud"]
    return signed(payload)


def another_issuer(token: str) -> str:
    return signed({**claims(token), "iss": "https://evil.example"})


def another_audience(token: str) -> str:
    return signed({**claims(token), "aud": "another-service"})


def truncated(token: str) -> str:
    return token[:-6]


def two_segments(token: str) -> str:
    return token.rsplit(".", 1)[0]


FORGERIES = [
    alg_none,
    signature_stripped,
    payload_edited,
    lifetime_extended,
    another_key,
    hs512_right_key,
    rs256_header_hmac_signature,
    expired,
    unknown_session,
    another_users_identity,
    missing_session_claim,
    malformed_session_claim,
    missing_jti,
    missing_issuer,
    missing_audience,
    another_issuer,
    another_audience,
    truncated,
    two_segments,
]


@pytest.fixture
def pair(api_client, user, org) -> dict:
    response = login(api_client, user.email)
    assert response.status_code == HTTPStatus.OK
    return response.json()


def session_state() -> list[tuple]:
    return sorted(
        Session.objects.values_list("id", "revoked_at", "refresh_jti", "previous_refresh_jti", "last_used_at")
    )


# --- Bearer on me/ ---------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("forge", FORGERIES)
def test_forged_access_token_is_refused(api_client, pair, forge):
    before = session_state()

    response = api_client.get(f"{AUTH}/me/", **bearer(forge(pair["access"])))

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "token_not_valid"
    assert session_state() == before
    assert api_client.get(f"{AUTH}/me/", **bearer(pair["access"])).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_access_token_with_another_org_claim_is_refused(api_client, pair, other_org):
    forged = signed({**claims(pair["access"]), "org_id": str(other_org.id)})

    response = api_client.get(f"{AUTH}/org/members/", **bearer(forged))

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "token_not_valid"


@pytest.mark.django_db
def test_refresh_token_as_bearer_is_refused(api_client, pair):
    before = session_state()

    response = api_client.get(f"{AUTH}/me/", **bearer(pair["refresh"]))

    assert (response.status_code, response.json()) == (
        HTTPStatus.UNAUTHORIZED,
        {"detail": "Token is invalid or expired.", "code": "token_not_valid"},
    )
    assert session_state() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    "authorization",
    ["Bearer", "Bearer {access} extra", "Bearer  {access}x", "Bearer é{access}"],
    ids=["no-token", "three-parts", "suffixed", "non-ascii"],
)
def test_malformed_authorization_header_is_refused(api_client, pair, authorization):
    header = authorization.format(access=pair["access"])

    response = api_client.get(f"{AUTH}/me/", HTTP_AUTHORIZATION=header)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "token_not_valid"


# --- refresh/ --------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("forge", FORGERIES)
def test_forged_refresh_token_is_refused(api_client, pair, forge):
    before = session_state()

    response = api_client.post(f"{AUTH}/refresh/", {"refresh": forge(pair["refresh"])}, format="json")

    assert (response.status_code, response.json()) == (
        HTTPStatus.UNAUTHORIZED,
        {"detail": "Token is invalid or expired.", "code": "token_not_valid"},
    )
    assert session_state() == before


@pytest.mark.django_db(transaction=True)
def test_access_token_as_refresh_is_refused_and_spends_nothing(api_client, pair):
    before = session_state()

    response = api_client.post(f"{AUTH}/refresh/", {"refresh": pair["access"]}, format="json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert session_state() == before
    assert (
        api_client.post(f"{AUTH}/refresh/", {"refresh": pair["refresh"]}, format="json").status_code
        == HTTPStatus.OK
    )
