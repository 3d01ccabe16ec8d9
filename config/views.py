"""Operational endpoints for load balancers and orchestrators."""

from __future__ import annotations

import logging

from django.db import DatabaseError, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from tenants.checks import rls_problems

logger = logging.getLogger(__name__)


@transaction.non_atomic_requests  # no database work, so no request transaction either
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up (no database access)."""
    return JsonResponse({"status": "ok"})


@transaction.non_atomic_requests  # an unreachable database must be a 503, not a failed BEGIN
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """200 only when the database answers and the RLS self-check passes."""
    try:
        problems = rls_problems()
    except DatabaseError:
        logger.exception("readiness: database unreachable")
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    if problems:
        logger.error("readiness: RLS self-check failed: %s", problems)
        return JsonResponse({"status": "unavailable", "rls": problems}, status=503)
    return JsonResponse({"status": "ok", "database": "ok", "rls": "ok"})
