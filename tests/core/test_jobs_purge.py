"""``manage.py jobs_purge``: background jobs that finished (failed after their retries, cancelled, aborted,
or succeeded where the worker kept them) go after ``--days``; queued and running ones never."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

pytestmark = pytest.mark.django_db


def job(name: str, status: str, *, finished_days_ago: int) -> None:
    """A job in ``status`` whose events (procrastinate's triggers write them) are that old."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, args) VALUES ('email', %s, '{}') RETURNING id",
            [name],
        )
        (job_id,) = cursor.fetchone()
        if status != "todo":
            cursor.execute("UPDATE procrastinate_jobs SET status = 'doing' WHERE id = %s", [job_id])
            if status != "doing":
                cursor.execute("UPDATE procrastinate_jobs SET status = %s WHERE id = %s", [status, job_id])
        at = timezone.now() - timedelta(days=finished_days_ago)
        cursor.execute("UPDATE procrastinate_events SET at = %s WHERE job_id = %s", [at, job_id])


def remaining() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT task_name FROM procrastinate_jobs")
        return {name for (name,) in cursor.fetchall()}


def purge(*args: str) -> str:
    out = StringIO()
    call_command("jobs_purge", *args, stdout=out)
    return out.getvalue()


def test_finished_jobs_go_after_the_retention_and_pending_ones_stay(db):
    for status in ("failed", "cancelled", "aborted", "succeeded"):
        job(f"{status}-long", status, finished_days_ago=40)
        job(f"{status}-recent", status, finished_days_ago=2)
    job("todo-long", "todo", finished_days_ago=40)
    job("doing-long", "doing", finished_days_ago=40)

    assert purge() == "Deleted 4 finished job(s) older than 30 day(s).\n"

    assert remaining() == {
        *(f"{status}-recent" for status in ("failed", "cancelled", "aborted", "succeeded")),
        "todo-long",
        "doing-long",
    }
    assert purge("--days", "1") == "Deleted 4 finished job(s) older than 1 day(s).\n"
    assert remaining() == {"todo-long", "doing-long"}


def test_a_negative_retention_is_refused(db):
    with pytest.raises(CommandError):
        purge("--days", "-1")
