"""Serving the app as production does, for tests that need whole processes: a private Postgres
(pgserver's binaries in a temporary folder, never the machine's shared server), the environment of the
served app, and gunicorn's processes (the HTTP client is the benchmark's, ``bench.client.Api``)."""

from __future__ import annotations

import os
from pathlib import Path

REQUEST_TIMEOUT = 10  # a hung request would show as a timeout here
SIGNUP = {
    "email": "ada@example.com",
    "password": "a long passphrase, unbreached",
    "organization_name": "Acme",
}


def served_env(postgres, **overrides: str) -> dict[str, str]:
    """The served app's environment: DEBUG (development secrets), the private database, mail in memory,
    throttles that never trigger unless ``overrides`` say otherwise, no Redis unless given."""
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_", "DJANGO_"))},
        "DATABASE_URL": postgres.get_uri("postgres"),
        "DJANGO_DEBUG": "1",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "AUTH_THROTTLE_RATES": unthrottled(),
        "LOG_LEVEL": "ERROR",
    }
    env.pop("REDIS_URL", None)
    env.update(overrides)
    return env


def unthrottled() -> str:
    """``AUTH_THROTTLE_RATES`` that no test reaches, for every scope there is."""
    from django.conf import settings

    return ",".join(f"{scope}=1000/s" for scope in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"])


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if parent == pid:
                found.add(int(entry.name))
    return found


def gunicorn_workers() -> set[int]:
    """The workers of the gunicorn this test started (its only child process running gunicorn)."""
    masters = [
        pid for pid in children_of(os.getpid()) if b"gunicorn" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    assert len(masters) == 1, masters
    return children_of(masters[0])
