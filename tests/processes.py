"""Run ``manage.py`` in a fresh process with a chosen environment (settings are read at start-up)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {
        key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "JWT_", "AUTH"))
    }
    base.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")  # parsed, not connected
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
