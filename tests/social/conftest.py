"""The Google stand-in (tests.fake_google), fresh for each test, with the settings pointing at it."""

from __future__ import annotations

import pytest

from social.providers import certs_transport
from tests.fake_google import CERT_PEM, CLIENT_ID, OTHER_CLIENT_ID, FakeGoogle, serve


@pytest.fixture(scope="session")
def _google_server():
    with serve() as google:
        yield google


@pytest.fixture
def google(_google_server, settings) -> FakeGoogle:
    """The stand-in, fresh for each test, with the settings pointing at it and no key set cached."""
    google = _google_server
    google.certs = {"kid-1": CERT_PEM}
    google.max_age = 3600
    google.codes.clear()
    google.token_status = None
    google.certs_fetches = 0
    google.token_requests.clear()
    settings.GOOGLE_CERTS_URL = google.certs_url
    settings.GOOGLE_TOKEN_URL = google.token_url
    settings.GOOGLE_OAUTH_CLIENT_IDS = [CLIENT_ID, OTHER_CLIENT_ID]
    settings.GOOGLE_OAUTH_CLIENT_SECRET = "test-client-secret"
    settings.GOOGLE_ALLOWED_HOSTED_DOMAINS = []
    settings.OAUTH_REDIRECT_URIS = ["http://localhost:3000/auth/google/callback"]
    certs_transport.cache_clear()
    yield google
    certs_transport.cache_clear()
