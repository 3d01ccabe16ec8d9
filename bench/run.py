"""Throughput benchmark of authsvc against stock baselines, served by gunicorn on loopback.

    .venv/bin/python bench/run.py            # the one command (see bench/README.md)

Serves the app with gunicorn (2 sync workers, DEBUG off, ``AUTHSVC_BENCH=1``) against Postgres, loads
it with ``wrk`` (or, without wrk, a bounded Python load generator) and compares, in the same run, the
service's endpoints with the baseline endpoints of ``bench/views.py``. Every measurement is repeated
(default 3 rounds, endpoints interleaved within a round) and the median is reported. It also times
one Argon2id verification in-process (the hash floor) and counts the database work per request
(Django queries and wire-level round trips, from a libpq protocol trace).

Writes the report to stdout and to ``bench/results.md``. Stops gunicorn in every case.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import http.client
import json
import logging
import os
import platform
import queue
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/authsvc_bench"
COMMAND = ".venv/bin/python bench/run.py"

# Throttles stay on (they are part of what a sign-in endpoint costs) but can never trigger. Per-second
# windows on purpose: DRF's SimpleRateThrottle keeps one timestamp per request of the window in the
# cache and (un)pickles that list on every request; a per-minute window at benchmark rates would hold
# tens of thousands of entries, a cost no production bucket (300/min) ever reaches.
THROTTLE_RATES = ",".join(
    f"{scope}=1000000/s" for scope in ("login", "login_email", "refresh", "register", "register_email")
)

TIMES = "\N{MULTIPLICATION SIGN}"

# Argon2id minimum of OWASP's Password Storage Cheat Sheet: m=19 MiB, t=2, p=1.
OWASP_ARGON2ID = {"memory_cost": 19 * 1024, "time_cost": 2, "parallelism": 1}


# --- Environment and database ------------------------------------------------------------------------


def bench_env(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("AUTHSVC_TESTING", "REDIS_URL", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)  # the throttle cache is the default local-memory one
    env.update(
        AUTHSVC_BENCH="1",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_hex(20),
        JWT_SIGNING_KEY=secrets.token_hex(20),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        AUTH_THROTTLE_RATES=THROTTLE_RATES,
        DATABASE_URL=database_url,
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


def prepare_database(url: str, *, recreate: bool) -> None:
    """Create the database if it is missing (``recreate``: drop it first), connecting as its user."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = unquote(parts.path.lstrip("/"))
    if not recreate:
        try:
            psycopg.connect(url, connect_timeout=10).close()
            return
        except psycopg.OperationalError as exc:
            if "does not exist" not in str(exc):
                raise
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
        if recreate:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def migrate(env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"migrate failed:\n{result.stdout}\n{result.stderr}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(env: dict[str, str], *, workers: int, log_path: Path) -> Iterator[int]:
    """Serve ``config.wsgi`` with sync workers on a free loopback port; always stopped afterwards."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi",
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
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"gunicorn exited ({process.returncode}):\n{log_path.read_text()}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                if Api(port).call("GET", "/healthz")[0] == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not answer within 60 s:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield port
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)  # gunicorn's own process group (start_new_session)
                process.wait(timeout=10)


def cpu_busy(seconds: float) -> float | None:
    """Share of all cores busy over ``seconds`` (``/proc/stat``); ``None`` where unavailable."""

    def snapshot() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            ticks = [int(value) for value in stat.readline().split()[1:9]]
        return sum(ticks), ticks[3] + ticks[4]  # all, idle + iowait

    try:
        total, idle = snapshot()
        time.sleep(seconds)
        total_after, idle_after = snapshot()
    except (OSError, ValueError, IndexError):
        return None
    return 1 - (idle_after - idle) / max(1, total_after - total)


def settle(max_seconds: float, threshold: float = 0.15) -> float | None:
    """Wait (bounded) until other processes leave the cores idle; return the last busy share seen.

    The server is idle when this runs, so what is busy is someone else: their CPU is stolen from the
    measurement that follows.
    """
    deadline = time.monotonic() + max_seconds
    busy = cpu_busy(0.5)
    while busy is not None and busy > threshold and time.monotonic() < deadline:
        busy = cpu_busy(1.0)
    return busy


# --- HTTP client for seeding -------------------------------------------------------------------------


class Api:
    def __init__(self, port: int) -> None:
        self.port = port

    def call(self, method: str, path: str, body: dict | None = None, token: str | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = data.decode(errors="replace")
        return response.status, parsed

    def expect(self, status: int, method: str, path: str, body: dict | None = None, token: str | None = None):
        got, data = self.call(method, path, body, token)
        if got != status:
            raise SystemExit(f"{method} {path}: expected {status}, got {got}: {data}")
        return data


@dataclass
class Seed:
    api: Api
    password: str
    emails: list[str]
    _next: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def register(cls, api: Api, count: int) -> Seed:
        tag = secrets.token_hex(4)
        password = f"bench-{secrets.token_hex(8)}-passphrase"
        emails = [f"bench-{tag}-{i}@example.com" for i in range(count)]
        for i, email in enumerate(emails):
            api.expect(
                201,
                "POST",
                "/api/auth/register/",
                {"email": email, "password": password, "organization_name": f"Bench {tag} {i}"},
            )
        return cls(api=api, password=password, emails=emails)

    def login(self, email: str | None = None) -> dict:
        if email is None:
            with self._lock:
                email = self.emails[self._next % len(self.emails)]
                self._next += 1
        body = {"email": email, "password": self.password}
        return self.api.expect(200, "POST", "/api/auth/login/", body)

    def our_refresh_tokens(self, count: int) -> list[str]:
        """``count`` fresh sessions (one login each): each token heads its own rotation chain."""
        with ThreadPoolExecutor(max_workers=4) as pool:
            return [pair["refresh"] for pair in pool.map(lambda _: self.login(), range(count))]

    def stock_refresh_tokens(self, count: int) -> list[str]:
        """``count`` stock tokens, ``RefreshToken.for_user`` (each recorded as an OutstandingToken)."""
        body = {"email": self.emails[0], "count": count}
        return self.api.expect(200, "POST", "/bench/simplejwt/mint/", body)["refresh"]


# --- Load generation -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    # For refresh rotation: returns ``n`` unspent refresh tokens; every request spends one and the
    # token in its response joins the pool, so each token is presented exactly once.
    chains: Callable[[int], list[str]] | None = None


@dataclass(frozen=True)
class Sample:
    rps: float
    ok: int
    failed: int
    seconds: float
    p50_ms: float
    p99_ms: float
    background: float | None = None  # share of the cores busy just before, with the server idle


def _lua_string(value: str) -> str:
    if "]==]" in value or "\n" in value:
        raise ValueError("value does not fit a Lua long string")
    return f"[==[{value}]==]"


_LUA_DONE = """
local threads = {}
empty = 0
function setup(thread) table.insert(threads, thread) end
function done(summary, latency, requests)
  local drained = 0
  for _, thread in ipairs(threads) do drained = drained + (thread:get("empty") or 0) end
  local e = summary.errors
  io.write(string.format("BENCH %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f\\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), drained))
end
"""

_LUA_CHAINS = """
local pool, head, tail = {}, 1, 0
for line in io.lines(%(tokens)s) do
  if #line > 0 then tail = tail + 1; pool[tail] = line end
end
local headers = {["Content-Type"] = "application/json"}
function request()
  local token = "pool-drained"
  if head <= tail then token = pool[head]; pool[head] = nil; head = head + 1 else empty = empty + 1 end
  return wrk.format("POST", %(path)s, headers, '{"refresh":"' .. token .. '"}')
end
function response(status, hdrs, body)
  if status == 200 then
    local token = string.match(body, '"refresh"%%s*:%%s*"([^"]+)"')
    if token then tail = tail + 1; pool[tail] = token end
  end
end
"""


class WrkLoad:
    name = "wrk"

    def __init__(self, executable: str, port: int, connections: int, workdir: Path) -> None:
        self.executable, self.port, self.connections, self.workdir = executable, port, connections, workdir

    def run(self, target: Target, seconds: int, tokens: list[str] | None) -> Sample:
        script = self.workdir / f"{target.key}.lua"
        if target.chains is not None:
            tokens_file = self.workdir / f"{target.key}.tokens"
            tokens_file.write_text("\n".join(tokens or []) + "\n")
            lua = _LUA_CHAINS % {"tokens": _lua_string(str(tokens_file)), "path": _lua_string(target.path)}
        else:
            lines = [f"wrk.method = {_lua_string(target.method)}"]
            lines += [
                f"wrk.headers[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in target.headers.items()
            ]
            if target.body is not None:
                lines.append(f"wrk.body = {_lua_string(target.body)}")
            lua = "\n".join(lines) + "\n"
        script.write_text(lua + _LUA_DONE)
        # One wrk thread: the token pool of a chain script must not be shared by two Lua states.
        command = [self.executable, "-t1", f"-c{self.connections}", f"-d{seconds}s", "--timeout", "10s"]
        command += ["-s", str(script), f"http://127.0.0.1:{self.port}{target.path}"]
        result = subprocess.run(  # noqa: S603
            command, capture_output=True, text=True, timeout=seconds + 60, check=False
        )
        line = next((row for row in result.stdout.splitlines() if row.startswith("BENCH ")), None)
        if result.returncode != 0 or line is None:
            raise SystemExit(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        requests, duration_us, *errors, p50_us, p99_us, drained = (float(v) for v in line.split()[1:])
        connect, read, write, status, timeout = errors
        failed = int(connect + read + write + status + timeout + drained)
        ok = int(requests - status)
        seconds_run = duration_us / 1e6
        return Sample(ok / seconds_run, ok, failed, seconds_run, p50_us / 1000, p99_us / 1000)


class PythonLoad:
    """Bounded fallback when wrk is missing: one thread per connection, http.client, keep-alive."""

    name = "python (threads + http.client)"

    def __init__(self, port: int, connections: int) -> None:
        self.port, self.connections = port, connections

    def run(self, target: Target, seconds: int, tokens: list[str] | None) -> Sample:
        pool: queue.SimpleQueue[str] = queue.SimpleQueue()
        for token in tokens or []:
            pool.put(token)
        lock = threading.Lock()
        latencies: list[float] = []
        counts = {"ok": 0, "failed": 0}
        deadline = time.perf_counter() + seconds

        def worker() -> None:
            conn: http.client.HTTPConnection | None = None
            mine: list[float] = []
            ok = failed = 0
            while time.perf_counter() < deadline:
                body = target.body
                if target.chains is not None:
                    try:
                        body = json.dumps({"refresh": pool.get_nowait()})
                    except queue.Empty:
                        body = json.dumps({"refresh": "pool-drained"})
                started = time.perf_counter()
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                    conn.request(target.method, target.path, body=body, headers=target.headers)
                    response = conn.getresponse()
                    data = response.read()
                    if response.will_close:
                        conn.close()
                        conn = None
                except (OSError, http.client.HTTPException):
                    failed += 1
                    if conn is not None:
                        conn.close()
                    conn = None
                    continue
                mine.append(time.perf_counter() - started)
                if 200 <= response.status < 300:
                    ok += 1
                    if target.chains is not None:
                        pool.put(json.loads(data)["refresh"])
                else:
                    failed += 1
            if conn is not None:
                conn.close()
            with lock:
                latencies.extend(mine)
                counts["ok"] += ok
                counts["failed"] += failed

        started = time.perf_counter()
        threads = [threading.Thread(target=worker, daemon=True) for _ in range(self.connections)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=seconds + 30)
        elapsed = time.perf_counter() - started
        latencies.sort()
        p50 = latencies[len(latencies) // 2] * 1000 if latencies else 0.0
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000 if latencies else 0.0
        return Sample(counts["ok"] / elapsed, counts["ok"], counts["failed"], elapsed, p50, p99)


# --- In-process: hash time, database work per request, stock-behaviour checks ------------------------


def django_setup(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def hash_seconds(samples: int) -> float:
    """Median time of one ``check_password`` against a hash made by the configured (first) hasher."""
    from django.contrib.auth.hashers import check_password, make_password

    password = secrets.token_urlsafe(16)
    encoded = make_password(password)
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        if not check_password(password, encoded):
            raise SystemExit("check_password failed")
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _verify_many(args: tuple[str, str, int]) -> None:
    from django.contrib.auth.hashers import check_password

    password, encoded, count = args
    for _ in range(count):
        check_password(password, encoded)


def parallel_hash_rate(per_core: int) -> float:
    """Verifications per second with every core hashing at once (forked processes, server idle).

    The hash floor (cores ÷ one hash's time) assumes memory-hard hashing scales perfectly with cores;
    this is what the machine really delivers, for reading the login ratio.
    """
    import multiprocessing

    from django.contrib.auth.hashers import make_password
    from django.db import connections

    cores = os.cpu_count() or 1
    password = secrets.token_urlsafe(16)
    encoded = make_password(password)
    connections.close_all()  # nothing of the database crosses the fork
    with multiprocessing.get_context("fork").Pool(cores) as pool:
        pool.map(_verify_many, [(password, encoded, 1)] * cores)  # warm the workers
        started = time.perf_counter()
        pool.map(_verify_many, [(password, encoded, per_core)] * cores)
        return cores * per_core / (time.perf_counter() - started)


def hasher_parameters() -> dict:
    from django.contrib.auth.hashers import get_hasher, make_password

    hasher = get_hasher()
    decoded = hasher.decode(make_password(secrets.token_urlsafe(16)))
    return {"hasher": f"{type(hasher).__module__}.{type(hasher).__qualname__}", **decoded}


@contextlib.contextmanager
def wire_trace() -> Iterator[dict]:
    """Trace the libpq protocol of Django's connection: every ReadyForQuery ends one round trip."""
    from django.db import connection
    from psycopg import pq

    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    box: dict = {}
    with tempfile.TemporaryFile("w+") as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            yield box
        finally:
            pgconn.untrace()
            trace.seek(0)
            lines = trace.read().splitlines()
    text = "\n".join(lines) + "\n"
    box["round_trips"] = sum(1 for line in lines if "\tReadyForQuery" in line)
    box["statements"] = [
        _abbreviate(match.group(2))
        for match in re.finditer(
            r'^F\t\d+\t(Query|Parse)\t (?:"[^"\n]*" )?"(.*?)"[^"\n]*\n(?=[FB]\t)', text, re.M | re.S
        )
    ]


def _abbreviate(statement: str, limit: int = 48) -> str:
    parts = [re.sub(r"\s+", " ", part).strip() for part in statement.split(";")]
    return "; ".join(part if len(part) <= limit else part[: limit - 1] + "…" for part in parts if part)


def _sql_count(captured) -> int:
    """Django's logged queries, less the BEGIN/COMMIT markers it logs for transaction management."""
    return sum(
        1 for query in captured.captured_queries if query["sql"] not in ("BEGIN", "COMMIT", "ROLLBACK")
    )


@dataclass
class DbWork:
    label: str
    status: int
    queries: int
    round_trips: int
    statements: list[str]


def database_work() -> tuple[list[DbWork], list[str]]:
    """Django queries and wire round trips per request (Django's test client, in-process).

    ``close_old_connections()`` before each request does what gunicorn's ``request_started`` does and
    the test client skips: it re-arms ``CONN_HEALTH_CHECKS``, so the health check is counted as it is
    paid in production.
    """
    from django.db import close_old_connections, connection, transaction
    from django.test import Client, RequestFactory
    from django.test.utils import CaptureQueriesContext
    from rest_framework.request import Request
    from rest_framework_simplejwt.authentication import JWTAuthentication
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    from accounts.authentication import BearerAuthentication

    client = Client(HTTP_HOST="127.0.0.1")
    tag = secrets.token_hex(4)
    email, password = f"bench-inprocess-{tag}@example.com", f"bench-{secrets.token_hex(8)}-passphrase"

    def post(path: str, body: dict, expect: int) -> dict:
        response = client.post(path, body, content_type="application/json")
        if response.status_code != expect:
            raise SystemExit(f"in-process POST {path}: {response.status_code} {response.content[:300]!r}")
        return response.json()

    post("/api/auth/register/", {"email": email, "password": password, "organization_name": f"IP {tag}"}, 201)
    login = {"email": email, "password": password}
    access = post("/api/auth/login/", login, 200)["access"]
    ours = post("/api/auth/login/", login, 200)["refresh"]
    stock = post("/bench/simplejwt/mint/", {"email": email, "count": 2}, 200)["refresh"]

    def traced(label: str, method: str, path: str, body: dict | None = None, token: str | None = None):
        extra = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
        data = json.dumps(body) if body is not None else None
        close_old_connections()
        with CaptureQueriesContext(connection) as queries, wire_trace() as wire:
            response = client.generic(method, path, data or "", content_type="application/json", **extra)
        return DbWork(
            label, response.status_code, _sql_count(queries), wire["round_trips"], wire["statements"]
        )

    work = [
        traced("bare Django `GET /bench/django/`", "GET", "/bench/django/"),
        traced("bare DRF `GET /bench/drf/`", "GET", "/bench/drf/"),
        traced("stock SimpleJWT `GET /bench/simplejwt/`", "GET", "/bench/simplejwt/", token=access),
        traced("ours `GET /api/auth/me/`", "GET", "/api/auth/me/", token=access),
        traced("diagnostic: ours auth only `GET /bench/bearer/`", "GET", "/bench/bearer/", token=access),
    ]

    def authentication_only(label: str, authenticator) -> DbWork:
        request = Request(RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {access}"))
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")  # the request transaction is open (BEGIN paid) already
            with CaptureQueriesContext(connection) as queries, wire_trace() as wire:
                result = authenticator.authenticate(request)
        return DbWork(
            label, 200 if result else 401, _sql_count(queries), wire["round_trips"], wire["statements"]
        )

    work.insert(3, authentication_only("↳ stock `JWTAuthentication.authenticate` alone", JWTAuthentication()))
    work.append(
        authentication_only("↳ ours `BearerAuthentication.authenticate` alone", BearerAuthentication())
    )

    checks = []
    logging.getLogger("django.request").setLevel(logging.ERROR)  # the expected 401 below is not news
    outstanding, blacklisted = OutstandingToken.objects.count(), BlacklistedToken.objects.count()
    work.append(
        traced(
            "stock rotation `POST /bench/simplejwt/refresh/`",
            "POST",
            "/bench/simplejwt/refresh/",
            {"refresh": stock[0]},
        )
    )
    grown = (OutstandingToken.objects.count() - outstanding, BlacklistedToken.objects.count() - blacklisted)
    again = client.post("/bench/simplejwt/refresh/", {"refresh": stock[0]}, content_type="application/json")
    checks.append(
        f"stock rotation is stock: one rotation wrote {grown[0]} OutstandingToken and {grown[1]} "
        f"BlacklistedToken row(s); presenting the spent token again → {again.status_code} "
        f"({'blacklisted, as expected' if again.status_code == 401 else 'UNEXPECTED'})"
    )
    work.append(traced("ours `POST /api/auth/refresh/`", "POST", "/api/auth/refresh/", {"refresh": ours}))
    work.append(traced("ours `POST /api/auth/login/`", "POST", "/api/auth/login/", login))
    bad = [item for item in work if item.status >= 400]
    if bad:
        raise SystemExit(f"in-process request failed: {bad}")
    connection.close()
    return work, checks


# --- Report ----------------------------------------------------------------------------------------


@dataclass
class Measured:
    target: Target
    samples: list[Sample] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return statistics.median(sample.rps for sample in self.samples)

    def median_of(self, attribute: str) -> float:
        return statistics.median(getattr(sample, attribute) for sample in self.samples)


def versions(wrk: str | None) -> str:
    from importlib.metadata import version

    import psycopg

    packages = ", ".join(
        f"{name} {version(name)}"
        for name in (
            "Django",
            "djangorestframework",
            "djangorestframework-simplejwt",
            "gunicorn",
            "argon2-cffi",
        )
    )
    try:
        with psycopg.connect(os.environ["DATABASE_URL"], connect_timeout=10) as conn:
            server = conn.execute("SHOW server_version").fetchone()[0]
    except psycopg.Error:
        server = "?"
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    wrk_version = "none"
    if wrk:
        result = subprocess.run([wrk, "--version"], capture_output=True, text=True, timeout=10, check=False)  # noqa: S603
        wrk_version = (result.stdout or result.stderr).split("Copyright")[0].strip() or "?"
    return (
        f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, {packages}, "
        f"PostgreSQL {server}, wrk: {wrk_version}"
    )


def _percent(share: float | None) -> str:
    return "?" if share is None else f"{share:.0%}"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def report(
    *,
    measured: dict[str, Measured],
    hash_times: list[float],
    parallel_rates: list[float],
    params: dict,
    work: list[DbWork],
    checks: list[str],
    args: argparse.Namespace,
    load_name: str,
    environment: str,
) -> tuple[str, bool]:
    cores = os.cpu_count() or 1
    hash_time = statistics.median(hash_times)
    floor = cores / hash_time
    rps = {key: item.rps for key, item in measured.items()}
    owasp = all(params.get(key, 0) >= value for key, value in OWASP_ARGON2ID.items())
    owasp = owasp and params.get("variety") == "argon2id"
    auth_work = next(item for item in work if item.label.startswith("↳ ours"))

    lines = [
        "# authsvc benchmark",
        "",
        f"`{COMMAND}` — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"gunicorn `config.wsgi`, {args.workers} sync workers, DEBUG off, Postgres on loopback; load: "
        f"{load_name}, {args.connections} connections, {args.duration} s per measurement after a "
        f"{args.warmup} s warm-up, median of {args.rounds} rounds (endpoints interleaved in each round).",
        "",
        f"Machine: {environment}.",
        "",
        "## Throughput",
        "",
        "| Endpoint | req/s (median) | runs (req/s) | p50 ms | p99 ms | failed | other CPU |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    busiest = 0.0
    for item in measured.values():
        runs = " / ".join(f"{sample.rps:.0f}" for sample in item.samples)
        failed = sum(sample.failed for sample in item.samples)
        backgrounds = [sample.background for sample in item.samples if sample.background is not None]
        busiest = max([busiest, *backgrounds])
        lines.append(
            f"| {item.target.label} | **{item.rps:.0f}** | {runs} | {item.median_of('p50_ms'):.1f} | "
            f"{item.median_of('p99_ms'):.1f} | {failed} | {_percent(max(backgrounds, default=None))} |"
        )
    lines.append(
        f"| hash floor: {cores} cores ÷ one Argon2id verification ({hash_time * 1000:.1f} ms, median) | "
        f"**{floor:.0f}** | " + " / ".join(f"{cores / t:.0f}" for t in hash_times) + " | | | | |"
    )
    lines.append(
        f"| diagnostic: Argon2id verifications/s with all {cores} cores hashing at once (no server work) | "
        f"{statistics.median(parallel_rates):.0f} | "
        + " / ".join(f"{rate:.0f}" for rate in parallel_rates)
        + " | | | | |"
    )
    lines += [
        "",
        "*other CPU*: the largest share of the cores that other processes kept busy just before a "
        "measurement of that row (server idle); what they take during the measurement is taken from it.",
    ]
    if busiest > 0.15:
        lines.append(
            f"**Warning:** up to {busiest:.0%} of the cores were busy with other work before a measurement: "
            "ratios from this run are noisy; rerun on a quiet machine."
        )

    targets = [
        ("authenticated `GET me/` vs bare Django", rps["me"] / rps["django"], 0.50, TIMES),
        ("authenticated `GET me/` vs stock SimpleJWT", rps["me"] / rps["simplejwt"], 1.4, TIMES),
        (
            "refresh rotation vs stock SimpleJWT rotation+blacklist",
            rps["refresh"] / rps["stock_refresh"],
            2.0,
            TIMES,
        ),
        ("refresh rotation, absolute", rps["refresh"], 480, " req/s"),
        ("password login vs hash floor", rps["login"] / floor, 0.9, TIMES),
    ]
    lines += [
        "",
        "## Targets",
        "",
        "| Target | Measured | Required | Result |",
        "| --- | ---: | ---: | --- |",
    ]
    all_pass = True
    for name, value, required, unit in targets:
        ok = value >= required
        all_pass &= ok
        shown = f"{value:.2f}{unit}" if unit == TIMES else f"{value:.0f}{unit}"
        lines.append(f"| {name} | {shown} | ≥ {required:g}{unit} | {verdict(ok)} |")
    argon = f"m={params.get('memory_cost')} KiB, t={params.get('time_cost')}, p={params.get('parallelism')}"
    lines.append(
        f"| Argon2id at or above OWASP's minimum | {params.get('variety')} {argon} | "
        f"argon2id m=19456 KiB, t=2, p=1 | {verdict(owasp)} |"
    )
    auth_ok = auth_work.queries == 1 and auth_work.round_trips == 1
    lines.append(
        f"| one DB round trip for auth + tenant context | {auth_work.queries} query, "
        f"{auth_work.round_trips} round trip | 1 | {verdict(auth_ok)} |"
    )
    all_pass &= owasp and auth_ok
    lines += [
        "",
        "Diagnostics (no target): ours `BearerAuthentication` vs stock `JWTAuthentication` behind the same "
        f"view: {rps['bearer'] / rps['simplejwt']:.2f}{TIMES}; `GET me/` vs that authentication-only view: "
        f"{rps['me'] / rps['bearer']:.2f}{TIMES} (the rest of `me/`: membership listing and body); "
        f"login vs all cores hashing at once: {rps['login'] / statistics.median(parallel_rates):.2f}{TIMES}.",
    ]

    lines += [
        "",
        "## Database work per request",
        "",
        "In-process (Django test client, same settings). *Queries*: Django's `CaptureQueriesContext`. "
        "*Round trips*: libpq protocol trace (one per `ReadyForQuery`), so they include what Django does "
        "not log: the `CONN_HEALTH_CHECKS` probe, `BEGIN`/`COMMIT` of `ATOMIC_REQUESTS`, role switches. "
        "The two *alone* rows run inside an already-open transaction.",
        "",
        "| Request | Django queries | Round trips | Statements on the wire |",
        "| --- | ---: | ---: | --- |",
    ]
    for item in work:
        statements = "; ".join(f"`{s}`" for s in item.statements) or "—"
        lines.append(f"| {item.label} | {item.queries} | {item.round_trips} | {statements} |")
    lines += ["", "## Checks", ""] + [f"- {check}" for check in checks]
    lines += [
        f"- hasher: `{params.get('hasher')}`, {params.get('variety')} {argon}",
        f"- throttles on, never triggering: `AUTH_THROTTLE_RATES={THROTTLE_RATES}`",
        "",
    ]
    return "\n".join(lines), all_pass


# --- Main ------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=5, help="seconds per measurement (default 5)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds before each measurement")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the report takes medians (default 3)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections (default 8)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    parser.add_argument("--chains", type=int, default=32, help="refresh chains in flight per measurement")
    parser.add_argument("--hash-samples", type=int, default=15, help="check_password calls per round")
    parser.add_argument(
        "--settle", type=float, default=20, help="max seconds to wait for other load to stop (default 20)"
    )
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--keep-db", action="store_true", help="reuse the default bench database")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results.md")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    for name in ("duration", "warmup", "rounds", "connections", "workers", "chains", "hash_samples"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.chains < args.connections:
        parser.error("--chains must be at least --connections")
    return args


def main() -> int:
    args = parse_args()
    wrk = shutil.which("wrk") if args.loadgen in ("auto", "wrk") else None
    if args.loadgen == "wrk" and wrk is None:
        raise SystemExit("wrk not found (Debian: apt-get install -y wrk), or use --loadgen python")

    database_url = os.environ.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL
    owned = database_url == DEFAULT_DATABASE_URL
    print(f"database: {database_url} ({'recreated' if owned and not args.keep_db else 'kept'})", flush=True)
    prepare_database(database_url, recreate=owned and not args.keep_db)
    env = bench_env(database_url)
    migrate(env)
    django_setup(env)

    params = hasher_parameters()
    print("in-process: database work per request ...", flush=True)
    work, checks = database_work()

    measured: dict[str, Measured] = {}
    hash_times: list[float] = []
    parallel_rates: list[float] = []
    with tempfile.TemporaryDirectory(prefix="authsvc-bench-") as tmp:
        workdir = Path(tmp)
        with gunicorn(env, workers=args.workers, log_path=workdir / "gunicorn.log") as port:
            api = Api(port)
            seed = Seed.register(api, count=4)
            load = (
                WrkLoad(wrk, port, args.connections, workdir) if wrk else PythonLoad(port, args.connections)
            )
            print(f"gunicorn on 127.0.0.1:{port}; load generator: {load.name}", flush=True)
            json_headers = {"Content-Type": "application/json"}
            login_body = json.dumps({"email": seed.emails[0], "password": seed.password})
            for round_number in range(1, args.rounds + 1):
                # A fresh access token each round (15 min lifetime), org-scoped: the user has one org.
                bearer = {"Authorization": f"Bearer {seed.login()['access']}"}
                targets = [
                    Target(
                        "django", "bare Django `JsonResponse` `GET /bench/django/`", "GET", "/bench/django/"
                    ),
                    Target("drf", "bare DRF `APIView` `GET /bench/drf/`", "GET", "/bench/drf/"),
                    Target(
                        "simplejwt",
                        "stock SimpleJWT `GET /bench/simplejwt/`",
                        "GET",
                        "/bench/simplejwt/",
                        bearer,
                    ),
                    Target("me", "ours `GET /api/auth/me/`", "GET", "/api/auth/me/", bearer),
                    Target(
                        "bearer",
                        "diagnostic: ours `BearerAuthentication` on the `simplejwt/` view `GET /bench/bearer/`",
                        "GET",
                        "/bench/bearer/",
                        bearer,
                    ),
                    Target(
                        "stock_refresh",
                        "stock SimpleJWT rotation+blacklist `POST /bench/simplejwt/refresh/`",
                        "POST",
                        "/bench/simplejwt/refresh/",
                        json_headers,
                        chains=seed.stock_refresh_tokens,
                    ),
                    Target(
                        "refresh",
                        "ours rotation `POST /api/auth/refresh/`",
                        "POST",
                        "/api/auth/refresh/",
                        json_headers,
                        chains=seed.our_refresh_tokens,
                    ),
                    Target(
                        "login",
                        "ours password login `POST /api/auth/login/`",
                        "POST",
                        "/api/auth/login/",
                        json_headers,
                        login_body,
                    ),
                ]
                for target in targets:
                    if target.key == "login":
                        hash_times.append(hash_seconds(args.hash_samples))  # server idle: same run, same box
                        parallel_rates.append(parallel_hash_rate(args.hash_samples))
                    warm_tokens = target.chains(args.chains) if target.chains else None
                    tokens = target.chains(args.chains) if target.chains else None
                    background = settle(args.settle)
                    load.run(target, args.warmup, warm_tokens)
                    sample = dataclasses.replace(
                        load.run(target, args.duration, tokens), background=background
                    )
                    measured.setdefault(target.key, Measured(target)).samples.append(sample)
                    print(
                        f"round {round_number}/{args.rounds} {target.key:>13}: {sample.rps:8.1f} req/s "
                        f"(ok {sample.ok}, failed {sample.failed}, p50 {sample.p50_ms:.1f} ms, "
                        f"background CPU before: {_percent(background)})",
                        flush=True,
                    )

    text, all_pass = report(
        measured=measured,
        hash_times=hash_times,
        parallel_rates=parallel_rates,
        params=params,
        work=work,
        checks=checks,
        args=args,
        load_name=load.name,
        environment=versions(wrk),
    )
    args.output.write_text(text)
    print("\n" + text)
    print(f"written to {args.output}")
    return 1 if args.strict and not all_pass else 0


def _reexec_in_venv() -> None:
    """``python bench/run.py`` from outside the project's venv re-runs itself with the venv's Python."""
    if VENV_PYTHON.exists() and Path(sys.prefix).resolve() != VENV_PYTHON.parent.parent.resolve():
        os.execv(VENV_PYTHON, [str(VENV_PYTHON), *sys.argv])  # noqa: S606


if __name__ == "__main__":
    _reexec_in_venv()
    sys.exit(main())
