"""POST logout/ and logout-all/: the session (or every session) ends at once, access tokens included.

A refused ``refresh/`` leaves pytest-django's per-test transaction marked for rollback (that view runs
outside the request transaction, see ``test_refresh``), so tests that refresh after a logout are
transactional.
"""

from __future__ import annotations

from http import HTTPStatus

import pytest

from accounts.models import Session
from tests.api import AUTH, bearer, claims, login

SESSION_ENDED = {"detail": "The session of this token has ended.", "code": "token_not_valid"}
TOKEN_NOT_VALID = {"detail": "Token is invalid or expired.", "code": "token_not_valid"}


def sign_in(client, email: str) -> dict:
    response = login(client, email)
    assert response.status_code == HTTPStatus.OK
    return response.json()


def me(client, access):
    return client.get(f"{AUTH}/me/", **bearer(access))


def refresh(client, token):
    return client.post(f"{AUTH}/refresh/", {"refresh": token}, format="json")


def logout(client, access, **body):
    return client.post(f"{AUTH}/logout/", body, format="json", **bearer(access))


@pytest.fixture
def pair(api_client, user, org) -> dict:
    return sign_in(api_client, user.email)


@pytest.fixture
def other_pair(api_client, user, org) -> dict:
    """A second session of the same user."""
    return sign_in(api_client, user.email)


# --- logout/ ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_logout_answers_no_content(api_client, pair):
    response = logout(api_client, pair["access"])

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert response.content == b""


@pytest.mark.django_db
def test_logout_ends_the_access_token_at_once(api_client, pair):
    logout(api_client, pair["access"])

    response = me(api_client, pair["access"])

    assert (response.status_code, response.json()) == (HTTPStatus.UNAUTHORIZED, SESSION_ENDED)


@pytest.mark.django_db
def test_logout_revokes_the_session_row(api_client, pair):
    logout(api_client, pair["access"])

    session = Session.objects.get(id=claims(pair["access"])["sid"])
    assert session.revoked_at is not None
    assert session.revoked_reason == "logout"


@pytest.mark.django_db
def test_logout_ends_the_refresh_token(api_client, pair):
    logout(api_client, pair["access"])

    response = refresh(api_client, pair["refresh"])

    assert (response.status_code, response.json()) == (HTTPStatus.UNAUTHORIZED, TOKEN_NOT_VALID)


@pytest.mark.django_db
def test_logout_with_the_refresh_in_the_body_ends_the_session(api_client, pair):
    response = logout(api_client, pair["access"], refresh=pair["refresh"])

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert me(api_client, pair["access"]).status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.django_db(transaction=True)
def test_logout_leaves_the_users_other_sessions_alive(api_client, pair, other_pair):
    logout(api_client, pair["access"])

    assert me(api_client, other_pair["access"]).status_code == HTTPStatus.OK
    assert refresh(api_client, other_pair["refresh"]).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_logout_twice_is_refused(api_client, pair):
    logout(api_client, pair["access"])

    response = logout(api_client, pair["access"])

    assert (response.status_code, response.json()) == (HTTPStatus.UNAUTHORIZED, SESSION_ENDED)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_AUTHORIZATION": "Bearer"},
        {"HTTP_AUTHORIZATION": "Bearer not-a-jwt"},
        {"HTTP_AUTHORIZATION": "Basic YWRhOnNlY3JldA=="},
    ],
    ids=["none", "empty-bearer", "garbage-bearer", "basic"],
)
def test_logout_without_valid_credentials_is_refused(api_client, pair, headers):
    response = api_client.post(f"{AUTH}/logout/", {}, format="json", **headers)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert Session.objects.filter(revoked_at__isnull=False).count() == 0


# --- logout-all/ -----------------------------------------------------------------------------------


@pytest.fixture
def three_pairs(api_client, user, org) -> list[dict]:
    return [sign_in(api_client, user.email) for _ in range(3)]


@pytest.mark.django_db
def test_logout_all_answers_no_content(api_client, three_pairs):
    response = api_client.post(f"{AUTH}/logout-all/", **bearer(three_pairs[0]["access"]))

    assert response.status_code == HTTPStatus.NO_CONTENT


@pytest.mark.django_db
def test_logout_all_ends_every_access_token(api_client, three_pairs):
    api_client.post(f"{AUTH}/logout-all/", **bearer(three_pairs[1]["access"]))

    assert [me(api_client, pair["access"]).status_code for pair in three_pairs] == [
        HTTPStatus.UNAUTHORIZED
    ] * 3


@pytest.mark.django_db(transaction=True)
def test_logout_all_ends_every_refresh_token(api_client, three_pairs):
    api_client.post(f"{AUTH}/logout-all/", **bearer(three_pairs[1]["access"]))

    assert [refresh(api_client, pair["refresh"]).status_code for pair in three_pairs] == [
        HTTPStatus.UNAUTHORIZED
    ] * 3


@pytest.mark.django_db
def test_logout_all_revokes_every_session_row(api_client, user, three_pairs):
    api_client.post(f"{AUTH}/logout-all/", **bearer(three_pairs[2]["access"]))

    assert (
        sorted(Session.objects.filter(user=user).values_list("revoked_reason", flat=True))
        == ["logout_all"] * 3
    )


@pytest.mark.django_db
def test_logout_all_leaves_other_users_sessions_alive(api_client, three_pairs, other_org):
    stranger = sign_in(api_client, "hank@globex.test")

    api_client.post(f"{AUTH}/logout-all/", **bearer(three_pairs[0]["access"]))

    assert me(api_client, stranger["access"]).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_logout_all_without_credentials_is_refused(api_client, three_pairs):
    response = api_client.post(f"{AUTH}/logout-all/")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert Session.objects.filter(revoked_at__isnull=False).count() == 0
