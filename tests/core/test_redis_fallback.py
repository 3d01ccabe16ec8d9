"""Redis out of reach: sign-in keeps working and throttling keeps counting, in each process on its own
(``core.cache``), rather than failing (500) or lifting every limit; Redis is used again once it answers."""

from __future__ import annotations

import logging

import pytest
from django.core.cache import cache, caches

from core import cache as fallback_module
from tests.api import login
from tests.factories import DEFAULT_PASSWORD, make_org, make_user

UNREACHABLE = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture
def redis_down(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.RedisWithLocalFallback",
            "LOCATION": UNREACHABLE,
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient", "SOCKET_CONNECT_TIMEOUT": 1},
        }
    }
    yield
    cache.clear()


@pytest.fixture
def ada(db):
    make_org(name="Acme", owner=make_user(email="ada@example.com"))


def test_sign_in_works_while_redis_is_down_and_says_so_in_the_log(redis_down, ada, api_client, caplog):
    with caplog.at_level(logging.WARNING, logger="core.cache"):
        response = login(api_client, "ada@example.com", DEFAULT_PASSWORD)

    assert response.status_code == 200
    assert "access" in response.json()
    assert any("Redis unreachable" in record.getMessage() for record in caplog.records)


def test_the_limits_still_hold_while_redis_is_down(redis_down, ada, api_client, settings):
    rates = dict(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], login="3/min")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}

    statuses = [login(api_client, "ada@example.com", "wrong password, really").status_code for _ in range(4)]

    assert statuses == [401, 401, 401, 429]


def test_redis_is_tried_again_after_a_while(redis_down, ada, monkeypatch):
    store = caches["default"]
    store.set("probe", 1)  # Redis refused: the fallback holds it
    assert store.get("probe") == 1
    assert store._redis_down_until > 0

    clock = [fallback_module.time.monotonic() + fallback_module.RETRY_SECONDS + 1]
    monkeypatch.setattr(fallback_module.time, "monotonic", lambda: clock[0])
    attempts = []
    monkeypatch.setattr(
        fallback_module.RedisCache, "get", lambda self, *args, **kwargs: attempts.append(args) or "from redis"
    )

    assert store.get("probe") == "from redis"  # the retry reached Redis (here a stand-in)
    assert attempts == [("probe",)]
