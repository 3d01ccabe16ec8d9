"""Secrets handed to people (emailed links, codes; later invitations and API keys): made with
``secrets``, stored only as a keyed digest, compared in constant time."""

from __future__ import annotations

import hmac
import secrets

from django.conf import settings
from django.utils.crypto import salted_hmac

TOKEN_BYTES = 32  # 256 bits; URL-safe base64 without padding: 43 characters


def token_new() -> str:
    """A fresh URL-safe token with 256 bits from the OS's CSPRNG."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def code_new(digits: int = 6) -> str:
    """A short numeric one-time code (only safe behind an attempt cap)."""
    return f"{secrets.randbelow(10**digits):0{digits}d}"


def secret_keys() -> list[str]:
    """``SECRET_KEY``, then each of ``SECRET_KEY_FALLBACKS`` (env ``DJANGO_SECRET_KEY_FALLBACKS``): what a
    long-lived secret sealed or digested under an older key still opens with during a rotation."""
    return [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]


def secret_digest(value: str, *, purpose: str, secret: str | None = None) -> str:
    """HMAC-SHA256 of ``value`` under ``secret`` (default ``SECRET_KEY``) and ``purpose``, hex (64 characters).

    Keyed, so a copy of the database alone cannot test guesses of short secrets (a 6-digit code) offline;
    ``purpose`` keeps one kind of secret from matching another's digest.
    """
    return salted_hmac(f"authsvc.{purpose}", value, secret=secret, algorithm="sha256").hexdigest()


def secret_digests(value: str, *, purpose: str) -> list[str]:
    """:func:`secret_digest` under each of :func:`secret_keys`: for long-lived secrets (API keys, recovery
    codes) that must keep matching while the key is rotated."""
    return [secret_digest(value, purpose=purpose, secret=key) for key in secret_keys()]


def digests_match(a: str, b: str) -> bool:
    # As bytes: compare_digest refuses non-ASCII str with a TypeError (a 500 for hostile input).
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())
