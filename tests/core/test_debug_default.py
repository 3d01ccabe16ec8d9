"""DEBUG when ``DJANGO_DEBUG`` is unset: on only while every ``ALLOWED_HOSTS`` entry is a local name (a fresh
clone's ``runserver``), off as soon as one names a real host; an explicit ``DJANGO_DEBUG`` always wins.
Each case reads the settings in a fresh process, as they are read at start-up."""

from __future__ import annotations

import pytest

from tests.processes import manage

REAL_SECRETS = {
    "DJANGO_SECRET_KEY": "x7Gq2Lp9Vw4Rt8Zk1Nm6Bc3Hd5Fs0Jy-real-secret",
    "JWT_SIGNING_KEY": "Q3w8Er5Ty1Ui7Op2As4Df6Gh9Jk0Lz-real-jwt-key",
}
PROBE = (
    "from django.conf import settings as s; "
    "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, ','.join(s.ALLOWED_HOSTS))"
)


def read_settings(**env: str) -> str:
    result = manage("shell", "-c", PROBE, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(autouse=True)
def _no_allowed_hosts(monkeypatch):
    monkeypatch.delenv("ALLOWED_HOSTS", raising=False)  # "unset" below means unset


def test_nothing_set_is_development():
    assert read_settings() == "True False 0 localhost,127.0.0.1,[::1],testserver"


@pytest.mark.parametrize(
    "hosts", ["localhost", "127.0.0.1,[::1]", "app.localhost,testserver", " localhost , "]
)
def test_unset_debug_with_local_hosts_only_is_on(hosts):
    assert read_settings(ALLOWED_HOSTS=hosts).startswith("True False 0 ")


@pytest.mark.parametrize("hosts", ["auth.example.com", "localhost,auth.example.com", "*", ".example.com"])
def test_unset_debug_with_a_public_host_is_off_with_hsts_and_secure_cookies(hosts):
    assert read_settings(ALLOWED_HOSTS=hosts, **REAL_SECRETS).startswith("False True 31536000 ")


def test_unset_debug_with_a_public_host_and_development_secrets_refuses_to_start():
    result = manage("shell", "-c", PROBE, ALLOWED_HOSTS="auth.example.com")

    assert result.returncode != 0
    assert "authsvc refuses to start: ALLOWED_HOSTS names a non-local host (auth.example.com)" in result.stderr


def test_explicit_debug_on_wins_over_a_public_host():
    assert read_settings(DJANGO_DEBUG="1", ALLOWED_HOSTS="auth.example.com", **REAL_SECRETS).startswith(
        "True False 0 "
    )


def test_explicit_debug_off_wins_over_local_hosts():
    assert read_settings(DJANGO_DEBUG="0", ALLOWED_HOSTS="localhost", **REAL_SECRETS) == (
        "False True 31536000 localhost"
    )
