"""The embedded development Postgres (``DATABASE_URL`` unset) stops with the last process that uses it, as
``config/database.py`` says, including ``runserver``'s two processes ended by Ctrl-C and after a process
that died without saying goodbye; ``manage.py embedded_postgres stop`` stops one that was left running.

One data folder for the module (``initdb`` once, ~5 s); each test starts with its server
stopped, and whatever a test leaves running is stopped after it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from bench.server import free_port
from config.database import embedded_server_stop

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 60


def embedded_env(data_dir: Path) -> dict[str, str]:
    """A development environment with nothing set, the data folder aside: DEBUG on, the embedded server.

    The runtime role is the superuser: runserver's migration check connects as that role, which only
    ``migrate`` would create (~5 s); what is under test here is processes, not roles."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "DJANGO_", "JWT_", "AUTH", "ALLOWED_HOSTS"))
    }
    return {**env, "AUTHSVC_DATA_DIR": str(data_dir), "DATABASE_APP_ROLE": "postgres", "PYTHONUNBUFFERED": "1"}


def manage(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=embedded_env(data_dir),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def start(data_dir: Path, *args: str, log: Path) -> subprocess.Popen[bytes]:
    """``manage.py`` in a session of its own, as a terminal runs a foreground job (Ctrl-C: the whole group)."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=REPO_ROOT,
            env=embedded_env(data_dir),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_for(condition, what: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {STARTUP_SECONDS} s:\n{log.read_text()}")
        time.sleep(0.2)


def postmaster_pid(data_dir: Path) -> int | None:
    """The running embedded server's postmaster, from its pid file; ``None`` when there is none."""
    pid_file = data_dir / "pgdata" / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None
    return pid if psutil.pid_exists(pid) else None


def handles(data_dir: Path) -> list[int]:
    """pgserver's list of the processes that use the server (it stops the server when it empties)."""
    path = data_dir / "pgdata" / ".handle_pids.json"
    for _ in range(50):
        try:
            return json.loads(path.read_text()) if path.exists() else []
        except json.JSONDecodeError:  # read while a process rewrites it (pgserver's writes are not atomic)
            time.sleep(0.05)
    raise AssertionError(f"{path}: {path.read_text()!r}")


def serving(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def assert_no_postmaster_left(data_dir: Path, pid: int) -> None:
    deadline = time.monotonic() + 10
    while psutil.pid_exists(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not psutil.pid_exists(pid), f"postmaster {pid} still running"
    assert not (data_dir / "pgdata" / "postmaster.pid").exists()


def died_without_cleanup(data_dir: Path, tmp_path: Path) -> None:
    """A process that used the server and was killed (SIGKILL: no exit handlers), as a crash or an IDE's
    stop button leaves one: its pid stays in pgserver's list."""
    process = start(data_dir, "shell", "-c", "print('up'); import time; time.sleep(120)", log=tmp_path / "k.log")
    wait_for(lambda: process.pid in handles(data_dir), "the shell to join the server", tmp_path / "k.log")
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    assert process.pid in handles(data_dir)
    assert postmaster_pid(data_dir) is not None


@pytest.fixture(scope="module")
def data_dir() -> Iterator[Path]:
    # Not under pytest's tmp_path: as root the server runs as pgserver's own user, which must traverse the
    # folders above its data, and every pytest that starts (other runs on this machine) closes
    # /tmp/pytest-of-<user> to others again.
    folder = Path(tempfile.mkdtemp(prefix="authsvc-embedded-"))
    try:
        initialized = manage(folder, "check")  # initdb, and the database created
        assert initialized.returncode == 0, initialized.stdout + initialized.stderr
        yield folder
    finally:
        embedded_server_stop(folder)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def stopped(data_dir):
    assert postmaster_pid(data_dir) is None, "the last process of the previous step left it running"
    yield data_dir
    embedded_server_stop(data_dir)


def runserver_then_ctrl_c(data_dir: Path, tmp_path: Path) -> int:
    """``manage.py runserver`` (the autoreloader's parent and its serving child), one request, then Ctrl-C:
    SIGINT to the whole process group. Returns the postmaster's pid as it was while serving."""
    port = free_port()
    log = tmp_path / "runserver.log"
    server = start(data_dir, "runserver", f"127.0.0.1:{port}", log=log)
    try:
        wait_for(lambda: serving(port), "runserver answering /healthz", log)
        assert len([pid for pid in handles(data_dir) if psutil.pid_exists(pid)]) >= 2  # parent and child
        pid = postmaster_pid(data_dir)
        assert pid is not None
        os.killpg(server.pid, signal.SIGINT)
        assert server.wait(timeout=30) == 0, log.read_text()
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    return pid


def test_ctrl_c_of_runserver_stops_the_embedded_postgres(stopped, tmp_path):
    pid = runserver_then_ctrl_c(stopped, tmp_path)

    assert_no_postmaster_left(stopped, pid)
    assert handles(stopped) == []


def test_ctrl_c_of_runserver_stops_it_after_a_process_that_died_without_cleanup(stopped, tmp_path):
    died_without_cleanup(stopped, tmp_path)

    pid = runserver_then_ctrl_c(stopped, tmp_path)

    assert_no_postmaster_left(stopped, pid)
    assert handles(stopped) == []


def test_the_stop_command_stops_a_server_left_running(stopped, tmp_path):
    died_without_cleanup(stopped, tmp_path)
    pid = postmaster_pid(stopped)
    status = manage(stopped, "embedded_postgres", "status")
    assert f"The embedded Postgres in {stopped / 'pgdata'} runs (pid {pid}); processes using it: none." in (
        status.stdout
    )

    result = manage(stopped, "embedded_postgres", "stop")

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Stopped the embedded Postgres in {stopped / 'pgdata'}" in result.stdout
    assert_no_postmaster_left(stopped, pid)
    assert handles(stopped) == []


def test_the_stop_command_starts_nothing_when_none_runs(stopped):
    result = manage(stopped, "embedded_postgres", "stop")

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"No embedded Postgres is running in {stopped / 'pgdata'}" in result.stdout
    assert postmaster_pid(stopped) is None
    assert not (stopped / "pgdata" / "postmaster.pid").exists()
