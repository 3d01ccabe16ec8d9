"""HTTP security middleware: the redirect to HTTPS, and no caching of API responses. The security
headers themselves come from Django's ``SecurityMiddleware`` and django-csp (config/settings.py)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpResponsePermanentRedirect
from django.http.request import split_domain_port

from core.http import is_local_host

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
