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


# --- Second security review, item 6: a sign-in racing MFA enrolment -------------------------------------


@pytest.mark.django_db
def test_a_sign_in_that_read_the_user_before_an_enrolment_committed_asks_for_the_code(user, org):
    """The race, made deterministic: the sign-in holds a ``user`` read before the enrolment committed
    (MFA off in memory, on in the database). Under the holder lock it reads the flag again."""
    from accounts.services.mfa import MfaRequired
    from accounts.services.sign_in import sign_in
    from core.http import RequestMeta

    stale = User.objects.get(pk=user.pk)
    User.objects.filter(pk=user.pk).update(mfa_enabled=True)  # the enrolment commits meanwhile
    sessions_before = Session.objects.count()

    result = sign_in(user=stale, method="password", amr=["pwd"], meta=RequestMeta(ip=None, user_agent="t"))

    assert isinstance(result, MfaRequired)
    assert Session.objects.count() == sessions_before  # no password-only session


@pytest.mark.django_db
def test_an_orgs_require_mfa_reads_the_sessions_factors_not_the_users_flag(api_client, user, org, ada_mfa):
    """A password-only session of a user who has MFA on (what the race used to leave behind) is refused by
    an org that requires MFA: the session proved one factor."""
    from tenants.models import Organization
    from tests.api import bearer
    from tests.mfa.helpers import first_factor_session

    Organization.objects.filter(pk=org.pk).update(require_mfa=True)
    password_only = first_factor_session()

    refused = api_client.get(f"{AUTH}/org/members/", **bearer(password_only))
    allowed = api_client.get(f"{AUTH}/org/members/", **bearer(ada_mfa.access))

    assert refused.status_code == HTTPStatus.FORBIDDEN
    assert refused.json()["code"] == "mfa_enrolment_required"
    assert allowed.status_code == HTTPStatus.OK


@pytest.mark.django_db(transaction=True)
def test_a_sign_in_waiting_for_an_enrolment_to_commit_asks_for_the_code(user, org):
    """The race itself: the enrolment holds the user's row (as totp_confirm does) and turns MFA on; a
    password sign-in queues on the holder lock meanwhile, and once the enrolment commits it must see it
    (the second security review found the first fix reading the flag from the statement's old snapshot)."""
    import time

    from django.db import transaction

    from accounts.services.mfa import MfaRequired
    from accounts.services.sign_in import sign_in
    from core.http import RequestMeta

    stale = User.objects.get(pk=user.pk)
    holding, release = threading.Event(), threading.Event()
    outcome: dict = {}

    def enrol() -> None:
        try:
            with transaction.atomic():
                User.objects.select_for_update().get(pk=user.pk)
                User.objects.filter(pk=user.pk).update(mfa_enabled=True)
                holding.set()
                release.wait(20)
        finally:
            connection.close()

    def password_sign_in() -> None:
        try:
            holding.wait(20)
            outcome["result"] = sign_in(
                user=stale, method="password", amr=["pwd"], meta=RequestMeta(ip=None, user_agent="t")
            )
        except Exception as error:
            outcome["result"] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=enrol), threading.Thread(target=password_sign_in)]
    for thread in threads:
        thread.start()
    holding.wait(20)
    for _ in range(200):  # until the sign-in is queued on the user's row
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")  # readable by any role
            if cursor.fetchone()[0]:
                break
        time.sleep(0.05)
    else:
        release.set()
        pytest.fail(f"the sign-in never waited for the enrolment's lock: {outcome}")
    release.set()
    for thread in threads:
        thread.join(20)

    assert isinstance(outcome["result"], MfaRequired), outcome["result"]
    assert not Session.objects.filter(user=user).exists()
