"""Throttles on the public sign-in endpoints: per client IP and per submitted email (429 + Retry-After)."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from rest_framework.settings import api_settings

from accounts.throttles import parse_rate
from tests.api import AUTH, login
from tests.factories import DEFAULT_PASSWORD

LOGIN = f"{AUTH}/login/"
REGISTER = f"{AUTH}/register/"
ATTEMPTS = 60


def allowed_per_window(scope: str) -> int:
    """How many requests the configured rate (default or ``AUTH_THROTTLE_RATES``) lets through."""
    number, _ = parse_rate(api_settings.DEFAULT_THROTTLE_RATES[scope])
    return number


def login_from(client, email: str, password: str = DEFAULT_PASSWORD, **headers):
    """A login with request headers (``tests.api.login`` puts extra keywords in the body)."""
    return client.post(LOGIN, {"email": email, "password": password}, format="json", **headers)


def first_throttled(responses) -> tuple[int, object] | None:
    """(1-based attempt, response) of the first 429 among lazily sent requests, or ``None``."""
    for attempt, response in enumerate(responses, start=1):
        if response.status_code == HTTPStatus.TOO_MANY_REQUESTS:
            return attempt, response
        assert response.status_code != HTTPStatus.INTERNAL_SERVER_ERROR
    return None


@pytest.mark.django_db
def test_wrong_passwords_for_one_email_are_throttled(api_client, user, org):
    responses = (login(api_client, "ada@example.com", f"wrong password {i}") for i in range(ATTEMPTS))

    throttled = first_throttled(responses)

    assert throttled is not None
    attempt, _ = throttled
    assert attempt == allowed_per_window("login_email_network") + 1


@pytest.mark.django_db
def test_throttled_login_has_retry_after_and_code_throttled(api_client, user, org):
    responses = (login(api_client, "ada@example.com", f"wrong password {i}") for i in range(ATTEMPTS))

    _, response = first_throttled(responses)

    assert int(response["Retry-After"]) > 0
    body = response.json()
    assert body["code"] == "throttled"
    assert body["detail"].startswith("Request was throttled.")
    assert set(body) == {"detail", "code"}


@pytest.mark.django_db
def test_email_throttle_ignores_the_case_of_the_email(api_client, user, org):
    spellings = ["ada@example.com", "ADA@example.com", " Ada@Example.com "]
    responses = (login(api_client, spellings[i % 3], f"wrong password {i}") for i in range(ATTEMPTS))

    attempt, _ = first_throttled(responses)

    assert attempt == allowed_per_window("login_email_network") + 1


@pytest.mark.django_db
def test_throttled_login_refuses_even_the_right_password(api_client, user, org):
    for i in range(allowed_per_window("login_email_network")):
        login(api_client, "ada@example.com", f"wrong password {i}")

    response = login(api_client, "ada@example.com")

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS


@pytest.mark.django_db
def test_rotating_x_forwarded_for_does_not_escape_the_ip_throttle(api_client, settings, user, org):
    settings.NUM_PROXIES = 0
    responses = (
        login_from(api_client, f"victim{i}@example.com", "wrong password", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}")
        for i in range(ATTEMPTS)
    )

    throttled = first_throttled(responses)

    assert throttled is not None
    assert throttled[0] == allowed_per_window("login") + 1


@pytest.mark.django_db
def test_behind_one_proxy_each_forwarded_address_has_its_own_ip_bucket(api_client, settings, user, org):
    settings.NUM_PROXIES = 1
    responses = (
        login_from(api_client, f"victim{i}@example.com", "wrong password", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}")
        for i in range(allowed_per_window("login") + 5)
    )

    assert first_throttled(responses) is None


@pytest.mark.django_db
def test_rotating_x_forwarded_for_does_not_escape_the_email_throttle(api_client, settings, user, org):
    settings.NUM_PROXIES = 0
    responses = (
        login_from(api_client, "ada@example.com", f"wrong password {i}", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}")
        for i in range(ATTEMPTS)
    )

    throttled = first_throttled(responses)

    assert throttled is not None
    assert throttled[0] < ATTEMPTS


@pytest.mark.django_db
def test_different_emails_from_one_ip_are_throttled_per_ip(api_client, user, org):
    responses = (login(api_client, f"guess{i}@example.com", "wrong password") for i in range(ATTEMPTS))

    throttled = first_throttled(responses)

    assert throttled is not None
    assert throttled[0] == allowed_per_window("login") + 1


@pytest.mark.django_db
def test_ip_throttle_is_per_client_address(api_client, user, org):
    for i in range(allowed_per_window("login")):
        login_from(api_client, f"guess{i}@example.com", "wrong password", REMOTE_ADDR="198.51.100.1")

    response = login_from(api_client, "ada@example.com", REMOTE_ADDR="198.51.100.2")

    assert response.status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_register_is_throttled_per_ip(api_client):
    responses = (
        api_client.post(
            REGISTER,
            {"email": f"new{i}@example.com", "password": "short", "organization_name": f"Org {i}"},
            format="json",
        )
        for i in range(ATTEMPTS)
    )

    throttled = first_throttled(responses)

    assert throttled is not None
    attempt, response = throttled
    assert attempt == allowed_per_window("register") + 1
    assert int(response["Retry-After"]) > 0
    assert response.json()["code"] == "throttled"


@pytest.mark.django_db
def test_register_is_throttled_per_email(api_client, user):
    responses = (
        api_client.post(
            REGISTER,
            {"email": "ada@example.com", "password": "violet tangerine 42", "organization_name": f"Org {i}"},
            format="json",
            REMOTE_ADDR=f"192.0.2.{i + 1}",
        )
        for i in range(ATTEMPTS)
    )

    throttled = first_throttled(responses)

    assert throttled is not None
    assert throttled[0] == allowed_per_window("register_email") + 1
