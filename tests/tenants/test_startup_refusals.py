"""Startup refusals (API.md "Running it"): non-zero exit from ``manage.py check``, a message saying why."""

from __future__ import annotations

import pytest

from tests.processes import manage

REAL_SECRET = "x7Gq2Lp9Vw4Rt8Zk1Nm6Bc3Hd5Fs0Jy-real-secret"
REAL_JWT_KEY = "Q3w8Er5Ty1Ui7Op2As4Df6Gh9Jk0Lz-real-jwt-key"


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        pytest.param(
            {"ALLOWED_HOSTS": "auth.example.com"},
            "ALLOWED_HOSTS names a non-local host (auth.example.com) while DJANGO_SECRET_KEY and "
            "JWT_SIGNING_KEY have their development default",
            id="public-host-dev-secrets",
        ),
        pytest.param(
            {"ALLOWED_HOSTS": "localhost,*", "DJANGO_SECRET_KEY": REAL_SECRET},
            "ALLOWED_HOSTS names a non-local host (*) while JWT_SIGNING_KEY has its development default",
            id="wildcard-host-dev-jwt-key",
        ),
        pytest.param(
            {"JWT_REFRESH_REUSE_GRACE_SECONDS": "61"},
            "JWT_REFRESH_REUSE_GRACE_SECONDS must lie in 0-60, not 61",
            id="grace-too-long",
        ),
        pytest.param(
            {"JWT_REFRESH_REUSE_GRACE_SECONDS": "-1"},
            "JWT_REFRESH_REUSE_GRACE_SECONDS must lie in 0-60, not -1",
            id="grace-negative",
        ),
        pytest.param(
            {"DJANGO_DEBUG": "0", "JWT_SIGNING_KEY": REAL_JWT_KEY},
            "DJANGO_SECRET_KEY must be set (32+ characters) when DJANGO_DEBUG is off",
            id="no-debug-no-secret",
        ),
    ],
)
def test_check_refuses_to_start_and_says_why(env, reason):
    result = manage("check", **env)

    assert result.returncode != 0
    assert f"authsvc refuses to start: {reason}" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_public_host_with_real_secrets_starts():
    result = manage(
        "check", ALLOWED_HOSTS="auth.example.com", DJANGO_SECRET_KEY=REAL_SECRET, JWT_SIGNING_KEY=REAL_JWT_KEY
    )

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("seconds", ["0", "60"])
def test_grace_window_bounds_are_accepted(seconds):
    assert manage("check", JWT_REFRESH_REUSE_GRACE_SECONDS=seconds).returncode == 0


def test_bench_endpoints_do_not_exist_with_debug_off():
    probe = "from django.conf import settings; import django; django.setup(); print(settings.BENCH)"
    result = manage(
        "shell",
        "-c",
        probe,
        AUTHSVC_BENCH="1",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=REAL_SECRET,
        JWT_SIGNING_KEY=REAL_JWT_KEY,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"
