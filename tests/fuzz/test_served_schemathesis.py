"""schemathesis's own run against a served app: ``schemathesis run`` on the live ``/api/schema/`` of gunicorn
on a private Postgres (the runtime role, RLS on), every phase including the stateful one that follows the
schema's links (register -> login -> refresh -> org calls), every check including the authentication ones
(ignored auth, missing auth), with the budget in ``tests/fuzz/schemathesis.toml``; then a second pass over
the operations that take an API key, called with one (``schemathesis-keys.toml``). About two minutes.

It passes when schemathesis finds nothing (no 5xx, no response outside the schema, no undocumented status)
and the database is left consistent: whatever the generated requests did, nothing is half-written.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from bench.client import Api
from bench.load_run import consistency
from bench.seed import migrate
from bench.server import gunicorn
from tenants.policy import API_KEY_SCOPES
from tests.servers import served_env

CONFIG = Path(__file__).with_name("schemathesis.toml")
KEYS_CONFIG = Path(__file__).with_name("schemathesis-keys.toml")
ACCOUNT = {
    "email": "schemathesis@example.com",
    "password": "a long passphrase, unbreached",
    "organization_name": "Schemathesis",
}
SEED = "20261130"  # the stateful phase's scenarios (the others are derandomized)
TIME_LIMIT = 600  # seconds, each pass; the first takes about 80, the second about 30


@pytest.fixture
def served(private_postgres, tmp_path):
    env = served_env(private_postgres)
    migrate(env)
    log = tmp_path / "gunicorn.log"
    with gunicorn(env, workers=2, log_path=log) as port:
        yield Api(port), log, private_postgres.get_uri("postgres")


def schemathesis_run(port: int, config: Path, folder: Path, env: dict[str, str], *options: str) -> str:
    """``schemathesis run`` with ``config`` against the served schema; its output, which must report no
    failure (exit 0). Kept in ``folder`` too, for reading after a failure."""
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--no-color",
        "--config-file",
        str(config),
        "run",
        f"http://127.0.0.1:{port}/api/schema/?format=json",
        *options,
    ]
    result = subprocess.run(
        command,
        cwd=folder,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=TIME_LIMIT,
        check=False,
    )
    output = result.stdout + result.stderr
    (folder / f"{config.stem}.txt").write_text(output)
    assert result.returncode == 0, output[-20000:]
    return output


def test_schemathesis_finds_nothing_against_a_running_server(served, tmp_path):
    api, log, database_url = served
    status, pair = api.call("POST", "/api/auth/register/", ACCOUNT)
    assert status == 201, pair
    scopes = {"name": "schemathesis", "scopes": list(API_KEY_SCOPES)}
    status, key = api.call("POST", "/api/auth/org/api-keys/", scopes, token=pair["access"])
    assert status == 201, key
    keyed = [
        operation["operationId"]
        for operations in api.call("GET", "/api/schema/?format=json")[1]["paths"].values()
        for operation in operations.values()
        if any("apiKeyAuth" in requirement for requirement in operation.get("security", []))
    ]

    # By Bearer token, every operation, the stateful phase included.
    output = schemathesis_run(
        api.port, CONFIG, tmp_path, {"SCHEMATHESIS_ORG_ID": pair["org"]["id"]}, "--seed", SEED
    )
    assert "Scenarios:" in output, output[-5000:]  # the stateful phase ran
    # By API key, the operations that take one.
    options = [option for name in keyed for option in ("--include-operation-id", name)]
    schemathesis_run(api.port, KEYS_CONFIG, tmp_path, {"SCHEMATHESIS_API_KEY": key["key"]}, *options)

    served_log = log.read_text()
    assert "Internal Server Error" not in served_log and "Traceback" not in served_log, served_log[-5000:]
    with psycopg.connect(database_url) as conn:  # the key did the calling in the second pass
        (last_used_at,) = conn.execute(
            "SELECT last_used_at FROM apikeys_apikey WHERE id = %s", [key["id"]]
        ).fetchone()
    assert last_used_at is not None
    left = consistency(database_url)
    left.pop("sessions ended as a replay")  # the stateful phase may well send a spent refresh token again
    assert left == dict.fromkeys(left, 0)
