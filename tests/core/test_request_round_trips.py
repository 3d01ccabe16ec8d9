"""The request path's round trips to Postgres, read off the wire (libpq's protocol trace).

Each figure is a guarantee of the design (README, "Performance"): authentication and tenant context are
one message, with the transaction's ``BEGIN``; a whole ``GET me/`` is that message and ``COMMIT``; the
per-request health check costs none. Transactional tests: the request's transaction is a real one.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import close_old_connections, connection

from apikeys.services import api_key_create
from core.postgres.trace import wire_trace
from tenants.rls.context import tenant_context
from tests.api import AUTH, bearer, login
from tests.factories import DEFAULT_PASSWORD, add_member, make_org, make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def signed_in(api_client):
    ada = make_user(email="ada@example.com")
    acme = make_org(name="Acme", owner=ada)
    add_member(org=make_org(name="Globex", owner=make_user(email="hank@globex.test")), user=ada)
    body = login(api_client, "ada@example.com", DEFAULT_PASSWORD, org=str(acme.id)).json()
    return ada, acme, body


def traced(api_client, method: str, path: str, **extra):
    """One request as gunicorn serves it: ``request_started`` first (Django's connection upkeep and the
    health check's arming), on a connection kept from an earlier request."""
    close_old_connections()
    with wire_trace() as wire:
        response = getattr(api_client, method)(path, format="json", **extra)
    return response, wire


def test_get_me_is_two_round_trips_auth_tenant_context_and_memberships_in_the_first(api_client, signed_in):
    _, acme, body = signed_in

    response, wire = traced(api_client, "get", f"{AUTH}/me/", **bearer(body["access"]))

    assert response.status_code == 200
    assert [org["name"] for org in response.json()["organizations"]] == ["Acme", "Globex"]
    assert response.json()["org"]["id"] == str(acme.id)
    assert wire.round_trips == 2
    first, last = wire.messages
    assert first.startswith("BEGIN;")
    assert 'SET LOCAL "app"."current_org"' in first
    assert '"app"."current_user"' in first  # the membership list, as the user's own rows
    assert first.startswith(f'BEGIN;\nSET LOCAL ROLE "{settings.DATABASE_APP_ROLE}";\n')  # the runtime role
    assert "SELECT 1" not in first and "SAVEPOINT" not in first
    assert settings.DATABASE_CROSS_TENANT_ROLE not in first
    assert last == "COMMIT"


def test_an_org_scoped_list_is_auth_and_tenant_context_in_one_round_trip_then_its_own_query(
    api_client, signed_in
):
    response, wire = traced(api_client, "get", f"{AUTH}/org/members/", **bearer(signed_in[2]["access"]))

    assert response.status_code == 200
    assert wire.messages[0].startswith("BEGIN;")
    assert 'SET LOCAL "app"."current_org"' in wire.messages[0]
    assert wire.messages[-1] == "COMMIT"
    assert wire.round_trips == 3  # auth + context, the page with its total, COMMIT


def test_refresh_is_one_round_trip_and_commit(api_client, signed_in):
    response, wire = traced(api_client, "post", f"{AUTH}/refresh/", data={"refresh": signed_in[2]["refresh"]})

    assert response.status_code == 200
    assert wire.round_trips == 2
    assert wire.messages[0].startswith("BEGIN;")
    assert "UPDATE accounts_session" in wire.messages[0]


def test_an_api_key_request_is_one_round_trip_and_commit(api_client, signed_in):
    ada, acme, _ = signed_in
    with tenant_context(acme.id):
        _, raw = api_key_create(org_id=acme.id, name="ci", scopes=[], expires_at=None, created_by_id=ada.id)

    api_client.get(f"{AUTH}/me/", HTTP_X_API_KEY=raw)  # the first use stamps last_used_at (once a minute)
    response, wire = traced(api_client, "get", f"{AUTH}/me/", HTTP_X_API_KEY=raw)

    assert response.status_code == 200
    assert response.json()["org"]["id"] == str(acme.id)
    assert wire.round_trips == 2
    assert wire.messages[0].startswith("BEGIN;")


def test_a_revoked_session_is_refused_in_the_same_single_round_trip(api_client, signed_in):
    body = signed_in[2]
    assert api_client.post(f"{AUTH}/logout/", format="json", **bearer(body["access"])).status_code == 204

    response, wire = traced(api_client, "get", f"{AUTH}/me/", **bearer(body["access"]))

    assert response.status_code == 401
    assert "organizations" not in response.json()  # the memberships read alongside are dropped
    assert wire.round_trips == 2  # the message, then the (empty) transaction's end


def test_the_health_check_sends_nothing_on_a_live_connection(api_client, signed_in):
    api_client.get(f"{AUTH}/me/", **bearer(signed_in[2]["access"]))
    pid = connection.connection.info.backend_pid

    close_old_connections()
    with wire_trace() as wire:
        connection.close_if_health_check_failed()

    assert connection.health_check_done
    assert wire.round_trips == 0  # Django's own check would have sent SELECT 1

    assert connection.connection.info.backend_pid == pid  # kept, not replaced
