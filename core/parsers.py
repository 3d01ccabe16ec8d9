"""JSON parsing that cannot be turned into a 500: bounded size, bounded nesting."""

from __future__ import annotations

import json

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from core.errors import RequestTooLarge


class BoundedJSONParser(JSONParser):
    """DRF's JSONParser, but refuses bodies over ``AUTH_MAX_REQUEST_BYTES`` (413) and deep nesting (400).

    DRF streams the body past Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE``, and ``json.loads`` raises
    ``RecursionError`` on deeply nested input: both would otherwise be a 500.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.AUTH_MAX_REQUEST_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise RequestTooLarge()
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json.loads(raw.decode(encoding), parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise ParseError("JSON parse error: the body is not valid JSON.") from exc


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")
