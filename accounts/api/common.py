"""What the accounts views share: the public-view base, input validation, token responses."""

from __future__ import annotations

from http import HTTPStatus

from django.conf import settings
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.cookies import cookie_may_be_set, cookie_mode, refresh_cookie_set
from accounts.throttles import (
    EmailRateThrottle,
    IPRateThrottle,
    settle_sign_in,
    sign_in_outcome,
    sign_in_throttles,
)
from accounts.tokens import TokenPair
from core.transactions import OutsideRequestTransaction

# Passwords of a new account: 8-128 characters (API.md), then Django's validators in the service. At
# sign-in only a bound against absurd sizes: the hasher never sees megabytes, and an old password
# shorter than today's rule still signs in.
NEW_PASSWORD = {
    "trim_whitespace": False,
    "min_length": 8,
    "max_length": 128,
    "error_messages": {  # the words of the password validators (settings.AUTH_PASSWORD_VALIDATORS)
        "min_length": "This password is too short. It must contain at least 8 characters.",
        "max_length": "This password is too long. It must contain at most 128 characters.",
    },
}
PASSWORD = {"trim_whitespace": False, "max_length": 1024}

# RFC 6749 §5.1: a response carrying tokens must not be stored by any cache.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class PublicView(APIView):
    """An endpoint for callers without a token, throttled per client network and per submitted email.

    A password sign-in (``checks_password = True``) uses ``accounts.throttles.sign_in_throttles``,
    whose email buckets count failed guesses only: the view tells them how the attempt ended.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [IPRateThrottle, EmailRateThrottle]
    checks_password = False

    def get_throttles(self):
        if not hasattr(self, "_throttles"):  # one set per request, kept to settle after the response
            self._throttles = sign_in_throttles() if self.checks_password else super().get_throttles()
        return self._throttles

    def sign_in_outcome(self, response: Response) -> str:
        return sign_in_outcome(response.status_code)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if self.checks_password and hasattr(self, "_throttles"):
            settle_sign_in(self._throttles, outcome=self.sign_in_outcome(response))
        return response


class PasswordSignInView(OutsideRequestTransaction, PublicView):
    """A password sign-in: failures count against the email buckets, and it runs outside the request
    transaction so that a failed (or throttled) guess stays in the audit log although the answer is an
    error; ``sign_in()`` is atomic on its own."""

    checks_password = True


def token_response(
    request, body: dict, pair: TokenPair, status: int = HTTPStatus.OK, *, refresh_field: str = "refresh"
) -> Response:
    """A response that carries ``pair`` (every sign-in, refresh and switch-org): never cached. In cookie
    mode it also sets the refresh cookie (unless it answers a page of a foreign origin), and with
    ``AUTH_REFRESH_COOKIE_ONLY`` the body leaves the refresh token (``body[refresh_field]``) out, so page
    scripts never see it."""
    if cookie_mode() and settings.AUTH_REFRESH_COOKIE_ONLY:
        body = {name: value for name, value in body.items() if name != refresh_field}
    response = Response(body, status=status, headers=NO_STORE)
    if cookie_mode() and cookie_may_be_set(request):
        refresh_cookie_set(response, pair.refresh, pair.refresh_expires_at)
    return response
