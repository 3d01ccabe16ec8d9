"""A user-level audit event (org_id NULL: a failed sign-in, a refresh replay, a passkey added) is shown to an
org only if its subject was a member of the org when it happened: joined before it and still a member (a
reactivated membership counts from its reactivation, ``tenants.services.membership_ensure``). Before, an org
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


class Migration(migrations.Migration):
    dependencies = [("tenants", "0005_membership_own_rows_policy")]

    operations = [
        migrations.RunSQL(
            "DROP POLICY audit_member_events ON tenants_auditevent;" + AFTER,
            reverse_sql="DROP POLICY audit_member_events ON tenants_auditevent;" + BEFORE,
        ),
    ]
