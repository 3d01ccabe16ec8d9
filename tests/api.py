"""HTTP helpers for API tests: sign in, and decode what came back (claims are read, never trusted)."""

from __future__ import annotations

import jwt
from rest_framework.test import APIClient

from tests.factories import DEFAULT_PASSWORD

AUTH = "/api/auth"


def login(client: APIClient, email: str, password: str = DEFAULT_PASSWORD, **extra):
    return client.post(f"{AUTH}/login/", {"email": email, "password": password, **extra}, format="json")


def bearer(access: str) -> dict[str, str]:
    """Headers for ``client.get(url, **bearer(access))``."""
    return {"HTTP_AUTHORIZATION": f"Bearer {access}"}


def claims(token: str) -> dict:
    """A token's payload, without verifying it (tests inspect what the service issued)."""
    return jwt.decode(token, options={"verify_signature": False})
