"""``core.postgres.base``: ``BEGIN`` rides with the transaction's first statement, and the transaction
stays exactly the one Django opened (atomic, rolled back as a whole, ended by Django); hot statements are
prepared once per connection, in the message that first uses them.

Tests connect with ``assume_role``: each transaction's first message, and each statement outside one,
carries the role switch (``ROLE``; tests/isolation/test_role_switch.py)."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.db import DataError, ProgrammingError, connection, transaction
from psycopg import pq

from core.postgres.base import Prepared, execute_first
from core.postgres.trace import wire_trace
from tenants.models import Organization
from tenants.rls.context import activate_org, current_org_id

pytestmark = pytest.mark.django_db(transaction=True)
ROLE = f'SET LOCAL ROLE "{settings.DATABASE_APP_ROLE}"'


class Boom(Exception):
    pass


def server_status() -> str:
    return pq.TransactionStatus(connection.connection.pgconn.transaction_status).name


def test_begin_and_the_statement_are_one_round_trip_and_the_transaction_is_real():
    with pytest.raises(Boom), transaction.atomic():
        with connection.cursor() as cursor, wire_trace() as wire:
            execute_first(cursor, "SELECT %(n)s::int", {"n": 7})
            assert cursor.fetchone() == (7,)
        assert wire.round_trips == 1
        assert wire.messages == [f"BEGIN;\n{ROLE};\nSELECT 7::int"]
        assert server_status() == "INTRANS"
        Organization.objects.create(name="Acme", slug="acme")
        raise Boom

    assert server_status() == "IDLE"
    assert not Organization.objects.filter(slug="acme").exists()  # rolled back with the transaction


def test_a_statement_that_never_left_puts_psycopg_back_in_charge_of_begin():
    with pytest.raises(Boom), transaction.atomic():
        with connection.cursor() as cursor, pytest.raises(ProgrammingError, match="parameter missing"):
            execute_first(cursor, "SELECT %(missing)s", {})  # fails while binding, before sending
        assert server_status() == "IDLE"
        assert connection.connection.autocommit is False
        Organization.objects.create(name="Acme", slug="acme")  # psycopg sends BEGIN
        raise Boom

    assert not Organization.objects.filter(slug="acme").exists()


def test_inside_a_transaction_already_begun_it_is_a_plain_execute():
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        with wire_trace() as wire:
            execute_first(cursor, "SELECT 2", None)
            assert cursor.fetchone() == (2,)
    assert wire.messages == ["SELECT 2"]


def test_outside_a_transaction_it_is_a_plain_execute():
    with connection.cursor() as cursor, wire_trace() as wire:
        execute_first(cursor, "SELECT 3", None)
        assert cursor.fetchone() == (3,)
    assert wire.messages == [f"{ROLE};\nSELECT 3"]  # the statement's own implicit transaction
    assert server_status() == "IDLE"


# --- Prepared statements ------------------------------------------------------------------------------

PLUS_ONE = Prepared("authsvc_test_plus_one", "SELECT %(n)s::int + 1")
ONE_OVER = Prepared("authsvc_test_one_over", "SELECT 1 / %(n)s::int")


def prepared_names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        return {name for (name,) in cursor.fetchall()}


def run(statement: Prepared, n: int):
    with connection.cursor() as cursor, wire_trace() as wire:
        execute_first(cursor, [statement], {"n": n})
        value = cursor.fetchone()[0]
    return value, wire.messages


def test_a_prepared_statement_is_prepared_by_the_first_message_and_executed_after():
    connection.close()  # a fresh connection
    with transaction.atomic():
        first = run(PLUS_ONE, 1)
        second = run(PLUS_ONE, 41)

    assert first == (
        2,
        [f"BEGIN;\n{ROLE};\nPREPARE authsvc_test_plus_one AS SELECT $1::int + 1;\nEXECUTE authsvc_test_plus_one(1)"],
    )
    assert second == (42, ["EXECUTE authsvc_test_plus_one(41)"])
    assert "authsvc_test_plus_one" in prepared_names()
    assert run(PLUS_ONE, 2) == (3, [f"{ROLE};\nEXECUTE authsvc_test_plus_one(2)"])  # outlives the transaction


def test_a_new_connection_prepares_again():
    run(PLUS_ONE, 1)
    connection.close()

    assert run(PLUS_ONE, 1)[1] == [
        f"{ROLE};\nPREPARE authsvc_test_plus_one AS SELECT $1::int + 1;\nEXECUTE authsvc_test_plus_one(1)"
    ]


def test_with_prepared_statements_off_the_statement_is_sent_whole():
    connection.close()
    connection.settings_dict["PREPARED_STATEMENTS"] = False
    try:
        assert run(PLUS_ONE, 1) == (2, [f"{ROLE};\nSELECT 1::int + 1"])
        assert "authsvc_test_plus_one" not in prepared_names()
    finally:
        connection.close()
        connection.settings_dict["PREPARED_STATEMENTS"] = True


def test_a_failed_message_that_prepared_leaves_the_connection_to_retire_sending_statements_whole():
    connection.close()
    with pytest.raises(DataError, match="division by zero"), transaction.atomic():
        run(ONE_OVER, 0)

    assert connection.prepared_statements is None  # whether the PREPARE ran is not known
    assert connection.close_at is not None and connection.close_at <= time.monotonic()  # at request end
    assert run(ONE_OVER, 1) == (1, [f"{ROLE};\nSELECT 1 / 1::int"])


def test_activating_an_org_first_in_a_transaction_sends_begin_with_it():
    org_id = "0c6f5d62-2a4e-4d0b-9a0f-6d1b2c3e4f50"
    with transaction.atomic():
        with wire_trace() as wire:
            activate_org(org_id)
        assert str(current_org_id()) == org_id

    assert wire.round_trips == 1
    assert wire.messages == [f'BEGIN;\n{ROLE};\nSET LOCAL "app"."current_org" = \'{org_id}\'']
