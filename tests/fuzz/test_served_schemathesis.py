"""schemathesis's own run against a served app: ``schemathesis run`` on the live ``/api/schema/`` of gunicorn
on a private Postgres (the runtime role, RLS on), every phase including the stateful one that follows the
schema's links (register -> login -> refresh -> org calls), every check including the authentication ones
(ignored auth, missing auth), with the budget in ``tests/fuzz/schemathesis.toml``. About 90 s.

It passes when schemathesis finds nothing (no 5xx, no response outside the schema, no undocumented status)
and the database is left consistent: whatever the generated requests did, nothing is half-written.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.client import Api
from bench.load_run import consistency
from bench.seed import migrate
from bench.server import gunicorn
from tests.servers import served_env

CONFIG = Path(__file__).with_name("schemathesis.toml")
ACCOUNT = {
    "email": "schemathesis@example.com",
    "password": "a long passphrase, unbreached",
    "organization_name": "Schemathesis",
}
SEED = "20261130"  # the stateful phase's scenarios (the others are derandomized)
TIME_LIMIT = 600  # seconds; the run takes about 80


@pytest.fixture
def served(private_postgres, tmp_path):
    env = served_env(private_postgres)
    migrate(env)
    log = tmp_path / "gunicorn.log"
    with gunicorn(env, workers=2, log_path=log) as port:
        yield Api(port), log, private_postgres.get_uri("postgres")


def test_schemathesis_finds_nothing_against_a_running_server(served, tmp_path):
    api, log, database_url = served
    status, pair = api.call("POST", "/api/auth/register/", ACCOUNT)
    assert status == 201, pair

    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--no-color",
        "--config-file",
        str(CONFIG),
        "run",
        f"http://127.0.0.1:{api.port}/api/schema/?format=json",
        "--seed",
        SEED,
    ]
    env = {**os.environ, "SCHEMATHESIS_ORG_ID": pair["org"]["id"]}
    result = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TIME_LIMIT, check=False
    )
    output = result.stdout + result.stderr
    (tmp_path / "schemathesis.txt").write_text(output)
    assert result.returncode == 0, output[-20000:]
    assert "Scenarios:" in output, output[-5000:]  # the stateful phase ran

    served_log = log.read_text()
    assert "Internal Server Error" not in served_log and "Traceback" not in served_log, served_log[-5000:]
    left = consistency(database_url)
    left.pop("sessions ended as a replay")  # the stateful phase may well send a spent refresh token again
    assert left == dict.fromkeys(left, 0)
