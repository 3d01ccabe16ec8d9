"""Account pre-hijacking (second security review, items 1 and 2): someone registers an address they do not
own, adds their own ways in, and waits. Whenever the address's owner proves it on the still-unverified
account — a magic link, a password reset, the verification link opened outside the account's own session
(a provider sign-in: tests/social/test_account_linking.py) — the claim removes everything the registrant
set up: password, sessions, passkeys, linked identities, the authenticator and its recovery codes, the
pending MFA sign-ins; one ``user.account_claimed`` event says what went."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.utils import timezone

from accounts.models import MfaChallenge, RecoveryCode, RevokeReason, Session, TotpDevice, User
from passkeys.models import Passkey
from social.models import SocialIdentity
from tenants.audit import AuditEventType as E
from tests.api import AUTH, bearer, login
from tests.audit.helpers import events, only
from tests.factories import DEFAULT_PASSWORD, make_org, make_user
from tests.magiclinks.helpers import (
    EMAIL_VERIFY,
    EMAIL_VERIFY_REQUEST,
    MAGIC_VERIFY,
    ME,
    NEW_PASSWORD,
    PASSWORD_RESET,
    only_mail,
    post,
    request_magic_link,
    request_reset_link,
    token_in,
    verify_prefix,
)

VICTIM = "victim@example.com"
REGISTER_OPTIONS = f"{AUTH}/passkeys/register/options/"


def plant(user: User) -> None:
    """What a squatter could have set up before the fixes: a passkey, a linked identity of their own, TOTP
    with recovery codes, and a sign-in waiting for its second factor."""
    Passkey.objects.create(
        user=user, credential_id=b"squatter-credential", public_key=b"key", device_type="multi_device", name="Mine"
    )
    SocialIdentity.objects.create(user=user, provider="google", subject="squatter-sub", email="sq@gmail.com")
    TotpDevice.objects.create(user=user, secret="sealed", confirmed_at=timezone.now())
    RecoveryCode.objects.create(user=user, digest="d" * 64)
    MfaChallenge.objects.create(
        user=user, digest="c" * 64, password_fingerprint="f", method="password",
        expires_at=timezone.now() + timedelta(minutes=5),
    )  # fmt: skip
    User.objects.filter(pk=user.pk).update(mfa_enabled=True)


@pytest.fixture
def squatter(db) -> tuple[User, str]:
    """The squatter's unverified account at the victim's address, with everything planted, and the
    access token of a session they keep."""
    user = make_user(email=VICTIM, password=DEFAULT_PASSWORD)
    make_org(name="Squat", owner=user)
    from rest_framework.test import APIClient

    access = login(APIClient(), VICTIM).json()["access"]
    plant(user)
    return user, access


def nothing_planted_is_left(user: User) -> None:
    assert not Passkey.objects.filter(user=user).exists()
    assert not SocialIdentity.objects.filter(user=user, subject="squatter-sub").exists()
    assert not TotpDevice.objects.filter(user=user).exists()
    assert not RecoveryCode.objects.filter(user=user).exists()
    assert not MfaChallenge.objects.filter(user=user, used_at__isnull=True).exists()
    assert User.objects.get(pk=user.pk).mfa_enabled is False


def _by_magic_link(client, outbox) -> dict:
    token, _ = request_magic_link(client, outbox, VICTIM)
    response = post(client, MAGIC_VERIFY, {"token": token})
    assert response.status_code == HTTPStatus.OK, response.content
    return response.json()


def _by_password_reset(client, outbox) -> dict:
    token = request_reset_link(client, outbox, VICTIM)
    response = post(client, PASSWORD_RESET, {"token": token, "new_password": NEW_PASSWORD})
    assert response.status_code == HTTPStatus.OK, response.content
    return response.json()


def _verification_token(client, outbox, access: str) -> str:
    outbox.clear()
    assert post(client, EMAIL_VERIFY_REQUEST, **bearer(access)).status_code == HTTPStatus.ACCEPTED
    token = token_in(only_mail(outbox, VICTIM), verify_prefix())
    outbox.clear()
    return token


CLAIMS: dict[str, Callable] = {"magic_link": _by_magic_link, "password_reset": _by_password_reset}


@pytest.mark.django_db
@pytest.mark.parametrize("via", CLAIMS)
def test_a_claim_removes_everything_the_registrant_set_up(api_client, mailoutbox, squatter, via):
    user, squatter_access = squatter

    CLAIMS[via](api_client, mailoutbox)

    nothing_planted_is_left(user)
    assert api_client.get(ME, **bearer(squatter_access)).status_code == HTTPStatus.UNAUTHORIZED
    assert login(api_client, VICTIM).status_code == HTTPStatus.UNAUTHORIZED  # the squatter's password
    claimed = User.objects.get(pk=user.pk)
    assert claimed.email_verified is True
    assert Session.objects.get(id__isnull=False, revoked_reason=RevokeReason.ACCOUNT_CLAIMED)
    event = only(E.USER_ACCOUNT_CLAIMED)
    assert event.subject_user_id == user.pk
    assert event.details == {
        "via": via,
        "removed": ["sessions", "password", "passkeys", "identities", "mfa"],
    }
    assert only(E.USER_EMAIL_VERIFIED).details == {"via": via, "claimed": True}


@pytest.mark.django_db
def test_after_a_reset_claim_only_the_new_password_signs_in(api_client, mailoutbox, squatter):
    _by_password_reset(api_client, mailoutbox)

    response = login(api_client, VICTIM, NEW_PASSWORD)

    assert response.status_code == HTTPStatus.OK
    assert response.json()["user"]["email_verified"] is True  # and no MFA step: the squatter's TOTP is gone


@pytest.mark.django_db
def test_a_reset_of_a_verified_account_claims_nothing(api_client, mailoutbox):
    user = make_user(email=VICTIM, email_verified=True)
    Passkey.objects.create(user=user, credential_id=b"mine", public_key=b"k", device_type="single_device", name="Key")

    _by_password_reset(api_client, mailoutbox)

    assert Passkey.objects.filter(user=user).count() == 1
    assert events(type=E.USER_ACCOUNT_CLAIMED) == []


# --- The verification link (item 2) -------------------------------------------------------------------


@pytest.mark.django_db
def test_the_verification_link_opened_outside_the_accounts_session_claims_it(api_client, mailoutbox, squatter):
    """The squatter's sign-up mails the victim a link; the victim clicks it (not signed in: they can't be)."""
    user, squatter_access = squatter
    token = _verification_token(api_client, mailoutbox, squatter_access)

    response = post(api_client, EMAIL_VERIFY, {"token": token})

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"email_verified": True, "account_claimed": True}
    nothing_planted_is_left(user)
    assert login(api_client, VICTIM).status_code == HTTPStatus.UNAUTHORIZED
    assert api_client.get(ME, **bearer(squatter_access)).status_code == HTTPStatus.UNAUTHORIZED
    assert only(E.USER_ACCOUNT_CLAIMED).details["via"] == "verification_link"


@pytest.mark.django_db
def test_the_verification_link_with_another_accounts_bearer_claims_it(api_client, mailoutbox, squatter):
    user, squatter_access = squatter
    token = _verification_token(api_client, mailoutbox, squatter_access)
    make_user(email="someone@example.com")
    other = login(api_client, "someone@example.com").json()["access"]

    response = post(api_client, EMAIL_VERIFY, {"token": token}, **bearer(other))

    assert response.json() == {"email_verified": True, "account_claimed": True}
    assert not User.objects.get(pk=user.pk).has_usable_password()


@pytest.mark.django_db
def test_the_verification_link_in_the_accounts_own_session_changes_nothing_else(api_client, mailoutbox):
    """The one who set the account up (a session of it) and the mailbox's owner (the token) are one."""
    user = make_user(email=VICTIM)
    access = login(api_client, VICTIM).json()["access"]
    token = _verification_token(api_client, mailoutbox, access)

    response = post(api_client, EMAIL_VERIFY, {"token": token}, **bearer(access))

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"email_verified": True, "account_claimed": False}
    assert api_client.get(ME, **bearer(access)).json()["email_verified"] is True
    assert login(api_client, VICTIM).status_code == HTTPStatus.OK
    assert User.objects.get(pk=user.pk).email_verified is True
    assert events(type=E.USER_ACCOUNT_CLAIMED) == []
    assert only(E.USER_EMAIL_VERIFIED).details == {"via": "verification_link"}


@pytest.mark.django_db
def test_the_verification_link_with_a_bad_bearer_is_401_and_spends_nothing(api_client, mailoutbox):
    make_user(email=VICTIM)
    access = login(api_client, VICTIM).json()["access"]
    token = _verification_token(api_client, mailoutbox, access)

    response = post(api_client, EMAIL_VERIFY, {"token": token}, **bearer("not-a-token"))

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert post(api_client, EMAIL_VERIFY, {"token": token}, **bearer(access)).status_code == HTTPStatus.OK


# --- Passkeys need a verified address (item 1) ---------------------------------------------------------


@pytest.mark.django_db
def test_registering_a_passkey_needs_a_verified_address(api_client):
    make_user(email=VICTIM)
    access = login(api_client, VICTIM).json()["access"]

    response = post(api_client, REGISTER_OPTIONS, **bearer(access))

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "email_unverified"


# --- What the registrant set up in orgs (the review of the fixes, H2) ---------------------------------


@pytest.mark.django_db
def test_a_claim_revokes_the_registrants_api_keys_and_pending_invitations(api_client, mailoutbox):
    """The squatter registers victim@ with an org, mints an API key and invites their other address as
    owner (sign-up counts as a recent sign-in); the owner's magic link claims the account: the key stops
    working and the invitation's link dies."""
    from apikeys.models import ApiKey
    from invitations.models import Invitation
    from tenants.rls.context import cross_tenant

    registered = post(
        api_client,
        f"{AUTH}/register/",
        {"email": VICTIM, "password": "violet tangerine 42", "organization_name": "Victim Corp"},
    ).json()
    access = registered["access"]
    key = post(api_client, f"{AUTH}/org/api-keys/", {"name": "mine"}, **bearer(access)).json()["key"]
    invited = post(api_client, f"{AUTH}/org/invitations/", {"email": "sq2@evil.test", "role": "owner"}, **bearer(access))
    assert invited.status_code == HTTPStatus.CREATED, invited.content
    assert api_client.get(f"{AUTH}/org/members/", HTTP_X_API_KEY=key).status_code == HTTPStatus.OK

    _by_magic_link(api_client, mailoutbox)

    assert api_client.get(f"{AUTH}/org/members/", HTTP_X_API_KEY=key).status_code == HTTPStatus.UNAUTHORIZED
    with cross_tenant():
        assert ApiKey.objects.get().revoked_at is not None
        assert Invitation.objects.get(email="sq2@evil.test").revoked_at is not None
    removed = only(E.USER_ACCOUNT_CLAIMED).details["removed"]
    assert removed[:2] == ["sessions", "password"]
    assert sorted(removed[2:]) == ["api_keys", "invitations"]  # the feature apps' part, in app order
