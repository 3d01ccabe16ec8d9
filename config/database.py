"""Database configuration: parse ``DATABASE_URL``, or start the embedded development Postgres.

Two roles take part (see README, "Row-level security"):

* the **owner** (``DATABASE_MIGRATE_URL``, else the ``DATABASE_URL`` user) runs migrations and
  provisions the runtime role;
* the **runtime role** (``DATABASE_APP_ROLE``, default ``authsvc_app``) handles requests and is bound
  by row-level security. It is reached either with Django's ``assume_role`` option on the owner's
  connection (the default) or, when ``DATABASE_MIGRATE_URL`` is set, with ``DATABASE_URL``'s own
  non-owner credentials. ``core.postgres`` applies ``assume_role`` per transaction (``SET LOCAL ROLE``
  with its first statement), never to the session: an injected ``RESET ROLE`` ends with its
  transaction, and a transaction-pooling PgBouncer has no session role to hand on.
"""

from __future__ import annotations

import atexit
import logging
import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

EMBEDDED_DATABASE_NAME = "authsvc"
CONNECT_TIMEOUT_SECONDS = 5

logger = logging.getLogger(__name__)


def parse_database_url(url: str) -> dict[str, Any]:
    """Turn ``postgres://user:password@host:port/name?sslmode=require`` into Django settings.

    A ``host`` query parameter (a Unix socket directory, as the embedded server hands out) wins over
    the network location. Other query parameters become connection ``OPTIONS``.
    """
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise ValueError(f"DATABASE_URL must be a postgres:// URL, not {parts.scheme!r}")
    options = dict(parse_qsl(parts.query))
    host = options.pop("host", None) or parts.hostname or ""
    return {
        "ENGINE": "core.postgres",  # Django's backend, minus two round trips a request
        "NAME": unquote(parts.path.lstrip("/")) or "postgres",
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host,
        "PORT": str(parts.port or ""),
        "OPTIONS": options,
    }


def embedded_data_dir(base_dir: Path) -> Path:
    """The embedded server's folder (its cluster in ``pgdata/``): ``AUTHSVC_DATA_DIR``, else ``var/``."""
    return Path(os.environ.get("AUTHSVC_DATA_DIR", "").strip() or base_dir / "var")


def _pgserver():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: "XDG_RUNTIME_DIR is not set" on servers
        import pgserver
    return pgserver


def embedded_database_url(data_dir: Path) -> str:
    """Start (or join) the embedded Postgres under ``data_dir`` and return a superuser URL to its database.

    pgserver keeps one server per data folder across processes and stops it when the last process
    that asked for it exits (:func:`_stop_with_the_last_live_process` keeps that true when some died
    without a word). The first call on a fresh machine runs ``initdb`` (a few seconds).
    """
    import psycopg

    data_dir.mkdir(parents=True, exist_ok=True)
    server = _pgserver().get_server(data_dir / "pgdata")
    _stop_with_the_last_live_process(server)
    with psycopg.connect(server.get_uri(database="postgres"), autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [EMBEDDED_DATABASE_NAME]
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{EMBEDDED_DATABASE_NAME}"')
            logger.info("created embedded database %s in %s", EMBEDDED_DATABASE_NAME, data_dir)
    return server.get_uri(database=EMBEDDED_DATABASE_NAME)


# How long a process that exits waits for its children still listed as using the server (runserver's
# autoreloader: the serving child it has just killed) before deciding whether it is the last one.
CHILD_EXIT_SECONDS = 5
_watched: set[Path] = set()


def _stop_with_the_last_live_process(server: Any) -> None:
    """Make pgserver's "the last process stops the server" hold when some of them died without a word.

    pgserver lists the processes using a server in ``pgdata/.handle_pids.json``; each removes itself at exit
    (``atexit``) and the one that finds itself last stops the server. A process killed without running its
    exit handlers (SIGKILL, ``os._exit``, a crash) stays listed for good, and then no process is ever last:
    the server outlives them all. ``runserver`` does exactly this on Ctrl-C: the autoreloader's parent kills
    its serving child 0.25 s after the interrupt (``subprocess.run``), often before the child's handlers ran,
    and ``runserver``'s child leaves with ``os._exit`` when its port is taken.

    So at exit, right before pgserver's own handler (``atexit`` runs the last registered first), this process
    waits briefly for its listed children and drops every listed process that is gone.
    """
    if server.pgdata in _watched:
        return
    _watched.add(server.pgdata)
    atexit.register(_forget_gone_processes, server)


def _forget_gone_processes(server: Any) -> None:
    import psutil

    with server._lock:  # pgserver's own lock over the list, across processes (its writes are not atomic)
        listed = set(server.global_process_id_list.get())
    children = [child for child in psutil.Process().children() if child.pid in listed]
    psutil.wait_procs(children, timeout=CHILD_EXIT_SECONDS)
    with server._lock:
        pids = server.global_process_id_list.get()
        alive = [pid for pid in pids if pid == os.getpid() or _is_alive(pid)]
        if alive != pids:
            gone = sorted(set(pids) - set(alive))
            logger.info("embedded Postgres: forgetting processes that are gone: %s", gone)
            server.global_process_id_list.put(alive)


def _is_alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        return True  # not ours to inspect: count it as using the server


def embedded_server_stop(data_dir: Path) -> int | None:
    """Stop the embedded server in ``data_dir`` whoever still uses it (``manage.py embedded_postgres stop``);
    return the stopped postmaster's pid, or ``None`` when none was running (nothing is started).

    ``pg_ctl`` refuses to run as root, and as root pgserver runs the server as its own ``pgserver`` user: the
    stop runs as the owner of the data folder, as pgserver's own stop does.
    """
    _pgserver()
    from pgserver._commands import pg_ctl
    from pgserver.postgres_server import PostgresServer
    from pgserver.utils import DiskList, PostmasterInfo

    pgdata = (data_dir / "pgdata").resolve()
    if not pgdata.is_dir():
        return None
    with PostgresServer._lock:
        info = PostmasterInfo.read_from_pgdata(pgdata)
        running = info is not None and info.is_running()
        if running:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=_data_owner(pgdata))
        handles = pgdata / ".handle_pids.json"
        if handles.exists():
            DiskList(handles).put([])  # the processes still listed find the server gone and leave it be
    return info.pid if running else None


def embedded_server_status(data_dir: Path) -> tuple[int | None, list[int]]:
    """The running postmaster's pid (``None``: not running) and the live processes listed as using it."""
    _pgserver()
    from pgserver.postgres_server import PostgresServer
    from pgserver.utils import DiskList, PostmasterInfo

    pgdata = data_dir / "pgdata"
    if not pgdata.is_dir():
        return None, []
    with PostgresServer._lock:
        info = PostmasterInfo.read_from_pgdata(pgdata)
        listed = DiskList(pgdata / ".handle_pids.json").get()
    users = [pid for pid in listed if _is_alive(pid)]
    return (info.pid if info is not None and info.is_running() else None), users


def _data_owner(pgdata: Path) -> str | None:
    """Who ``pg_ctl`` runs as: ourselves, or as root the data folder's owner."""
    if os.geteuid() != 0:
        return None
    import pwd

    return pwd.getpwuid(pgdata.stat().st_uid).pw_name


def database_settings(
    *, url: str, migrate_url: str | None, app_role: str, conn_max_age: int, prepared_statements: bool = True
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return ``(runtime, owner)`` settings for the ``default`` alias.

    ``runtime`` is what requests use; ``owner`` holds the keys to swap in while migrating (see
    :func:`tenants.rls.postgres_roles.owner_connection`).
    """
    runtime = parse_database_url(url)
    runtime.update(CONN_MAX_AGE=conn_max_age, CONN_HEALTH_CHECKS=True, ATOMIC_REQUESTS=True)
    # The hot statements are prepared per connection (core.postgres.base.Prepared); off behind a pooler
    # in transaction mode.
    runtime["PREPARED_STATEMENTS"] = prepared_statements
    # A database that does not answer fails the request with 503 within seconds, not a worker hung on
    # connect (DATABASE_URL's own ?connect_timeout= wins).
    runtime["OPTIONS"].setdefault("connect_timeout", str(CONNECT_TIMEOUT_SECONDS))
    if migrate_url:
        owner_source = parse_database_url(migrate_url)
    else:
        owner_source = dict(runtime, OPTIONS=dict(runtime["OPTIONS"]))
        runtime["OPTIONS"]["assume_role"] = app_role
    owner = {key: owner_source[key] for key in ("USER", "PASSWORD", "HOST", "PORT", "OPTIONS")}
    return runtime, owner


def resolve_database_url(base_dir: Path, *, allow_embedded: bool, start_embedded: bool = True) -> str:
    """``DATABASE_URL`` when set, otherwise the embedded server's URL (development only).

    ``start_embedded=False`` (``manage.py embedded_postgres``, which looks after that server itself) gives the
    embedded database's address without starting or joining its server.
    """
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        return url
    if not allow_embedded:
        raise ImproperlyConfigured(
            "DATABASE_URL must be set when DJANGO_DEBUG is off (no embedded database)."
        )
    data_dir = embedded_data_dir(base_dir)
    if not start_embedded:
        return f"postgresql://postgres@/{EMBEDDED_DATABASE_NAME}?host={data_dir / 'pgdata'}"
    return embedded_database_url(data_dir)
