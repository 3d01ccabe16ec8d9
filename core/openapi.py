"""The OpenAPI schema's errors, documented in one place (``REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]``).

Views document their own outcomes with ``extend_schema`` (successes and the errors API.md names for
them: 403 ``not_a_member``, 409 ``email_taken``, ...). What every view of a kind answers is added
here, from what the view is, so no view can forget it:

* 401 with the ``WWW-Authenticate`` challenge on every operation that requires authentication;
* 400 (DRF's field map, or ``parse_error`` for a body that is not JSON), 413 and 415 on every
  operation that parses a request body;
* 429 with ``Retry-After`` on every throttled view;
* 403 with the codes of the view's permissions (``forbidden_codes``: ``no_active_org``,
  ``insufficient_role``, ...), and 400 with those of its authenticators (``bad_request_codes``:
  ``ambiguous_credentials``), named in the status's description even where the view describes it.

A view's own declaration of one of these codes wins (``token/``'s 400 is OAuth's shape), and every
401 and 429, however declared, carries its header: ``core.exception_handler`` and DRF always send it.

Request strings say what DRF's ``CharField`` refuses beyond their length: NUL anywhere, and a value
that is blank once trimmed where ``allow_blank`` is off (a ``pattern``, unless the field has its own).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterable

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from core.shapes import error_response, validation_error_response

UNAUTHENTICATED = error_response(
    "Missing, malformed, expired or revoked credentials (`not_authenticated`, `token_not_valid`)."
)
INVALID_INPUT = validation_error_response(
    'Invalid input: DRF\'s field map `{"<field>": ["<message>", ...]}`, or `parse_error` '
    '(`{"detail", "code"}`) for a body that is not valid JSON.'
)
TOO_LARGE = error_response("`request_too_large`: the body exceeds `AUTH_MAX_REQUEST_BYTES` (64 KiB).")
UNSUPPORTED_MEDIA_TYPE = error_response(
    "`unsupported_media_type`: the body is not in a media type listed here."
)
# An error described only by the codes of a view's permissions or authenticators (_implied_codes).
BY_CODES = error_response("")
THROTTLED = error_response("`throttled`: too many requests; retry after `Retry-After` seconds.")

# Headers every response of the code carries, whoever documented the response.
HEADERS = {
    "401": {
        "WWW-Authenticate": {
            "schema": {"type": "string"},
            "required": True,
            "description": 'The challenge: `Bearer realm="api"` (RFC 9110 §11.6.1).',
        }
    },
    "429": {
        "Retry-After": {
            "schema": {"type": "integer", "minimum": 1},
            "required": True,
            "description": "Seconds to wait before the next attempt.",
        }
    },
}


def char_class(chars: Iterable[str], *, negate: bool = False) -> str:
    """A regex character class of ``chars`` (in ranges), read alike by ECMA 262, Python and Rust."""
    ranges: list[list[int]] = []
    for code in sorted(set(map(ord, chars))):
        if ranges and code == ranges[-1][1] + 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])

    def char(code: int) -> str:
        if code > 0xFFFF:  # no escape for these reads the same in all three; the character does
            return chr(code)
        return f"\\u{code:04x}" if code > 0x7E or code <= 0x20 or chr(code) in "\\]^-" else chr(code)

    body = "".join(char(lo) if lo == hi else f"{char(lo)}-{char(hi)}" for lo, hi in ranges)
    return f"[{'^' if negate else ''}{body}]"


def containing(klass: str) -> str:
    """A pattern for strings without NUL (DRF's CharField refuses it) that contain a ``klass`` character."""
    return f"^[^\\u0000]*{klass}[^\\u0000]*$"


NO_NUL = "^[^\\u0000]*$"


@functools.cache
def not_blank() -> str:
    """What a ``CharField(allow_blank=False)`` takes: ``trim_whitespace`` strips Python's whitespace
    (``str.isspace``, which is not the regex ``\\s``) and the rest must not be empty."""
    whitespace = [chr(code) for code in range(sys.maxunicode + 1) if chr(code).isspace()]
    return containing(char_class(["\0", *whitespace], negate=True))


class AutoSchema(openapi.AutoSchema):
    def _get_request_body(self, direction="request"):
        # drf-spectacular documents bodies of PUT, PATCH and POST only; a DELETE that takes one
        # (``org/``'s confirmation) declares it with ``extend_schema(request=...)``. Nothing is guessed
        # for a DELETE without one.
        if self.method != "DELETE":
            return super()._get_request_body(direction)
        self._get_serializer = lambda: None  # no guessing: only a declared request counts
        try:
            declared = self.get_request_serializer()
        finally:
            del self._get_serializer
        if declared is None:
            return None
        self.method = "POST"
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request":
            for name, field in serializer.fields.items():
                prop = schema.get("properties", {}).get(name)
                if isinstance(field, serializers.CharField) and _is_plain_string(prop):
                    trimmed_non_blank = field.trim_whitespace and not field.allow_blank
                    prop["pattern"] = not_blank() if trimmed_non_blank else NO_NUL
        return schema

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        implied_codes = self._implied_codes()
        for code, response in self._implied_errors(implied_codes).items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        for code, codes in implied_codes.items():
            # A view's own description of the status names its own reasons; the implied ones it does not
            # name are added to it.
            described = responses[code].get("description", "")
            missing = [name for name in codes if f"`{name}`" not in described]
            if missing:
                listed = ", ".join(f"`{name}`" for name in missing)
                responses[code]["description"] = f"{described}; {listed}" if described else listed
        for code, headers in HEADERS.items():
            if code in responses:
                responses[code]["headers"] = {**responses[code].get("headers", {}), **headers}
        return dict(sorted(responses.items()))

    def _implied_errors(self, implied_codes: dict[str, list[str]]) -> dict:
        implied = {}
        if self._requires_authentication():
            implied["401"] = UNAUTHENTICATED
        if self._get_request_body() is not None:
            implied |= {"400": INVALID_INPUT, "413": TOO_LARGE, "415": UNSUPPORTED_MEDIA_TYPE}
        if self.view.get_throttles():
            implied["429"] = THROTTLED
        for code in implied_codes:
            implied.setdefault(code, BY_CODES)  # a body's 400 (INVALID_INPUT) keeps its shape
        return implied

    def _implied_codes(self) -> dict[str, list[str]]:
        """The error codes a view answers whatever it declares: 403s of its permissions (each says which,
        ``forbidden_codes``) and 400s of its authenticators (``bad_request_codes``: the Bearer one refuses
        a request that also carries an API key, on every view it guards)."""
        forbidden = [
            name
            for permission in self.view.get_permissions()
            for name in getattr(permission, "forbidden_codes", lambda view: ())(self.view)
        ]
        bad_request = [
            name for auth in self.view.get_authenticators() for name in getattr(auth, "bad_request_codes", ())
        ]
        codes = {"403": list(dict.fromkeys(forbidden)), "400": list(dict.fromkeys(bad_request))}
        return {status: names for status, names in codes.items() if names}

    def _requires_authentication(self) -> bool:
        # get_auth() lists the accepted schemes; ``{}`` among them means "or none" (AllowAny).
        security = self.get_auth()
        return bool(security) and {} not in security


def _is_plain_string(schema) -> bool:
    return (
        isinstance(schema, dict)
        and schema.get("type") == "string"
        and not {"format", "pattern", "enum", "oneOf"} & set(schema)
    )


class ValidationErrorShape(OpenApiSerializerExtension):
    """``core.shapes.ValidationErrorSerializer`` has no fixed fields: its keys are the input's."""

    target_class = "core.shapes.ValidationErrorSerializer"

    def map_serializer(self, auto_schema, direction):
        return {
            "type": "object",
            "description": 'DRF\'s validation errors: `{"<field>": ["<message>", ...]}` (API.md "Conventions").',
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "minProperties": 1,
        }


def token_query_parameter() -> OpenApiParameter:
    """``?token=``: an emailed token in a query string (validate endpoints), as its serializer refuses it."""
    schema = {"type": "string", "minLength": 1, "maxLength": 128, "pattern": not_blank()}
    return OpenApiParameter("token", schema, required=True)


# --- Postprocessing (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]) -----------------------------------

REQUEST_LINE_TOO_LONG = {
    "description": "The request line (path and query string) is longer than the HTTP server in front takes "
    "(gunicorn: 4094 bytes); answered by that server, before the app, in its own format."
}

# OpenAPI links: which response feeds which request (schemathesis's stateful phase follows them, and so can
# a reader). Keyed by the source operation, then its status; values are that response's ``links``.
LINKS = {
    "api_auth_register_create": {
        "201": {
            "SignIn": {
                "operationId": "api_auth_login_create",
                "requestBody": {"email": "$request.body#/email", "password": "$request.body#/password"},
            },
            "Refresh": {
                "operationId": "api_auth_refresh_create",
                "requestBody": {"refresh": "$response.body#/refresh"},
            },
        }
    },
    "api_auth_login_create": {
        "200": {
            "Refresh": {
                "operationId": "api_auth_refresh_create",
                "requestBody": {"refresh": "$response.body#/refresh"},
            },
        }
    },
    "api_auth_refresh_create": {
        "200": {
            "RefreshAgain": {
                "operationId": "api_auth_refresh_create",
                "requestBody": {"refresh": "$response.body#/refresh"},
            },
        }
    },
    "api_auth_orgs_create": {
        "201": {
            "SwitchToIt": {
                "operationId": "api_auth_switch_org_create",
                "requestBody": {"org_id": "$response.body#/id"},
            },
        }
    },
    "api_auth_sessions_list": {
        "200": {
            "RevokeOne": {
                "operationId": "api_auth_sessions_destroy",
                "parameters": {"session_id": "$response.body#/0/id"},
            },
        }
    },
    "api_auth_org_members_list": {
        "200": {
            "ChangeRole": {
                "operationId": "api_auth_org_members_partial_update",
                "parameters": {"profile_id": "$response.body#/0/profile_id"},
            },
            "Remove": {
                "operationId": "api_auth_org_members_destroy",
                "parameters": {"profile_id": "$response.body#/0/profile_id"},
            },
        }
    },
}


def postprocess(result, generator, request, public):
    """What no single view knows: a 414 wherever a request carries parameters, and the links between
    operations (``LINKS``; each source must exist, so a renamed operation cannot drop its links unseen)."""
    operations_by_id = {
        operation["operationId"]: operation
        for operations in result.get("paths", {}).values()
        for operation in operations.values()
    }
    unknown = LINKS.keys() - operations_by_id.keys()
    assert not unknown, f"core.openapi.LINKS: no operation {sorted(unknown)}"
    for operation_id, operation in operations_by_id.items():
        responses = operation["responses"]
        if operation.get("parameters"):
            responses.setdefault("414", REQUEST_LINE_TOO_LONG)
        for status, links in LINKS.get(operation_id, {}).items():
            responses[status]["links"] = links
        operation["responses"] = dict(sorted(responses.items()))
    return result
