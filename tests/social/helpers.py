"""Requests and checks shared by the Google sign-in tests."""

from __future__ import annotations

import socket

from accounts.models import Session, User
from social.models import SocialIdentity
from tenants.audit import AuditEventType as E
from tests.api import AUTH
from tests.audit.helpers import events

GOOGLE = f"{AUTH}/google/"
SOCIAL = f"{AUTH}/social/"
IDENTITIES = f"{AUTH}/me/identities/"
ME = f"{AUTH}/me/"
REDIRECT_URI = "http://localhost:3000/auth/google/callback"
VERIFIER = "v" * 43  # RFC 7636: 43 to 128 characters


def google_sign_in(client, id_token: str, **headers):
    return client.post(GOOGLE, {"id_token": id_token}, format="json", **headers)


def code_sign_in(client, path: str = SOCIAL, **body):
    return client.post(path, body, format="json")


def counts() -> tuple[int, int, int]:
    """(users, linked identities, sessions) in the database."""
    return User.objects.count(), SocialIdentity.objects.count(), Session.objects.count()


def failures() -> list[dict]:
    """The details of every ``sign_in.failed`` event, oldest first."""
    return [event.details for event in events(type=E.SIGN_IN_FAILED)]


def closed_port_url(path: str) -> str:
    """A loopback URL nothing listens on (a port just bound and released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"
