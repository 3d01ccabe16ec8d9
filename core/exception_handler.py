"""The one DRF exception handler: ``{"detail", "code"}`` for errors, DRF's field map for validation."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import connections
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import RequestTooLarge

BEARER_CHALLENGE = 'Bearer realm="api"'
SERVER_ERROR = {"detail": "Internal server error.", "code": "server_error"}

logger = logging.getLogger(__name__)


def _keep_enclosing_transaction() -> None:
    """Undo DRF's ``set_rollback`` for a view that opened no transaction: the one it marked is not the
    view's (core.transactions.OutsideRequestTransaction)."""
    for connection in connections.all(initialized_only=True):
        if connection.in_atomic_block:
            connection.set_rollback(False)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):  # Django's body cap, hit while DRF parses
        exc = RequestTooLarge()
    response = drf_exception_handler(exc, context)
    if getattr(context.get("view"), "outside_request_transaction", False) or getattr(
        exc, "commit_request", False
    ):
        # (An error with ``commit_request``: what the request wrote before it must stay, a wrong MFA
        # code's count: accounts.services.mfa.second_factor_check.)
        _keep_enclosing_transaction()
    if response is None:
        return None  # not an API error: Django's 500 handler answers (config.views.server_error)
    if response.status_code >= 500 and not getattr(exc, "public_detail", False):
        # A server-side failure says nothing about its internals to the client; the log has it all.
        # (An error whose fixed message and code are part of the contract sets ``public_detail``.)
        logger.error("server error answered as %s", response.status_code, exc_info=exc)
        response.data = dict(SERVER_ERROR)
        return response
    if not isinstance(exc, ValidationError):
        if isinstance(exc, APIException) and isinstance(exc.detail, str):
            response.data = {"detail": str(exc.detail), "code": exc.detail.code or exc.default_code}
        elif isinstance(response.data, dict) and "detail" in response.data and "code" not in response.data:
            response.data["code"] = getattr(exc, "default_code", "error")
    if response.status_code == 401 and "WWW-Authenticate" not in response:
        response["WWW-Authenticate"] = BEARER_CHALLENGE  # RFC 9110 §15.5.2: every 401 carries a challenge
    return response
