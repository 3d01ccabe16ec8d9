"""Scoped throttles for the public sign-in endpoints: per client IP and per submitted email.

Rates live in ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (env ``AUTH_THROTTLE_RATES``) on the shared
cache (Redis with ``REDIS_URL``). The IP comes from ``core.http.client_ip`` (honours ``NUM_PROXIES``),
so a rotating ``X-Forwarded-For`` does not buy new buckets, and IPv6 clients share a bucket per /64;
the email bucket bounds a distributed guess at one account.
"""

from __future__ import annotations

import hashlib
import ipaddress

from rest_framework.throttling import SimpleRateThrottle

from accounts.models import normalize_email
from core.http import client_ip


def rate_limit_key(ip: str) -> str:
    """The bucket of an address: IPv4 as is, IPv6 by its /64 (one subscriber's whole prefix)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class IPRateThrottle(SimpleRateThrottle):
    """Per-IP bucket for the view's ``throttle_scope``."""

    def get_rate(self):
        return None  # resolved in allow_request, once the view's scope is known

    def allow_request(self, request, view) -> bool:
        self.scope = getattr(view, "throttle_scope", None)
        if not self.scope:
            return True
        self.rate = self.THROTTLE_RATES.get(self.scope)
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_ident(self, request) -> str:
        return rate_limit_key(client_ip(request))

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class EmailRateThrottle(IPRateThrottle):
    """Per-email bucket (scope ``<throttle_scope>_email``) keyed on the submitted address."""

    email_fields = ("email", "username")

    def allow_request(self, request, view) -> bool:
        scope = getattr(view, "throttle_scope", None)
        if not scope:
            return True
        self.email = self._submitted_email(request)
        if not self.email:
            return True
        self.scope = f"{scope}_email"
        self.rate = self.THROTTLE_RATES.get(self.scope)
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return SimpleRateThrottle.allow_request(self, request, view)

    def _submitted_email(self, request) -> str:
        data = request.data if hasattr(request, "data") else request.POST  # DRF or plain Django (admin)
        for field in self.email_fields:
            value = data.get(field) if hasattr(data, "get") else None
            if isinstance(value, str) and value.strip():
                digest = hashlib.sha256(normalize_email(value).encode("utf-8", "surrogatepass"))
                return digest.hexdigest()
        return ""

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.email}
