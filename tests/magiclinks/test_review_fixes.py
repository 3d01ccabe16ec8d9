"""What the security review of the emailed links found, each pinned by a test: account pre-hijacking,
a reset racing a password change, debug links on a public host, an address that grows when lower-cased,
escaped subjects."""

from __future__ import annotations

import threading
import time
from http import HTTPStatus

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import RevokeReason, Session, User
from magiclinks import services
from tests.api import bearer, login
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.magiclinks.helpers import (
    MAGIC_REQUEST,
    MAGIC_VERIFY,
    ME,
    NEW_PASSWORD,
    PASSWORD_CHANGE,
    PASSWORD_RESET,
    post,
    request_magic_link,
    request_reset_link,
)

VICTIM = "victim@example.com"


@pytest.mark.django_db
def test_an_account_registered_by_a_stranger_is_claimed_by_the_owner_of_the_address(api_client, mailoutbox):
    """Pre-hijacking: a stranger registers the victim's address (unverified) with their own password and
    keeps a session; when the victim signs in with a magic link, the stranger is left with nothing."""
    squatter = make_user(email=VICTIM, password=DEFAULT_PASSWORD)
    squatter_access = login(api_client, VICTIM).json()["access"]

    token, _ = request_magic_link(api_client, mailoutbox, VICTIM)
    response = post(api_client, MAGIC_VERIFY, {"token": token})

    assert response.status_code == HTTPStatus.OK
    assert api_client.get(ME, **bearer(squatter_access)).status_code == HTTPStatus.UNAUTHORIZED
    assert login(api_client, VICTIM).status_code == HTTPStatus.UNAUTHORIZED  # the squatter's password is gone
    claimed = User.objects.get(pk=squatter.pk)
    assert claimed.email_verified and not claimed.has_usable_password()
    assert api_client.get(ME, **bearer(response.json()["access"])).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_a_verified_account_keeps_its_password_and_sessions_on_a_magic_link_sign_in(api_client, mailoutbox):
    make_user(email=VICTIM, password=DEFAULT_PASSWORD, email_verified=True)
    access = login(api_client, VICTIM).json()["access"]

    token, _ = request_magic_link(api_client, mailoutbox, VICTIM)
    assert post(api_client, MAGIC_VERIFY, {"token": token}).status_code == HTTPStatus.OK

    assert api_client.get(ME, **bearer(access)).status_code == HTTPStatus.OK
    assert login(api_client, VICTIM).status_code == HTTPStatus.OK
    assert not Session.objects.filter(revoked_reason=RevokeReason.ACCOUNT_CLAIMED).exists()


@pytest.mark.django_db(transaction=True)
def test_a_reset_and_a_password_change_racing_never_both_win(api_client, mailoutbox, monkeypatch):
    """The reset holds the user's row while it hashes; the change waits, then finds its current password
    replaced. Before the fix both answered 200 and the reset's password silently won."""
    make_user(email=VICTIM, password=DEFAULT_PASSWORD)
    access = login(api_client, VICTIM).json()["access"]
    token = request_reset_link(api_client, mailoutbox, VICTIM)
    hashing, release = threading.Event(), threading.Event()
    validate = services.password_validate

    def slow_validate(**kwargs):
        hashing.set()
        release.wait(10)
        validate(**kwargs)

    monkeypatch.setattr(services, "password_validate", slow_validate)
    results: dict[str, int] = {}

    def reset() -> None:
        results["reset"] = post(
            APIClient(), PASSWORD_RESET, {"token": token, "new_password": NEW_PASSWORD}
        ).status_code
        connection.close()

    def change() -> None:
        hashing.wait(10)
        body = {"current_password": DEFAULT_PASSWORD, "new_password": "the owner's own new passphrase"}
        results["change"] = post(APIClient(), PASSWORD_CHANGE, body, **bearer(access)).status_code
        connection.close()

    threads = [threading.Thread(target=reset), threading.Thread(target=change)]
    for thread in threads:
        thread.start()
    hashing.wait(10)
    time.sleep(0.3)  # the change is now waiting on the user's row
    release.set()
    for thread in threads:
        thread.join(20)

    assert results == {"reset": HTTPStatus.OK, "change": HTTPStatus.BAD_REQUEST}
    assert User.objects.get(email=VICTIM).check_password(NEW_PASSWORD)


@pytest.mark.django_db
def test_no_debug_link_when_a_public_host_is_allowed_even_with_debug_on(api_client, settings, user, org):
    settings.DEBUG = True
    settings.ALLOWED_HOSTS = ["auth.example.com", "testserver"]

    response = post(api_client, MAGIC_REQUEST, {"email": user.email})

    assert response.status_code == HTTPStatus.ACCEPTED
    assert "debug_link" not in response.json()


@pytest.mark.django_db
def test_an_address_that_grows_past_254_characters_once_lower_cased_is_a_400(api_client):
    domain = "İ" * 40 + ".com"  # "İ".lower() is two characters
    email = "a" * (254 - len(domain) - 1) + "@" + domain
    assert len(email) == 254

    for url in (MAGIC_REQUEST, f"{MAGIC_REQUEST[: -len('magic-link/request/')]}password/forgot/"):
        response = post(api_client, url, {"email": email})
        assert response.status_code == HTTPStatus.BAD_REQUEST, response.content
        assert set(response.json()) == {"email"}


@pytest.mark.django_db
def test_subjects_are_plain_text(api_client, settings, user, org, mailoutbox):
    settings.AUTH_PRODUCT_NAME = "Smith & Co <Auth>"

    post(api_client, MAGIC_REQUEST, {"email": user.email})

    assert mailoutbox[0].subject == "Sign in to Smith & Co <Auth>"
    assert "Smith &amp; Co &lt;Auth&gt;" in mailoutbox[0].alternatives[0][0]  # the HTML body escapes it
