"""Request parsing that cannot be turned into a 500.

Size: DRF reads the body through ``HttpRequest.body``, so Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE``
(set to ``AUTH_MAX_REQUEST_BYTES``) caps it; ``core.exception_handler`` renders that as a 413.
Everything else odd becomes DRF's 400 ``parse_error``: deep nesting (``json`` raises
``RecursionError``), NaN/Infinity, and a ``charset`` naming a non-text codec (JSON is UTF-8, RFC 8259, so
the parameter is ignored). Lone surrogates parse (``"\\ud800"`` is valid JSON) and are refused per
field by DRF's CharField validators.
"""

from __future__ import annotations

import json

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class SafeJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return json.loads(stream.read().decode("utf-8"), parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:  # UnicodeError is a ValueError
            raise ParseError("JSON parse error: the body is not valid JSON.") from exc


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")
