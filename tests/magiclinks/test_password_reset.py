"""Forgotten passwords (API.md ``password/forgot/``, ``password/reset/validate/``, ``password/reset/``).

The reset link is ``FRONTEND_URL/auth/reset/<token>``; validating it spends nothing; setting the password
spends it, revokes every session and verifies the address. Any other password change kills the link.
"""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.utils import timezone

from accounts.models import Session, User
from magiclinks.models import EmailToken, LinkPurpose
from tenants.audit import AuditEventType as E
from tests.api import bearer, login
from tests.audit.helpers import assert_no_secret_stored, events, only
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.magiclinks.helpers import (
    ME,
    NEW_PASSWORD,
    PASSWORD_FORGOT,
    PASSWORD_RESET,
    PASSWORD_RESET_VALIDATE,
    RESET_LINK_SENT,
    assert_token_invalid,
    link_in,
    only_mail,
    post,
    request_magic_link,
    request_reset_link,
    reset_prefix,
    token_in,
)

ADA = "ada@example.com"


def validate(client, token: str):
    return client.get(PASSWORD_RESET_VALIDATE, {"token": token})


def reset(client, token: str, new_password: str = NEW_PASSWORD):
    return post(client, PASSWORD_RESET, {"token": token, "new_password": new_password})


def reset_rows(email: str = ADA) -> list[EmailToken]:
    return list(EmailToken.objects.filter(purpose=LinkPurpose.PASSWORD_RESET, email=email))


# --- Forgot: the same answer whatever the address ------------------------------------------------------


@pytest.mark.django_db
def test_known_unknown_and_inactive_addresses_get_the_same_answer(api_client, user, org, mailoutbox):
    make_user(email="gone@example.com", is_active=False)

    responses = [
        post(api_client, PASSWORD_FORGOT, {"email": email})
        for email in (ADA, "nobody@example.com", "gone@example.com")
    ]

    assert [r.status_code for r in responses] == [HTTPStatus.OK] * 3
    assert {r.content for r in responses} == {responses[0].content}
    assert responses[0].json() == RESET_LINK_SENT
    assert [m.to for m in mailoutbox] == [[ADA]]


@pytest.mark.django_db
@pytest.mark.parametrize("email", ["not-an-email", "ada@", "", None, 42])
def test_malformed_email_is_400(api_client, mailoutbox, email):
    response = post(api_client, PASSWORD_FORGOT, {"email": email})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "email" in response.json()
    assert mailoutbox == []


@pytest.mark.django_db
def test_the_reset_mail(api_client, settings, user, org, mailoutbox):
    settings.AUTH_PRODUCT_NAME = "Acme Cloud"

    post(api_client, PASSWORD_FORGOT, {"email": "ADA@example.com"})

    message = only_mail(mailoutbox, ADA)
    token = token_in(message, "http://localhost:3000/auth/reset/")
    assert message.subject == "Reset your Acme Cloud password"
    assert f"/auth/reset/{token}" in message.alternatives[0][0]
    assert message.alternatives[0][1] == "text/html"


@pytest.mark.django_db
def test_forgot_is_audited_without_the_token(api_client, settings, user, org, mailoutbox):
    token = request_reset_link(api_client, mailoutbox, ADA)
    post(api_client, PASSWORD_FORGOT, {"email": "nobody@example.com"})

    sent, not_sent = events(type=E.PASSWORD_RESET_REQUESTED)
    assert (sent.subject_user_id, sent.org_id, sent.details) == (user.id, None, {"sent": True})
    assert not_sent.subject_user_id is None
    assert not_sent.details == {"sent": False, "email": "nobody@example.com"}
    assert_no_secret_stored(token)


@pytest.mark.django_db
def test_debug_link_only_with_debug_and_only_when_a_link_was_sent(
    api_client, settings, user, org, mailoutbox
):
    assert post(api_client, PASSWORD_FORGOT, {"email": ADA}).json() == RESET_LINK_SENT
    mailoutbox.clear()
    settings.DEBUG = True

    known = post(api_client, PASSWORD_FORGOT, {"email": ADA}).json()
    unknown = post(api_client, PASSWORD_FORGOT, {"email": "nobody@example.com"}).json()

    assert known["debug_link"] == link_in(only_mail(mailoutbox, ADA))
    assert known["debug_link"].startswith(reset_prefix())
    assert unknown == RESET_LINK_SENT


# --- Validate ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_validate_tells_the_address_and_spends_nothing(api_client, user, org, mailoutbox):
    token = request_reset_link(api_client, mailoutbox, ADA)

    for _ in range(2):
        response = validate(api_client, token)
        assert response.status_code == HTTPStatus.OK
        assert response.json() == {"valid": True, "email": ADA}
    assert api_client.head(PASSWORD_RESET_VALIDATE, {"token": token}).status_code == HTTPStatus.OK

    assert reset_rows()[0].ended_at is None
    assert reset(api_client, token).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_validate_of_an_unknown_token_is_404(api_client):
    response = validate(api_client, "x" * 43)

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["code"] == "token_not_found"


@pytest.mark.django_db
def test_validate_without_a_token_is_400(api_client):
    assert api_client.get(PASSWORD_RESET_VALIDATE).status_code == HTTPStatus.BAD_REQUEST


@pytest.mark.django_db
def test_validate_of_an_expired_token_is_400(api_client, user, org, mailoutbox):
    token = request_reset_link(api_client, mailoutbox, ADA)
    EmailToken.objects.filter(email=ADA).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert_token_invalid(validate(api_client, token))
    assert_token_invalid(reset(api_client, token))


@pytest.mark.django_db
def test_a_sign_in_token_is_no_reset_token(api_client, user, org, mailoutbox):
    sign_in_token, _ = request_magic_link(api_client, mailoutbox, ADA)

    assert validate(api_client, sign_in_token).status_code == HTTPStatus.NOT_FOUND
    assert_token_invalid(reset(api_client, sign_in_token))


# --- Reset --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_reset_sets_the_password_ends_every_session_and_verifies_the_address(
    api_client, user, org, mailoutbox
):
    first = login(api_client, ADA).json()
    second = login(api_client, ADA).json()
    token = request_reset_link(api_client, mailoutbox, ADA)

    response = reset(api_client, token)

    assert response.status_code == HTTPStatus.OK
    assert set(response.json()) == {"detail"}
    for pair in (first, second):
        assert api_client.get(ME, **bearer(pair["access"])).status_code == HTTPStatus.UNAUTHORIZED
    assert not Session.objects.filter(user=user, revoked_at__isnull=True).exists()
    assert login(api_client, ADA, DEFAULT_PASSWORD).status_code == HTTPStatus.UNAUTHORIZED
    assert login(api_client, ADA, NEW_PASSWORD).status_code == HTTPStatus.OK
    user.refresh_from_db()
    assert user.email_verified is True


@pytest.mark.django_db
def test_reset_is_audited(api_client, user, org, mailoutbox):
    User.objects.filter(pk=user.pk).update(email_verified=True)  # unverified: a claim (test_account_claim.py)
    token = request_reset_link(api_client, mailoutbox, ADA)

    reset(api_client, token)

    event = only(E.USER_PASSWORD_RESET)
    assert (event.subject_user_id, event.org_id, event.details) == (user.id, None, {"usable": True})
    assert events(type=E.USER_PASSWORD_CHANGED) == []
    assert events(type=E.USER_EMAIL_VERIFIED) == []  # it was already
    assert_no_secret_stored(token, NEW_PASSWORD)


@pytest.mark.django_db
def test_a_reset_token_works_once(api_client, user, org, mailoutbox):
    token = request_reset_link(api_client, mailoutbox, ADA)
    assert reset(api_client, token).status_code == HTTPStatus.OK

    assert_token_invalid(reset(api_client, token, "yet another passphrase 7"))
    assert_token_invalid(validate(api_client, token))
    assert login(api_client, ADA, NEW_PASSWORD).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_reset_with_an_unknown_token_is_400(api_client, user, org):
    assert_token_invalid(reset(api_client, "x" * 43))


@pytest.mark.django_db
@pytest.mark.parametrize("weak", ["short", "password123", "ada@example.com", " " * 7])
def test_a_weak_password_is_400_on_new_password_and_leaves_the_token_usable(
    api_client, user, org, mailoutbox, weak
):
    token = request_reset_link(api_client, mailoutbox, ADA)

    response = reset(api_client, token, weak)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert list(response.json()) == ["new_password"]
    assert login(api_client, ADA, DEFAULT_PASSWORD).status_code == HTTPStatus.OK
    assert validate(api_client, token).status_code == HTTPStatus.OK
    assert reset(api_client, token).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_a_password_changed_by_another_route_kills_the_reset_link(api_client, user, org, mailoutbox):
    token = request_reset_link(api_client, mailoutbox, ADA)

    user.set_password("changed elsewhere 123")
    user.save()

    assert_token_invalid(validate(api_client, token))
    assert_token_invalid(reset(api_client, token))
    assert login(api_client, ADA, "changed elsewhere 123").status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_a_newer_reset_link_kills_the_older(api_client, user, org, mailoutbox):
    old = request_reset_link(api_client, mailoutbox, ADA)
    new = request_reset_link(api_client, mailoutbox, ADA)

    assert len(reset_rows()) == 1
    # The newer link replaced the older one in place: its digest is gone, so validate calls it unknown.
    assert validate(api_client, old).status_code == HTTPStatus.NOT_FOUND
    assert_token_invalid(reset(api_client, old))
    assert reset(api_client, new).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_a_user_deactivated_after_the_link_went_out_cannot_reset(api_client, user, org, mailoutbox):
    token = request_reset_link(api_client, mailoutbox, ADA)
    user.is_active = False
    user.save()

    assert_token_invalid(validate(api_client, token))
    assert_token_invalid(reset(api_client, token))


@pytest.mark.django_db
def test_a_link_to_an_address_the_account_no_longer_has_cannot_reset(api_client, user, org, mailoutbox):
    token = request_reset_link(api_client, mailoutbox, ADA)
    User.objects.filter(pk=user.pk).update(email="ada.new@example.com")  # e.g. an admin changed it

    assert_token_invalid(validate(api_client, token))
    assert_token_invalid(reset(api_client, token))
    assert login(api_client, "ada.new@example.com", DEFAULT_PASSWORD).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_a_user_without_a_usable_password_gets_a_link_to_set_one(api_client, mailoutbox):
    passwordless = make_user(email="google@example.com", password=None)
    assert not passwordless.has_usable_password()

    post(api_client, PASSWORD_FORGOT, {"email": "google@example.com"})

    message = only_mail(mailoutbox, "google@example.com")
    assert message.subject == "Set a password for authsvc"
    token = token_in(message, reset_prefix())
    assert validate(api_client, token).json() == {"valid": True, "email": "google@example.com"}
    assert reset(api_client, token).status_code == HTTPStatus.OK
    assert User.objects.get(pk=passwordless.pk).check_password(NEW_PASSWORD)
    assert login(api_client, "google@example.com", NEW_PASSWORD).status_code == HTTPStatus.OK
