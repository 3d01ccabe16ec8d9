"""The server under test: the environment every benchmark process shares, and gunicorn's lifecycle."""

from __future__ import annotations

import contextlib
import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from bench.client import Api

ROOT = Path(__file__).resolve().parent.parent

# ``config.wsgi`` with Django's query log off (see that module for why).
WSGI_APP = "bench.wsgi"

# Throttles stay on (they are part of what a sign-in endpoint costs) but can never trigger. Per-second
# windows on purpose: DRF's SimpleRateThrottle keeps one timestamp per request of the window in the
# cache and (un)pickles that list on every request; a per-minute window at benchmark rates would hold
# tens of thousands of entries, a cost no production bucket (300/min) ever reaches.
THROTTLE_RATES = ",".join(
    f"{scope}=1000000/s"
    for scope in (
        *("login", "login_email_network", "login_email", "refresh", "register", "register_email"),
        *("magic_link", "magic_link_email", "password_forgot", "password_forgot_email"),
    )
)


def bench_env(database_url: str) -> dict[str, str]:
    """The environment of migrate, of the in-process measurements and of gunicorn: one for all.

    DEBUG is on because the baseline endpoints exist only with DEBUG on (``settings.BENCH``); the
    query log that DEBUG brings is switched off by ``bench.wsgi``. DEBUG on would accept the fixed
    development secrets, so random ones are set, and hosts stay loopback-only.
    """
    env = dict(os.environ)
    for name in ("AUTHSVC_TESTING", "REDIS_URL", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)  # the throttle cache is the default local-memory one
    env.update(
        AUTHSVC_BENCH="1",
        DJANGO_DEBUG="1",
        DJANGO_SECRET_KEY=secrets.token_hex(20),
        JWT_SIGNING_KEY=secrets.token_hex(20),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        AUTH_THROTTLE_RATES=THROTTLE_RATES,
        DATABASE_URL=database_url,
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


def free_port() -> int:
    """A loopback port nobody listens on (the kernel's pick), so runs never collide with a dev server."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(env: dict[str, str], *, workers: int, log_path: Path, port: int | None = None) -> Iterator[int]:
    """Serve ``bench.wsgi`` with sync workers on a loopback port (``port``, or a free one), yielding the
    port once it answers.

    The server is stopped afterwards in every case (SIGTERM, then SIGKILL of its process group), so a
    failed run never leaves workers holding the port or database connections.
    """
    port = port or free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        WSGI_APP,
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--bind",
        f"127.0.0.1:{port}",
        "--timeout",
        "60",
        "--log-level",
        "warning",
    ]
    with open(log_path, "w") as log:
        process = subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait_until_healthy(process, port, log_path, timeout=60)
        yield port
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)  # gunicorn's own process group (start_new_session)
                process.wait(timeout=10)


def _wait_until_healthy(
    process: subprocess.Popen[bytes], port: int, log_path: Path, *, timeout: float
) -> None:
    """Poll ``/healthz`` until it answers 200; stop the run (with gunicorn's log) if it dies or stalls."""

    def healthy() -> bool:
        with contextlib.suppress(OSError, http.client.HTTPException):
            return Api(port).call("GET", "/healthz")[0] == 200
        return False

    wait_until_ready(process, healthy, what="gunicorn", timeout=timeout, log_path=log_path, pause=0.2)


def wait_until_ready(
    process: subprocess.Popen,
    ready: Callable[[], bool],
    *,
    what: str,
    timeout: float,
    log_path: Path | None = None,
    pause: float = 0.05,
) -> None:
    """Poll ``ready`` until it holds; stop the run, with ``log_path``'s text, if ``process`` exits first or
    ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while not ready():
        log = log_path.read_text() if log_path is not None and log_path.exists() else ""
        if process.poll() is not None:
            raise SystemExit(f"{what} exited ({process.returncode}):\n{log}")
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not answer within {timeout:g} s:\n{log}")
        time.sleep(pause)


def private_postgres(folder: Path):
    """A Postgres server of its own in ``folder`` (pgserver's binaries; ``initdb`` on first use), for runs
    that stop and start it: never the machine's shared server. Stop it with ``.cleanup()``."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR
        import pgserver
    return pgserver.get_server(folder / "pgdata", cleanup_mode="stop")


def restart_private_postgres(server, *, down_seconds: float) -> None:
    """Stop ``server`` (fast shutdown: every connection ended, as a restart or failover does), keep it down
    ``down_seconds``, start it again on the same socket with the same options."""
    from pgserver._commands import pg_ctl

    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)
    time.sleep(down_seconds)
    server._postmaster_info = None
    server.ensure_postgres_running()


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it is still there after 10 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


class PrivateRedis:
    """A Redis server of the run's own on a free loopback port (never the machine's shared one), nothing
    kept on disk; ``restart`` stops it (SIGTERM: every connection ends) and starts it again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)  # noqa: S603

        def listening() -> bool:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
            return False

        wait_until_ready(self.process, listening, what=f"redis-server on port {self.port}", timeout=10)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)

    def restart(self, *, down_seconds: float) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()
