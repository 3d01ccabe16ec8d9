"""Cookie mode for SPAs (``AUTH_REFRESH_COOKIE=1``; README "Integrating a SPA").

Every response that carries a token pair also sets the refresh token as a cookie the page's scripts can't
read (``HttpOnly``), sent over TLS only (``Secure``; browsers make an exception for ``http://localhost``)
and only with same-site requests (``SameSite=Strict``), on ``/api/auth/`` alone. ``refresh/`` and
``logout/`` accept it when the body has none. Because the browser attaches a cookie by itself, such a call
must also come from a page we trust: its ``Origin`` must be listed in ``CORS_ALLOWED_ORIGINS``, or the
call is refused (403 ``origin_not_allowed``, audited) before anything is spent. SameSite and the Origin
check together are the CSRF defence; no CSRF token is needed on top (README "Integrating a SPA").

Setting the cookie is guarded too: a response to a page of a foreign origin never sets it. ``token/``
takes a form, which any site can post without a preflight; its answer would otherwise plant the
attacker's session in the victim's browser (login CSRF). And a request carrying several
``refresh_token`` cookies (a sibling subdomain can add one for the parent domain) is refused, not
resolved by whichever the parser keeps.
"""

from __future__ import annotations

import time

from django.conf import settings
from rest_framework.response import Response

from accounts.tokens import InvalidToken, decode_refresh
from core.errors import Forbidden
from tenants.audit import AuditEventType, audit_record_after_request

COOKIE_NAME = "refresh_token"
COOKIE_PATH = "/api/auth/"


class OriginNotAllowed(Forbidden):
    default_code = "origin_not_allowed"
    default_detail = "A call authenticated by the refresh cookie must come from an allowed origin."


class AmbiguousRefreshCookie(InvalidToken):
    default_detail = "Several refresh cookies were sent: sign in again."


def cookie_mode() -> bool:
    return settings.AUTH_REFRESH_COOKIE


def refresh_cookie_set(response: Response, refresh: str, expires_at: int) -> None:
    response.set_cookie(
        COOKIE_NAME,
        refresh,
        max_age=max(0, expires_at - int(time.time())),
        path=COOKIE_PATH,
        secure=True,
        httponly=True,
        samesite="Strict",
    )


def refresh_cookie_clear(response: Response) -> None:
    response.delete_cookie(COOKIE_NAME, path=COOKIE_PATH, samesite="Strict")
    response.cookies[COOKIE_NAME]["secure"] = True
    response.cookies[COOKIE_NAME]["httponly"] = True


def cookie_may_be_set(request) -> bool:
    """No Origin (not a browser: browsers send one with every POST) or an allowed one."""
    origin = request.headers.get("Origin")
    return origin is None or _origin_allowed(origin)


def _sent_more_than_once(request) -> bool:
    chunks = request.META.get("HTTP_COOKIE", "").split(";")
    return sum(1 for chunk in chunks if chunk.split("=", 1)[0].strip() == COOKIE_NAME) > 1


def _origin_allowed(origin: str | None) -> bool:
    if not origin:
        return False
    allowed = {entry.rstrip("/").lower() for entry in settings.CORS_ALLOWED_ORIGINS}
    return origin.rstrip("/").lower() in allowed


def refresh_from_cookie(request, *, endpoint: str) -> str | None:
    """The refresh cookie's token when cookie mode is on and the request has one; 403 (audited) unless the
    request's ``Origin`` is allowed. The token is only read here: verifying and spending it is the caller's."""
    if not cookie_mode():
        return None
    raw = request.COOKIES.get(COOKIE_NAME)
    if not raw:
        return None
    origin = request.headers.get("Origin")
    if not _origin_allowed(origin):
        try:  # whose cookie it was, when it is genuine (verifying spends nothing)
            subject_user_id = decode_refresh(raw).user_id
        except InvalidToken:
            subject_user_id = None
        audit_record_after_request(
            AuditEventType.REFRESH_COOKIE_ORIGIN_REFUSED,
            subject_user_id=subject_user_id,
            details={"endpoint": endpoint, "origin": (origin or "")[:200]},
        )
        raise OriginNotAllowed()
    if _sent_more_than_once(request):
        raise AmbiguousRefreshCookie()
    return raw


class RefreshCookieMixin:
    """For views that may read the refresh cookie: a 401 answering a token that came from the cookie
    clears it (it is dead: expired, revoked, or replayed)."""

    refresh_came_from_cookie = False

    def refresh_presented(self, request, body_value: str | None, *, endpoint: str) -> str | None:
        if body_value:
            return body_value
        try:
            raw = refresh_from_cookie(request, endpoint=endpoint)
        except AmbiguousRefreshCookie:
            self.refresh_came_from_cookie = True
            raise
        self.refresh_came_from_cookie = raw is not None
        return raw

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if self.refresh_came_from_cookie and response.status_code == 401:
            refresh_cookie_clear(response)
        return response
