"""A database that goes away: connections the server ended are replaced before use, at no cost; a
request that cannot reach Postgres gets 503 with ``Retry-After``, never 500; service resumes by itself
once the database is back, without restarting the app."""

from __future__ import annotations

import time

import psycopg
import pytest
from django.db import close_old_connections, connection

from core.postgres import base as backend
from tests.api import AUTH, bearer, login
from tests.factories import DEFAULT_PASSWORD, make_org, make_user
from tests.outage import database_unreachable

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pair(api_client):
    make_org(name="Acme", owner=make_user(email="ada@example.com"))
    return login(api_client, "ada@example.com", DEFAULT_PASSWORD).json()


@pytest.fixture
def access(pair):
    return pair["access"]


def me(api_client, access):
    close_old_connections()  # request_started, as gunicorn sends it
    return api_client.get(f"{AUTH}/me/", **bearer(access))


def terminate_backend(pid: int) -> None:
    """``pg_terminate_backend``, as a restart or an administrator does to every connection: Postgres sends
    its FATAL message and closes. Waits until the app's connection has it."""
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 5
    while not backend._ended_by_server(connection.connection):
        assert time.monotonic() < deadline, "the terminated connection never became readable"
        time.sleep(0.01)


def test_a_connection_the_server_ended_between_requests_is_replaced_before_use(api_client, access):
    assert me(api_client, access).status_code == 200
    pid = connection.connection.info.backend_pid

    terminate_backend(pid)
    response = me(api_client, access)

    assert response.status_code == 200
    assert connection.connection.info.backend_pid != pid


def test_a_connection_that_breaks_unnoticed_fails_its_request_with_503_and_the_next_one_works(
    api_client, access, monkeypatch
):
    """A connection lost without a word (a network partition) is only found out by using it."""
    assert me(api_client, access).status_code == 200
    terminate_backend(connection.connection.info.backend_pid)
    monkeypatch.setattr(backend, "_ended_by_server", lambda raw: False)  # the check cannot see it

    response = me(api_client, access)

    assert response.status_code == 503
    assert response.json() == {
        "detail": "The service is briefly unavailable; try again.",
        "code": "service_unavailable",
    }
    assert response["Retry-After"] == "1"
    assert me(api_client, access).status_code == 200  # Django dropped the broken connection


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", f"{AUTH}/me/", lambda pair: None),
        ("post", f"{AUTH}/login/", lambda pair: {"email": "ada@example.com", "password": DEFAULT_PASSWORD}),
        ("post", f"{AUTH}/refresh/", lambda pair: {"refresh": pair["refresh"]}),
    ],
)
def test_while_the_database_is_unreachable_requests_get_503_and_service_resumes(
    api_client, pair, access, method, path, body
):
    body = body(pair)
    with database_unreachable():
        close_old_connections()
        response = getattr(api_client, method)(path, body, format="json", **bearer(access))
        assert response.status_code == 503, response.content
        assert response.json()["code"] == "service_unavailable"
        assert response["Retry-After"] == "1"

    assert me(api_client, access).status_code == 200


def test_outside_the_api_the_503_is_plain_text(client, db):
    with database_unreachable():
        response = client.get("/admin/login/")

    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/plain")
