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


class CommittingAPIClient(APIClient):
    """An ``APIClient`` whose requests run their on-commit callbacks when they end, as a committed request
    would (a request that rolled back runs none): with ``EMAIL_DELIVERY=immediate`` (tests), the mail a
    request sends lands in ``mailoutbox``. Build it from pytest-django's ``django_capture_on_commit_callbacks``."""

    def __init__(self, capture, **defaults) -> None:
        super().__init__(**defaults)
        self._capture = capture

    def request(self, **kwargs):
        with self._capture(execute=True):
            return super().request(**kwargs)
