"""Background jobs: work that must not hold up (or fail) the request, such as sending an email.

Jobs are procrastinate tasks, kept in Postgres and run by ``python manage.py procrastinate worker``.
:func:`job_start` is the one way a flow starts one, and ``EMAIL_DELIVERY`` says how:

* ``queue`` (the default with ``DEBUG`` off): the job is inserted through Django's connection, inside
  the caller's transaction, so it exists exactly when the change that asked for it commits (a rolled-back
  request sends nothing, and a committed one is never lost: while no worker runs it waits in the queue).
  A worker runs it with retries and exponential backoff (:data:`RETRY`), so a failing provider delays a
  mail but never changes the answer a client got.
* ``immediate`` (the default with ``DEBUG`` on, and in tests): the job's function runs now, in the
  request, and the mail it sends goes out when the request commits; a failure to send is logged and
  swallowed. The README's first command then needs no worker, and the job's return value (an emailed
  link) can be shown as ``debug_link``.

Job arguments are JSON and never carry a secret: a job that emails a token mints the token itself, so the
raw token exists only in the worker's memory and in the email (the database holds its digest).
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connections
from procrastinate import PsycopgConnector, RetryStrategy
from procrastinate.contrib.django import app, utils
from procrastinate.contrib.django.django_connector import DjangoConnector

# 10 attempts, waiting 2, 4, 8 … 512 seconds between them: about 17 minutes in all, after which the job
# stays in the queue as failed (`manage.py procrastinate` lists and retries those).
RETRY = RetryStrategy(max_attempts=10, exponential_wait=2)
EMAIL_QUEUE = "email"

_inline: contextvars.ContextVar[bool] = contextvars.ContextVar("job_inline", default=False)


def email_task(func: Callable[..., Any]):
    """Declare ``func`` a job of the email queue, retried with :data:`RETRY`.

    What ``func`` returns (an emailed link, for ``debug_link``) reaches the caller only when it runs
    inline: a worker logs each job's result, and a link is a secret.
    """

    @functools.wraps(func)
    def job(**kwargs: Any) -> Any:
        result = func(**kwargs)
        return result if running_inline() else None

    return app.task(name=f"{func.__module__}.{func.__name__}", queue=EMAIL_QUEUE, retry=RETRY)(job)


def job_start(task, **kwargs: Any) -> Any:
    """Start ``task`` with ``kwargs`` as ``EMAIL_DELIVERY`` says; returns what the job returned when it ran
    inline (``immediate``), ``None`` when it was queued."""
    if settings.EMAIL_DELIVERY == "queue":
        task.defer(**kwargs)
        return None
    token = _inline.set(True)
    try:
        return task(**kwargs)
    finally:
        _inline.reset(token)


def running_inline() -> bool:
    """Whether the current job runs in a request (``immediate``) rather than in a worker."""
    return _inline.get()


class RuntimeRoleConnector(DjangoConnector):
    """procrastinate's Django connector, whose worker connections act as the runtime role as well.

    A worker polls the queue on a psycopg pool of its own, opened with Django's connection parameters
    minus Django's ``assume_role`` (which Django applies itself, after connecting). Without this, with a
    ``DATABASE_URL`` naming the owner (the development default), the worker would poll as the owner.
    """

    def get_worker_connector(self) -> PsycopgConnector:
        params = utils.connector_params(self.alias)
        role = connections[self.alias].settings_dict["OPTIONS"].get("assume_role")
        if role:  # libpq's startup option; a backslash keeps a space in the name
            params["options"] = (
                f"{params.get('options', '')} -c role={role.replace(' ', chr(92) + ' ')}".strip()
            )
        return PsycopgConnector(kwargs=params)


def on_app_ready(procrastinate_app) -> None:
    """``PROCRASTINATE_ON_APP_READY``: the connector above, in place of the stock one."""
    procrastinate_app.connector = RuntimeRoleConnector(alias=procrastinate_app.connector.alias)
