"""Typed application errors: raise anywhere, rendered once by ``core.exception_handler``.

Each error carries an HTTP status and a stable snake_case ``code``; the body is DRF's
``{"detail": "<human message>", "code": "<machine code>"}``.
"""

from __future__ import annotations

from rest_framework import status
from rest_framework.exceptions import APIException


class ApplicationError(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"
    default_detail = "Invalid request."

    def __init__(self, detail: str | None = None, code: str | None = None) -> None:
        super().__init__(detail or self.default_detail, code or self.default_code)


class InvalidInput(ApplicationError):
    status_code = status.HTTP_400_BAD_REQUEST


class Unauthenticated(ApplicationError):
    status_code = status.HTTP_401_UNAUTHORIZED
    default_code = "not_authenticated"
    default_detail = "Authentication credentials were not provided or are invalid."


class Forbidden(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "permission_denied"
    default_detail = "You do not have permission to perform this action."


class NotFound(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"
    default_detail = "Not found."


class Conflict(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "Conflict."


class RequestTooLarge(ApplicationError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"
    default_detail = "Request body too large."
