"""Turning MFA off (DELETE mfa/totp/ with a code, a recovery code or the password), new recovery codes
(mfa/recovery-codes/: the old set dies), and the admin's reset action."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from accounts.models import MfaChallenge, RecoveryCode, TotpDevice, User
from tenants.audit import AuditEventType as E
from tests.api import bearer, login
from tests.audit.helpers import events, only
from tests.mfa.helpers import (
    INVALID_CODE,
    PASSWORD,
    RECOVERY_CODES,
    TOTP,
    Enrolled,
    assert_error,
    assert_mfa_required,
    enrol,
    mfa_token_for,
    post,
    signed_in,
    verify,
)


def disable(client, access: str, **proof):
    return client.delete(TOTP, proof, format="json", **bearer(access))


def proof_of(kind: str, ada: Enrolled) -> dict:
    return {
        "totp": {"code": ada.authenticator.code()},
        "recovery_code": {"recovery_code": ada.recovery_codes[0]},
        "recovery_code_as_code": {"code": ada.recovery_codes[0]},  # API.md: `code` (TOTP or recovery)
        "password": {"password": PASSWORD},
    }[kind]


def mfa_state(user) -> tuple[bool, bool, int]:
    """(mfa_enabled, an authenticator stored, recovery codes stored)."""
    user.refresh_from_db()
    return (
        user.mfa_enabled,
        TotpDevice.objects.filter(user=user).exists(),
        RecoveryCode.objects.filter(user=user).count(),
    )


# --- DELETE mfa/totp/ --------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["totp", "recovery_code", "recovery_code_as_code", "password"])
def test_mfa_is_turned_off_with_a_code_a_recovery_code_or_the_password(api_client, user, ada_mfa, kind):
    response = disable(api_client, ada_mfa.access, **proof_of(kind, ada_mfa))

    assert response.status_code == HTTPStatus.NO_CONTENT, response.content
    assert mfa_state(user) == (False, False, 0)
    assert only(E.MFA_DISABLED).details == {"method": kind.removesuffix("_as_code")}


@pytest.mark.django_db
def test_once_mfa_is_off_a_sign_in_is_no_longer_gated(api_client, ada_mfa):
    disable(api_client, ada_mfa.access, password=PASSWORD)

    response = login(api_client, "ada@example.com")

    assert response.status_code == HTTPStatus.OK
    assert "access" in response.json() and "mfa_required" not in response.json()


@pytest.mark.django_db
def test_the_recovery_codes_of_a_turned_off_enrolment_stay_dead_after_enrolling_again(api_client, ada_mfa):
    disable(api_client, ada_mfa.access, password=PASSWORD)
    enrol(api_client, ada_mfa.access)

    response = verify(api_client, mfa_token_for(api_client), recovery_code=ada_mfa.recovery_codes[1])

    assert response.json() == INVALID_CODE


@pytest.mark.django_db
def test_a_wrong_code_leaves_mfa_on_and_is_recorded(api_client, user, ada_mfa):
    response = disable(api_client, ada_mfa.access, code=ada_mfa.authenticator.wrong_code())

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == INVALID_CODE
    assert mfa_state(user) == (True, True, 10)
    assert only(E.MFA_VERIFICATION_FAILED).details == {"context": "disable", "method": "totp"}


@pytest.mark.django_db
def test_a_wrong_password_leaves_mfa_on_and_is_recorded(api_client, user, ada_mfa):
    response = disable(api_client, ada_mfa.access, password="not the password at all")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"detail": "The password is not valid.", "code": "invalid_code"}
    assert mfa_state(user) == (True, True, 10)
    assert only(E.MFA_VERIFICATION_FAILED).details == {"context": "disable", "method": "password"}


@pytest.mark.django_db
def test_a_wrong_recovery_code_leaves_mfa_on(api_client, user, ada_mfa):
    response = disable(api_client, ada_mfa.access, recovery_code="aaaaa-bbbbb")

    assert response.json() == INVALID_CODE
    assert mfa_state(user) == (True, True, 10)


@pytest.mark.django_db
def test_turning_off_mfa_that_is_not_on_is_400_mfa_not_enabled(api_client, user, org):
    response = disable(api_client, signed_in(api_client)["access"], password=PASSWORD)

    assert_error(response, HTTPStatus.BAD_REQUEST, "mfa_not_enabled")


@pytest.mark.django_db
def test_turning_off_needs_exactly_one_proof(api_client, user, ada_mfa):
    response = disable(api_client, ada_mfa.access, password=PASSWORD, code=ada_mfa.authenticator.code())

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "password" in response.json()
    assert mfa_state(user)[0] is True


# --- mfa/recovery-codes/ ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_new_recovery_codes_are_ten_fresh_ones(api_client, user, ada_mfa):
    response = post(api_client, RECOVERY_CODES, access=ada_mfa.access)

    assert response.status_code == HTTPStatus.OK
    codes = response.json()["recovery_codes"]
    assert response.json() == {"recovery_codes": codes}
    assert len(set(codes)) == 10
    assert not set(codes) & set(ada_mfa.recovery_codes)
    assert RecoveryCode.objects.filter(user=user).count() == 10
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_new_recovery_codes_kill_the_old_set(api_client, ada_mfa):
    post(api_client, RECOVERY_CODES, access=ada_mfa.access)

    response = verify(api_client, mfa_token_for(api_client), recovery_code=ada_mfa.recovery_codes[0])

    assert response.json() == INVALID_CODE


@pytest.mark.django_db
def test_a_new_recovery_code_signs_in(api_client, ada_mfa):
    codes = post(api_client, RECOVERY_CODES, access=ada_mfa.access).json()["recovery_codes"]

    response = verify(api_client, mfa_token_for(api_client), recovery_code=codes[0])

    assert response.status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_new_recovery_codes_are_recorded(api_client, user, ada_mfa):
    post(api_client, RECOVERY_CODES, access=ada_mfa.access)

    event = only(E.MFA_RECOVERY_CODES_REGENERATED)
    assert (event.actor_user_id, event.subject_user_id) == (user.id, user.id)


@pytest.mark.django_db
def test_new_recovery_codes_without_mfa_is_400_mfa_not_enabled(api_client, user, org):
    response = post(api_client, RECOVERY_CODES, access=signed_in(api_client)["access"])

    assert_error(response, HTTPStatus.BAD_REQUEST, "mfa_not_enabled")


# --- The admin's reset ---------------------------------------------------------------------------------------


def admin_reset(admin_client, user):
    return admin_client.post(
        "/admin/accounts/user/", {"action": "reset_mfa", "_selected_action": [str(user.id)]}
    )


@pytest.mark.django_db
def test_the_admin_reset_turns_mfa_off(admin_client, user, ada_mfa):
    response = admin_reset(admin_client, user)

    assert response.status_code == HTTPStatus.FOUND
    assert mfa_state(user) == (False, False, 0)


@pytest.mark.django_db
def test_the_admin_reset_is_recorded_with_the_admin_as_actor(admin_client, superuser, user, ada_mfa):
    admin_reset(admin_client, user)

    event = only(E.MFA_RESET_BY_ADMIN)
    assert (event.actor_user_id, event.subject_user_id) == (superuser.id, user.id)


@pytest.mark.django_db
def test_after_the_admin_reset_the_password_alone_signs_in(api_client, admin_client, user, ada_mfa):
    admin_reset(admin_client, user)

    response = login(api_client, "ada@example.com")

    assert "access" in response.json()


@pytest.mark.django_db
def test_the_admin_reset_ends_pending_challenges(api_client, admin_client, user, ada_mfa):
    mfa_token = assert_mfa_required(login(api_client, "ada@example.com"))

    admin_reset(admin_client, user)

    assert MfaChallenge.objects.get(user=user).used_at is not None
    assert verify(api_client, mfa_token, recovery_code=ada_mfa.recovery_codes[0]).status_code == 401


@pytest.mark.django_db
def test_the_admin_reset_leaves_users_without_mfa_alone(admin_client, user, org):
    admin_reset(admin_client, user)

    assert not User.objects.get(pk=user.pk).mfa_enabled
    assert events(type=E.MFA_RESET_BY_ADMIN) == []
