"""``manage.py invitations_purge``: delete invitations that ended (accepted, revoked or expired) more than
``--days`` ago, in batches, in every org (the named cross-tenant path).

Run it daily from cron, e.g. ``29 3 * * * cd /app && python manage.py invitations_purge``. An ended
invitation can no longer be accepted; the days kept (default 30) are for the org's invitation list, which
shows accepted, revoked and expired ones too, and for resending an expired one (a resend renews it). Once
purged, invite the address again. The audit log keeps its own record of each.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.purge import delete_in_batches
from tenants.rls.context import cross_tenant

# An invitation ends at the first of: its acceptance, its revocation, its expiry (Invitation.status).
# Postgres's LEAST skips NULLs (MySQL's and Oracle's would give NULL), and expires_at is never NULL.
# The condition is repeated on the DELETE itself: a resend committed meanwhile renews the row, which
# must then stay.
_BATCH_SQL = """
DELETE FROM invitations_invitation
WHERE LEAST(accepted_at, revoked_at, expires_at) < %s AND id IN (
    SELECT id FROM invitations_invitation WHERE LEAST(accepted_at, revoked_at, expires_at) < %s LIMIT %s
)
"""
DEFAULT_DAYS = 30


class Command(BaseCommand):
    help = "Delete invitations that ended (accepted, revoked, expired) more than --days ago (default 30)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--days", type=int, default=DEFAULT_DAYS, help="Keep ended invitations this long."
        )
        parser.add_argument("--batch-size", type=int, default=5000)

    def handle(self, *args, days: int, batch_size: int, **options) -> None:
        if days < 0 or batch_size < 1:
            raise CommandError("--days must be 0 or more and --batch-size positive.")
        cutoff = timezone.now() - timedelta(days=days)
        total = delete_in_batches(_BATCH_SQL, [cutoff, cutoff], batch_size=batch_size, scope=cross_tenant)
        self.stdout.write(f"Deleted {total} invitation(s) that ended before {cutoff.isoformat()}.")
