"""Email verification (API.md ``email/verify/request/``, ``email/verify/``): registering mails a link to
``FRONTEND_URL/auth/verify-email/<token>``; POSTing its token verifies the address, once."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.utils import timezone

from accounts.models import User
from magiclinks.models import EmailToken, LinkPurpose
from tenants.audit import AuditEventType as E
from tests.api import bearer
from tests.audit.helpers import assert_no_secret_stored, events, only
from tests.magiclinks.helpers import (
    EMAIL_VERIFY,
    EMAIL_VERIFY_REQUEST,
    MAGIC_VERIFY,
    ME,
    PASSWORD_FORGOT,
    REGISTER,
    assert_token_invalid,
    link_in,
    only_mail,
    post,
    request_magic_link,
    reset_prefix,
    token_in,
    verify_prefix,
)

GRACE = "grace@example.com"


@pytest.fixture
def registered(api_client, mailoutbox) -> dict:
    """A registration's pair; its verification mail is in ``mailoutbox``."""
    response = post(
        api_client,
        REGISTER,
        {"email": GRACE, "password": "violet tangerine 42", "organization_name": "Hopper Labs"},
    )
    assert response.status_code == HTTPStatus.CREATED, response.content
    assert response.json()["user"]["email_verified"] is False
    return response.json()


def verify_email(client, token: str, access: str | None = None):
    """POST the token, with the Bearer ``access`` when given (a session of the account: no claim)."""
    return post(client, EMAIL_VERIFY, {"token": token}, **(bearer(access) if access else {}))


def verification_rows() -> list[EmailToken]:
    return list(EmailToken.objects.filter(purpose=LinkPurpose.EMAIL_VERIFICATION, email=GRACE))


@pytest.mark.django_db
def test_registering_mails_a_verification_link(registered, settings, mailoutbox):
    message = only_mail(mailoutbox, GRACE)

    token_in(message, "http://localhost:3000/auth/verify-email/")
    assert message.subject == f"Confirm your email address for {settings.AUTH_PRODUCT_NAME}"
    assert message.alternatives[0][1] == "text/html"
    assert GRACE in message.alternatives[0][0]
    assert only(E.EMAIL_VERIFICATION_REQUESTED).details == {"sent": True}


@pytest.mark.django_db
def test_a_refused_registration_mails_nothing(api_client, mailoutbox):
    response = post(
        api_client, REGISTER, {"email": GRACE, "password": "short", "organization_name": "Hopper"}
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert mailoutbox == []
    assert verification_rows() == []


@pytest.mark.django_db
def test_the_link_verifies_the_address_once(api_client, registered, mailoutbox):
    token = token_in(only_mail(mailoutbox, GRACE), verify_prefix())

    response = verify_email(api_client, token, registered["access"])

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"email_verified": True, "account_claimed": False}
    assert api_client.get(ME, **bearer(registered["access"])).json()["email_verified"] is True
    event = only(E.USER_EMAIL_VERIFIED)
    assert (str(event.subject_user_id), event.details) == (
        registered["user"]["id"],
        {"via": "verification_link"},
    )
    assert_no_secret_stored(token)
    assert_token_invalid(verify_email(api_client, token))


@pytest.mark.django_db
def test_get_and_head_spend_nothing(api_client, registered, mailoutbox):
    token = token_in(only_mail(mailoutbox, GRACE), verify_prefix())

    assert api_client.get(EMAIL_VERIFY, {"token": token}).status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert api_client.head(EMAIL_VERIFY, {"token": token}).status_code == HTTPStatus.METHOD_NOT_ALLOWED

    assert verification_rows()[0].ended_at is None
    assert verify_email(api_client, token).status_code == HTTPStatus.OK


@pytest.mark.django_db
@pytest.mark.parametrize("token", ["x" * 43, "a" * 128])
def test_an_unknown_token_is_invalid(api_client, token):
    assert_token_invalid(verify_email(api_client, token))


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{}, {"token": ""}, {"token": None}, {"token": 7}, {"token": "a" * 129}])
def test_a_body_without_a_token_is_400(api_client, body):
    response = post(api_client, EMAIL_VERIFY, body)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "token" in response.json()


@pytest.mark.django_db
def test_an_expired_token_is_invalid(api_client, registered, mailoutbox):
    token = token_in(only_mail(mailoutbox, GRACE), verify_prefix())
    EmailToken.objects.filter(email=GRACE).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert_token_invalid(verify_email(api_client, token))
    assert api_client.get(ME, **bearer(registered["access"])).json()["email_verified"] is False


@pytest.mark.django_db
def test_a_token_of_another_purpose_does_not_verify(api_client, user, org, mailoutbox):
    post(api_client, PASSWORD_FORGOT, {"email": user.email})
    reset_token = token_in(only_mail(mailoutbox, user.email), reset_prefix())

    assert_token_invalid(verify_email(api_client, reset_token))


# --- email/verify/request/ ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_request_mails_a_fresh_link_and_kills_the_older(api_client, registered, mailoutbox):
    old = token_in(only_mail(mailoutbox, GRACE), verify_prefix())
    mailoutbox.clear()

    response = post(api_client, EMAIL_VERIFY_REQUEST, **bearer(registered["access"]))

    assert response.status_code == HTTPStatus.ACCEPTED
    assert set(response.json()) == {"detail"}
    new = token_in(only_mail(mailoutbox, GRACE), verify_prefix())
    assert new != old
    assert len(verification_rows()) == 1
    assert_token_invalid(verify_email(api_client, old))
    assert verify_email(api_client, new).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_request_with_debug_on_shows_the_link(api_client, settings, registered, mailoutbox):
    mailoutbox.clear()
    settings.DEBUG = True

    body = post(api_client, EMAIL_VERIFY_REQUEST, **bearer(registered["access"])).json()

    assert body["debug_link"] == link_in(only_mail(mailoutbox, GRACE))
    assert body["debug_link"].startswith(verify_prefix())


@pytest.mark.django_db
def test_request_with_debug_off_shows_no_link(api_client, registered, mailoutbox):
    mailoutbox.clear()

    body = post(api_client, EMAIL_VERIFY_REQUEST, **bearer(registered["access"])).json()

    assert "debug_link" not in body
    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_request_without_a_bearer_token_is_401(api_client, registered, mailoutbox):
    mailoutbox.clear()

    response = post(api_client, EMAIL_VERIFY_REQUEST)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert mailoutbox == []


@pytest.mark.django_db
def test_request_when_already_verified_is_202_and_mails_nothing(api_client, settings, registered, mailoutbox):
    assert (
        verify_email(
            api_client, token_in(only_mail(mailoutbox, GRACE), verify_prefix()), registered["access"]
        ).status_code
        == HTTPStatus.OK
    )
    mailoutbox.clear()
    settings.DEBUG = True

    response = post(api_client, EMAIL_VERIFY_REQUEST, **bearer(registered["access"]))

    assert response.status_code == HTTPStatus.ACCEPTED
    assert "debug_link" not in response.json()
    assert mailoutbox == []
    assert len(events(type=E.EMAIL_VERIFICATION_REQUESTED)) == 1  # the registration's only


@pytest.mark.django_db
def test_a_link_to_an_address_the_user_no_longer_has_does_not_verify(api_client, registered, mailoutbox):
    token = token_in(only_mail(mailoutbox, GRACE), verify_prefix())
    User.objects.filter(email=GRACE).update(email="grace.new@example.com")

    assert_token_invalid(verify_email(api_client, token))
    assert User.objects.get(email="grace.new@example.com").email_verified is False


@pytest.mark.django_db
def test_a_magic_link_sign_in_verifies_the_address_too(api_client, user, org, mailoutbox):
    token, _ = request_magic_link(api_client, mailoutbox, user.email)
    access = post(api_client, MAGIC_VERIFY, {"token": token}).json()["access"]

    assert post(api_client, EMAIL_VERIFY_REQUEST, **bearer(access)).status_code == HTTPStatus.ACCEPTED
    assert mailoutbox == []
