"""The benchmark's WSGI application: ``config.wsgi``'s, with Django's query log switched off.

The baseline endpoints of ``bench/views.py`` exist only with DEBUG on (``settings.BENCH`` requires it,
so they can never be mounted in production), so ``bench/run.py`` serves with ``DJANGO_DEBUG=1``. With
DEBUG on, Django wraps every cursor in ``CursorDebugWrapper``: each query, and each ``BEGIN``/``COMMIT``
of ``ATOMIC_REQUESTS``, is timed, its SQL formatted, appended to ``connection.queries_log`` and logged at
DEBUG level. Production (DEBUG off) pays none of that, and it costs most on the endpoints with the most
queries, so it would skew both the throughput and the ratios the benchmark reports. What else DEBUG
changes stays off the measured paths (error and 404 pages, the email backend, deploy checks).

Only gunicorn imports this module; the in-process measurements count queries with
``CaptureQueriesContext``, which logs them through ``force_debug_cursor`` either way.
"""

import os

from django.core.wsgi import get_wsgi_application
from django.db.backends.base.base import BaseDatabaseWrapper

if not isinstance(vars(BaseDatabaseWrapper).get("queries_logged"), property):
    # Django moved the switch: fail loudly rather than measure a server that logs every query.
    raise RuntimeError("BaseDatabaseWrapper.queries_logged is no longer a property; update bench/wsgi.py")


def _queries_logged(self: BaseDatabaseWrapper) -> bool:
    """Django's own is ``self.force_debug_cursor or settings.DEBUG``: keep the explicit opt-in only."""
    return self.force_debug_cursor


BaseDatabaseWrapper.queries_logged = property(_queries_logged)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
