"""Many tabs refresh the same token at once: one rotation, no fork, no 500 (API.md, refresh rotation).

Each thread has its own Django database connection, so the refreshes really race in Postgres; the
test is transactional so the threads see the committed user, org and session.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import Session
from tests.api import AUTH, claims, login

RACERS = 20


def refresh(client, token):
    return client.post(f"{AUTH}/refresh/", {"refresh": token}, format="json")


def race_refreshes(token: str, racers: int = RACERS) -> list[tuple[int, dict]]:
    """``racers`` threads POST refresh/ with ``token`` together; their (status, body), or the exception."""
    barrier = threading.Barrier(racers)

    def one_tab() -> tuple[int, dict]:
        try:
            client = APIClient()
            barrier.wait(timeout=30)
            response = refresh(client, token)
            return response.status_code, response.json()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=racers) as pool:
        futures = [pool.submit(one_tab) for _ in range(racers)]
        return [future.result(timeout=60) for future in futures]  # a 500 re-raises here


@pytest.fixture
def pair(api_client, user, org) -> dict:
    response = login(api_client, user.email)
    assert response.status_code == HTTPStatus.OK
    return response.json()


@pytest.mark.django_db(transaction=True)
def test_racing_refreshes_within_grace_all_get_the_same_successor(pair):
    results = race_refreshes(pair["refresh"])

    assert [status for status, _ in results] == [HTTPStatus.OK] * RACERS
    bodies = [body for _, body in results]
    assert all(body == bodies[0] for body in bodies)
    assert claims(bodies[0]["refresh"])["sid"] == claims(pair["refresh"])["sid"]


@pytest.mark.django_db(transaction=True)
def test_racing_refreshes_rotate_the_session_exactly_once(user, pair):
    successor = race_refreshes(pair["refresh"])[0][1]

    sessions = list(Session.objects.filter(user=user))
    assert len(sessions) == 1
    session = sessions[0]
    assert (session.revoked_at, session.revoked_reason) == (None, "")
    assert session.previous_refresh_jti.hex == claims(pair["refresh"])["jti"]
    assert session.refresh_jti.hex == claims(successor["refresh"])["jti"]


@pytest.mark.django_db(transaction=True)
def test_successor_of_racing_refreshes_refreshes_again(api_client, pair):
    successor = race_refreshes(pair["refresh"])[0][1]

    response = refresh(api_client, successor["refresh"])

    assert response.status_code == HTTPStatus.OK
    assert response.json()["refresh"] != successor["refresh"]


@pytest.mark.django_db(transaction=True)
def test_racing_refreshes_without_grace_never_fork_the_session(settings, user, pair):
    """Grace 0: one racer rotates; a racer whose request began before that rotation may still be
    handed the successor (its clock reading predates ``rotated_at``); any later one is reuse and ends
    the session. Which racer lands where is timing, so the test asserts the invariants."""
    settings.JWT_REFRESH_REUSE_GRACE_SECONDS = 0

    results = race_refreshes(pair["refresh"])

    statuses = [status for status, _ in results]
    assert set(statuses) <= {HTTPStatus.OK, HTTPStatus.UNAUTHORIZED}
    assert HTTPStatus.OK in statuses
    successors = [body for status, body in results if status == HTTPStatus.OK]
    assert all(body == successors[0] for body in successors)
    sessions = list(Session.objects.filter(user=user))
    assert len(sessions) == 1
    if HTTPStatus.UNAUTHORIZED in statuses:
        assert sessions[0].revoked_reason == "refresh_reuse"
        assert sessions[0].revoked_at is not None
