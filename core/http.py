"""Request facts shared by throttling, sessions and audit: client IP and user agent."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings


def is_local_host(host: str) -> bool:
    """Whether an ``ALLOWED_HOSTS`` entry names this machine only (development)."""
    host = host.strip().lower()
    return host in {"localhost", "127.0.0.1", "[::1]", "::1", "testserver"} or host.endswith(".localhost")


def origin_of(url: str) -> str:
    """The origin of ``url`` as browsers write it in ``Origin`` and in WebAuthn's client data: lower-case
    scheme and host, the port only when it is not the scheme's default (``HTTPS://App.example.com:443/x``
    is ``https://app.example.com``). A URL that can't be read is returned trimmed, as it is."""
    parts = urlsplit(url.strip())
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        return url.strip()
    if not scheme or not host:
        return url.strip()
    if ":" in host:
        host = f"[{host}]"  # IPv6
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" if port in (None, default) else f"{scheme}://{host}:{port}"


def client_ip(request) -> str:
    """The client's IP: ``REMOTE_ADDR``, or with ``NUM_PROXIES=n`` the n-th address from the right of
    ``X-Forwarded-For`` (the one our own proxy appended), so a client-supplied XFF changes nothing.
    A garbled forwarded address falls back to ``REMOTE_ADDR``."""
    remote_addr = request.META.get("REMOTE_ADDR", "") or ""
    proxies = settings.NUM_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies > 0 and forwarded:
        addresses = [part.strip() for part in forwarded.split(",") if part.strip()]
        if addresses:
            candidate = addresses[-min(proxies, len(addresses))]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                pass
    return remote_addr


@dataclass(frozen=True)
class RequestMeta:
    ip: str | None
    user_agent: str

    @classmethod
    def from_request(cls, request) -> RequestMeta:
        try:
            ip: str | None = str(ipaddress.ip_address(client_ip(request)))
        except ValueError:
            ip = None  # no usable address is not worth failing a sign-in over
        user_agent = (request.META.get("HTTP_USER_AGENT") or "").replace("\x00", "")[:512]
        return cls(ip=ip, user_agent=user_agent)
