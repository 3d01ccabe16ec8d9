"""Fixtures of the emailed-link tests.

In tests ``EMAIL_DELIVERY`` is ``immediate``: the job runs in the request and its mail goes out when the
request commits (``transaction.on_commit``). The test's own transaction never commits, so the
``api_client`` here runs every request inside pytest-django's ``django_capture_on_commit_callbacks``
with ``execute=True``: what the request left to run on commit (the mail) runs as the request ends, as
it would in production, and a request that rolled back sends nothing. ``mailoutbox`` then holds the mail.
"""

from __future__ import annotations

import pytest

from tests.api import CommittingAPIClient


@pytest.fixture
def api_client(django_capture_on_commit_callbacks) -> CommittingAPIClient:
    return CommittingAPIClient(django_capture_on_commit_callbacks)
