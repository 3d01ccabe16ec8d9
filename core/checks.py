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
