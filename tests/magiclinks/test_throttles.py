"""Throttles of the emailed-link endpoints: 429 with ``Retry-After`` and code ``throttled``.

Each request that sends a mail counts per address (from any network) and per network; code guessing
counts per address and per network. Rates are overridden small to keep the tests quick.
"""

from __future__ import annotations

from http import HTTPStatus

import pytest

from tests.api import bearer, login
from tests.factories import make_user
from tests.magiclinks.helpers import (
    EMAIL_VERIFY_REQUEST,
    MAGIC_REQUEST,
    MAGIC_VERIFY,
    PASSWORD_CHANGE,
    PASSWORD_FORGOT,
    PASSWORD_RESET,
    post,
    request_magic_link,
)

ADA = "ada@example.com"


@pytest.fixture
def rates(settings):
    """Override throttle rates: ``rates(magic_link="3/hour")`` (DRF's api_settings reload on the change)."""

    def override(**scopes: str) -> None:
        current = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**current, **scopes},
        }

    return override


def network(i: int) -> dict:
    """Request headers of a client on its own network."""
    return {"REMOTE_ADDR": f"198.51.100.{i + 1}"}


def assert_throttled(response) -> None:
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS, response.content
    assert int(response["Retry-After"]) > 0
    body = response.json()
    assert body["code"] == "throttled"
    assert set(body) == {"detail", "code"}


# --- magic-link/request/ ----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("email", [ADA, "nobody@example.com"])
def test_magic_link_request_is_throttled_per_address_from_any_network(
    api_client, user, org, mailoutbox, email
):
    """Five an hour by default, known address or not (the 429 tells no more than the 202 did)."""
    for i in range(5):
        assert (
            post(api_client, MAGIC_REQUEST, {"email": email}, **network(i)).status_code == HTTPStatus.ACCEPTED
        )

    assert_throttled(post(api_client, MAGIC_REQUEST, {"email": email.upper()}, **network(5)))
    assert len(mailoutbox) == 5
    assert post(api_client, MAGIC_REQUEST, {"email": "other@example.com"}, **network(5)).status_code == 202


@pytest.mark.django_db
def test_magic_link_request_is_throttled_per_network(api_client, rates, mailoutbox):
    rates(magic_link="3/hour")
    for i in range(3):
        response = post(api_client, MAGIC_REQUEST, {"email": f"n{i}@example.com"}, **network(0))
        assert response.status_code == HTTPStatus.ACCEPTED

    assert_throttled(post(api_client, MAGIC_REQUEST, {"email": "n3@example.com"}, **network(0)))
    assert len(mailoutbox) == 3
    assert post(api_client, MAGIC_REQUEST, {"email": "n3@example.com"}, **network(1)).status_code == 202


# --- magic-link/verify/: guessing ------------------------------------------------------------------------


@pytest.mark.django_db
def test_code_guessing_is_throttled_per_address_from_any_network(api_client, rates, user, org, mailoutbox):
    rates(magic_link_verify_email="3/hour")
    _, code = request_magic_link(api_client, mailoutbox, ADA)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for i in range(3):
        response = post(api_client, MAGIC_VERIFY, {"email": ADA, "code": wrong}, **network(i))
        assert response.status_code == HTTPStatus.BAD_REQUEST

    assert_throttled(post(api_client, MAGIC_VERIFY, {"email": ADA, "code": code}, **network(3)))


@pytest.mark.django_db
def test_verify_guessing_is_throttled_per_network(api_client, rates, user, org, mailoutbox):
    rates(magic_link_verify="3/hour")
    token, _ = request_magic_link(api_client, mailoutbox, ADA)
    for i in range(3):
        response = post(api_client, MAGIC_VERIFY, {"token": f"{i}" * 43}, **network(0))
        assert response.status_code == HTTPStatus.BAD_REQUEST

    assert_throttled(post(api_client, MAGIC_VERIFY, {"token": token}, **network(0)))
    assert post(api_client, MAGIC_VERIFY, {"token": token}, **network(1)).status_code == HTTPStatus.OK


# --- password/forgot/ and password/reset/ ----------------------------------------------------------------


@pytest.mark.django_db
def test_password_forgot_is_throttled_per_address_from_any_network(api_client, rates, user, org, mailoutbox):
    rates(password_forgot_email="2/hour")
    for i in range(2):
        assert post(api_client, PASSWORD_FORGOT, {"email": ADA}, **network(i)).status_code == HTTPStatus.OK

    assert_throttled(post(api_client, PASSWORD_FORGOT, {"email": ADA}, **network(2)))
    assert len(mailoutbox) == 2


@pytest.mark.django_db
def test_password_forgot_is_throttled_per_network(api_client, rates, mailoutbox):
    rates(password_forgot="2/hour")
    for i in range(2):
        assert post(api_client, PASSWORD_FORGOT, {"email": f"n{i}@example.com"}).status_code == HTTPStatus.OK

    assert_throttled(post(api_client, PASSWORD_FORGOT, {"email": "n2@example.com"}))


@pytest.mark.django_db
def test_password_reset_is_throttled_per_network(api_client, rates):
    rates(password_reset="2/hour")
    for i in range(2):
        response = post(
            api_client, PASSWORD_RESET, {"token": f"{i}" * 43, "new_password": "a fine passphrase 9"}
        )
        assert response.status_code == HTTPStatus.BAD_REQUEST

    assert_throttled(
        post(api_client, PASSWORD_RESET, {"token": "z" * 43, "new_password": "a fine passphrase 9"})
    )


# --- Signed-in endpoints: per account --------------------------------------------------------------------


@pytest.mark.django_db
def test_email_verify_request_is_throttled_per_account(api_client, rates, user, org, mailoutbox):
    rates(email_verify_request_email="2/hour")
    access = login(api_client, ADA).json()["access"]
    make_user(email="bob@example.com")
    bob = login(api_client, "bob@example.com").json()["access"]
    for i in range(2):
        response = post(api_client, EMAIL_VERIFY_REQUEST, **bearer(access), **network(i))
        assert response.status_code == HTTPStatus.ACCEPTED

    assert_throttled(post(api_client, EMAIL_VERIFY_REQUEST, **bearer(access), **network(2)))
    assert [m.to for m in mailoutbox] == [[ADA], [ADA]]
    assert (
        post(api_client, EMAIL_VERIFY_REQUEST, **bearer(bob), **network(2)).status_code == HTTPStatus.ACCEPTED
    )


@pytest.mark.django_db
def test_password_change_is_throttled_per_account(api_client, rates, user, org):
    rates(password_change_email="2/hour")
    access = login(api_client, ADA).json()["access"]
    body = {"current_password": "not my password", "new_password": "a fine passphrase 9"}
    for i in range(2):
        response = post(api_client, PASSWORD_CHANGE, body, **bearer(access), **network(i))
        assert response.status_code == HTTPStatus.BAD_REQUEST

    assert_throttled(post(api_client, PASSWORD_CHANGE, body, **bearer(access), **network(2)))
