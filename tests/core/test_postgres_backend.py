"""``core.postgres.base.execute_first``: ``BEGIN`` rides with the transaction's first statement, and the
transaction stays exactly the one Django opened (atomic, rolled back as a whole, ended by Django)."""

from __future__ import annotations

import pytest
from django.db import ProgrammingError, connection, transaction
from psycopg import pq

from core.postgres.base import execute_first
from core.postgres.trace import wire_trace
from tenants.models import Organization

pytestmark = pytest.mark.django_db(transaction=True)


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
        assert wire.messages == ["BEGIN;\nSELECT 7::int"]
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
    assert wire.messages == ["SELECT 3"]
    assert server_status() == "IDLE"
