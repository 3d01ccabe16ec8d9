"""Fresh machine: no DATABASE_URL, an empty data folder; ``migrate`` then the RLS check just work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_migrate_and_rls_check_on_a_fresh_embedded_database(tmp_path):
    env = {
        key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "DATABASE_MIGRATE_URL"}
    }
    env["AUTHSVC_DATA_DIR"] = str(tmp_path)
    assert not any(tmp_path.iterdir())

    # pgserver stops each server once the last process using it exits, i.e. with these subprocesses.
    migrated = manage("migrate", "--noinput", env=env)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    assert "Applying tenants.0001_initial... OK" in migrated.stdout

    checked = manage("check", "--database", "default", env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "no issues" in checked.stdout

    assert (tmp_path / "pgdata" / "PG_VERSION").is_file()
