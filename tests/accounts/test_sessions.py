"""GET sessions/ and DELETE sessions/<id>/: a user sees and ends their own live sessions."""

from __future__ import annotations

import uuid
from datetime import datetime
from http import HTTPStatus

import pytest

from accounts.models import Session
from tests.api import AUTH, bearer, claims
from tests.factories import DEFAULT_PASSWORD

NOT_FOUND = {"detail": "Session not found.", "code": "not_found"}
SESSION_ENDED = {"detail": "The session of this token has ended.", "code": "token_not_valid"}


def sign_in(client, email: str, user_agent: str = "") -> dict:
    response = client.post(
        f"{AUTH}/login/",
        {"email": email, "password": DEFAULT_PASSWORD},
        format="json",
        HTTP_USER_AGENT=user_agent,
    )
    assert response.status_code == HTTPStatus.OK
    return response.json()


def session_id(pair: dict) -> str:
    return claims(pair["access"])["sid"]


def me(client, access):
    return client.get(f"{AUTH}/me/", **bearer(access))


def delete_session(client, access, target_id) -> object:
    return client.delete(f"{AUTH}/sessions/{target_id}/", **bearer(access))


@pytest.fixture
def laptop(api_client, user, org) -> dict:
    return sign_in(api_client, user.email, "Firefox on laptop")


@pytest.fixture
def phone(api_client, user, org) -> dict:
    return sign_in(api_client, user.email, "Safari on phone")


@pytest.fixture
def stranger(api_client, other_org) -> dict:
    """A session of another user (hank, owner of Globex)."""
    return sign_in(api_client, "hank@globex.test", "Chrome elsewhere")


# --- GET sessions/ ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_sessions_lists_live_sessions_with_the_current_one_marked(api_client, laptop, phone):
    response = api_client.get(f"{AUTH}/sessions/", **bearer(phone["access"]))

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    without_times = [{key: value for key, value in row.items() if not key.endswith("_at")} for row in body]
    assert sorted(without_times, key=lambda row: row["user_agent"]) == [
        {"id": session_id(laptop), "user_agent": "Firefox on laptop", "ip": "127.0.0.1", "current": False},
        {"id": session_id(phone), "user_agent": "Safari on phone", "ip": "127.0.0.1", "current": True},
    ]


@pytest.mark.django_db
def test_sessions_timestamps_are_the_session_rows(api_client, laptop):
    row = api_client.get(f"{AUTH}/sessions/", **bearer(laptop["access"])).json()[0]

    session = Session.objects.get(id=session_id(laptop))
    assert datetime.fromisoformat(row["created_at"]) == session.created_at
    assert datetime.fromisoformat(row["last_used_at"]) == session.last_used_at
    assert row["created_at"].endswith("Z")


@pytest.mark.django_db
def test_sessions_omits_revoked_sessions(api_client, laptop, phone):
    assert api_client.post(f"{AUTH}/logout/", **bearer(laptop["access"])).status_code == HTTPStatus.NO_CONTENT

    response = api_client.get(f"{AUTH}/sessions/", **bearer(phone["access"]))

    assert [row["id"] for row in response.json()] == [session_id(phone)]


@pytest.mark.django_db
def test_sessions_omits_other_users_sessions(api_client, laptop, stranger):
    response = api_client.get(f"{AUTH}/sessions/", **bearer(laptop["access"]))

    assert [row["id"] for row in response.json()] == [session_id(laptop)]


@pytest.mark.django_db
def test_sessions_requires_credentials(api_client):
    response = api_client.get(f"{AUTH}/sessions/")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "not_authenticated"


# --- DELETE sessions/<id>/ -------------------------------------------------------------------------


@pytest.mark.django_db
def test_deleting_another_own_session_ends_it_at_once(api_client, laptop, phone):
    response = delete_session(api_client, phone["access"], session_id(laptop))

    assert response.status_code == HTTPStatus.NO_CONTENT
    ended = me(api_client, laptop["access"])
    assert (ended.status_code, ended.json()) == (HTTPStatus.UNAUTHORIZED, SESSION_ENDED)
    assert Session.objects.get(id=session_id(laptop)).revoked_reason == "revoked_by_user"


@pytest.mark.django_db
def test_deleting_another_own_session_keeps_the_callers(api_client, laptop, phone):
    delete_session(api_client, phone["access"], session_id(laptop))

    assert me(api_client, phone["access"]).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_deleting_the_current_session_ends_the_callers_access(api_client, laptop):
    response = delete_session(api_client, laptop["access"], session_id(laptop))

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert me(api_client, laptop["access"]).status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.django_db
def test_deleting_another_users_session_is_not_found_and_leaves_it_alive(api_client, laptop, stranger):
    response = delete_session(api_client, laptop["access"], session_id(stranger))

    assert (response.status_code, response.json()) == (HTTPStatus.NOT_FOUND, NOT_FOUND)
    assert Session.objects.get(id=session_id(stranger)).revoked_at is None
    assert me(api_client, stranger["access"]).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_deleting_an_unknown_session_is_not_found(api_client, laptop):
    response = delete_session(api_client, laptop["access"], uuid.uuid4())

    assert (response.status_code, response.json()) == (HTTPStatus.NOT_FOUND, NOT_FOUND)


@pytest.mark.django_db
def test_deleting_an_already_revoked_session_is_not_found(api_client, laptop, phone):
    delete_session(api_client, phone["access"], session_id(laptop))

    response = delete_session(api_client, phone["access"], session_id(laptop))

    assert (response.status_code, response.json()) == (HTTPStatus.NOT_FOUND, NOT_FOUND)


@pytest.mark.django_db
def test_deleting_a_session_with_a_malformed_id_is_not_found(api_client, laptop):
    response = api_client.delete(f"{AUTH}/sessions/not-a-uuid/", **bearer(laptop["access"]))

    assert response.status_code == HTTPStatus.NOT_FOUND


@pytest.mark.django_db
def test_deleting_a_session_requires_credentials(api_client, laptop):
    response = api_client.delete(f"{AUTH}/sessions/{session_id(laptop)}/")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert Session.objects.get(id=session_id(laptop)).revoked_at is None
