"""Endpoints and steps of the MFA tests: enrol with an authenticator computed here from the returned
secret, start a sign-in, finish it at ``mfa/verify/``, make a session's sign-in old (step-up).

Codes come from pyotp, as an authenticator app would compute them. The service accepts the steps either
side of now and each step once, so :class:`Authenticator` hands out a fresh step each time (now, then the
next one): no test sleeps.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from http import HTTPStatus

import pyotp
from django.utils import timezone

from accounts.models import MfaChallenge, Session, User
from tests.api import AUTH, bearer, claims, login

SETUP = f"{AUTH}/mfa/totp/setup/"
CONFIRM = f"{AUTH}/mfa/totp/confirm/"
TOTP = f"{AUTH}/mfa/totp/"
VERIFY = f"{AUTH}/mfa/verify/"
RECOVERY_CODES = f"{AUTH}/mfa/recovery-codes/"
REAUTHENTICATE = f"{AUTH}/reauthenticate/"
ME = f"{AUTH}/me/"
REFRESH = f"{AUTH}/refresh/"
TOKEN = f"{AUTH}/token/"
PASSWORD_CHANGE = f"{AUTH}/password/change/"
ORG = f"{AUTH}/org/"
MEMBERS = f"{AUTH}/org/members/"
API_KEYS = f"{AUTH}/org/api-keys/"
SWITCH_ORG = f"{AUTH}/switch-org/"

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new passphrase 42"
METHODS = ["totp", "recovery_code"]
INVALID_CODE = {"detail": "The code is not valid.", "code": "invalid_code"}
MFA_TOKEN_INVALID = {
    "detail": "This sign-in has expired or was already finished: sign in again.",
    "code": "mfa_token_invalid",
}
TOO_MANY_ATTEMPTS = {"detail": "Too many wrong codes: sign in again.", "code": "mfa_token_invalid"}
REAUTHENTICATION_REQUIRED = {
    "detail": "Confirm it is you: sign in again or call reauthenticate/ first.",
    "code": "reauthentication_required",
}


class Authenticator:
    """An authenticator app holding ``secret``: each :meth:`code` is for a step not used before (now,
    then the following one), so the service's "each step once" never refuses it as a replay."""

    def __init__(self, secret: str) -> None:
        self.totp = pyotp.TOTP(secret)
        self.last_step: int | None = None

    def code(self) -> str:
        now_step = int(time.time()) // self.totp.interval
        step = now_step if self.last_step is None else max(self.last_step + 1, now_step)
        assert step <= now_step + 1, "no fresh step left inside the accepted window"
        self.last_step = step
        return self.totp.generate_otp(step)

    def wrong_code(self) -> str:
        """Six digits that are none of the codes of the accepted steps."""
        now_step = int(time.time()) // self.totp.interval
        accepted = {self.totp.generate_otp(step) for step in range(now_step - 2, now_step + 3)}
        return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in accepted)


@dataclass
class Enrolled:
    """What enrolment left in the test's hands: the enrolling session's tokens, the secret, the codes."""

    access: str
    refresh: str
    secret: str
    recovery_codes: list[str]
    authenticator: Authenticator = field(repr=False)


def throttle_rates(settings, **rates) -> None:
    """Override some of ``DEFAULT_THROTTLE_RATES`` (the ``settings`` fixture undoes it)."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }


def post(client, url: str, body: dict | None = None, access: str | None = None, **extra):
    headers = bearer(access) if access else {}
    return client.post(url, body or {}, format="json", **headers, **extra)


def signed_in(client, email: str = "ada@example.com", password: str = PASSWORD, **extra) -> dict:
    """A password sign-in that gets a pair (no MFA yet): its body."""
    response = login(client, email, password, **extra)
    assert response.status_code == HTTPStatus.OK, response.content
    assert "access" in response.json(), response.json()
    return response.json()


def enrol(client, access: str, refresh: str = "") -> Enrolled:
    """setup/ then confirm/ with a code computed from the returned secret, as the session ``access``
    (whose user's address is marked verified first: enrolment needs a verified address)."""
    User.objects.filter(id=claims(access)["user_id"]).update(email_verified=True)
    setup = post(client, SETUP, access=access)
    assert setup.status_code == HTTPStatus.OK, setup.content
    secret = setup.json()["secret"]
    authenticator = Authenticator(secret)
    confirm = post(client, CONFIRM, {"code": authenticator.code()}, access=access)
    assert confirm.status_code == HTTPStatus.OK, confirm.content
    return Enrolled(access, refresh, secret, confirm.json()["recovery_codes"], authenticator)


def enrolled(client, email: str = "ada@example.com", **extra) -> Enrolled:
    """Sign in with the password and enrol: the enrolling session has passed MFA (``otp``)."""
    body = signed_in(client, email, **extra)
    return enrol(client, body["access"], body["refresh"])


def mfa_token_for(client, email: str = "ada@example.com", password: str = PASSWORD, **extra) -> str:
    """The first step of a password sign-in of a user with MFA on: its ``mfa_token``."""
    response = login(client, email, password, **extra)
    assert response.status_code == HTTPStatus.OK, response.content
    body = response.json()
    assert body["mfa_required"] is True, body
    return body["mfa_token"]


def verify(client, mfa_token: str, **second_factor):
    return post(client, VERIFY, {"mfa_token": mfa_token, **second_factor})


def assert_mfa_required(response) -> str:
    """The whole body of a sign-in that owes its second factor (no pair); its ``mfa_token``."""
    assert response.status_code == HTTPStatus.OK, response.content
    body = response.json()
    assert body == {"mfa_required": True, "mfa_token": body["mfa_token"], "methods": METHODS}
    assert isinstance(body["mfa_token"], str) and len(body["mfa_token"]) >= 32
    return body["mfa_token"]


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response.json()["code"] == code, response.json()


def assurance(access: str) -> tuple[list[str], str, int]:
    """(amr, acr, aal) of an access token."""
    payload = claims(access)
    return payload["amr"], payload["acr"], payload["aal"]


def session_of(token: str) -> Session:
    return Session.objects.get(id=claims(token)["sid"])


def sign_in_long_ago(token: str, minutes: int = 11) -> None:
    """The session of ``token`` signed in (or re-authenticated) ``minutes`` ago."""
    moved = Session.objects.filter(id=claims(token)["sid"]).update(
        authenticated_at=timezone.now() - timedelta(minutes=minutes)
    )
    assert moved == 1


def challenge_expire() -> None:
    """Every pending challenge is past its 5 minutes."""
    MfaChallenge.objects.update(expires_at=timezone.now() - timedelta(seconds=1))


def first_factor_session(email: str = "ada@example.com") -> str:
    """The access token of a session with a first factor only (``amr`` ``["pwd"]``) for a user who has
    MFA on: a state no sign-in produces (the gate, and enrolment ends every other session), opened here
    directly, so the defences behind it (invitation accept, password change) can be tested."""
    from accounts.services.sign_in import session_open
    from core.http import RequestMeta

    user = User.objects.get(email=email)
    result, _ = session_open(
        user=user, amr=["pwd"], meta=RequestMeta(ip=None, user_agent="test"), mfa_exempt=True
    )
    return result.pair.access
