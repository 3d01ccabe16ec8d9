"""POST refresh/: rotation, the grace window for racing duplicates, and reuse detection (API.md).

``refresh/`` runs outside the request transaction (a replay's revocation must survive the 401). Inside
pytest-django's per-test transaction DRF's error path would mark that outer transaction for rollback,
so a test that keeps using the database after a refused refresh is transactional: as in production,
every request commits on its own.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from http import HTTPStatus

import jwt
import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from accounts.models import Session, User
from tenants.models import Membership
from tenants.rls.context import tenant_context
from tests.api import AUTH, bearer, claims, login

TOKEN_NOT_VALID = {"detail": "Token is invalid or expired.", "code": "token_not_valid"}
SESSION_ENDED = {"detail": "The session of this token has ended.", "code": "token_not_valid"}


def refresh(client, token):
    return client.post(f"{AUTH}/refresh/", {"refresh": token}, format="json")


def me(client, access):
    return client.get(f"{AUTH}/me/", **bearer(access))


def session_of(token: str) -> Session:
    return Session.objects.get(id=claims(token)["sid"])


def read_committed_session(session_id: str) -> Session:
    """The row as another connection sees it: only what was committed."""

    def read() -> Session:
        try:
            return Session.objects.get(id=session_id)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(read).result()


def signed(payload: dict) -> str:
    return jwt.encode(payload, django_settings.JWT_SIGNING_KEY, algorithm="HS256")


@pytest.fixture
def pair(api_client, user, org) -> dict:
    response = login(api_client, user.email)
    assert response.status_code == HTTPStatus.OK
    return response.json()


@pytest.fixture
def rotated(api_client, pair) -> dict:
    """The response of the first refresh of ``pair``: ``pair["refresh"]`` is now spent."""
    response = refresh(api_client, pair["refresh"])
    assert response.status_code == HTTPStatus.OK
    return response.json()


# --- Rotation --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_refresh_returns_a_new_pair(api_client, pair):
    response = refresh(api_client, pair["refresh"])

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body == {"access": body["access"], "refresh": body["refresh"], "expires_in": 900}
    assert body["access"] != pair["access"]
    assert body["refresh"] != pair["refresh"]


@pytest.mark.django_db
def test_refresh_keeps_the_session_and_identity(pair, rotated):
    old, new = claims(pair["refresh"]), claims(rotated["refresh"])

    assert claims(rotated["access"])["sid"] == new["sid"] == old["sid"]
    assert {key: new[key] for key in ("user_id", "profile_id", "org_id")} == {
        key: old[key] for key in ("user_id", "profile_id", "org_id")
    }
    assert (claims(rotated["access"])["token_type"], new["token_type"]) == ("access", "refresh")


@pytest.mark.django_db
def test_refreshed_access_token_works(api_client, user, rotated):
    response = me(api_client, rotated["access"])

    assert response.status_code == HTTPStatus.OK
    assert response.json()["email"] == user.email


@pytest.mark.django_db
def test_refresh_records_the_new_and_the_spent_jti_on_the_session(pair, rotated):
    session = session_of(rotated["refresh"])

    assert session.refresh_jti.hex == claims(rotated["refresh"])["jti"]
    assert session.access_jti.hex == claims(rotated["access"])["jti"]
    assert session.previous_refresh_jti.hex == claims(pair["refresh"])["jti"]
    assert session.rotated_at is not None
    assert session.revoked_at is None


@pytest.mark.django_db
def test_refreshed_pair_can_be_refreshed_again(api_client, rotated):
    response = refresh(api_client, rotated["refresh"])

    assert response.status_code == HTTPStatus.OK
    assert response.json()["refresh"] != rotated["refresh"]


# --- Grace window ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_spent_refresh_within_grace_returns_the_identical_successor(api_client, pair, rotated):
    response = refresh(api_client, pair["refresh"])

    assert response.status_code == HTTPStatus.OK
    assert response.json() == rotated


@pytest.mark.django_db
def test_spent_refresh_within_grace_keeps_the_session_alive(api_client, pair, rotated):
    refresh(api_client, pair["refresh"])

    session = session_of(rotated["refresh"])
    assert (session.revoked_at, session.revoked_reason) == (None, "")
    assert me(api_client, rotated["access"]).status_code == HTTPStatus.OK
    assert refresh(api_client, rotated["refresh"]).status_code == HTTPStatus.OK


@pytest.mark.django_db(transaction=True)
def test_grace_is_measured_from_the_first_use(api_client, pair, rotated):
    Session.objects.filter(id=claims(pair["refresh"])["sid"]).update(
        rotated_at=timezone.now() - timedelta(seconds=django_settings.JWT_REFRESH_REUSE_GRACE_SECONDS + 1)
    )

    response = refresh(api_client, pair["refresh"])

    assert (response.status_code, response.json()) == (HTTPStatus.UNAUTHORIZED, TOKEN_NOT_VALID)
    assert session_of(rotated["refresh"]).revoked_reason == "refresh_reuse"


# --- Reuse detection -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_replay_after_grace_revokes_the_session_and_commits(api_client, settings, pair, rotated):
    settings.JWT_REFRESH_REUSE_GRACE_SECONDS = 0
    time.sleep(0.01)  # strictly after the first use

    response = refresh(api_client, pair["refresh"])

    assert (response.status_code, response.json()) == (HTTPStatus.UNAUTHORIZED, TOKEN_NOT_VALID)
    assert not connection.in_atomic_block
    session = read_committed_session(claims(pair["refresh"])["sid"])
    assert session.revoked_at is not None
    assert session.revoked_reason == "refresh_reuse"


@pytest.mark.django_db(transaction=True)
def test_replay_after_grace_kills_the_successor_pair(api_client, settings, pair, rotated):
    settings.JWT_REFRESH_REUSE_GRACE_SECONDS = 0
    time.sleep(0.01)
    refresh(api_client, pair["refresh"])

    access_response = me(api_client, rotated["access"])
    refresh_response = refresh(api_client, rotated["refresh"])

    assert (access_response.status_code, access_response.json()) == (HTTPStatus.UNAUTHORIZED, SESSION_ENDED)
    assert (refresh_response.status_code, refresh_response.json()) == (
        HTTPStatus.UNAUTHORIZED,
        TOKEN_NOT_VALID,
    )


@pytest.mark.django_db(transaction=True)
def test_refresh_two_generations_old_is_reuse_even_within_grace(api_client, pair, rotated):
    third = refresh(api_client, rotated["refresh"]).json()

    response = refresh(api_client, pair["refresh"])

    assert (response.status_code, response.json()) == (HTTPStatus.UNAUTHORIZED, TOKEN_NOT_VALID)
    session = session_of(third["refresh"])
    assert session.revoked_at is not None
    assert session.revoked_reason == "refresh_reuse"
    assert refresh(api_client, third["refresh"]).status_code == HTTPStatus.UNAUTHORIZED
    assert me(api_client, third["access"]).status_code == HTTPStatus.UNAUTHORIZED


# --- Refused tokens --------------------------------------------------------------------------------


def _access_token(pair: dict) -> str:
    return pair["access"]


def _garbage(pair: dict) -> str:
    return "not-a-jwt"


def _three_garbage_segments(pair: dict) -> str:
    return "a.b.c"


def _expired_refresh(pair: dict) -> str:
    now = int(time.time())
    return signed({**claims(pair["refresh"]), "iat": now - 3600, "exp": now - 60})


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "make_token",
    [
        _access_token,
        _garbage,
        _three_garbage_segments,
        _expired_refresh,
    ],
)
def test_refresh_refuses_token_without_touching_the_session(api_client, pair, make_token):
    response = refresh(api_client, make_token(pair))

    assert (response.status_code, response.json()) == (HTTPStatus.UNAUTHORIZED, TOKEN_NOT_VALID)
    session = session_of(pair["refresh"])
    assert (session.revoked_at, session.previous_refresh_jti) == (None, None)
    assert refresh(api_client, pair["refresh"]).status_code == HTTPStatus.OK


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"refresh": ["This field is required."]}),
        ({"refresh": ""}, {"refresh": ["This field may not be blank."]}),
        ({"refresh": None}, {"refresh": ["This field may not be null."]}),
        ({"refresh": "x" * 4097}, {"refresh": ["Ensure this field has no more than 4096 characters."]}),
    ],
)
def test_refresh_rejects_malformed_input(api_client, body, errors):
    response = api_client.post(f"{AUTH}/refresh/", body, format="json")

    assert (response.status_code, response.json()) == (HTTPStatus.BAD_REQUEST, errors)


@pytest.mark.django_db(transaction=True)
def test_refresh_of_a_logged_out_session_is_refused(api_client, pair):
    assert api_client.post(f"{AUTH}/logout/", **bearer(pair["access"])).status_code == HTTPStatus.NO_CONTENT

    response = refresh(api_client, pair["refresh"])

    assert (response.status_code, response.json()) == (HTTPStatus.UNAUTHORIZED, TOKEN_NOT_VALID)
    assert session_of(pair["refresh"]).revoked_reason == "logout"


# --- The user and the membership are re-checked ----------------------------------------------------


@pytest.mark.django_db
def test_refresh_after_membership_deactivated_is_refused(api_client, user, org, pair):
    with tenant_context(org.id):
        assert Membership.objects.filter(user=user).update(is_active=False) == 1

    response = refresh(api_client, pair["refresh"])

    assert (response.status_code, response.json()) == (HTTPStatus.UNAUTHORIZED, TOKEN_NOT_VALID)


@pytest.mark.django_db
def test_access_after_membership_deactivated_is_refused(api_client, user, org, pair):
    with tenant_context(org.id):
        Membership.objects.filter(user=user).update(is_active=False)

    response = me(api_client, pair["access"])

    assert (response.status_code, response.json()) == (HTTPStatus.UNAUTHORIZED, SESSION_ENDED)


@pytest.mark.django_db
def test_refresh_after_user_deactivated_is_refused(api_client, user, pair):
    User.objects.filter(pk=user.pk).update(is_active=False)

    response = refresh(api_client, pair["refresh"])

    assert (response.status_code, response.json()) == (HTTPStatus.UNAUTHORIZED, TOKEN_NOT_VALID)


@pytest.mark.django_db
def test_access_after_user_deactivated_is_refused(api_client, user, pair):
    User.objects.filter(pk=user.pk).update(is_active=False)

    response = me(api_client, pair["access"])

    assert (response.status_code, response.json()) == (HTTPStatus.UNAUTHORIZED, SESSION_ENDED)


@pytest.mark.django_db
def test_spent_refresh_within_grace_is_refused_after_user_deactivated(api_client, user, pair, rotated):
    User.objects.filter(pk=user.pk).update(is_active=False)

    response = refresh(api_client, pair["refresh"])

    assert (response.status_code, response.json()) == (HTTPStatus.UNAUTHORIZED, TOKEN_NOT_VALID)


@pytest.mark.django_db
def test_spent_refresh_within_grace_is_refused_after_membership_deactivated(
    api_client, user, org, pair, rotated
):
    with tenant_context(org.id):
        Membership.objects.filter(user=user).update(is_active=False)

    response = refresh(api_client, pair["refresh"])

    assert (response.status_code, response.json()) == (HTTPStatus.UNAUTHORIZED, TOKEN_NOT_VALID)
