"""Deployment warnings that are not errors in development."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.caches, deploy=True)
def check_shared_throttle_cache(app_configs=None, **kwargs) -> list[Warning]:
    """Throttle counters in local memory are per process: N workers multiply every limit by N."""
    if settings.DEBUG or settings.REDIS_URL:
        return []
    return [
        Warning(
            "REDIS_URL is not set: throttle counters are kept per process, so each worker allows the full rate.",
            id="core.W001",
            hint="Set REDIS_URL to a Redis shared by every web process.",
        )
    ]


@register(Tags.security, deploy=True)
def check_https_redirect(app_configs=None, **kwargs) -> list[Warning]:
    """Django's security.W008 (silenced in settings) for the redirect that replaces its own:
    ``core.middleware.HttpsRedirectMiddleware``, on unless ``SECURE_SSL_REDIRECT=0``."""
    if settings.HTTPS_REDIRECT:
        return []
    return [
        Warning(
            "SECURE_SSL_REDIRECT is off: plain HTTP requests are served, not redirected to HTTPS.",
            id="core.W002",
            hint="Leave it on, unless the proxy in front redirects HTTP to HTTPS itself.",
        )
    ]


@register(Tags.security)
def check_cookie_mode_origins(app_configs=None, **kwargs) -> list[Warning]:
    """Cookie mode accepts the refresh cookie only from origins in CORS_ALLOWED_ORIGINS: with none
    listed, every cookie call would be refused (accounts.api.cookies)."""
    if not settings.AUTH_REFRESH_COOKIE or settings.CORS_ALLOWED_ORIGINS:
        return []
    return [
        Warning(
            "AUTH_REFRESH_COOKIE is on but CORS_ALLOWED_ORIGINS is empty: every refresh/ or logout/ "
            "authenticated by the cookie will be refused with 403 origin_not_allowed.",
            id="core.W003",
            hint="List the SPA's origin, e.g. CORS_ALLOWED_ORIGINS=https://app.example.com.",
        )
    ]
