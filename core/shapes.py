"""Response shapes: each is one serializer that both documents the response (OpenAPI) and renders it.

The hot paths (every sign-in, ``me/``) render through a module-level serializer instance with
:func:`render`, which costs about what a hand-built dict costs, with no second definition of the shape
to keep in step with the schema.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


def render(shape: serializers.Serializer, instance: Any) -> dict:
    """``instance`` in ``shape``, a module-level serializer instance reused across requests: its bound
    fields are built once, not per call (what makes ``Serializer(instance).data`` slow)."""
    return shape.to_representation(instance)


class ErrorSerializer(serializers.Serializer):
    """``{"detail": "<human message>", "code": "<machine code>"}`` (API.md "Conventions")."""

    detail = serializers.CharField()
    code = serializers.CharField()


def error_response(description: str) -> OpenApiResponse:
    """An error response in the API's error format, for ``extend_schema(responses=...)``."""
    return OpenApiResponse(ErrorSerializer, description=description)
