"""Clock skew between the hosts that mint and verify tokens (``JWT_LEEWAY_SECONDS``, default 10).

A token minted by a host whose clock runs a few seconds ahead carries an ``iat`` (or ``nbf``) in the
verifier's future: within the leeway it is accepted, beyond it refused. ``exp`` gets no leeway: a token is
refused from the second it expires, whatever the leeway (a client answered 401 refreshes; it is not
signed out).

The tokens here are the service's own, re-signed with one time claim moved (same key, same session), so
the time claim is the only thing that differs. A refused ``refresh/`` runs outside the request transaction
(see test_tampered_tokens), hence the transactional tests there.
"""

from __future__ import annotations

import time
from http import HTTPStatus

import jwt
import pytest
from django.conf import settings

from tests.api import AUTH, bearer, claims, login
from tests.processes import manage

REFUSED = {"detail": "Token is invalid or expired.", "code": "token_not_valid"}


def resigned(token: str, **moved: int) -> str:
    """``token`` with the time claims in ``moved`` set relative to now (seconds), signed with our key."""
    now = int(time.time())
    return jwt.encode(
        {**claims(token), **{claim: now + offset for claim, offset in moved.items()}},
        settings.JWT_SIGNING_KEY,
        algorithm="HS256",
    )


@pytest.fixture
def pair(api_client, user, org) -> dict:
    response = login(api_client, user.email)
    assert response.status_code == HTTPStatus.OK
    return response.json()


def me(api_client, access: str):
    return api_client.get(f"{AUTH}/me/", **bearer(access))


def refresh(api_client, token: str):
    return api_client.post(f"{AUTH}/refresh/", {"refresh": token}, format="json")


def test_the_default_leeway_is_ten_seconds():
    assert settings.JWT_LEEWAY_SECONDS == 10


# --- iat and nbf: a minting clock ahead of ours --------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("claim", ["iat", "nbf"])
def test_an_access_token_issued_5_seconds_in_the_future_is_accepted(api_client, pair, claim):
    response = me(api_client, resigned(pair["access"], **{claim: 5}))

    assert response.status_code == HTTPStatus.OK
    assert response.json()["email"] == "ada@example.com"


@pytest.mark.django_db
@pytest.mark.parametrize("claim", ["iat", "nbf"])
def test_an_access_token_issued_60_seconds_in_the_future_is_refused(api_client, pair, claim):
    response = me(api_client, resigned(pair["access"], **{claim: 60}))

    assert (response.status_code, response.json()) == (HTTPStatus.UNAUTHORIZED, REFUSED)


@pytest.mark.django_db(transaction=True)
def test_a_refresh_token_issued_5_seconds_in_the_future_is_accepted(api_client, pair):
    response = refresh(api_client, resigned(pair["refresh"], iat=5))

    assert response.status_code == HTTPStatus.OK
    assert set(response.json()) >= {"access", "refresh", "expires_in"}
    assert me(api_client, response.json()["access"]).status_code == HTTPStatus.OK


@pytest.mark.django_db(transaction=True)
def test_a_refresh_token_issued_60_seconds_in_the_future_is_refused_and_spends_nothing(api_client, pair):
    response = refresh(api_client, resigned(pair["refresh"], iat=60))

    assert (response.status_code, response.json()) == (HTTPStatus.UNAUTHORIZED, REFUSED)
    assert refresh(api_client, pair["refresh"]).status_code == HTTPStatus.OK  # the genuine one still works


@pytest.mark.django_db
def test_with_no_leeway_a_token_issued_a_few_seconds_ahead_is_refused(api_client, pair, settings):
    settings.JWT_LEEWAY_SECONDS = 0

    response = me(api_client, resigned(pair["access"], iat=5))

    assert (response.status_code, response.json()) == (HTTPStatus.UNAUTHORIZED, REFUSED)


# --- exp: no leeway ------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("seconds_past", [1, 60])
def test_an_access_token_past_its_expiry_is_refused_even_within_the_leeway(api_client, pair, seconds_past):
    response = me(api_client, resigned(pair["access"], iat=-900, exp=-seconds_past))

    assert (response.status_code, response.json()) == (HTTPStatus.UNAUTHORIZED, REFUSED)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("seconds_past", [1, 60])
def test_a_refresh_token_past_its_expiry_is_refused_even_within_the_leeway(api_client, pair, seconds_past):
    response = refresh(api_client, resigned(pair["refresh"], iat=-900, exp=-seconds_past))

    assert (response.status_code, response.json()) == (HTTPStatus.UNAUTHORIZED, REFUSED)


@pytest.mark.django_db
def test_an_access_token_a_few_seconds_before_its_expiry_is_accepted(api_client, pair):
    assert me(api_client, resigned(pair["access"], iat=-900, exp=3)).status_code == HTTPStatus.OK


# --- the setting's bounds --------------------------------------------------------------------------------


@pytest.mark.parametrize("seconds", ["31", "-1"])
def test_a_leeway_outside_0_to_30_seconds_refuses_to_start(seconds):
    result = manage("check", JWT_LEEWAY_SECONDS=seconds)

    assert result.returncode != 0
    assert f"authsvc refuses to start: JWT_LEEWAY_SECONDS must lie in 0-30, not {seconds}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("seconds", ["0", "30"])
def test_the_leeway_bounds_are_accepted(seconds):
    result = manage("check", JWT_LEEWAY_SECONDS=seconds)

    assert result.returncode == 0, result.stderr
