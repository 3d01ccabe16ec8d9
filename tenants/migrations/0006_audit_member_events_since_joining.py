"""A user-level audit event (org_id NULL: a failed sign-in, a refresh replay, a passkey added) is shown to an
org only if its subject was a member of the org when it happened: joined before it and still a member (a
reactivated membership counts from its reactivation: the trigger below). Before, an org
the user joined later saw their whole history: earlier failed sign-ins, IPs, user agents, passkey names."""

from django.db import migrations

BEFORE = """
CREATE POLICY audit_member_events ON tenants_auditevent FOR SELECT
USING (org_id IS NULL AND subject_user_id IN (
    SELECT m.user_id FROM tenants_membership m
    WHERE m.org_id = NULLIF(current_setting('app.current_org', true), '')::uuid AND m.is_active));
"""

AFTER = """
CREATE POLICY audit_member_events ON tenants_auditevent FOR SELECT
USING (org_id IS NULL AND EXISTS (
    SELECT 1 FROM tenants_membership m
    WHERE m.user_id = tenants_auditevent.subject_user_id
      AND m.org_id = NULLIF(current_setting('app.current_org', true), '')::uuid
      AND m.is_active AND m.joined_at <= tenants_auditevent.occurred_at));
"""


# Rejoining is joining, whatever route reactivates a membership (a service, an invitation, SCIM, the
# admin's checkbox, QuerySet.update()): the database moves joined_at, so the org sees the user's own
# events from the rejoin on, never those of the time they were away.
REJOIN_TRIGGER = """
CREATE FUNCTION tenants_membership_rejoined() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT OLD.is_active AND NEW.is_active THEN
        NEW.joined_at := clock_timestamp();
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER tenants_membership_rejoined BEFORE UPDATE OF is_active ON tenants_membership
    FOR EACH ROW EXECUTE FUNCTION tenants_membership_rejoined();
"""
REJOIN_TRIGGER_DROP = """
DROP TRIGGER IF EXISTS tenants_membership_rejoined ON tenants_membership;
DROP FUNCTION IF EXISTS tenants_membership_rejoined();
"""


class Migration(migrations.Migration):
    dependencies = [("tenants", "0005_membership_own_rows_policy")]

    operations = [
        migrations.RunSQL(
            "DROP POLICY audit_member_events ON tenants_auditevent;" + AFTER,
            reverse_sql="DROP POLICY audit_member_events ON tenants_auditevent;" + BEFORE,
        ),
        migrations.RunSQL(REJOIN_TRIGGER, reverse_sql=REJOIN_TRIGGER_DROP),
    ]
