"""Postgres row-level security for tenant tables: the kit every org-scoped table uses.

* :mod:`tenants.rls.context` — the one module that sets ``app.current_org`` (``activate_org``,
  ``tenant_context``, ``execute_in_org``), a user's own rows (``own_rows``), and the one named
  cross-tenant path (``cross_tenant``, ``cross_tenant_rows``);
* :mod:`tenants.rls.models` — ``TenantScopedModel``, the abstract base of every tenant table;
* :mod:`tenants.rls.operations` — ``EnableRowLevelSecurity``, the migration operation;
* :mod:`tenants.rls.postgres_roles` — provisioning of the Postgres roles (runtime, cross-tenant) and
  the owner connection ``migrate`` uses;
* :mod:`tenants.rls.checks` — the self-check (system check, end of ``migrate``, ``/readyz``).

Import from the submodules; this package imports nothing, so settings and app loading stay cheap.
"""
