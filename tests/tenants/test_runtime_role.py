"""The role requests run as is really bound by row-level security, and the self-check says so.

Tests connect as ``DATABASE_APP_ROLE`` (``assume_role`` on the default alias); ``owner_connection``
swaps the alias to the owner (the superuser ``postgres`` of the embedded server) for a block.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.checks import Error
from django.db import ProgrammingError, connection, transaction

from tenants.rls.checks import check_row_level_security, rls_problems, tenant_tables
from tenants.rls.postgres_roles import owner_connection


def fetchone(sql: str, params: list | None = None) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def fetchall(sql: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def tenant_table_rows(columns: str) -> dict[str, tuple]:
    """``columns`` of ``pg_class c`` for every tenant table of the registry, by table name."""
    rows = fetchall(
        f"""
        SELECT c.relname, {columns}
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = current_schema() AND c.relname = ANY(%s)
        """,
        [tenant_tables()],
    )
    by_table = {name: tuple(rest) for name, *rest in rows}
    assert sorted(by_table) == tenant_tables()  # every tenant table exists
    return by_table


@pytest.mark.django_db
def test_connection_runs_as_the_runtime_role():
    assert settings.DATABASE_APP_ROLE == "authsvc_app"
    assert fetchone("SELECT current_user")[0] == settings.DATABASE_APP_ROLE


@pytest.mark.django_db
def test_runtime_role_is_neither_superuser_nor_bypassrls():
    rolsuper, rolbypassrls = fetchone(
        "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", [settings.DATABASE_APP_ROLE]
    )
    assert rolsuper is False
    assert rolbypassrls is False


@pytest.mark.django_db
def test_runtime_role_owns_no_tenant_table():
    owners = tenant_table_rows("pg_get_userbyid(c.relowner)")
    assert owners  # the registry has tenant tables at all
    assert all(owner != settings.DATABASE_APP_ROLE for (owner,) in owners.values()), owners


@pytest.mark.django_db
def test_runtime_role_is_not_a_member_of_any_tenant_table_owner():
    membership = tenant_table_rows(
        "pg_get_userbyid(c.relowner), pg_has_role(current_user, c.relowner, 'MEMBER')"
    )
    assert membership
    assert not any(is_member for _, is_member in membership.values()), membership


@pytest.mark.django_db
def test_tenant_tables_come_from_the_model_registry_and_include_memberships():
    tables = tenant_tables()
    assert "tenants_membership" in tables
    assert "tenants_organization" not in tables  # orgs themselves are not tenant rows


@pytest.mark.django_db
def test_every_tenant_table_has_enabled_and_forced_rls():
    flags = tenant_table_rows("c.relrowsecurity, c.relforcerowsecurity")
    assert flags["tenants_membership"] == (True, True)
    assert all(flag == (True, True) for flag in flags.values()), flags


@pytest.mark.django_db
def test_every_tenant_table_has_the_tenant_and_cross_tenant_policies():
    policies = tenant_table_rows(
        "ARRAY(SELECT p.polname::text FROM pg_policy p WHERE p.polrelid = c.oid ORDER BY p.polname)"
    )
    # The membership table alone lets a user read their own rows (tenants.migrations.0005), read-only.
    own = policies.pop("tenants_membership")
    assert own == (["cross_tenant", "own_memberships", "tenant_isolation"],)
    assert all(names == (["cross_tenant", "tenant_isolation"],) for names in policies.values()), policies


@pytest.mark.django_db
def test_the_own_rows_policy_only_reads():
    commands = tenant_table_rows(
        "ARRAY(SELECT p.polcmd::text FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'own_memberships')"
    )
    assert commands["tenants_membership"] == (["r"],)


@pytest.mark.django_db
def test_rls_self_check_passes_for_the_runtime_connection():
    assert rls_problems() == []
    assert check_row_level_security(databases=["default"]) == []


def test_rls_system_check_is_skipped_without_databases():
    assert check_row_level_security() == []


@pytest.mark.django_db(transaction=True)
def test_rls_self_check_reports_a_superuser_connection():
    with owner_connection("default"):
        assert fetchone("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user") == (
            "postgres",
            True,
        )
        problems = rls_problems()
    assert any("superuser" in problem for problem in problems), problems
    # Back on the runtime role once the owner block has ended.
    assert fetchone("SELECT current_user")[0] == settings.DATABASE_APP_ROLE
    assert rls_problems() == []


@pytest.mark.django_db(transaction=True)
def test_rls_system_check_returns_errors_on_a_superuser_connection():
    with owner_connection("default"):
        errors = check_row_level_security(databases=["default"])
    assert errors
    assert all(isinstance(error, Error) and error.id == "tenants.E001" for error in errors)
    assert any("superuser" in error.msg for error in errors)


@pytest.mark.django_db(transaction=True)
def test_rls_self_check_reports_an_org_table_without_rls():
    """A table with an ``org_id`` column but no RLS (say, a downstream app forgot the operation) fails."""
    with owner_connection("default"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE forgot_rls (id serial PRIMARY KEY, org_id uuid)")
            cursor.execute(f'SET LOCAL ROLE "{settings.DATABASE_APP_ROLE}"')
        problems = rls_problems()
        transaction.set_rollback(True)  # drop the table again
    assert "table 'forgot_rls' lacks enabled and forced row-level security" in problems
    assert "table 'forgot_rls' has no tenant_isolation policy" in problems
    assert not any("superuser" in problem for problem in problems)


@pytest.mark.django_db
def test_runtime_role_does_not_inherit_the_cross_tenant_role():
    assert fetchone(
        "SELECT pg_has_role(current_user, %s, 'USAGE')", [settings.DATABASE_CROSS_TENANT_ROLE]
    ) == (False,)


@pytest.mark.django_db
def test_runtime_role_is_a_member_of_the_cross_tenant_role():
    assert settings.DATABASE_CROSS_TENANT_ROLE == f"{settings.DATABASE_APP_ROLE}_cross_tenant"
    assert fetchone(
        "SELECT pg_has_role(current_user, %s, 'MEMBER')", [settings.DATABASE_CROSS_TENANT_ROLE]
    ) == (True,)


@pytest.mark.django_db
def test_runtime_role_has_dml_but_not_truncate_on_tenant_tables():
    """TRUNCATE ignores row-level security: the runtime role must not have it."""
    privileges = tenant_table_rows(
        "has_table_privilege(current_user, c.oid, 'SELECT, INSERT, UPDATE, DELETE'),"
        " has_table_privilege(current_user, c.oid, 'TRUNCATE')"
    )
    assert all(row == (True, False) for row in privileges.values()), privileges


@pytest.mark.django_db
def test_runtime_role_cannot_switch_rls_off():
    with pytest.raises(ProgrammingError, match="must be owner"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE tenants_membership NO FORCE ROW LEVEL SECURITY")
