"""Request parsing that cannot be turned into a 500: bounded size, bounded nesting."""

from __future__ import annotations

import json

from django.conf import settings
from django.http import QueryDict
from rest_framework.exceptions import ParseError
from rest_framework.parsers import FormParser, JSONParser

from core.errors import RequestTooLarge


def read_bounded(stream) -> bytes:
    """The whole body, or 413 when it exceeds ``AUTH_MAX_REQUEST_BYTES``.

    DRF streams bodies past Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE``, so the cap is enforced here.
    """
    limit = settings.AUTH_MAX_REQUEST_BYTES
    raw = stream.read(limit + 1) if stream is not None else b""
    if len(raw) > limit:
        raise RequestTooLarge()
    return raw


class BoundedJSONParser(JSONParser):
    """DRF's JSONParser with a size cap (413) and deep nesting as a 400 (``json`` raises RecursionError)."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = read_bounded(stream)
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json.loads(raw.decode(encoding), parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise ParseError("JSON parse error: the body is not valid JSON.") from exc


class BoundedFormParser(FormParser):
    """DRF's FormParser with the same size cap."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = read_bounded(stream)
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return QueryDict(raw, encoding=encoding)
        except UnicodeDecodeError as exc:
            raise ParseError("Form parse error: the body is not valid.") from exc


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")
