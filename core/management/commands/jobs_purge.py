"""``manage.py jobs_purge``: delete background jobs that finished more than ``--days`` ago.

The worker deletes a job that succeeds (``PROCRASTINATE_WORKER_DEFAULTS``); one that failed after all its
retries, or was cancelled or aborted, stays in the queue for ``manage.py procrastinate`` to list and retry.
This deletes those once they are ``--days`` old (default 30), with procrastinate's own query (its
``delete_old_jobs``, which its ``remove_old_jobs`` task runs). Run it daily from cron, e.g.
``35 3 * * * cd /app && python manage.py jobs_purge``.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from procrastinate import jobs, sql

FINAL = [jobs.Status.SUCCEEDED, jobs.Status.FAILED, jobs.Status.CANCELLED, jobs.Status.ABORTED]
DEFAULT_DAYS = 30


class Command(BaseCommand):
    help = (
        "Delete background jobs that finished (succeeded, failed, cancelled, aborted) more than --days ago."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help="Keep finished jobs this long.")

    def handle(self, *args, days: int, **options) -> None:
        if days < 0:
            raise CommandError("--days must be 0 or more.")
        params = {"nb_hours": days * 24, "queue": None, "statuses": [status.value for status in FINAL]}
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql.queries["delete_old_jobs"], params)
            deleted = cursor.rowcount
        self.stdout.write(f"Deleted {deleted} finished job(s) older than {days} day(s).")
