"""Edge cases found reading the feature: a rotated SECRET_KEY, a password changed while a sign-in waits
for its second factor, an unverified account claimed by the owner of its address, racing verifies."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import Session, User
from tests.api import AUTH
from tests.magiclinks.helpers import MAGIC_VERIFY, request_magic_link
from tests.mfa.helpers import (
    CONFIRM,
    MFA_TOKEN_INVALID,
    NEW_PASSWORD,
    PASSWORD,
    PASSWORD_CHANGE,
    SETUP,
    Authenticator,
    assert_mfa_required,
    enrolled,
    mfa_token_for,
    post,
    signed_in,
    verify,
)

NEW_SECRET_KEY = "a-rotated-secret-key-for-the-tests-0123456789abcdef"


@pytest.fixture
def rotated_secret_key(settings):
    """DJANGO_SECRET_KEY rotated the documented way: the old key kept in SECRET_KEY_FALLBACKS."""

    def rotate() -> None:
        settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
        settings.SECRET_KEY = NEW_SECRET_KEY

    return rotate


# --- SECRET_KEY rotation -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_authenticator_still_works_after_rotating_secret_key(api_client, ada_mfa, rotated_secret_key):
    rotated_secret_key()

    response = verify(api_client, mfa_token_for(api_client), code=ada_mfa.authenticator.code())

    assert response.status_code == HTTPStatus.OK, response.content


@pytest.mark.django_db
def test_recovery_codes_still_work_after_rotating_secret_key(api_client, ada_mfa, rotated_secret_key):
    rotated_secret_key()

    response = verify(api_client, mfa_token_for(api_client), recovery_code=ada_mfa.recovery_codes[0])

    assert response.status_code == HTTPStatus.OK, response.content


# --- A password changed while a sign-in waits ------------------------------------------------------------------


@pytest.mark.django_db
def test_a_sign_in_started_with_the_old_password_cannot_be_finished_after_a_change(api_client, ada_mfa):
    started_with_old_password = mfa_token_for(api_client)
    changed = post(
        api_client,
        PASSWORD_CHANGE,
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        ada_mfa.access,
    )
    assert changed.status_code == HTTPStatus.OK, changed.content

    response = verify(api_client, started_with_old_password, code=ada_mfa.authenticator.code())

    assert response.status_code == HTTPStatus.UNAUTHORIZED, response.content
    assert response.json() == MFA_TOKEN_INVALID


@pytest.mark.django_db
def test_a_deactivated_user_cannot_finish_a_pending_sign_in(api_client, user, ada_mfa):
    mfa_token = mfa_token_for(api_client)
    User.objects.filter(pk=user.pk).update(is_active=False)

    response = verify(api_client, mfa_token, code=ada_mfa.authenticator.code())

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == MFA_TOKEN_INVALID


# --- Account pre-hijacking ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_owner_of_the_address_claims_an_unverified_account_without_the_strangers_authenticator(
    api_client, user, org, mailoutbox
):
    User.objects.filter(pk=user.pk).update(email_verified=False)  # registered by someone who never proved it
    stranger = signed_in(api_client)["access"]
    secret = post(api_client, SETUP, access=stranger).json().get("secret")
    if secret:  # (refusing enrolment on an unverified address would be a fix as good as dropping it)
        post(api_client, CONFIRM, {"code": Authenticator(secret).code()}, access=stranger)
    token, _ = request_magic_link(api_client, mailoutbox, "ada@example.com")

    response = post(api_client, MAGIC_VERIFY, {"token": token})

    assert response.status_code == HTTPStatus.OK, response.content
    assert "access" in response.json(), response.json()


@pytest.mark.django_db
def test_a_verified_account_signing_in_by_magic_link_keeps_its_second_factor(
    api_client, user, ada_mfa, mailoutbox
):
    User.objects.filter(pk=user.pk).update(email_verified=True)
    token, _ = request_magic_link(api_client, mailoutbox, "ada@example.com")

    assert_mfa_required(post(api_client, MAGIC_VERIFY, {"token": token}))
    user.refresh_from_db()
    assert (user.mfa_enabled, user.has_usable_password()) == (True, True)


# --- Races -------------------------------------------------------------------------------------------------------


def race(*bodies: dict) -> list[int]:
    """POST mfa/verify/ with each body from its own thread (own connection), all at once; the statuses."""
    barrier = threading.Barrier(len(bodies))

    def one(body: dict) -> int:
        try:
            client = APIClient()
            barrier.wait(timeout=30)
            return client.post(f"{AUTH}/mfa/verify/", body, format="json").status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return sorted(pool.map(one, bodies))


@pytest.mark.django_db(transaction=True)
def test_two_verifies_racing_on_one_mfa_token_sign_in_once(user, org):
    ada = enrolled(APIClient())
    mfa_token = mfa_token_for(APIClient())

    statuses = race(
        {"mfa_token": mfa_token, "recovery_code": ada.recovery_codes[0]},
        {"mfa_token": mfa_token, "recovery_code": ada.recovery_codes[1]},
    )

    assert statuses == [HTTPStatus.OK, HTTPStatus.UNAUTHORIZED]
    assert Session.objects.filter(user=user).count() == 2  # the enrolling session and one more


@pytest.mark.django_db(transaction=True)
def test_one_totp_code_racing_in_two_sign_ins_signs_in_once(user, org):
    ada = enrolled(APIClient())
    code = ada.authenticator.code()
    first, second = mfa_token_for(APIClient()), mfa_token_for(APIClient())

    statuses = race({"mfa_token": first, "code": code}, {"mfa_token": second, "code": code})

    assert statuses == [HTTPStatus.OK, HTTPStatus.BAD_REQUEST]
