"""The per-account cap on wrong second-factor codes (second security review, item 4): 20 guesses an hour
per user was ~175 000 a year, and the admin's login form checked codes without even that budget. Now
``MFA_MAX_FAILED_CODES`` wrong codes in a row, counted across ``mfa/verify/``, ``reauthenticate/``,
``DELETE mfa/totp/`` and the admin's login alike, lock the account's codes for ``MFA_LOCKOUT_MINUTES``,
doubled at each further lockout; the pending sign-ins die and the user is emailed. A recovery code still
works while locked, and a right code clears it all."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.utils import timezone

from accounts.models import MfaChallenge, TotpDevice, User
from tenants.audit import AuditEventType as E
from tests.audit.helpers import events, only
from tests.mfa.helpers import (
    INVALID_CODE,
    REAUTHENTICATE,
    TOO_MANY_ATTEMPTS,
    TOTP,
    assert_error,
    enrolled,
    mfa_token_for,
    post,
    throttle_rates,
    verify,
)

pytestmark = pytest.mark.django_db(transaction=True)  # mfa/verify/ counts in a transaction of its own


def device() -> TotpDevice:
    return TotpDevice.objects.get()


def reauthenticate(client, access: str, **proof):
    return post(client, REAUTHENTICATE, proof, access)


def disable(client, access: str, **proof):
    return client.delete(TOTP, proof, format="json", HTTP_AUTHORIZATION=f"Bearer {access}")


def assert_locked(response) -> None:
    assert_error(response, HTTPStatus.TOO_MANY_REQUESTS, "mfa_locked")
    assert 0 < int(response["Retry-After"]) <= 15 * 60


def test_ten_wrong_codes_in_a_row_across_sign_ins_lock_the_accounts_codes(api_client, user, org, mailoutbox):
    ada = enrolled(api_client)
    mailoutbox.clear()
    answers = []
    for _ in range(2):  # each sign-in dies after 5 (CHALLENGE_ATTEMPTS); a new one buys no more guesses
        mfa_token = mfa_token_for(api_client)
        answers += [verify(api_client, mfa_token, code=ada.authenticator.wrong_code()).json() for _ in range(5)]

    assert answers == [INVALID_CODE] * 9 + [TOO_MANY_ATTEMPTS]  # the tenth ends the sign-in it was in

    assert device().locked_until > timezone.now() + timedelta(minutes=14)
    assert (device().failed_codes, device().lockouts) == (0, 1)
    locked = only(E.MFA_LOCKED)
    assert locked.details == {"context": "sign_in", "failed": 10, "lockouts": 1, "minutes": 15}
    assert [message.to for message in mailoutbox] == [["ada@example.com"]]
    assert "wrong authenticator codes" in mailoutbox[0].body
    # A fresh first step, with the right code this time: still refused until the wait is over.
    assert_locked(verify(api_client, mfa_token_for(api_client), code=ada.authenticator.code()))


def test_the_cap_is_one_count_for_every_place_that_checks_a_code(api_client, user, org):
    """Wrong codes at reauthenticate/ and DELETE mfa/totp/ answer 400, and still count (the request
    transaction keeps the count); mfa/verify/ adds to the same count."""
    ada = enrolled(api_client)
    for _ in range(4):
        assert reauthenticate(api_client, ada.access, code=ada.authenticator.wrong_code()).json() == INVALID_CODE
    for _ in range(3):
        assert disable(api_client, ada.access, code=ada.authenticator.wrong_code()).json() == INVALID_CODE
    assert device().failed_codes == 7
    mfa_token = mfa_token_for(api_client)
    for _ in range(3):
        verify(api_client, mfa_token, code=ada.authenticator.wrong_code())

    right = ada.authenticator.code()
    assert_locked(reauthenticate(api_client, ada.access, code=right))
    assert_locked(disable(api_client, ada.access, code=right))
    assert User.objects.get(pk=user.pk).mfa_enabled is True
    assert only(E.MFA_LOCKED).details["context"] == "sign_in"


def test_the_sign_in_that_reached_the_cap_dies(api_client, user, org):
    ada = enrolled(api_client)
    TotpDevice.objects.update(failed_codes=9)
    mfa_token = mfa_token_for(api_client)

    last_wrong = verify(api_client, mfa_token, code=ada.authenticator.wrong_code())

    assert last_wrong.status_code == HTTPStatus.UNAUTHORIZED
    assert last_wrong.json() == TOO_MANY_ATTEMPTS
    assert not MfaChallenge.objects.filter(used_at__isnull=True).exists()


def test_a_recovery_code_still_signs_in_while_locked_and_clears_the_lockout(api_client, user, org):
    ada = enrolled(api_client)
    TotpDevice.objects.update(lockouts=3, locked_until=timezone.now() + timedelta(hours=2))

    response = verify(api_client, mfa_token_for(api_client), recovery_code=ada.recovery_codes[0])

    assert response.status_code == HTTPStatus.OK and "access" in response.json()
    assert (device().failed_codes, device().lockouts, device().locked_until) == (0, 0, None)


def test_a_right_code_clears_the_count(api_client, user, org, settings):
    throttle_rates(settings, reauthenticate_email="100/hour")  # the count is what is tested, not the throttle
    ada = enrolled(api_client)
    for _ in range(9):
        reauthenticate(api_client, ada.access, code=ada.authenticator.wrong_code())
    assert device().failed_codes == 9

    assert reauthenticate(api_client, ada.access, code=ada.authenticator.code()).status_code == HTTPStatus.OK

    assert device().failed_codes == 0
    assert reauthenticate(api_client, ada.access, code=ada.authenticator.wrong_code()).json() == INVALID_CODE
    assert device().locked_until is None


def test_the_wait_doubles_with_each_lockout(api_client, user, org):
    ada = enrolled(api_client)
    TotpDevice.objects.update(failed_codes=9, lockouts=2)
    before = timezone.now()

    reauthenticate(api_client, ada.access, code=ada.authenticator.wrong_code())

    assert device().lockouts == 3
    wait = device().locked_until - before
    assert timedelta(minutes=59) < wait <= timedelta(minutes=61)  # 15 minutes, doubled twice
    assert only(E.MFA_LOCKED).details["minutes"] == 60


def test_while_locked_a_code_is_not_even_checked(api_client, user, org):
    """No guess is evaluated (nor counted) while locked: the lockout is a wall, not a slower budget."""
    ada = enrolled(api_client)
    TotpDevice.objects.update(lockouts=1, locked_until=timezone.now() + timedelta(minutes=10))
    last_step = device().last_step

    assert_locked(reauthenticate(api_client, ada.access, code=ada.authenticator.code()))

    assert device().last_step == last_step  # the right code was not spent
    assert device().failed_codes == 0
    assert events(type=E.MFA_VERIFICATION_FAILED)[-1].details == {
        "context": "reauthenticate",
        "method": "totp",
        "locked": True,
    }


def test_the_admin_login_counts_wrong_codes_and_refuses_while_locked(client, user):
    """The admin's login form checked codes without any budget: it shares the account's cap now."""
    from rest_framework.test import APIClient

    from tests.mfa.helpers import PASSWORD, Authenticator, enrol, signed_in

    User.objects.filter(pk=user.pk).update(is_staff=True, is_superuser=True)
    api = APIClient()
    ada = enrol(api, signed_in(api)["access"])
    authenticator: Authenticator = ada.authenticator

    def admin_login(code: str):
        return client.post(
            "/admin/login/?next=/admin/", {"username": user.email, "password": PASSWORD, "code": code}
        )

    assert admin_login(authenticator.wrong_code()).status_code == HTTPStatus.OK  # the form again
    assert device().failed_codes == 1  # counted, with the API's wrong codes
    TotpDevice.objects.update(failed_codes=9)
    admin_login(authenticator.wrong_code())
    assert device().locked_until is not None

    refused = admin_login(authenticator.code())

    assert refused.status_code == HTTPStatus.OK
    assert "Too many wrong codes" in refused.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_wrong_recovery_code_while_locked_is_refused_without_another_lockout(api_client, user, org, settings):
    """Recovery codes are not guessable (50 bits): while locked they are checked, and a wrong one is just
    wrong, so nobody can push the owner's lockout towards 30 days by spraying them."""
    throttle_rates(settings, reauthenticate_email="100/hour")  # the count is what is tested, not the throttle
    ada = enrolled(api_client)
    TotpDevice.objects.update(failed_codes=0, lockouts=2, locked_until=timezone.now() + timedelta(minutes=30))

    for _ in range(12):
        assert reauthenticate(api_client, ada.access, recovery_code="aaaaa-bbbbb").json() == INVALID_CODE

    assert (device().lockouts, device().failed_codes) == (2, 0)
    assert events(type=E.MFA_LOCKED) == []


def test_a_lockout_skips_a_sign_in_another_check_holds_instead_of_deadlocking(api_client, user, org):
    """Two sign-ins checked at once: one reaches the cap while the other holds its own challenge (and
    queues for the authenticator). The lockout ends every pending sign-in but that one, instead of waiting
    for it (a deadlock, and a 503); that one meets the lockout when its turn comes."""
    import threading

    from django.db import connection, transaction

    ada = enrolled(api_client)
    first, second = mfa_token_for(api_client), mfa_token_for(api_client)
    held_id = MfaChallenge.objects.filter(used_at__isnull=True).order_by("created_at").last().pk
    TotpDevice.objects.update(failed_codes=9)
    holding, done = threading.Event(), threading.Event()
    released_after_done: list[bool] = []

    def hold_the_other_sign_in() -> None:
        try:
            with transaction.atomic():
                MfaChallenge.objects.select_for_update().get(pk=held_id)
                holding.set()
                released_after_done.append(done.wait(10))
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_other_sign_in)
    holder.start()
    holding.wait(10)
    response = verify(api_client, first, code=ada.authenticator.wrong_code())
    done.set()
    holder.join(20)

    assert response.json() == TOO_MANY_ATTEMPTS
    assert released_after_done == [True]  # the lockout did not wait for the held sign-in
    assert_locked(verify(api_client, second, code=ada.authenticator.code()))


def test_the_admin_login_without_a_code_counts_no_guess(client, user):
    from rest_framework.test import APIClient

    from tests.mfa.helpers import PASSWORD, enrol, signed_in

    User.objects.filter(pk=user.pk).update(is_staff=True, is_superuser=True)
    api = APIClient()
    enrol(api, signed_in(api)["access"])

    response = client.post("/admin/login/?next=/admin/", {"username": user.email, "password": PASSWORD})

    assert "Enter the code of your authenticator app" in response.content.decode()
    assert device().failed_codes == 0
