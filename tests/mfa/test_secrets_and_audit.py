"""Nothing of a second factor is stored in plaintext (the TOTP secret sealed, recovery codes and mfa_tokens
as digests, no secret in any audit event), and the MFA events of the audit log."""

from __future__ import annotations

import json
from http import HTTPStatus

import pytest

from accounts.models import MfaChallenge, RecoveryCode, TotpDevice
from tenants.audit import AuditEventType as E
from tests.api import bearer
from tests.audit.helpers import assert_no_secret_stored, only
from tests.mfa.helpers import (
    PASSWORD,
    REAUTHENTICATE,
    RECOVERY_CODES,
    TOTP,
    mfa_token_for,
    post,
    signed_in,
    verify,
)


def stored(model) -> str:
    """Every row of ``model``, every column, as one string."""
    return json.dumps(list(model.objects.values()), default=str)


def spellings(recovery_code: str) -> list[str]:
    """The code as shown, and as it is checked (no dash, lower case)."""
    return [recovery_code, recovery_code.replace("-", "")]


@pytest.mark.django_db
def test_the_totp_secret_is_stored_sealed(api_client, user, ada_mfa):
    row = stored(TotpDevice)

    assert ada_mfa.secret not in row
    assert ada_mfa.secret.lower() not in row
    assert TotpDevice.objects.get(user=user).secret != ada_mfa.secret


@pytest.mark.django_db
def test_a_proposed_secret_is_stored_sealed_too(api_client, user, org):
    secret = post(api_client, "/api/auth/mfa/totp/setup/", access=signed_in(api_client)["access"]).json()[
        "secret"
    ]

    assert secret not in stored(TotpDevice)


@pytest.mark.django_db
def test_recovery_codes_are_stored_as_digests(api_client, ada_mfa):
    rows = stored(RecoveryCode)

    assert RecoveryCode.objects.count() == 10
    for code in ada_mfa.recovery_codes:
        for spelling in spellings(code):
            assert spelling not in rows


@pytest.mark.django_db
def test_regenerated_recovery_codes_are_stored_as_digests(api_client, ada_mfa):
    codes = post(api_client, RECOVERY_CODES, access=ada_mfa.access).json()["recovery_codes"]
    rows = stored(RecoveryCode)

    for code in codes:
        for spelling in spellings(code):
            assert spelling not in rows


@pytest.mark.django_db
def test_the_mfa_token_is_stored_as_a_digest(api_client, ada_mfa):
    mfa_token = mfa_token_for(api_client)

    assert MfaChallenge.objects.get().digest != mfa_token
    assert mfa_token not in stored(MfaChallenge)


@pytest.mark.django_db(transaction=True)
def test_no_secret_code_or_mfa_token_reaches_the_audit_log(api_client, ada_mfa):
    """A whole life: enrolment, a sign-in finished with a code and one with a recovery code, a wrong code,
    step-up with a code, new recovery codes, turning MFA off with a recovery code."""
    first_code = ada_mfa.authenticator.totp.generate_otp(ada_mfa.authenticator.last_step)
    with_code = mfa_token_for(api_client)
    second_code = ada_mfa.authenticator.code()
    verify(api_client, with_code, code=second_code)
    with_recovery = mfa_token_for(api_client)
    verify(api_client, with_recovery, recovery_code=ada_mfa.recovery_codes[0])
    wrong = mfa_token_for(api_client)
    verify(api_client, wrong, code=ada_mfa.authenticator.wrong_code())
    post(api_client, REAUTHENTICATE, {"recovery_code": ada_mfa.recovery_codes[1]}, ada_mfa.access)
    fresh = post(api_client, RECOVERY_CODES, access=ada_mfa.access).json()["recovery_codes"]
    api_client.delete(TOTP, {"recovery_code": fresh[0]}, format="json", **bearer(ada_mfa.access))

    assert_no_secret_stored(
        ada_mfa.secret,
        with_code,
        with_recovery,
        wrong,
        f'"{first_code}"',
        f'"{second_code}"',
        *(spelling for code in [*ada_mfa.recovery_codes, *fresh] for spelling in spellings(code)),
    )


@pytest.mark.django_db
def test_enrolment_is_recorded(api_client, user, ada_mfa):
    event = only(E.MFA_ENROLLED)

    assert event.details == {"method": "totp"}
    assert (event.actor_user_id, event.subject_user_id, event.org_id) == (user.id, user.id, None)


@pytest.mark.django_db
def test_the_owners_audit_log_shows_her_mfa_events(api_client, ada_mfa):
    post(api_client, REAUTHENTICATE, {"password": PASSWORD}, ada_mfa.access)

    response = api_client.get("/api/auth/org/audit-log/", **bearer(ada_mfa.access))

    assert response.status_code == HTTPStatus.OK
    types = {event["type"] for event in response.json()["results"]}
    assert {"mfa.enrolled", "session.reauthenticated"} <= types
