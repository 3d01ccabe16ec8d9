"""Response shapes: each is one serializer that both documents the response (OpenAPI) and renders it.

The hot paths (every sign-in, ``me/``) render through a module-level serializer instance with
:func:`render`, which costs about what a hand-built dict costs, with no second definition of the shape
to keep in step with the schema.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer
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


class ValidationErrorSerializer(serializers.Serializer):
    """DRF's validation errors, ``{"<field>": ["<message>", ...]}`` (API.md "Conventions"): one key per
    refused input field (or ``non_field_errors``). Documentation only: DRF renders these itself, and
    ``core.openapi`` describes the shape (its keys are the input's, so it has no fields here)."""


# A 400 is a field map, or ``{"detail", "code"}`` when there is no field to blame (a body that is not
# JSON: ``parse_error``; a service's ``InvalidInput``). The two never overlap: a field map's values
# are lists.
BAD_REQUEST = PolymorphicProxySerializer(
    component_name="InvalidInput",
    serializers=[ValidationErrorSerializer, ErrorSerializer],
    resource_type_field_name=None,
)


def validation_error_response(description: str) -> OpenApiResponse:
    """A 400 in DRF's validation shape (or the error format), for ``extend_schema(responses=...)``."""
    return OpenApiResponse(BAD_REQUEST, description=description)
