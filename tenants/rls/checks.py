"""The RLS self-check: is the runtime role really bound by row-level security?

Runs as a Django system check (``python manage.py check --database default``), after ``migrate``, and
behind ``/readyz``. It fails when the role requests run as:

* is a superuser or has BYPASSRLS (policies would not apply at all);
* owns, or is a member of the owner of, a tenant table (it could disable RLS);
* inherits the cross-tenant role's privileges (its policy would admit every row);

or when a tenant table (a ``TenantScopedModel`` or any table with an ``org_id`` column) lacks enabled
and forced RLS or the tenant policy.
"""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, Tags, register
from django.db import connections

from tenants.rls.models import TenantScopedModel
from tenants.rls.operations import TENANT_POLICY

CHECK_TAG = "rls"


def tenant_tables() -> list[str]:
    """Tables of every concrete ``TenantScopedModel`` subclass in the registry."""
    return sorted(
        model._meta.db_table
        for model in apps.get_models()
        if issubclass(model, TenantScopedModel) and not model._meta.proxy
    )


def rls_problems(using: str = "default") -> list[str]:
    """Human-readable problems with the RLS setup as seen from ``using``'s role; empty when sound."""
    problems: list[str] = []
    expected = tenant_tables()
    with connections[using].cursor() as cursor:
        cursor.execute(
            """
            SELECT current_user, r.rolsuper, r.rolbypassrls,
                   CASE WHEN EXISTS (SELECT FROM pg_roles WHERE rolname = %s)
                        THEN pg_has_role(current_user, %s, 'USAGE') ELSE false END
            FROM pg_roles r WHERE r.rolname = current_user
            """,
            [settings.DATABASE_CROSS_TENANT_ROLE] * 2,
        )
        role, is_superuser, bypasses_rls, inherits_cross_tenant = cursor.fetchone()
        if is_superuser:
            problems.append(f"runtime role {role!r} is a superuser: row-level security does not apply to it")
        if bypasses_rls:
            problems.append(f"runtime role {role!r} has BYPASSRLS")
        if inherits_cross_tenant:
            problems.append(
                f"runtime role {role!r} inherits {settings.DATABASE_CROSS_TENANT_ROLE!r}: make it NOINHERIT"
            )
        cursor.execute(
            """
            SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
                   pg_has_role(current_user, c.relowner, 'MEMBER'),
                   EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = %s)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema()
              AND (c.relname = ANY(%s) OR EXISTS (
                    SELECT FROM pg_attribute a
                    WHERE a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped))
            """,
            [TENANT_POLICY, expected],
        )
        found = {name: rest for name, *rest in cursor.fetchall()}
    for table in expected:
        if table not in found:
            problems.append(f"tenant table {table!r} does not exist (run migrate)")
    for table, (enabled, forced, owned, has_policy) in sorted(found.items()):
        if not enabled or not forced:
            problems.append(f"table {table!r} lacks enabled and forced row-level security")
        if not has_policy:
            problems.append(f"table {table!r} has no {TENANT_POLICY} policy")
        if owned and not is_superuser:
            problems.append(f"runtime role {role!r} owns table {table!r} (it could switch RLS off)")
    return problems


# Tagged "database" too: Django then hands it databases only when asked (``check --database``), never
# before the first ``migrate`` has created the tables (Django 6 gives untagged checks every alias).
@register(CHECK_TAG, Tags.database)
def check_row_level_security(app_configs=None, databases=None, **kwargs) -> list[Error]:
    """System check wrapper: runs only when databases are named (``check --database default``)."""
    if not databases:
        return []
    return [
        Error(problem, id="tenants.E001", hint="See README, 'Row-level security'.")
        for alias in databases
        for problem in rls_problems(alias)
    ]
