"""Request parsing that cannot be turned into a 500.

Size: DRF reads the body through ``HttpRequest.body``, so Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE``
(set to ``AUTH_MAX_REQUEST_BYTES``) caps it; ``core.exception_handler`` renders that as a 413.
Nesting: ``json`` raises ``RecursionError`` on deeply nested input, which DRF would let through.
"""

from __future__ import annotations

import json

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class SafeJSONParser(JSONParser):
    """DRF's JSONParser, but deep nesting and NaN/Infinity are a 400 like any malformed JSON."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json.loads(stream.read().decode(encoding), parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise ParseError("JSON parse error: the body is not valid JSON.") from exc


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")
