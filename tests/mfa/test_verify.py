"""The second step of a sign-in: with MFA on, a sign-in answers ``mfa_required`` and an ``mfa_token``, and
``mfa/verify/`` finishes it with a TOTP code or a recovery code (API.md "Multi-factor authentication").

``mfa/verify/`` runs outside the request transaction (a wrong code's count must survive its 400): a test
that keeps using the database after a refused verify is transactional (``tests/accounts/test_refresh.py``).
"""

from __future__ import annotations

import secrets
from http import HTTPStatus

import pytest

from accounts.models import MfaChallenge, RecoveryCode, Session
from tenants.audit import AuditEventType as E
from tenants.policy import MembershipRole
from tests.api import login
from tests.audit.helpers import events, only
from tests.factories import add_member, make_user
from tests.mfa.helpers import (
    INVALID_CODE,
    METHODS,
    MFA_TOKEN_INVALID,
    TOO_MANY_ATTEMPTS,
    assert_error,
    assurance,
    challenge_expire,
    enrolled,
    mfa_token_for,
    session_of,
    throttle_rates,
    verify,
)

# --- The first step -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_password_sign_in_with_mfa_on_answers_mfa_required_and_no_pair(api_client, user, ada_mfa):
    sessions = Session.objects.filter(user=user).count()

    response = login(api_client, "ada@example.com")

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body == {"mfa_required": True, "mfa_token": body["mfa_token"], "methods": METHODS}
    assert "access" not in body and "refresh" not in body
    assert response["Cache-Control"] == "no-store"
    assert Session.objects.filter(user=user).count() == sessions
    assert MfaChallenge.objects.filter(user=user, used_at__isnull=True).count() == 1


@pytest.mark.django_db
def test_the_first_step_records_no_sign_in(api_client, user, ada_mfa):
    signed_in_before = len(events(type=E.SIGN_IN_SUCCEEDED))

    login(api_client, "ada@example.com")

    assert len(events(type=E.SIGN_IN_SUCCEEDED)) == signed_in_before


@pytest.mark.django_db
def test_a_wrong_password_is_still_401_with_mfa_on(api_client, ada_mfa):
    response = login(api_client, "ada@example.com", "not the password at all")

    assert_error(response, HTTPStatus.UNAUTHORIZED, "invalid_credentials")
    assert not MfaChallenge.objects.exists()


@pytest.mark.django_db
def test_login_naming_an_unknown_org_is_404_before_any_challenge(api_client, ada_mfa):
    response = login(api_client, "ada@example.com", org="no-such-org")

    assert_error(response, HTTPStatus.NOT_FOUND, "org_not_found")
    assert not MfaChallenge.objects.exists()


@pytest.mark.django_db
def test_login_naming_an_org_she_is_not_in_is_403_before_any_challenge(api_client, ada_mfa, other_org):
    response = login(api_client, "ada@example.com", org=other_org.slug)

    assert_error(response, HTTPStatus.FORBIDDEN, "not_a_member")
    assert not MfaChallenge.objects.exists()


# --- Finishing it ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_verify_with_a_totp_code_answers_the_pair_at_aal2(api_client, user, org, ada_mfa):
    mfa_token = mfa_token_for(api_client)

    response = verify(api_client, mfa_token, code=ada_mfa.authenticator.code())

    assert response.status_code == HTTPStatus.OK, response.content
    body = response.json()
    acme = {"id": str(org.id), "name": "Acme", "slug": "acme", "role": "owner"}
    assert body == {
        "access": body["access"],
        "refresh": body["refresh"],
        "expires_in": 900,
        "user": {
            "id": str(user.id),
            "email": "ada@example.com",
            "first_name": "",
            "last_name": "",
            "email_verified": True,
        },
        "organizations": [acme],
        "org": acme,
    }
    assert assurance(body["access"]) == (["pwd", "otp"], "aal2", 2)
    assert session_of(body["access"]).amr == ["pwd", "otp"]
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_verify_records_the_sign_in_with_its_second_factor(api_client, user, ada_mfa):
    mfa_token = mfa_token_for(api_client)

    body = verify(api_client, mfa_token, code=ada_mfa.authenticator.code()).json()

    event = only(E.SIGN_IN_SUCCEEDED, subject_id=str(session_of(body["access"]).id))
    assert event.details == {"method": "password", "amr": ["pwd", "otp"], "second_factor": "totp"}
    assert (event.actor_user_id, event.subject_user_id) == (user.id, user.id)


@pytest.mark.django_db
def test_verify_with_a_recovery_code_answers_the_pair_at_aal2(api_client, user, ada_mfa):
    mfa_token = mfa_token_for(api_client)

    response = verify(api_client, mfa_token, recovery_code=ada_mfa.recovery_codes[0])

    assert response.status_code == HTTPStatus.OK, response.content
    assert assurance(response.json()["access"]) == (["pwd", "otp"], "aal2", 2)
    assert RecoveryCode.objects.filter(user=user, used_at__isnull=True).count() == 9
    assert only(E.MFA_RECOVERY_CODE_USED).details == {"remaining": 9}
    assert only(E.MFA_RECOVERY_CODE_USED).subject_user_id == user.id


@pytest.mark.django_db
def test_a_recovery_code_is_accepted_in_capitals_and_without_its_dash(api_client, ada_mfa):
    typed = ada_mfa.recovery_codes[3].replace("-", "").upper()

    response = verify(api_client, mfa_token_for(api_client), recovery_code=typed)

    assert response.status_code == HTTPStatus.OK, response.content


@pytest.mark.django_db
def test_the_org_named_at_login_is_the_org_of_the_verified_pair(api_client, user, org, other_org, ada_mfa):
    add_member(org=other_org, user=user, role=MembershipRole.MEMBER)
    mfa_token = mfa_token_for(api_client, org=other_org.slug)

    body = verify(api_client, mfa_token, code=ada_mfa.authenticator.code()).json()

    assert body["org"] == {"id": str(other_org.id), "name": "Globex", "slug": "globex", "role": "member"}
    assert session_of(body["access"]).active_org_id == other_org.id


@pytest.mark.django_db
@pytest.mark.parametrize(
    "second_factor",
    [{}, {"code": "123456", "recovery_code": "abcde-fghij"}, {"code": ""}],
    ids=["neither", "both", "empty"],
)
def test_verify_needs_exactly_one_of_code_and_recovery_code(api_client, ada_mfa, second_factor):
    response = verify(api_client, mfa_token_for(api_client), **second_factor)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "code" in response.json()


# --- Refused tokens --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_expired_mfa_token_is_401_mfa_token_invalid(api_client, ada_mfa):
    mfa_token = mfa_token_for(api_client)
    challenge_expire()

    response = verify(api_client, mfa_token, code=ada_mfa.authenticator.code())

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == MFA_TOKEN_INVALID


@pytest.mark.django_db(transaction=True)
def test_a_used_mfa_token_is_401_mfa_token_invalid(api_client, user, org):
    ada = enrolled(api_client)
    mfa_token = mfa_token_for(api_client)
    first = verify(api_client, mfa_token, recovery_code=ada.recovery_codes[0])

    second = verify(api_client, mfa_token, recovery_code=ada.recovery_codes[1])

    assert first.status_code == HTTPStatus.OK
    assert second.status_code == HTTPStatus.UNAUTHORIZED
    assert second.json() == MFA_TOKEN_INVALID
    assert RecoveryCode.objects.filter(user=user, used_at__isnull=True).count() == 9  # the 2nd not spent


@pytest.mark.django_db
@pytest.mark.parametrize(
    "mfa_token",
    [secrets.token_urlsafe(32), "x" * 16, "too-short"],
    ids=["random", "random-short", "below-the-minimum"],
)
def test_an_unknown_mfa_token_is_401_mfa_token_invalid(api_client, ada_mfa, mfa_token):
    response = verify(api_client, mfa_token, code=ada_mfa.authenticator.code())

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == MFA_TOKEN_INVALID
    assert response["WWW-Authenticate"]


@pytest.mark.django_db
def test_a_jwt_sent_as_mfa_token_is_refused_as_too_long(api_client, ada_mfa):
    """A refresh token is no mfa_token: longer than any (128), it is a field error before any lookup."""
    response = verify(api_client, ada_mfa.refresh, code=ada_mfa.authenticator.code())

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"mfa_token": ["Ensure this field has no more than 128 characters."]}


@pytest.mark.django_db(transaction=True)
def test_another_users_mfa_token_with_my_code_is_a_wrong_code_for_that_user(api_client, user, org):
    """The mfa_token is all mfa/verify/ knows of who is signing in: Ada's code against Bob's token is a
    wrong code for Bob's sign-in (400, counted on Bob's challenge), and nobody gets a pair."""
    ada = enrolled(api_client)
    make_user(email="bob@example.com")
    enrolled(api_client, "bob@example.com")
    bobs_token = mfa_token_for(api_client, "bob@example.com")

    response = verify(api_client, bobs_token, code=ada.authenticator.code())

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == INVALID_CODE
    assert MfaChallenge.objects.get(user__email="bob@example.com", used_at__isnull=True).attempts == 1


@pytest.mark.django_db
def test_a_pending_challenge_dies_when_mfa_is_turned_off(api_client, ada_mfa):
    mfa_token = mfa_token_for(api_client)
    api_client.delete(
        "/api/auth/mfa/totp/",
        {"password": "correct horse battery staple"},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {ada_mfa.access}",
    )

    response = verify(api_client, mfa_token, recovery_code=ada_mfa.recovery_codes[0])

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == MFA_TOKEN_INVALID


# --- Codes: once each, and few guesses --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_totp_code_replayed_in_another_challenge_is_400_invalid_code(api_client, user, org):
    ada = enrolled(api_client)
    code = ada.authenticator.code()
    first = verify(api_client, mfa_token_for(api_client), code=code)
    sessions = Session.objects.filter(user=user).count()

    replay = verify(api_client, mfa_token_for(api_client), code=code)

    assert first.status_code == HTTPStatus.OK
    assert replay.status_code == HTTPStatus.BAD_REQUEST
    assert replay.json() == INVALID_CODE
    assert Session.objects.filter(user=user).count() == sessions


@pytest.mark.django_db(transaction=True)
def test_the_code_that_confirmed_enrolment_cannot_finish_a_sign_in(api_client, user, org):
    ada = enrolled(api_client)
    confirming_code = ada.authenticator.totp.generate_otp(ada.authenticator.last_step)

    response = verify(api_client, mfa_token_for(api_client), code=confirming_code)

    assert response.json() == INVALID_CODE


@pytest.mark.django_db(transaction=True)
def test_a_recovery_code_works_once(api_client, user, org):
    ada = enrolled(api_client)
    first = verify(api_client, mfa_token_for(api_client), recovery_code=ada.recovery_codes[0])

    second = verify(api_client, mfa_token_for(api_client), recovery_code=ada.recovery_codes[0])

    assert first.status_code == HTTPStatus.OK
    assert second.status_code == HTTPStatus.BAD_REQUEST
    assert second.json() == INVALID_CODE
    assert [event.details for event in events(type=E.MFA_RECOVERY_CODE_USED)] == [{"remaining": 9}]


@pytest.mark.django_db(transaction=True)
def test_a_wrong_code_is_recorded_although_the_answer_is_400(api_client, user, org):
    ada = enrolled(api_client)

    response = verify(api_client, mfa_token_for(api_client), code=ada.authenticator.wrong_code())

    assert response.json() == INVALID_CODE
    event = only(E.MFA_VERIFICATION_FAILED)
    assert event.details == {"context": "sign_in", "method": "totp"}
    assert event.subject_user_id == user.id


@pytest.mark.django_db(transaction=True)
def test_a_wrong_recovery_code_is_recorded_as_such(api_client, user, org):
    enrolled(api_client)

    verify(api_client, mfa_token_for(api_client), recovery_code="aaaaa-bbbbb")

    assert only(E.MFA_VERIFICATION_FAILED).details == {"context": "sign_in", "method": "recovery_code"}


@pytest.mark.django_db(transaction=True)
def test_five_wrong_codes_end_the_challenge_even_for_the_right_code(api_client, user, org):
    ada = enrolled(api_client)
    mfa_token = mfa_token_for(api_client)

    wrong = [verify(api_client, mfa_token, code=ada.authenticator.wrong_code()) for _ in range(5)]
    right = verify(api_client, mfa_token, code=ada.authenticator.code())

    assert [response.status_code for response in wrong] == [HTTPStatus.BAD_REQUEST] * 5
    assert MfaChallenge.objects.get(user=user).attempts == 5
    assert right.status_code == HTTPStatus.UNAUTHORIZED
    assert right.json() == TOO_MANY_ATTEMPTS
    assert len(events(type=E.MFA_VERIFICATION_FAILED)) == 5


@pytest.mark.django_db(transaction=True)
def test_wrong_codes_across_challenges_spend_one_budget_per_user(api_client, user, org, settings):
    """Signing in again buys no more guesses: with mfa_verify_user at 3/hour, three wrong codes spread
    over two challenges, and a third challenge is refused 429 even with the right code."""
    throttle_rates(settings, mfa_verify_user="3/hour")
    ada = enrolled(api_client)
    first, second = mfa_token_for(api_client), mfa_token_for(api_client)
    for mfa_token in (first, first, second):
        assert verify(api_client, mfa_token, code=ada.authenticator.wrong_code()).json() == INVALID_CODE

    response = verify(api_client, mfa_token_for(api_client), code=ada.authenticator.code())

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) > 0


@pytest.mark.django_db(transaction=True)
def test_one_users_budget_is_not_another_users(api_client, user, org, settings):
    throttle_rates(settings, mfa_verify_user="2/hour")
    ada = enrolled(api_client)
    make_user(email="bob@example.com")
    bob = enrolled(api_client, "bob@example.com")
    for _ in range(2):
        verify(api_client, mfa_token_for(api_client), code=ada.authenticator.wrong_code())

    response = verify(api_client, mfa_token_for(api_client, "bob@example.com"), code=bob.authenticator.code())

    assert response.status_code == HTTPStatus.OK, response.content


@pytest.mark.django_db(transaction=True)
def test_right_codes_do_not_spend_the_wrong_code_budget(api_client, user, org, settings):
    throttle_rates(settings, mfa_verify_user="2/hour")
    ada = enrolled(api_client)
    for recovery_code in ada.recovery_codes[:2]:
        assert verify(api_client, mfa_token_for(api_client), recovery_code=recovery_code).status_code == 200

    third = verify(api_client, mfa_token_for(api_client), recovery_code=ada.recovery_codes[2])

    assert third.status_code == HTTPStatus.OK, third.content
