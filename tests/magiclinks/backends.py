"""An email backend whose provider is down: every send raises (``settings.EMAIL_BACKEND`` in tests)."""

from __future__ import annotations

from django.core.mail.backends.base import BaseEmailBackend


class ProviderDown(Exception):
    pass


class FailingEmailBackend(BaseEmailBackend):
    attempts = 0  # sends tried, across instances (reset it in the test)

    def send_messages(self, email_messages):
        type(self).attempts += 1
        raise ProviderDown("the email provider is unreachable")
