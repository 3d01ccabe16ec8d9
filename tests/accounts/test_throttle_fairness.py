"""Throttles that cannot be turned against users, and counters that hold under concurrency."""

from __future__ import annotations

import socket
import threading
from http import HTTPStatus
from urllib.parse import urlencode

import pytest
from django.core.cache import caches
from django.test import override_settings
from rest_framework.settings import api_settings

from accounts import throttles
from accounts.throttles import SlidingWindow, parse_rate, rate_limit_key
from tests.api import AUTH
from tests.factories import DEFAULT_PASSWORD

LOGIN = f"{AUTH}/login/"


def login_from(client, address: str, password: str, email: str = "ada@example.com"):
    return client.post(LOGIN, {"email": email, "password": password}, format="json", REMOTE_ADDR=address)


def fast_limit() -> int:
    return parse_rate(api_settings.DEFAULT_THROTTLE_RATES["login_email_network"])[0]


# --- IPv4-mapped IPv6 -------------------------------------------------------------------------------


def test_ipv4_mapped_ipv6_addresses_are_bucketed_as_their_ipv4_address():
    assert rate_limit_key("::ffff:203.0.113.7") == "203.0.113.7"
    assert rate_limit_key("::ffff:203.0.113.7") != rate_limit_key("::ffff:203.0.113.8")


@pytest.mark.django_db
def test_ipv4_clients_behind_a_dual_stack_socket_do_not_share_a_bucket(api_client, user, org):
    ip_limit = parse_rate(api_settings.DEFAULT_THROTTLE_RATES["login"])[0]
    for i in range(ip_limit):
        login_from(api_client, "::ffff:198.51.100.1", "wrong", email=f"guess{i}@example.com")

    assert login_from(api_client, "::ffff:198.51.100.1", "wrong").status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert login_from(api_client, "::ffff:198.51.100.2", DEFAULT_PASSWORD).status_code == HTTPStatus.OK


# --- Failures, not attempts; per email and network; a slow per-email cap --------------------------------


@pytest.mark.django_db
def test_a_stranger_cannot_lock_the_victim_out_from_another_network(api_client, user, org):
    for i in range(fast_limit() + 3):
        login_from(api_client, "203.0.113.66", f"guess {i}")

    assert (
        login_from(api_client, "203.0.113.66", "one more guess").status_code == HTTPStatus.TOO_MANY_REQUESTS
    )
    assert login_from(api_client, "198.51.100.7", DEFAULT_PASSWORD).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_successful_sign_ins_do_not_fill_the_email_bucket(api_client, user, org):
    statuses = [
        login_from(api_client, "198.51.100.7", DEFAULT_PASSWORD).status_code for _ in range(fast_limit() + 5)
    ]

    assert statuses == [HTTPStatus.OK] * (fast_limit() + 5)


@pytest.mark.django_db
def test_invalid_input_is_not_counted_as_a_failed_guess(api_client, user, org):
    for _ in range(fast_limit() + 3):
        api_client.post(LOGIN, {"email": "ada@example.com"}, format="json", REMOTE_ADDR="198.51.100.7")

    assert login_from(api_client, "198.51.100.7", DEFAULT_PASSWORD).status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_a_successful_sign_in_empties_the_failure_buckets(api_client, user, org):
    for i in range(fast_limit() - 1):
        login_from(api_client, "198.51.100.7", f"typo {i}")
    assert login_from(api_client, "198.51.100.7", DEFAULT_PASSWORD).status_code == HTTPStatus.OK

    statuses = [
        login_from(api_client, "198.51.100.7", f"typo again {i}").status_code for i in range(fast_limit())
    ]

    assert HTTPStatus.TOO_MANY_REQUESTS not in statuses


@pytest.mark.django_db
def test_guesses_spread_over_networks_meet_the_per_email_cap(api_client, user, org, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**api_settings.DEFAULT_THROTTLE_RATES, "login_email": "5/day"},
    }
    statuses = [login_from(api_client, f"192.0.2.{i + 1}", f"guess {i}").status_code for i in range(6)]

    assert statuses == [HTTPStatus.UNAUTHORIZED] * 5 + [HTTPStatus.TOO_MANY_REQUESTS]
    assert (
        login_from(api_client, "198.51.100.200", DEFAULT_PASSWORD).status_code == HTTPStatus.TOO_MANY_REQUESTS
    )


@pytest.mark.django_db
def test_oauth_token_invalid_grant_counts_as_a_failed_guess(api_client, user, org):
    def token(password: str):
        return api_client.post(
            f"{AUTH}/token/",
            urlencode({"grant_type": "password", "username": "ada@example.com", "password": password}),
            content_type="application/x-www-form-urlencoded",
            REMOTE_ADDR="198.51.100.7",
        )

    statuses = [token(f"guess {i}").status_code for i in range(fast_limit() + 1)]

    assert statuses == [HTTPStatus.BAD_REQUEST] * fast_limit() + [HTTPStatus.TOO_MANY_REQUESTS]


# --- Atomic counters ------------------------------------------------------------------------------------


def _redis_reachable() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        return False
    return True


CACHES = [
    pytest.param(
        {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "race"}, id="locmem"
    ),
    pytest.param(
        {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/15",
            "KEY_PREFIX": "authsvc-test-race",
        },
        id="redis",
        marks=pytest.mark.skipif(not _redis_reachable(), reason="no Redis on 127.0.0.1:6379"),
    ),
]


@pytest.mark.parametrize("backend", CACHES)
def test_racing_requests_never_exceed_the_limit(backend):
    """40 threads take a slot of a 7-per-minute bucket at once: exactly 7 win, on a cache shared by
    every worker (Redis: INCR) as in one process (local memory: a lock)."""
    limit, racers = 7, 40
    with override_settings(CACHES={"default": backend}):
        caches["default"].clear()
        barrier = threading.Barrier(racers)
        results: list[bool] = []
        lock = threading.Lock()

        def race() -> None:
            window = SlidingWindow("race:bucket", f"{limit}/min")
            barrier.wait()
            won = window.take()
            with lock:
                results.append(won)

        threads = [threading.Thread(target=race) for _ in range(racers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        caches["default"].clear()

    assert results.count(True) == limit


def test_a_refused_request_takes_no_slot(monkeypatch):
    monkeypatch.setattr(throttles.time, "time", lambda: 1_000_000.0)
    windows = [SlidingWindow("refund:bucket", "2/min") for _ in range(5)]

    outcomes = [window.take() for window in windows]

    assert outcomes == [True, True, False, False, False]
    assert caches["default"].get(windows[0].current_key) == 2
    assert windows[-1].wait() >= 1


@pytest.mark.django_db
def test_clients_without_an_address_share_one_bucket_rather_than_none(api_client, user, org):
    ip_limit = parse_rate(api_settings.DEFAULT_THROTTLE_RATES["login"])[0]
    statuses = [
        login_from(api_client, "", "wrong", email=f"guess{i}@example.com").status_code
        for i in range(ip_limit + 1)
    ]

    assert statuses[-1] == HTTPStatus.TOO_MANY_REQUESTS
