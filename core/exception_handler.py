"""The one DRF exception handler: ``{"detail", "code"}`` for errors, DRF's field map for validation."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = drf_exception_handler(exc, context)
    if response is None or isinstance(exc, ValidationError):
        return response
    if isinstance(exc, APIException) and isinstance(exc.detail, str):
        response.data = {"detail": str(exc.detail), "code": exc.detail.code or exc.default_code}
    elif isinstance(response.data, dict) and "detail" in response.data and "code" not in response.data:
        response.data["code"] = getattr(exc, "default_code", "error")
    return response
