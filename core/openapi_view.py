"""Serving ``/api/schema/``: drf-spectacular's view, each variant built once per process.

Apart from ``core.openapi`` (the schema's content), which DRF imports as ``DEFAULT_SCHEMA_CLASS`` while
drf-spectacular's views module is still loading.
"""

from __future__ import annotations

import threading

from django.conf import settings
from django.core.signals import setting_changed
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SCHEMA_KWARGS, SpectacularAPIView
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.settings import api_settings

# Rendered schemas by what selects the bytes: renderer and negotiated media type (format, indent), language,
# version. A handful in practice; bounded, since a client chooses these.
_served: dict[tuple, tuple[bytes, str, str]] = {}
_SERVED_MAX = 16
_building = threading.Lock()


def schema_cache_clear(**_signal) -> None:
    """Forget the served schemas; the next request builds afresh. Any changed setting does it (tests)."""
    _served.clear()


setting_changed.connect(schema_cache_clear, dispatch_uid="core.openapi_view.schema_cache_clear")


def _variant(request) -> tuple:
    """What selects the bytes, as few values as there are schemas: the renderer, its indent (what the JSON
    renderer reads of the media type: other parameters change nothing and must not make a new variant),
    a language of ``LANGUAGES`` and a version of ``ALLOWED_VERSIONS``; 400 for another language or version
    (the library would build, and echo, any: a way to make every request a build)."""
    lang = request.GET.get("lang")
    if lang is not None and lang not in dict(settings.LANGUAGES):
        raise ValidationError({"lang": ["Not a language of this service."]})
    version = request.GET.get("version")
    if version is not None and version not in (api_settings.ALLOWED_VERSIONS or ()):
        raise ValidationError({"version": ["Not a version of this API."]})
    renderer = request.accepted_renderer
    get_indent = getattr(renderer, "get_indent", None)
    indent = get_indent(request.accepted_media_type, {}) if get_indent else None
    return (type(renderer), renderer.media_type, indent, lang if settings.USE_I18N else None, version)


class CachedSchemaView(SpectacularAPIView):
    """drf-spectacular's schema view, each variant built once per process and then served from memory.

    Security decision: the schema is public and building it costs a fifth of a second of CPU or more, so
    anyone could keep workers busy with it; once built it costs nothing, and a throttle (``throttle_scope``,
    its classes given where the view is mounted) bounds what is left, the builds of new variants.

    The bytes and headers are the library's own (its view renders the first request of each variant); only
    errors differ: JSON in the API's format, not in the schema's negotiated YAML.
    """

    throttle_scope = "schema"

    @extend_schema(**SCHEMA_KWARGS)  # as the library's view: not in the schema (SERVE_INCLUDE_SCHEMA)
    def get(self, request, *args, **kwargs):
        key = _variant(request)
        served = _served.get(key)
        if served is None:
            with _building:  # one build at a time: racing first requests wait for it, not build it again
                served = _served.get(key)
                if served is None:
                    served = self._render(request, *args, **kwargs)
                    while len(_served) >= _SERVED_MAX:
                        _served.pop(next(iter(_served)))  # the oldest variant
                    _served[key] = served
        content, content_type, disposition = served
        return HttpResponse(content, content_type=content_type, headers={"Content-Disposition": disposition})

    def _render(self, request, *args, **kwargs) -> tuple[bytes, str, str]:
        response = super().get(request, *args, **kwargs)
        response.accepted_renderer = request.accepted_renderer
        response.accepted_media_type = request.accepted_media_type
        response.renderer_context = self.get_renderer_context()
        content = response.rendered_content
        return content, response["Content-Type"], response["Content-Disposition"]

    def handle_exception(self, exc):
        # A 429 or 401 is an API error like any other: {"detail", "code"} in JSON, whatever format was asked.
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)
