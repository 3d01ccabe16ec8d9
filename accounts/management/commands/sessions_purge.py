"""``manage.py sessions_purge``: delete sessions that ended (expired or revoked) more than ``--days``
ago, and MFA challenges past their expiry, in batches.

Run it daily from cron, e.g. ``23 3 * * * cd /app && python manage.py sessions_purge``. Without it the
session table keeps every sign-in forever. What it deletes can no longer be used: an ended session
refuses its tokens, and a deleted one refuses them the same way (401); the days kept are for looking
back (the admin, support), default 7.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models.functions import Now
from django.utils import timezone

from accounts.models import MfaChallenge
from core.purge import delete_in_batches

# One per way a session ends, each served by its own index (accounts.models.Session.Meta).
_ENDED_SQL = [
    "DELETE FROM accounts_session WHERE id IN "
    "(SELECT id FROM accounts_session WHERE expires_at < %s LIMIT %s)",
    "DELETE FROM accounts_session WHERE id IN "
    "(SELECT id FROM accounts_session WHERE revoked_at IS NOT NULL AND revoked_at < %s LIMIT %s)",
]
DEFAULT_DAYS = 7


class Command(BaseCommand):
    help = "Delete sessions that ended more than --days ago (default 7) and expired MFA challenges."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help="Keep ended sessions this long.")
        parser.add_argument("--batch-size", type=int, default=5000)

    def handle(self, *args, days: int, batch_size: int, **options) -> None:
        if days < 0 or batch_size < 1:
            raise CommandError("--days must be 0 or more and --batch-size positive.")
        cutoff = timezone.now() - timedelta(days=days)
        sessions = sum(delete_in_batches(sql, [cutoff], batch_size=batch_size) for sql in _ENDED_SQL)
        with transaction.atomic():
            challenges, _ = MfaChallenge.objects.filter(expires_at__lte=Now()).delete()
        self.stdout.write(
            f"Deleted {sessions} session(s) that ended before {cutoff.isoformat()} "
            f"and {challenges} expired MFA challenge(s)."
        )
