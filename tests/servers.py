"""Serving the app as production does, for tests that need whole processes: a private Postgres
(pgserver's binaries in a temporary folder, never the machine's shared server), the environment of the
served app, and gunicorn's processes (the HTTP client is the benchmark's, ``bench.client.Api``)."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.server import free_port, stop_process, wait_until_ready

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


APP_PASSWORD = "runtime-role-password"  # the runtime role's own login, behind PgBouncer


@contextlib.contextmanager
def pgbouncer_serving(
    folder: Path,
    *,
    databases: str,
    users: str,
    auth_type: str,
    pool_size: int,
    max_client_conn: int,
    run_as: str | None,
    login: str,
) -> Iterator[int]:
    """A PgBouncer of the test's own in **transaction** mode, configured in ``folder`` (``databases``: its
    ``[databases]`` line; ``users``: its auth file) on a free loopback port, which it yields once ``login``
    (a URL with ``{port}``) connects; stopped afterwards. Skips the test where PgBouncer is not installed
    (``apt-get install pgbouncer``; ``.ci/run`` does). PgBouncer refuses to run as root: give ``run_as``,
    a user that can read ``folder`` (it is made the owner of what is written here)."""
    import psycopg

    binary = shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None
    )
    if binary is None:
        pytest.skip("PgBouncer is not installed (apt-get install pgbouncer)")
    port = free_port()
    folder.mkdir(exist_ok=True)
    (folder / "users.txt").write_text(users)
    (folder / "pgbouncer.ini").write_text(
        f"[databases]\n{databases}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = {auth_type}\nauth_file = {folder / 'users.txt'}\n"
        f"pool_mode = transaction\ndefault_pool_size = {pool_size}\nmax_client_conn = {max_client_conn}\n"
        f"logfile = {folder / 'pgbouncer.log'}\n"
    )
    if run_as:
        uid, gid = pwd.getpwnam(run_as).pw_uid, pwd.getpwnam(run_as).pw_gid
        for item in (folder, *folder.iterdir()):
            os.chown(item, uid, gid)
    process = subprocess.Popen(
        [binary, str(folder / "pgbouncer.ini")],
        user=run_as,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = login.format(port=port)

    def accepting() -> bool:
        with contextlib.suppress(psycopg.OperationalError), psycopg.connect(url, connect_timeout=2):
            return True
        return False

    try:
        wait_until_ready(process, accepting, what="PgBouncer", timeout=10, log_path=folder / "pgbouncer.log")
        yield port
    finally:
        stop_process(process)


@contextlib.contextmanager
def pgbouncer(postgres, folder: Path, *, pool_size: int) -> Iterator[str]:
    """PgBouncer in **transaction** mode in front of ``postgres``, for the runtime role's own login: yields
    the ``DATABASE_URL`` the app uses through it (the role is made a login role here, as
    ``docker/postgres/init.sh`` does). ``pool_size`` server connections at most, whatever the number of
    clients. As root it runs as the private server's system user, which can reach ``folder`` because
    pgserver opened the folders above its data folder (``tmp_path``'s) to others when it started as root."""
    import psycopg
    from django.conf import settings

    role = settings.DATABASE_APP_ROLE
    with psycopg.connect(postgres.get_uri("postgres"), autocommit=True) as conn:
        conn.execute(
            f"CREATE ROLE {role} LOGIN PASSWORD '{APP_PASSWORD}' "
            "NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT"
        )
    info = postgres.get_postmaster_info()
    url = f"postgres://{role}:{APP_PASSWORD}@127.0.0.1:{{port}}/postgres"
    with pgbouncer_serving(
        folder,
        databases=f"postgres = host={info.socket_dir} port={info.port} dbname=postgres",  # the owner's name too
        users=f'"{role}" "{APP_PASSWORD}"\n',
        auth_type="plain",
        pool_size=pool_size,
        max_client_conn=100,
        run_as=postgres.system_user if os.geteuid() == 0 else None,
        login=url,
    ) as port:
        yield url.format(port=port)
