"""DRF authentication: a thin wrapper over ``accounts.tokens`` and ``accounts.selectors``."""

from __future__ import annotations

from rest_framework.authentication import BaseAuthentication, get_authorization_header

from accounts import tokens
from accounts.selectors import principal_for_access
from core.errors import InvalidInput


class SessionRevoked(tokens.InvalidToken):
    default_detail = "The session of this token has ended."


class AmbiguousCredentials(InvalidInput):
    default_code = "ambiguous_credentials"
    default_detail = "Send either a Bearer token or an API key, not both."


class BearerAuthentication(BaseAuthentication):
    """``Authorization: Bearer <access>``: verify the JWT, then check its session in one query.

    A token whose session was revoked, whose user was deactivated or whose membership ended is refused
    on its next request, not at expiry. The tenant context for the request's transaction is set here.
    A view that shows the user's organizations lists the HTTP methods that need them in
    ``principal_memberships``: the list then rides in the same round trip (``Principal.memberships``).
    """

    keyword = b"bearer"
    bad_request_codes = ("ambiguous_credentials",)  # documented on every view it guards (core.openapi)

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword:
            return None
        if request.META.get("HTTP_X_API_KEY") is not None:
            raise AmbiguousCredentials()
        if len(header) != 2:
            raise tokens.InvalidToken("Malformed Authorization header.")
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise tokens.InvalidToken() from exc
        view = (request.parser_context or {}).get("view")
        with_memberships = request.method in getattr(view, "principal_memberships", ())
        principal = principal_for_access(tokens.decode_access(raw), with_memberships=with_memberships)
        if principal is None:
            raise SessionRevoked()
        return principal.user, principal

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
