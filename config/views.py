"""Operational endpoints for load balancers and orchestrators."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError, transaction
from django.http import HttpRequest, JsonResponse
from django.views import defaults
from django.views.decorators.http import require_safe

from tenants.rls.checks import rls_problems

logger = logging.getLogger(__name__)


@transaction.non_atomic_requests  # no database work, so no request transaction either
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up (no database access)."""
    return JsonResponse({"status": "ok"})


@transaction.non_atomic_requests  # no database work
@require_safe
def index(request: HttpRequest) -> JsonResponse:
    """``/``: where to go from here (a newcomer's first request, a load balancer's default probe)."""
    links = {
        "docs": "/api/docs/",
        "schema": "/api/schema/",
        "health": "/healthz",
        "ready": "/readyz",
        "jwks": "/.well-known/jwks.json",
    }
    if settings.DEBUG:
        links["example"] = "/example/"  # the reference SPA, served with DEBUG only
    return JsonResponse({"service": "authsvc", "links": links})


@transaction.non_atomic_requests  # an unreachable database must be a 503, not a failed BEGIN
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """200 only when the database answers and the RLS self-check passes."""
    try:
        problems = rls_problems()
    except DatabaseError:
        logger.exception("readiness: database unreachable")
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    if problems:
        # The details (role and table names) go to the log, not to anonymous callers.
        logger.error("readiness: RLS self-check failed: %s", problems)
        return JsonResponse({"status": "unavailable", "rls": "failed"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok", "rls": "ok"})


def _json_error(status: int, detail: str, code: str):
    def handler(request: HttpRequest, exception: Exception | None = None):
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": detail, "code": code}, status=status)
        return _html_defaults[status](request, *([exception] if exception is not None else []))

    return handler


_html_defaults = {404: defaults.page_not_found, 400: defaults.bad_request, 500: defaults.server_error}

# Errors Django raises before DRF sees the request (unknown path, too many form fields, a bug) answer
# API callers in the API's error format too; other paths keep Django's pages.
not_found = _json_error(404, "Not found.", "not_found")
bad_request = _json_error(400, "Bad request.", "bad_request")
server_error = _json_error(500, "Internal server error.", "server_error")
