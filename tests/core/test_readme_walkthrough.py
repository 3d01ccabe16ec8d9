"""The README's "Walkthrough with curl" works when pasted top to bottom: its shell blocks, in order, against
a fresh ``manage.py runserver`` with nothing configured but the database (its own private Postgres) and the
port. Every step's answer is checked below; a ``json`` helper that finds no field fails the run
(``set -euo pipefail``)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from bench.server import free_port, stop_process, wait_until_ready
from tests.processes import REPO_ROOT

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="the walkthrough is curl")


def walkthrough(port: int) -> str:
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme[readme.index("## Walkthrough with curl") : readme.index("\n## ", readme.index("## Walkthrough"))]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    assert len(blocks) >= 5, "the walkthrough's shell blocks"
    return "set -euo pipefail\n" + "\n".join(blocks).replace(":8000", f":{port}")


def _environment(database_url: str, port: int) -> dict[str, str]:
    """What a developer's shell has: none of the suite's settings, only where the database is (and the port
    the links name, since this server is not on 8000)."""
    ours = ("DJANGO_", "DATABASE_", "AUTH", "JWT_", "FRONTEND_URL", "CORS_", "EMAIL_", "ALLOWED_HOSTS", "REDIS_URL")
    env = {key: value for key, value in os.environ.items() if not key.startswith(ours)}
    return {**env, "DATABASE_URL": database_url, "FRONTEND_URL": f"http://localhost:{port}/example"}


def test_the_walkthrough_works_pasted_top_to_bottom(private_postgres, tmp_path: Path):
    port = free_port()
    env = _environment(private_postgres.get_uri("postgres"), port)
    migrated = subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=REPO_ROOT, env=env, capture_output=True,
        text=True, timeout=180, check=False,
    )  # fmt: skip
    assert migrated.returncode == 0, migrated.stderr
    log = tmp_path / "runserver.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=REPO_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:

        def answering() -> bool:
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).status == 200
            except OSError:
                return False

        wait_until_ready(server, answering, what="runserver", timeout=60, log_path=log)
        run = subprocess.run(
            ["bash", "-c", walkthrough(port)], cwd=tmp_path, env=env, capture_output=True, text=True,
            timeout=180, check=False,
        )  # fmt: skip
    finally:
        stop_process(server)

    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"
    assert "Traceback" not in run.stderr, run.stderr
    out = run.stdout
    steps = [
        '"email":"ada@example.com"',  # me/
        '"role":"owner"',  # org/members/
        '"current":true',  # sessions/
        "204\n401\n",  # logout/, then me/ with the dead token
        '{"valid":true,"email":"ada@example.com"}',  # password/reset/validate/
        "Your password has been set",  # password/reset/
        '"role":"admin"',  # Grace, invited and accepted as admin
        '"api_key":{',  # me/ with the key
        '"code":"origin_not_allowed"',  # the cookie without an allowed Origin
        '{"keys":[]}',  # the JWKS with HS256
    ]
    position = 0
    for step in steps:  # in this order
        found = out.find(step, position)
        assert found >= 0, f"{step!r} missing after position {position}:\n{out}"
        position = found + len(step)
