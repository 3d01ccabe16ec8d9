"""``manage.py jobs_purge``: delete background jobs that finished more than ``--days`` ago.

The worker deletes a job that succeeds (``PROCRASTINATE_WORKER_DEFAULTS``); one that failed after all its
retries, or was cancelled or aborted, stays in the queue for ``manage.py procrastinate`` to list and retry.
This deletes those once they are ``--days`` old (default 30), through procrastinate's own
``JobManager.delete_old_jobs`` (what its ``remove_old_jobs`` task runs). Run it daily from cron, e.g.
``35 3 * * * cd /app && python manage.py jobs_purge``.
"""

from __future__ import annotations

from asgiref.sync import async_to_sync
from django.core.management.base import BaseCommand, CommandError
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob

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
        before = ProcrastinateJob.objects.count()
        async_to_sync(app.job_manager.delete_old_jobs)(
            nb_hours=days * 24, include_failed=True, include_cancelled=True, include_aborted=True
        )
        # The query reports no count; a job deferred meanwhile makes this an undercount.
        deleted = before - ProcrastinateJob.objects.count()
        self.stdout.write(f"Deleted {deleted} finished job(s) older than {days} day(s).")
