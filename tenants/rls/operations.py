"""The migration operation that puts a tenant table under forced, fail-closed row-level security."""

from __future__ import annotations

from django.conf import settings
from django.db.migrations.operations.base import Operation

from tenants.rls.context import ORG_SETTING

TENANT_POLICY = "tenant_isolation"
CROSS_TENANT_POLICY = "cross_tenant"


def tenant_policy_sql(table: str, *, quote=lambda name: f'"{name}"') -> list[str]:
    """The statements that put ``table`` under forced, fail-closed RLS on ``org_id``."""
    predicate = f"org_id = NULLIF(current_setting('{ORG_SETTING}', true), '')::uuid"
    cross_role = quote(settings.DATABASE_CROSS_TENANT_ROLE)
    return [
        f"ALTER TABLE {quote(table)} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {quote(table)} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS {TENANT_POLICY} ON {quote(table)}",
        f"CREATE POLICY {TENANT_POLICY} ON {quote(table)} USING ({predicate}) WITH CHECK ({predicate})",
        f"DROP POLICY IF EXISTS {CROSS_TENANT_POLICY} ON {quote(table)}",
        f"CREATE POLICY {CROSS_TENANT_POLICY} ON {quote(table)} TO {cross_role} USING (true) WITH CHECK (true)",
    ]


class EnableRowLevelSecurity(Operation):
    """Migration operation: enable + force RLS on a model's table with the tenant policies.

    Usage in a downstream app's migration, right after ``CreateModel``::

        EnableRowLevelSecurity("Widget")
    """

    reversible = True

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name

    def state_forwards(self, app_label, state) -> None:
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        from tenants.rls.postgres_roles import ensure_roles

        table = to_state.apps.get_model(app_label, self.model_name)._meta.db_table
        ensure_roles(schema_editor.connection)
        for statement in tenant_policy_sql(table, quote=schema_editor.quote_name):
            schema_editor.execute(statement)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        table = schema_editor.quote_name(from_state.apps.get_model(app_label, self.model_name)._meta.db_table)
        for statement in (
            f"DROP POLICY IF EXISTS {CROSS_TENANT_POLICY} ON {table}",
            f"DROP POLICY IF EXISTS {TENANT_POLICY} ON {table}",
            f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
            f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
        ):
            schema_editor.execute(statement)

    def describe(self) -> str:
        return f"Enable forced row-level security on {self.model_name}"

    @property
    def migration_name_fragment(self) -> str:
        return f"rls_{self.model_name.lower()}"

    def deconstruct(self):
        return (self.__class__.__qualname__, [self.model_name], {})
