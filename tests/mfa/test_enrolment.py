"""Enrolling an authenticator app: mfa/totp/setup/ proposes a secret, mfa/totp/confirm/ turns MFA on with a
code computed from it and answers the recovery codes, shown once (API.md "Multi-factor authentication")."""

from __future__ import annotations

import time
from http import HTTPStatus
from types import SimpleNamespace
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
import pytest
from django.conf import settings

from accounts.models import RecoveryCode, Session, TotpDevice, User
from accounts.services import mfa as mfa_service
from tests.api import AUTH, bearer, claims, login
from tests.mfa.helpers import (
    CONFIRM,
    INVALID_CODE,
    ME,
    REFRESH,
    SETUP,
    Authenticator,
    assert_error,
    assurance,
    enrol,
    post,
    signed_in,
)


@pytest.fixture
def ada_access(api_client, user, org) -> str:
    return signed_in(api_client)["access"]


@pytest.fixture
def pinned_clock(monkeypatch) -> float:
    """The service's clock stands still in the middle of a 30-second step: codes of the steps around it
    are computed here without a step boundary passing between computing and checking."""
    now = (int(time.time()) // 30) * 30 + 15.0
    monkeypatch.setattr(mfa_service, "time", SimpleNamespace(time=lambda: now))
    return now


def setup_secret(client, access: str) -> str:
    response = post(client, SETUP, access=access)
    assert response.status_code == HTTPStatus.OK, response.content
    return response.json()["secret"]


@pytest.mark.django_db
def test_setup_answers_the_secret_its_otpauth_url_and_a_qr_code(api_client, ada_access):
    response = post(api_client, SETUP, access=ada_access)

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert set(body) == {"secret", "otpauth_url", "qr_svg"}
    url = urlsplit(body["otpauth_url"])
    query = parse_qs(url.query)
    assert (url.scheme, url.netloc) == ("otpauth", "totp")
    assert unquote(url.path) == f"/{settings.AUTH_PRODUCT_NAME}:ada@example.com"
    assert query["secret"] == [body["secret"]]
    assert query["issuer"] == [settings.AUTH_PRODUCT_NAME]
    assert "<svg" in body["qr_svg"] and body["qr_svg"].rstrip().endswith("</svg>")
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_setup_alone_turns_nothing_on(api_client, user, ada_access):
    post(api_client, SETUP, access=ada_access)

    user.refresh_from_db()
    assert user.mfa_enabled is False
    assert TotpDevice.objects.get(user=user).confirmed_at is None
    assert not RecoveryCode.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_confirm_with_a_code_from_the_secret_turns_mfa_on_and_answers_ten_recovery_codes(
    api_client, user, ada_access
):
    secret = setup_secret(api_client, ada_access)

    response = post(api_client, CONFIRM, {"code": pyotp.TOTP(secret).now()}, access=ada_access)

    assert response.status_code == HTTPStatus.OK, response.content
    codes = response.json()["recovery_codes"]
    assert response.json() == {"recovery_codes": codes}
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(isinstance(code, str) and len(code) >= 8 for code in codes)
    assert response["Cache-Control"] == "no-store"
    user.refresh_from_db()
    assert user.mfa_enabled is True
    assert TotpDevice.objects.get(user=user).confirmed_at is not None
    assert RecoveryCode.objects.filter(user=user, used_at__isnull=True).count() == 10


@pytest.mark.django_db
def test_me_shows_mfa_enabled_once_confirmed(api_client, ada_access):
    before = api_client.get(ME, **bearer(ada_access)).json()["mfa_enabled"]

    enrol(api_client, ada_access)

    assert (before, api_client.get(ME, **bearer(ada_access)).json()["mfa_enabled"]) == (False, True)


@pytest.mark.django_db
def test_a_wrong_code_at_confirm_is_400_invalid_code_and_activates_nothing(api_client, user, ada_access):
    secret = setup_secret(api_client, ada_access)

    response = post(api_client, CONFIRM, {"code": Authenticator(secret).wrong_code()}, access=ada_access)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == INVALID_CODE
    user.refresh_from_db()
    assert user.mfa_enabled is False
    assert TotpDevice.objects.get(user=user).confirmed_at is None
    assert not RecoveryCode.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_confirm_before_any_setup_is_400_mfa_not_set_up(api_client, user, ada_access):
    response = post(api_client, CONFIRM, {"code": "123456"}, access=ada_access)

    assert_error(response, HTTPStatus.BAD_REQUEST, "mfa_not_set_up")
    user.refresh_from_db()
    assert user.mfa_enabled is False


@pytest.mark.django_db
def test_setup_when_mfa_is_already_on_is_409(api_client, user, ada_access):
    enrol(api_client, ada_access)
    device = TotpDevice.objects.get(user=user)

    response = post(api_client, SETUP, access=ada_access)

    assert_error(response, HTTPStatus.CONFLICT, "mfa_already_enabled")
    after = TotpDevice.objects.get(user=user)
    assert (after.secret, after.confirmed_at) == (device.secret, device.confirmed_at)


@pytest.mark.django_db
def test_confirm_when_mfa_is_already_on_is_409(api_client, ada_access):
    enrolment = enrol(api_client, ada_access)

    response = post(api_client, CONFIRM, {"code": enrolment.authenticator.code()}, access=ada_access)

    assert_error(response, HTTPStatus.CONFLICT, "mfa_already_enabled")


@pytest.mark.django_db
def test_a_second_setup_replaces_the_secret_proposed_first(api_client, user, ada_access):
    first = setup_secret(api_client, ada_access)
    second = setup_secret(api_client, ada_access)

    refused = post(api_client, CONFIRM, {"code": pyotp.TOTP(first).now()}, access=ada_access)
    accepted = post(api_client, CONFIRM, {"code": pyotp.TOTP(second).now()}, access=ada_access)

    assert first != second
    assert (refused.status_code, accepted.status_code) == (HTTPStatus.BAD_REQUEST, HTTPStatus.OK)


@pytest.mark.django_db
@pytest.mark.parametrize("steps_away", [-1, 1])
def test_a_code_of_the_step_either_side_of_now_is_accepted(api_client, ada_access, pinned_clock, steps_away):
    secret = setup_secret(api_client, ada_access)

    code = pyotp.TOTP(secret).at(pinned_clock + 30 * steps_away)
    response = post(api_client, CONFIRM, {"code": code}, access=ada_access)

    assert response.status_code == HTTPStatus.OK, response.content


@pytest.mark.django_db
@pytest.mark.parametrize("steps_away", [-2, 2])
def test_a_code_two_steps_away_is_refused(api_client, ada_access, pinned_clock, steps_away):
    secret = setup_secret(api_client, ada_access)
    totp = pyotp.TOTP(secret)
    code = totp.at(pinned_clock + 30 * steps_away)
    assert code not in {totp.at(pinned_clock + 30 * near) for near in (-1, 0, 1)}

    response = post(api_client, CONFIRM, {"code": code}, access=ada_access)

    assert response.json() == INVALID_CODE


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["12345", "1234567", "abcdef", " 123456"])
def test_a_code_that_is_not_six_digits_is_refused(api_client, ada_access, code):
    setup_secret(api_client, ada_access)

    response = post(api_client, CONFIRM, {"code": code}, access=ada_access)

    assert response.status_code == HTTPStatus.BAD_REQUEST


@pytest.mark.django_db
def test_the_enrolling_session_is_at_aal2_from_its_next_pair(api_client, user, org):
    body = signed_in(api_client)
    before = assurance(body["access"])
    enrol(api_client, body["access"])

    refreshed = post(api_client, REFRESH, {"refresh": body["refresh"]})

    assert refreshed.status_code == HTTPStatus.OK, refreshed.content
    assert before == (["pwd"], "aal1", 1)
    assert assurance(refreshed.json()["access"]) == (["pwd", "otp"], "aal2", 2)


@pytest.mark.django_db
def test_enrolment_ends_the_users_other_sessions(api_client, ada_access):
    """None of them passed the new factor: from now on it stands between the password and the account."""
    other = signed_in(api_client)
    enrol(api_client, ada_access)

    refreshed = post(api_client, REFRESH, {"refresh": other["refresh"]})

    assert refreshed.status_code == HTTPStatus.UNAUTHORIZED
    assert Session.objects.get(id=claims(other["access"])["sid"]).revoked_reason == "mfa_enabled"


@pytest.mark.django_db
def test_a_pair_without_a_second_factor_says_aal1(api_client, ada_access):
    payload = claims(ada_access)

    assert (payload["amr"], payload["acr"], payload["aal"]) == (["pwd"], "aal1", 1)
    assert User.objects.get(email="ada@example.com").mfa_enabled is False


@pytest.mark.django_db
def test_enrolment_needs_a_verified_address(api_client, user, org):
    """An unverified account may be a stranger's squat on the address, which its owner can claim: it must
    not be able to lock the owner out with its own authenticator."""
    User.objects.filter(pk=user.pk).update(email_verified=False)
    access = login(api_client, user.email).json()["access"]

    response = api_client.post(f"{AUTH}/mfa/totp/setup/", **bearer(access))

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "email_unverified"
    assert not TotpDevice.objects.filter(user_id=user.id).exists()
