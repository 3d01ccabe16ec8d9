"""Sessions name their membership, record how the user signed in (``amr``), users carry
``email_verified``, and the database ends sessions that lost their footing.

The triggers make revocation final whatever route changes a row (admin, ``save()``,
``QuerySet.update()``, raw SQL, a management command): once a user is deactivated, or a membership
ends or is moved to another user or org, every session resting on it is revoked, so reactivating the
user or the membership revives nothing. They run as the caller's role (SECURITY INVOKER), which has
UPDATE on ``accounts_session``; sessions are not tenant rows, so RLS does not narrow the UPDATE.
"""

import django.contrib.postgres.fields
from django.db import migrations, models

REVOKE_FOR_DEACTIVATED_USER = """
CREATE OR REPLACE FUNCTION accounts_revoke_sessions_of_deactivated_user() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE accounts_session SET revoked_at = now(), revoked_reason = 'user_deactivated'
    WHERE user_id = NEW.id AND revoked_at IS NULL;
    RETURN NULL;
END
$$;
CREATE TRIGGER accounts_user_deactivated
AFTER UPDATE OF is_active ON accounts_user
FOR EACH ROW WHEN (OLD.is_active AND NOT NEW.is_active)
EXECUTE FUNCTION accounts_revoke_sessions_of_deactivated_user();
"""

REVOKE_FOR_ENDED_MEMBERSHIP = """
CREATE OR REPLACE FUNCTION accounts_revoke_sessions_of_ended_membership() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE accounts_session SET revoked_at = now(), revoked_reason = 'membership_ended'
    WHERE membership_id = OLD.id AND revoked_at IS NULL;
    RETURN NULL;
END
$$;
CREATE TRIGGER tenants_membership_ended
AFTER UPDATE OF is_active, user_id, org_id ON tenants_membership
FOR EACH ROW WHEN ((OLD.is_active AND NOT NEW.is_active)
                   OR OLD.user_id IS DISTINCT FROM NEW.user_id
                   OR OLD.org_id IS DISTINCT FROM NEW.org_id)
EXECUTE FUNCTION accounts_revoke_sessions_of_ended_membership();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_initial"),
        ("tenants", "0002_rename_profile_membership"),
    ]

    operations = [
        migrations.RenameField(model_name="session", old_name="profile", new_name="membership"),
        migrations.AddField(
            model_name="session",
            name="amr",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.CharField(max_length=16), blank=True, default=list, size=None
            ),
        ),
        migrations.AlterField(
            model_name="session",
            name="revoked_reason",
            field=models.CharField(
                blank=True,
                choices=[
                    ("logout", "Logout"),
                    ("logout_all", "Logout All"),
                    ("revoked_by_user", "Revoked By User"),
                    ("switch_org", "Switch Org"),
                    ("password_changed", "Password Changed"),
                    ("refresh_reuse", "Refresh Reuse"),
                    ("access_lost", "Access Lost"),
                    ("admin", "Admin"),
                    ("user_deactivated", "User Deactivated"),
                    ("membership_ended", "Membership Ended"),
                ],
                max_length=32,
            ),
        ),
        migrations.AddField(
            model_name="user",
            name="email_verified",
            field=models.BooleanField(default=False),
        ),
        migrations.RunSQL(
            REVOKE_FOR_DEACTIVATED_USER,
            reverse_sql="DROP TRIGGER IF EXISTS accounts_user_deactivated ON accounts_user;"
            " DROP FUNCTION IF EXISTS accounts_revoke_sessions_of_deactivated_user();",
        ),
        migrations.RunSQL(
            REVOKE_FOR_ENDED_MEMBERSHIP,
            reverse_sql="DROP TRIGGER IF EXISTS tenants_membership_ended ON tenants_membership;"
            " DROP FUNCTION IF EXISTS accounts_revoke_sessions_of_ended_membership();",
        ),
    ]
