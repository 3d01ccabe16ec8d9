"""Every way in is gated, not only the password (API.md "Multi-factor authentication"): login/, token/,
magic-link/verify/ (link and code), google/, social/, invitations/accept/ and password/change/ answer the
second step owed instead of a pair when the session has no second factor; devlogin (DEBUG only) is the
one exemption."""

from __future__ import annotations

import json
from http import HTTPStatus
from io import StringIO
from urllib.parse import urlencode

import pytest
from django.core.management import call_command

from accounts.models import MfaChallenge, Session, User
from invitations.models import InvitationStatus
from tests.api import login
from tests.factories import make_user
from tests.invitations.helpers import accept, invite, memberships_of, row
from tests.magiclinks.helpers import MAGIC_VERIFY, request_magic_link
from tests.mfa.helpers import (
    NEW_PASSWORD,
    PASSWORD,
    PASSWORD_CHANGE,
    TOKEN,
    assert_mfa_required,
    assurance,
    enrol,
    first_factor_session,
    mfa_token_for,
    post,
    signed_in,
    throttle_rates,
    verify,
)
from tests.social.helpers import REDIRECT_URI, SOCIAL, code_sign_in, google_sign_in


def oauth_token(client, username: str = "ada@example.com", password: str = PASSWORD):
    form = urlencode({"grant_type": "password", "username": username, "password": password})
    return client.post(TOKEN, form, content_type="application/x-www-form-urlencoded")


# --- token/ (OAuth2 password grant) -----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_password_grant_answers_invalid_grant_mfa_required(api_client, user, ada_mfa):
    sessions = Session.objects.filter(user=user).count()

    response = oauth_token(api_client)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"error": "invalid_grant", "error_description": "mfa_required"}
    assert Session.objects.filter(user=user).count() == sessions


@pytest.mark.django_db
def test_the_right_password_refused_by_the_grant_for_mfa_is_not_a_failed_guess(api_client, ada_mfa, settings):
    throttle_rates(settings, login_email_network="2/min")
    for _ in range(2):
        assert oauth_token(api_client).json()["error_description"] == "mfa_required"

    response = login(api_client, "ada@example.com")

    assert_mfa_required(response)


# --- Emailed links -------------------------------------------------------------------------------------


@pytest.fixture
def ada_verified(user, ada_mfa):
    """Ada with MFA on and her address verified (an unverified one would be claimed by the link:
    tests/mfa/test_findings.py)."""
    User.objects.filter(pk=user.pk).update(email_verified=True)
    return ada_mfa


@pytest.mark.django_db
def test_a_magic_link_token_answers_mfa_required(api_client, user, ada_verified, mailoutbox):
    token, _ = request_magic_link(api_client, mailoutbox, "ada@example.com")
    sessions = Session.objects.filter(user=user).count()

    response = post(api_client, MAGIC_VERIFY, {"token": token})

    assert_mfa_required(response)
    assert Session.objects.filter(user=user).count() == sessions


@pytest.mark.django_db
def test_a_magic_link_code_answers_mfa_required(api_client, ada_verified, mailoutbox):
    _, code = request_magic_link(api_client, mailoutbox, "ada@example.com")

    response = post(api_client, MAGIC_VERIFY, {"email": "ada@example.com", "code": code})

    assert_mfa_required(response)


@pytest.mark.django_db
def test_a_magic_link_sign_in_finishes_with_email_and_otp(api_client, ada_verified, mailoutbox):
    token, _ = request_magic_link(api_client, mailoutbox, "ada@example.com")
    mfa_token = assert_mfa_required(post(api_client, MAGIC_VERIFY, {"token": token}))

    response = verify(api_client, mfa_token, code=ada_verified.authenticator.code())

    assert response.status_code == HTTPStatus.OK, response.content
    assert assurance(response.json()["access"]) == (["email", "otp"], "aal2", 2)


# --- Google ----------------------------------------------------------------------------------------------


@pytest.fixture
def google_user_with_mfa(api_client, google):
    """ada@gmail.com, created by a Google sign-in, enrolled in that session: her authenticator."""
    first = google_sign_in(api_client, google.id_token())
    assert first.status_code == HTTPStatus.CREATED, first.content
    return enrol(api_client, first.json()["access"]).authenticator


@pytest.mark.django_db
def test_a_google_id_token_answers_mfa_required(api_client, google, google_user_with_mfa):
    sessions = Session.objects.count()

    response = google_sign_in(api_client, google.id_token())

    assert_mfa_required(response)
    assert Session.objects.count() == sessions


@pytest.mark.django_db
def test_a_google_sign_in_finishes_with_ext_and_otp(api_client, google, google_user_with_mfa):
    mfa_token = assert_mfa_required(google_sign_in(api_client, google.id_token()))

    response = verify(api_client, mfa_token, code=google_user_with_mfa.code())

    assert response.status_code == HTTPStatus.OK, response.content
    assert response.json()["user"]["email"] == "ada@gmail.com"
    assert assurance(response.json()["access"]) == (["ext", "otp"], "aal2", 2)


@pytest.mark.django_db
def test_the_social_code_flow_answers_mfa_required(api_client, google, google_user_with_mfa):
    code = google.code_for(google.id_token())

    response = code_sign_in(api_client, SOCIAL, provider="google", code=code, redirect_uri=REDIRECT_URI)

    assert_mfa_required(response)


# --- Invitations -----------------------------------------------------------------------------------------


@pytest.fixture
def bob_sessions(api_client, user, org):
    """Bob (no org) enrolled; and a session of his with the password alone (no ``otp``)."""
    make_user(email="bob@example.com")
    enrolled = enrol(api_client, signed_in(api_client, "bob@example.com")["access"])
    return first_factor_session("bob@example.com"), enrolled


@pytest.mark.django_db
def test_accepting_with_a_session_that_predates_enrolment_joins_but_owes_the_second_factor(
    api_client, org, bob_sessions, mailoutbox
):
    """invitation_accept joins the org with the Bearer's own (first-factor) session, then signs in like any
    sign-in: the session's amr has no second factor, so no pair until mfa/verify/."""
    old_session, _ = bob_sessions
    invitation, token = invite(api_client, signed_in(api_client)["access"], mailoutbox, "bob@example.com")
    sessions = Session.objects.count()

    response = accept(api_client, token, old_session)

    assert_mfa_required(response)
    assert Session.objects.count() == sessions
    assert [m.role for m in memberships_of("bob@example.com", org)] == ["member"]
    assert row(invitation["id"]).status == InvitationStatus.ACCEPTED


@pytest.mark.django_db
def test_the_accepted_invitation_signs_in_to_the_inviting_org_after_verify(
    api_client, org, bob_sessions, mailoutbox
):
    old_session, bob = bob_sessions
    _, token = invite(api_client, signed_in(api_client)["access"], mailoutbox, "bob@example.com")
    mfa_token = assert_mfa_required(accept(api_client, token, old_session))

    response = verify(api_client, mfa_token, code=bob.authenticator.code())

    assert response.status_code == HTTPStatus.OK, response.content
    assert response.json()["org"] == {"id": str(org.id), "name": "Acme", "slug": "acme", "role": "member"}
    assert assurance(response.json()["access"]) == (["pwd", "otp"], "aal2", 2)


@pytest.mark.django_db
def test_accepting_with_a_session_that_passed_mfa_answers_the_pair(api_client, org, bob_sessions, mailoutbox):
    _, bob = bob_sessions
    _, token = invite(api_client, signed_in(api_client)["access"], mailoutbox, "bob@example.com")

    response = accept(api_client, token, bob.access)

    assert response.status_code == HTTPStatus.OK, response.content
    assert response.json()["org"]["id"] == str(org.id)
    assert assurance(response.json()["access"]) == (["pwd", "otp"], "aal2", 2)


# --- password/change/ -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_password_change_in_a_session_that_passed_mfa_keeps_its_amr(api_client, ada_mfa):
    mfa_token = mfa_token_for(api_client)
    access = verify(api_client, mfa_token, code=ada_mfa.authenticator.code()).json()["access"]

    response = post(
        api_client, PASSWORD_CHANGE, {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, access
    )

    assert response.status_code == HTTPStatus.OK, response.content
    assert "mfa_required" not in response.json()
    assert assurance(response.json()["access"]) == (["pwd", "otp"], "aal2", 2)


@pytest.mark.django_db
def test_password_change_in_the_enrolling_session_keeps_its_amr(api_client, ada_mfa):
    response = post(
        api_client,
        PASSWORD_CHANGE,
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        ada_mfa.access,
    )

    assert response.status_code == HTTPStatus.OK, response.content
    assert assurance(response.json()["access"]) == (["pwd", "otp"], "aal2", 2)


@pytest.mark.django_db
def test_password_change_in_a_session_that_predates_enrolment_owes_the_second_factor(api_client, user, org):
    """The change itself goes through (the current password was proven), every session ends, and the
    new one is a sign-in like any other: without otp in the old session's amr, it owes the second step."""
    enrol(api_client, signed_in(api_client)["access"])
    old = first_factor_session()

    response = post(
        api_client, PASSWORD_CHANGE, {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, old
    )

    assert_mfa_required(response)
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert not Session.objects.alive().filter(user=user).exists()


# --- devlogin ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_devlogin_still_prints_a_pair_for_a_user_with_mfa(ada_mfa, settings):
    settings.DEBUG = True
    out = StringIO()

    call_command("devlogin", "ada@example.com", "--org", "Acme", stdout=out)

    body = json.loads(out.getvalue())
    assert body["user"]["email"] == "ada@example.com"
    assert assurance(body["access"]) == ([], "aal1", 1)  # it proved nothing
    assert not MfaChallenge.objects.exists()
    assert User.objects.get(email="ada@example.com").mfa_enabled is True
