"""Fixtures of the MFA tests.

Acme (``org``): Ada owner. ``ada_mfa``: Ada signed in with her password and enrolled an authenticator in
that session (which therefore counts as having passed MFA). The ``api_client`` runs each request's
on-commit callbacks as it ends (``tests/magiclinks/conftest.py``), so emailed links and invitations land
in ``mailoutbox``. The Google stand-in fixtures come from ``tests/social/conftest.py``.
"""

from __future__ import annotations

import pytest

from accounts.models import User
from tests.api import CommittingAPIClient
from tests.factories import make_user
from tests.mfa.helpers import Enrolled, enrolled
from tests.social.conftest import _google_server, google  # noqa: F401 (fixtures)


@pytest.fixture
def api_client(django_capture_on_commit_callbacks) -> CommittingAPIClient:
    return CommittingAPIClient(django_capture_on_commit_callbacks)


@pytest.fixture
def user(db) -> User:
    """Ada, with a verified address (enrolment needs one; tests of an unverified account say so)."""
    return make_user(email="ada@example.com", password="correct horse battery staple", email_verified=True)


@pytest.fixture
def ada_mfa(api_client, user, org) -> Enrolled:
    return enrolled(api_client)
