"""HTTP middleware: the redirect to HTTPS, API paths without their final "/", no caching of API responses,
django-csp's Content-Security-Policy built once, and 503 for a database that cannot be reached. The other
security headers come from Django's ``SecurityMiddleware`` (config/settings.py)."""

from __future__ import annotations

import logging
from dataclasses import asdict

from csp.middleware import CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.http.request import split_domain_port
from django.urls import is_valid_path

from core.http import is_local_host

logger = logging.getLogger(__name__)

# Load balancers and orchestrators probe these over plain HTTP (under a Host that ALLOWED_HOSTS lists:
# any other gets 400 from CommonMiddleware, as every request does).
PROBE_PATHS = frozenset({"/healthz", "/readyz"})


class HttpsRedirectMiddleware:
    """With ``HTTPS_REDIRECT`` (env ``SECURE_SSL_REDIRECT``), plain HTTP gets a 301 to the same URL on
    ``https://``, as Django's own ``SECURE_SSL_REDIRECT`` does, except for the probes and for requests
    addressed to this machine (Host ``localhost``, ``127.0.0.1``, ``[::1]``).

    Security decision: the redirect protects browsers that reach the public name over HTTP. A request
    whose Host is a local name (which ``ALLOWED_HOSTS`` must list, or it is refused anyway) comes from
    this machine or its container: ``runserver`` with ``DJANGO_DEBUG=0``, ``docker compose``'s app on
    http://localhost:8000, a health check. There is no network in between for TLS to protect, and no
    certificate to redirect to. Django's ``SecurityMiddleware`` cannot make that exception, so its
    redirect stays off and this one runs beside it (its deploy check: ``core.checks``).
    """

    def __init__(self, get_response) -> None:
        if not settings.HTTPS_REDIRECT:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request):
        if not request.is_secure() and request.path_info not in PROBE_PATHS:
            host = request.get_host()
            if not is_local_host(split_domain_port(host)[0]):
                return HttpResponsePermanentRedirect(f"https://{host}{request.get_full_path()}")
        return self.get_response(request)


class ApiOptionalSlashMiddleware:
    """An ``/api/`` path without its final "/" is served as the path with it: same view, same answer, no
    redirect (API.md "Conventions"). Clients ported from other APIs leave the slash out, and Django's
    APPEND_SLASH would answer them a 301, which loses a POST's body, or with DEBUG a 500 page.

    One rule for every API route, the URL patterns (and so the OpenAPI schema) keep their canonical form. A
    path that resolves as it is stays as it is; any other gets the slash, which the JSON 404 under /api/
    catches if nothing else does. Other paths (the admin) keep APPEND_SLASH; ``/healthz``, ``/readyz`` and
    ``/.well-known/jwks.json`` are exact, as written.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if (path == "/api" or path.startswith("/api/")) and not path.endswith("/"):
            urlconf = getattr(request, "urlconf", None)
            if not is_valid_path(path, urlconf) and is_valid_path(f"{path}/", urlconf):
                request.path_info = f"{path}/"
                request.path = f"{request.path}/"
        return self.get_response(request)


class ApiNoStoreMiddleware:
    """Every response under ``/api/`` that sets no ``Cache-Control`` of its own gets ``no-store``.

    Security decision: API responses carry tokens, API keys shown once, ``debug_link``s and personal
    data; no browser or shared cache may keep any of them, and a view that forgets must not leak. Token
    responses keep their own ``no-store`` + ``Pragma`` (RFC 6749 §5.1); anything outside ``/api/`` (the
    public key set, static files) stays cacheable.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path_info.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response


_NONE: dict = {}  # one object, so that an unset policy keeps its place in the cache key


class StaticCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, with the policy built once instead of per response.

    Our policy is one fixed string (no nonces, no per-view overrides), yet django-csp assembles it from
    the settings on every response: some 40 µs, a tenth of a bare Django request here. Responses that do
    carry a nonce or an override (``csp.decorators``), and DEBUG's exemption of 404/500, go the library's
    way. The cache follows the settings objects, so a changed policy (tests) is rebuilt.
    """

    _OVERRIDES = tuple(
        f"_csp_{kind}{suffix}" for kind in ("config", "update", "replace", "exempt") for suffix in ("", "_ro")
    )
    _built: tuple[tuple[int, int], str, str] | None = None

    def process_response(self, request, response):
        custom = getattr(request, "_csp_nonce", None) is not None or any(
            hasattr(response, name) for name in self._OVERRIDES
        )
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", None) or _NONE
        report_only = getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None) or _NONE
        if custom or policy.get("EXCLUDE_URL_PREFIXES") or report_only.get("EXCLUDE_URL_PREFIXES"):
            return super().process_response(request, response)
        if settings.DEBUG and response.status_code in (404, 500):
            return response  # Django's debug pages use inline styles and scripts (as the library does)
        key = (id(policy), id(report_only))
        if self._built is None or self._built[0] != key:
            parts = self.get_policy_parts(request=request, response=response)
            parts_ro = self.get_policy_parts(request=request, response=response, report_only=True)
            self._built = (
                key,
                build_policy(**asdict(parts)),
                build_policy(**asdict(parts_ro), report_only=True),
            )
        _, header, header_ro = self._built
        if header:
            response.headers.setdefault("Content-Security-Policy", header)
        if header_ro:
            response.headers.setdefault("Content-Security-Policy-Report-Only", header_ro)
        request.csp_nonce = None  # too late for a nonce now (the library raises on a late use instead)
        return response


DATABASE_UNAVAILABLE = {
    "detail": "The service is briefly unavailable; try again.",
    "code": "service_unavailable",
}
RETRY_AFTER_SECONDS = 1


class DatabaseUnavailableMiddleware:
    """A request that lost its database (server down, restarting or unreachable; a connection broken
    in use; a statement cancelled or timed out) is answered **503** with ``Retry-After``, never 500.

    The request's transaction was rolled back (or never began), so nothing was half-written, and Django
    drops the broken connection when the request ends: the next request connects afresh, without an app
    restart. A connection the server closed between requests never gets here, as the backend replaces it
    before use (``core.postgres``).
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        logger.warning(
            "database unavailable: %s %s answered 503: %s", request.method, request.path, exception
        )
        if request.path_info.startswith("/api/"):
            response = JsonResponse(DATABASE_UNAVAILABLE, status=503)
        else:
            response = HttpResponse(DATABASE_UNAVAILABLE["detail"], status=503, content_type="text/plain")
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
