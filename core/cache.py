"""The throttle cache: django-redis, with a per-process local-memory cache while Redis is out of reach.

Security decision: when Redis goes away, throttling **falls back** instead of failing open or failing
closed. Failing closed (500, or 429 for everyone) would stop every sign-in because a counter store is
down; failing open would lift every limit, which is what an attacker would wait for. Falling back keeps
each process counting on its own (limits per process rather than shared: with N processes, up to N
times the configured rate) until Redis answers again; a warning is logged when it starts. Redis is
tried again every ``RETRY_SECONDS``; connection timeouts are short (settings: 1 s), so a Redis that
does not answer delays at most one request per process per retry.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.cache.backends.locmem import LocMemCache
from django_redis.cache import RedisCache
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

RETRY_SECONDS = 5.0


class RedisWithLocalFallback(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._fallback = LocMemCache("authsvc-throttle-fallback", {})
        self._redis_down_until = 0.0

    def _call(self, name: str, *args, **kwargs):
        if time.monotonic() < self._redis_down_until:
            return getattr(self._fallback, name)(*args, **kwargs)
        try:
            return getattr(super(), name)(*args, **kwargs)
        except (ConnectionInterrupted, RedisError) as exc:
            logger.warning(
                "Redis unreachable (%s): throttling counts in this process for %ss", exc, RETRY_SECONDS
            )
            self._redis_down_until = time.monotonic() + RETRY_SECONDS
            return getattr(self._fallback, name)(*args, **kwargs)

    def add(self, *args, **kwargs):
        return self._call("add", *args, **kwargs)

    def get(self, *args, **kwargs):
        return self._call("get", *args, **kwargs)

    def set(self, *args, **kwargs):
        return self._call("set", *args, **kwargs)

    def incr(self, *args, **kwargs):
        return self._call("incr", *args, **kwargs)

    def delete(self, *args, **kwargs):
        return self._call("delete", *args, **kwargs)

    def delete_many(self, *args, **kwargs):
        return self._call("delete_many", *args, **kwargs)

    def clear(self):
        self._fallback.clear()
        return self._call("clear")
