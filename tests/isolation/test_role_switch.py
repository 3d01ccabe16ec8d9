"""With ``assume_role`` (the owner's login, requests as the runtime role), the role is the transaction's own.

Every transaction begins with ``SET LOCAL ROLE <runtime role>`` — in the same message as its ``BEGIN`` on
the request path, with the first statement elsewhere — and a statement outside any transaction carries
it too, so the role is never a setting of the connection's session (``core.postgres.base``). Hence an
injected ``RESET ROLE`` (or ``SET ROLE NONE``) ends with its transaction, and a transaction-pooling
PgBouncer in front neither hands the runtime role to another client of the same login nor lets an
earlier client's session state decide the role the app runs as (issue 25 item 13).

Tests connect as ``postgres`` (a superuser) with ``assume_role``: running as the login role here would
bypass row-level security altogether, so every check is a check of RLS staying on.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, connections, transaction
from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView

from core.postgres.trace import wire_trace
from tenants.rls.context import activate_org
from tenants.rls.postgres_roles import owner_connection
from tests.api import bearer, login
from tests.factories import DEFAULT_PASSWORD, make_org, make_user
from tests.servers import pgbouncer_serving

RUNTIME_ROLE = settings.DATABASE_APP_ROLE
ROLE_SWITCH = f'SET LOCAL ROLE "{RUNTIME_ROLE}"'


def current_user(using: str = "default") -> str:
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT current_user")
        return cursor.fetchone()[0]


def injected(statement: str, using: str = "default") -> None:
    """``statement`` in a transaction of its own, committed: what an injected statement would leave."""
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.execute(statement)


# --- In a request ---------------------------------------------------------------------------------------


class WhoAmI(APIView):
    """GET: the role and org the request's transaction runs as. POST: run ``RESET ROLE`` in it, as an
    injected statement would."""

    def get(self, request):
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user, pg_backend_pid(), current_setting('app.current_org', true)")
            role, pid, org = cursor.fetchone()
        return Response({"role": role, "pid": pid, "org": org})

    def post(self, request):
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
        return Response({"role": current_user()})


urlpatterns = [path("whoami/", WhoAmI.as_view()), path("", include("config.urls"))]


@pytest.fixture
def signed_in(api_client, settings):
    acme = make_org(name="Acme", owner=make_user(email="ada@example.com"))
    body = login(api_client, "ada@example.com", DEFAULT_PASSWORD).json()
    settings.ROOT_URLCONF = __name__
    return acme, bearer(body["access"])


@pytest.mark.django_db(transaction=True)
def test_a_request_transaction_runs_as_the_runtime_role_switched_in_its_begin_message(api_client, signed_in):
    acme, headers = signed_in

    with wire_trace() as wire:
        response = api_client.get("/whoami/", **headers)

    assert response.status_code == 200, response.content
    assert response.json()["role"] == RUNTIME_ROLE
    assert response.json()["org"] == str(acme.id)
    assert wire.messages[0].startswith(f"BEGIN;\n{ROLE_SWITCH};\n")  # no round trip of its own
    assert wire.round_trips == 3  # authentication with BEGIN and the role, the view's SELECT, COMMIT


@pytest.mark.django_db(transaction=True)
def test_after_a_request_ran_reset_role_the_next_request_runs_as_the_runtime_role_again(api_client, signed_in):
    _, headers = signed_in
    first = api_client.get("/whoami/", **headers).json()

    escaped = api_client.post("/whoami/", **headers)
    assert escaped.status_code == 200
    assert escaped.json()["role"] == "postgres"  # for the rest of that transaction only

    again = api_client.get("/whoami/", **headers).json()
    assert again["pid"] == first["pid"]  # the same connection, whose last transaction reset the role
    assert again["role"] == RUNTIME_ROLE


# --- Transactions and statements on one connection -------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("escape", ["RESET ROLE", "SET ROLE NONE", "SET ROLE postgres"])
def test_after_a_committed_role_escape_the_next_transaction_runs_as_the_runtime_role(escape):
    injected(escape)

    with transaction.atomic():
        assert current_user() == RUNTIME_ROLE


@pytest.mark.django_db(transaction=True)
def test_after_a_committed_reset_role_a_statement_outside_any_transaction_runs_as_the_runtime_role():
    injected("RESET ROLE")

    assert not connection.in_atomic_block
    assert current_user() == RUNTIME_ROLE


@pytest.mark.django_db(transaction=True)
def test_after_a_committed_reset_role_rls_still_applies():
    make_org(name="Acme", owner=make_user(email="ada@example.com"))
    injected("RESET ROLE")

    with transaction.atomic():
        activate_org(None)  # the request path's first statement: BEGIN, the role and the tenant context
        assert current_user() == RUNTIME_ROLE
        assert connection.cursor().execute("SELECT count(*) FROM tenants_membership").fetchone() == (0,)


@pytest.mark.django_db(transaction=True)
def test_the_runtime_role_is_never_a_session_setting_of_the_connection():
    assert current_user() == RUNTIME_ROLE

    # Below Django's cursors, the session itself: still the login role, nothing to hand on or reset.
    assert connection.connection.execute("SELECT current_user").fetchone() == ("postgres",)


@pytest.mark.django_db(transaction=True)
def test_a_transaction_opened_by_executemany_runs_as_the_runtime_role():
    injected("RESET ROLE")

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany("SELECT set_config('app.probe', current_user, true)", [(), ()])
        assert cursor.execute("SELECT current_setting('app.probe')").fetchone() == (RUNTIME_ROLE,)


@pytest.mark.django_db(transaction=True)
def test_a_transaction_opened_by_a_server_side_cursor_runs_as_the_runtime_role():
    injected("RESET ROLE")

    with transaction.atomic(), connection.chunked_cursor() as named:
        named.execute("SELECT current_user")
        assert named.fetchall() == [(RUNTIME_ROLE,)]


@pytest.mark.django_db(transaction=True)
def test_executemany_outside_a_transaction_runs_as_the_runtime_role():
    injected("RESET ROLE")

    with connection.cursor() as cursor:
        cursor.executemany("SELECT set_config('app.probe', current_user, false)", [(), ()])
        assert cursor.execute("SELECT current_setting('app.probe')").fetchone() == (RUNTIME_ROLE,)
        cursor.execute("RESET app.probe")


@pytest.mark.django_db(transaction=True)
def test_a_server_side_cursor_outside_a_transaction_runs_as_the_runtime_role():
    injected("RESET ROLE")

    with connection.chunked_cursor() as named:
        named.execute("SELECT current_user")
        assert named.fetchall() == [(RUNTIME_ROLE,)]


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_already_begun_statements_go_as_written():
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        with wire_trace() as wire:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone() == (RUNTIME_ROLE,)

    assert wire.messages == ["SELECT current_user"]


@pytest.mark.django_db(transaction=True)
def test_without_assume_role_nothing_is_added():
    with owner_connection(), wire_trace() as wire:
        assert current_user() == "postgres"
        with transaction.atomic():
            activate_org(None)

    assert wire.messages == ["SELECT current_user", "BEGIN;\nSET LOCAL \"app\".\"current_org\" = ''", "COMMIT"]


# --- Behind PgBouncer in transaction mode ------------------------------------------------------------------


@contextlib.contextmanager
def pgbouncer_for_the_login() -> Iterator[dict]:
    """PgBouncer in transaction mode in front of the test database, for the tests' own login (the owner,
    here ``postgres``), with ONE server connection: every client's transactions share it. Skips where
    PgBouncer is not installed. As root it runs as ``nobody`` (it refuses root)."""
    database = connections["default"].settings_dict
    folder = Path(tempfile.mkdtemp(prefix="authsvc-pgbouncer-"))
    try:
        with pgbouncer_serving(
            folder,
            databases=(
                f"authsvc = host={database['HOST'] or '127.0.0.1'} port={database['PORT'] or 5432} "
                f"dbname={database['NAME']} user={database['USER']}"
            ),
            users=f'"{database["USER"]}" ""\n',
            auth_type="trust",
            pool_size=1,
            max_client_conn=10,
            run_as="nobody" if os.geteuid() == 0 else None,
            login=f"postgres://{database['USER']}@127.0.0.1:{{port}}/authsvc",
        ) as port:
            yield {"HOST": "127.0.0.1", "PORT": str(port), "NAME": "authsvc", "USER": database["USER"]}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def pooled():
    """Two clients of the same login through the pooler: ``app`` (``assume_role``, as the web process)
    and ``owner`` (no role of its own, as ``migrate`` or an operator's maintenance would be). Connected
    before they join ``connections`` (so ``transaction.atomic(using=…)`` finds them): the test case
    admits only its own aliases' new connections."""
    from core.postgres.base import DatabaseWrapper

    default = connections["default"].settings_dict
    aliases = {"pooled_app": {"assume_role": RUNTIME_ROLE}, "pooled_owner": {}}
    with pgbouncer_for_the_login() as bouncer:
        for alias, options in aliases.items():
            client = DatabaseWrapper(
                {
                    **default,
                    **bouncer,
                    "OPTIONS": {**options, "connect_timeout": "5"},
                    "PREPARED_STATEMENTS": False,  # as behind any transaction pooler
                    "ATOMIC_REQUESTS": False,
                },
                alias=alias,
            )
            client.ensure_connection()
            connections[alias] = client
        try:
            yield tuple(aliases)
        finally:
            for alias in aliases:
                connections[alias].close()
                del connections[alias]


@pytest.mark.django_db(transaction=True)
def test_behind_a_transaction_pooler_another_client_of_the_login_is_never_handed_the_runtime_role(pooled):
    app, owner = pooled

    assert current_user(app) == RUNTIME_ROLE
    with transaction.atomic(using=app):
        assert current_user(app) == RUNTIME_ROLE

    assert current_user(owner) == "postgres"  # the one server connection both used carries no role
    with transaction.atomic(using=owner):
        assert current_user(owner) == "postgres"


@pytest.mark.django_db(transaction=True)
def test_behind_a_transaction_pooler_the_app_runs_as_the_runtime_role_whatever_the_server_connection_carries(
    pooled,
):
    app, owner = pooled
    for escape in ("RESET ROLE", "SET ROLE NONE"):
        injected(escape, using=owner)  # session state on the shared server connection

        with transaction.atomic(using=app):
            assert current_user(app) == RUNTIME_ROLE
        assert current_user(app) == RUNTIME_ROLE

    injected("RESET ROLE", using=app)  # the app's own injected escape, on the same server connection
    assert current_user(owner) == "postgres"
    with transaction.atomic(using=app):
        assert current_user(app) == RUNTIME_ROLE
