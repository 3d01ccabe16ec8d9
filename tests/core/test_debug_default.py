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


def _wsgi(**env: str):
    """Load the WSGI application in a fresh process (what gunicorn does) and print DEBUG."""
    import os
    import subprocess
    import sys

    from tests.processes import REPO_ROOT

    base = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "JWT_", "AUTH"))}
    base.pop("ALLOWED_HOSTS", None)
    base.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    code = "import config.wsgi; from django.conf import settings; print(settings.DEBUG)"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env={**base, **env}, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


def test_a_wsgi_server_with_nothing_set_is_not_debug_and_refuses_the_development_secrets():
    """Behind a reverse proxy the Host is local (proxy_pass http://127.0.0.1:8000), which the
    ALLOWED_HOSTS rule would take for development: the WSGI and ASGI entry points default DEBUG to off."""
    result = _wsgi()

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_a_wsgi_server_with_real_secrets_runs_with_debug_off():
    result = _wsgi(**REAL_SECRETS)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_a_wsgi_server_may_still_be_told_debug():
    result = _wsgi(DJANGO_DEBUG="1")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "True"
