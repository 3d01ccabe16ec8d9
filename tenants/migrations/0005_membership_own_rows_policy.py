"""A user may read their own memberships in every org (``tenants.rls.context.own_rows_sql``).

A second, read-only policy on the membership table: rows whose ``user_id`` is ``app.current_user``. That
setting is set for one statement at a time (the membership list at sign-in, on ``me/`` and ``orgs/``), so
the list is an ordinary RLS query riding in the same round trip as the request's authentication, with
no role switch. Writes still need the org policy.
"""

from django.db import migrations

from tenants.rls.context import USER_SETTING

POLICY = "own_memberships"
TABLE = "tenants_membership"


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0004_mfa"),
    ]

    operations = [
        migrations.RunSQL(
            sql=(
                f"CREATE POLICY {POLICY} ON {TABLE} FOR SELECT "
                f"USING (user_id = NULLIF(current_setting('{USER_SETTING}', true), '')::uuid)"
            ),
            reverse_sql=f"DROP POLICY IF EXISTS {POLICY} ON {TABLE}",
        ),
    ]
