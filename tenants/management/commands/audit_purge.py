"""``manage.py audit_purge``: delete audit events older than ``AUDIT_RETENTION_DAYS``, in batches.

Run it daily from cron, e.g. ``17 3 * * * cd /app && python manage.py audit_purge``. Each batch is its
own short transaction (through the named cross-tenant path: events of every org), so the table is never
locked for long and an interrupted run simply resumes next time.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.purge import delete_in_batches
from tenants.rls.context import cross_tenant

_BATCH_SQL = """
DELETE FROM tenants_auditevent WHERE id IN (
    SELECT id FROM tenants_auditevent WHERE occurred_at < %s ORDER BY occurred_at LIMIT %s
)
"""


class Command(BaseCommand):
    help = "Delete audit events older than AUDIT_RETENTION_DAYS (or --days), in batches."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--days", type=int, default=None, help="Keep this many days (default: AUDIT_RETENTION_DAYS)."
        )
        parser.add_argument("--batch-size", type=int, default=5000)

    def handle(self, *args, days: int | None, batch_size: int, **options) -> None:
        days = settings.AUDIT_RETENTION_DAYS if days is None else days
        if days < 1 or batch_size < 1:
            raise CommandError("--days and --batch-size must be positive.")
        cutoff = timezone.now() - timedelta(days=days)
        total = delete_in_batches(_BATCH_SQL, [cutoff], batch_size=batch_size, scope=cross_tenant)
        self.stdout.write(
            f"Deleted {total} audit event(s) older than {days} day(s) (before {cutoff.isoformat()})."
        )
