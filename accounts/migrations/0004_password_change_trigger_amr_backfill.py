"""A changed password ends the user's sessions whatever route changed it, ``QuerySet.update()`` and a
hash assigned by hand included: a database trigger, like deactivation's (0003).

A hash upgraded at sign-in (same password, better hasher) is not a change: ``User.check_password``
sets ``app.password_rehash`` for that one transaction and the trigger lets it pass.

Sessions from before ``amr`` existed were password sign-ins (or devlogin's, which proves nothing).
"""

from django.db import migrations

REVOKE_ON_PASSWORD_CHANGE = """
CREATE OR REPLACE FUNCTION accounts_revoke_sessions_on_password_change() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF coalesce(current_setting('app.password_rehash', true), '') <> 'on' THEN
        UPDATE accounts_session SET revoked_at = now(), revoked_reason = 'password_changed'
        WHERE user_id = NEW.id AND revoked_at IS NULL;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER accounts_user_password_changed
AFTER UPDATE OF password ON accounts_user
FOR EACH ROW WHEN (OLD.password IS DISTINCT FROM NEW.password)
EXECUTE FUNCTION accounts_revoke_sessions_on_password_change();
"""


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_session_membership_amr_revocation_triggers")]

    operations = [
        migrations.RunSQL(
            REVOKE_ON_PASSWORD_CHANGE,
            reverse_sql="DROP TRIGGER IF EXISTS accounts_user_password_changed ON accounts_user;"
            " DROP FUNCTION IF EXISTS accounts_revoke_sessions_on_password_change();",
        ),
        migrations.RunSQL(
            "UPDATE accounts_session SET amr = '{pwd}' WHERE amr = '{}' AND user_agent <> 'manage.py devlogin'",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
