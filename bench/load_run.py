"""Load run: 10 000 mixed requests from concurrent clients, every org-scoped answer checked for rows of
other orgs, racing "two tabs" refreshes, and the database checked for consistency afterwards.

    .venv/bin/python bench/load_run.py                   # about 1.5 minutes on 2 cores; bench/load_run.md
    .venv/bin/python bench/load_run.py --fault postgres  # Postgres stopped 3 s; bench/load_run_postgres.md
    .venv/bin/python bench/load_run.py --fault redis     # Redis stopped 3 s; bench/load_run_redis.md

Serves the app with gunicorn (2 sync workers, ``bench.wsgi``) on a database of its own
(``authsvc_bench_load``, dropped and created afresh), loopback only. 20 organizations are registered
through the API, each grown to 5 members and given an API key that may read its members. Then 8 client
threads send, until 10 000 requests in all, a weighted mix: ``me/``; ``org/members/`` by Bearer and by
``X-API-Key`` (each row must belong to the caller's org); refresh, a share of them as two identical
refreshes at once (both must succeed with the same pair: racing tabs never sign a user out); password
sign-ins; magic-link and forgot-password requests. Throttles stay on but never trigger.

Fails (exit 1) on any 5xx, any row of another org, any refused racing refresh, or an inconsistent
database: a session without its user, a membership without its org, a half-spent refresh token, a
session ended as a replay.

With ``--fault postgres`` the database is a private server the run starts itself (never the machine's), and
it is stopped a third of the way in: 503 with ``Retry-After`` is the clean answer meanwhile, and the run
also fails unless service resumes without restarting the app. With ``--fault redis`` the throttle counters
live on a private redis-server, stopped the same way: nothing may fail for it (the throttles fall back to
counting per process, ``core.cache``), sign-ins included.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):
    sys.path[0] = str(ROOT)

from bench.client import Api  # noqa: E402
from bench.probe import django_setup  # noqa: E402
from bench.run import _reexec_in_venv  # noqa: E402
from bench.seed import add_members, migrate, prepare_database  # noqa: E402
from bench.server import (  # noqa: E402
    PrivateRedis,
    bench_env,
    gunicorn,
    private_postgres,
    restart_private_postgres,
)

LOAD_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/authsvc_bench_load"
PASSWORD = "bench-load-passphrase, long enough"
DOWN_SECONDS = 3.0
RETRY_PAUSE = 0.05
MIX = {"me": 30, "members": 18, "key_members": 10, "refresh": 14, "racing_refresh": 6, "login": 8,
       "magic_link": 7, "forgot": 7}  # fmt: skip

CONSISTENCY_SQL = {
    "sessions without their user": "SELECT count(*) FROM accounts_session s "
    "LEFT JOIN accounts_user u ON u.id = s.user_id WHERE u.id IS NULL",
    "memberships without their org": "SELECT count(*) FROM tenants_membership m "
    "LEFT JOIN tenants_organization o ON o.id = m.org_id WHERE o.id IS NULL",
    "half-spent refresh tokens (a predecessor but no rotation time)": "SELECT count(*) FROM accounts_session "
    "WHERE previous_refresh_jti IS NOT NULL AND rotated_at IS NULL",
    "sessions ended as a replay": "SELECT count(*) FROM accounts_session WHERE revoked_reason = 'refresh_reuse'",
}


class Org:
    """One seeded organization: its owner's email, its id, its members' emails, an API key."""

    def __init__(self, email: str, org_id: str, members: set[str], key: str) -> None:
        self.email, self.id, self.members, self.key = email, org_id, members, key


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: collections.Counter[tuple[str, int]] = collections.Counter()
        self.problems: list[str] = []
        self.sent = 0
        self.outage = False  # a fault is on (or was): answers are timed
        # The statuses that are the clean answer while the fault is on (503 for Postgres, none for Redis).
        self.tolerated: set[int] = set()
        self.answered: list[tuple[float, str, int]] = []  # (when, kind, status), kept in fault mode only

    def take(self, limit: int) -> bool:
        with self.lock:
            if self.sent >= limit:
                return False
            self.sent += 1
            return True

    def take_extra(self) -> None:
        """One request more than ``take`` counted (the second of two sent at once)."""
        with self.lock:
            self.sent += 1

    def problem(self, kind: str, text: str) -> None:
        with self.lock:
            self.problems.append(f"{kind}: {text}")

    def record(self, kind: str, status: int, problem: str | None = None) -> None:
        with self.lock:
            self.statuses[(kind, status)] += 1
            if self.outage:
                self.answered.append((time.monotonic(), kind, status))
                if status in self.tolerated:
                    return  # e.g. the database is away: 503 is the clean answer, whatever the request
            if status >= 500:
                self.problems.append(f"{kind}: {status}")
            if problem:
                self.problems.append(f"{kind}: {problem}")


def seed(api: Api, count: int) -> list[Org]:
    tag = os.urandom(3).hex()
    orgs = []
    for i in range(count):
        email = f"load-{tag}-{i}@example.com"
        api.expect(
            201,
            "POST",
            "/api/auth/register/",
            {"email": email, "password": PASSWORD, "organization_name": f"Load {tag} {i}"},
        )
        org_id = add_members(email, 4)
        access = api.expect(200, "POST", "/api/auth/login/", {"email": email, "password": PASSWORD})["access"]
        members = {
            row["user"]["email"] for row in api.expect(200, "GET", "/api/auth/org/members/", token=access)
        }
        key = api.expect(
            201, "POST", "/api/auth/org/api-keys/", {"name": "load", "scopes": ["members:read"]}, token=access
        )["key"]
        orgs.append(Org(email, org_id, members, key))
    return orgs


def call(api: Api, method: str, path: str, body=None, token=None, key=None) -> tuple[int, object]:
    reply = api.request(method, path, body, token, headers={"X-API-Key": key} if key else None)
    if reply.status == 503:
        time.sleep(RETRY_PAUSE)  # a client backs off when told to (Retry-After), if not quite for 1 s
    return reply.status, reply.body


def client(port: int, orgs: list[Org], tally: Tally, total: int, seed_value: int) -> None:
    api = Api(port, timeout=60)
    rng = random.Random(seed_value)  # noqa: S311 (the request mix, not a secret)
    sessions: dict[str, dict] = {}  # owner email -> this client's pair for that owner
    kinds, weights = zip(*MIX.items(), strict=True)

    def pair_of(org: Org) -> dict | None:
        if org.email not in sessions:
            status, body = call(api, "POST", "/api/auth/login/", {"email": org.email, "password": PASSWORD})
            tally.record("login", status)
            if status != 200:
                return None
            sessions[org.email] = body
        return sessions[org.email]

    def check_members(kind: str, org: Org, status: int, body) -> None:
        rows = body if status == 200 else []
        foreign = [row["user"]["email"] for row in rows if row["user"]["email"] not in org.members]
        tally.record(kind, status, f"rows of another org: {foreign}" if foreign else None)

    while tally.take(total):
        org = rng.choice(orgs)
        kind = rng.choices(kinds, weights)[0]
        if kind in ("me", "members", "refresh", "racing_refresh") and pair_of(org) is None:
            continue  # no session to use (the database was away when signing in)
        if kind == "me":
            status, body = call(api, "GET", "/api/auth/me/", token=pair_of(org)["access"])
            wrong = status == 200 and body["org"]["id"] != org.id
            tally.record(kind, status, "me/ in another org" if wrong else None)
        elif kind == "members":
            status, body = call(api, "GET", "/api/auth/org/members/", token=pair_of(org)["access"])
            check_members(kind, org, status, body)
        elif kind == "key_members":
            status, body = call(api, "GET", "/api/auth/org/members/", key=org.key)
            check_members(kind, org, status, body)
        elif kind == "refresh":
            status, body = call(api, "POST", "/api/auth/refresh/", {"refresh": pair_of(org)["refresh"]})
            tally.record(kind, status, None if status in (200, 503) else f"refused: {body}")
            if status == 200:
                sessions[org.email] = body
        elif kind == "racing_refresh":
            tally.take_extra()  # the second tab's request
            refresh = pair_of(org)["refresh"]
            with ThreadPoolExecutor(max_workers=2) as tabs:
                results = list(
                    tabs.map(
                        lambda _, refresh=refresh: call(
                            api, "POST", "/api/auth/refresh/", {"refresh": refresh}
                        ),
                        range(2),
                    )
                )
            for status, body in results:
                tally.record(kind, status, None if status in (200, 503) else f"a tab refused: {body}")
            succeeded = [body for status, body in results if status == 200]
            if len({body["refresh"] for body in succeeded}) > 1:
                tally.problem(kind, f"the two tabs got different pairs: {results}")
            if succeeded:
                sessions[org.email] = succeeded[0]
        elif kind == "login":
            status, body = call(api, "POST", "/api/auth/login/", {"email": org.email, "password": PASSWORD})
            tally.record(kind, status, None if status in (200, 503) else f"refused: {body}")
        elif kind == "magic_link":
            tally.record(kind, call(api, "POST", "/api/auth/magic-link/request/", {"email": org.email})[0])
        elif kind == "forgot":
            tally.record(kind, call(api, "POST", "/api/auth/password/forgot/", {"email": org.email})[0])


def consistency(database_url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(database_url) as conn:
        return {label: conn.execute(sql).fetchone()[0] for label, sql in CONSISTENCY_SQL.items()}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--orgs", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--fault",
        choices=("postgres", "redis"),
        help="stop Postgres, or Redis, for 3 s a third of the way in",
    )
    parser.add_argument("--output", type=Path, default=None, help="default bench/load_run[_<fault>].md")
    args = parser.parse_args()
    output = args.output or ROOT / "bench" / (f"load_run_{args.fault}.md" if args.fault else "load_run.md")

    with contextlib.ExitStack() as stack:
        fault = None
        env_extra: dict[str, str] = {}
        if args.fault == "postgres":
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="authsvc-load-pg-")))
            server = private_postgres(folder)
            stack.callback(server.cleanup)
            database_url = server.get_uri("postgres")
            fault = Fault(
                "Postgres", lambda: restart_private_postgres(server, down_seconds=DOWN_SECONDS), {503}
            )
        else:
            database_url = os.environ.get("DATABASE_URL", "").strip() or LOAD_DATABASE_URL
            prepare_database(database_url, recreate=database_url == LOAD_DATABASE_URL)
        if args.fault == "redis":  # the throttle counters' store; nothing is allowed to fail for it
            redis = PrivateRedis()
            redis.start()
            stack.callback(redis.stop)
            env_extra["REDIS_URL"] = redis.url
            fault = Fault("Redis", lambda: redis.restart(down_seconds=DOWN_SECONDS), set(), redis_keys(redis))
        text, ok = run(args, database_url, fault, env_extra)
    output.write_text(text)
    print(text)
    return 0 if ok else 1


class Fault(NamedTuple):
    service: str
    restart: Callable[[], None]  # stop the service, keep it down DOWN_SECONDS, start it again
    tolerated: set[int]  # the clean answers while it is down
    afterwards: Callable[[], str] | None = None  # a sentence on the service's state after the run


def redis_keys(server: PrivateRedis) -> Callable[[], str]:
    def count() -> str:
        import redis

        keys = redis.Redis.from_url(server.url).dbsize()
        return f"Afterwards the restarted Redis holds {keys} throttle counters: counting went back to it."

    return count


def inject(fault: Fault, tally: Tally, total: int, timings: dict[str, float]) -> None:
    """A third of the way in: stop the service for ``DOWN_SECONDS``, start it again."""
    while tally.sent < total // 3:
        time.sleep(0.05)
    tally.tolerated = fault.tolerated
    tally.outage = True
    timings["down"] = time.monotonic()
    fault.restart()
    timings["up"] = time.monotonic()


def run(
    args: argparse.Namespace, database_url: str, fault: Fault | None, env_extra: dict[str, str]
) -> tuple[str, bool]:
    env = bench_env(database_url)
    env["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    env.update(env_extra)
    migrate(env)
    django_setup(env)
    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="authsvc-load-") as tmp:
        with gunicorn(env, workers=args.workers, log_path=Path(tmp) / "gunicorn.log") as port:
            orgs = seed(Api(port), args.orgs)
            print(
                f"seeded {len(orgs)} orgs; {args.requests} requests from {args.clients} clients ...",
                flush=True,
            )
            started = time.monotonic()
            timings: dict[str, float] = {}
            with ThreadPoolExecutor(max_workers=args.clients + 1) as pool:
                futures = [
                    pool.submit(client, port, orgs, tally, args.requests, n) for n in range(args.clients)
                ]
                if fault is not None:
                    futures.append(pool.submit(inject, fault, tally, args.requests, timings))
                for future in futures:
                    future.result()
            elapsed = time.monotonic() - started
    checks = consistency(database_url)
    sent = sum(tally.statuses.values())
    expected = fault.tolerated if fault is not None else set()  # in the fault's gap: the clean answer
    server_errors = sum(
        count for (_, status), count in tally.statuses.items() if status >= 500 and status not in expected
    )
    foreign = sum(1 for problem in tally.problems if "another org" in problem)
    ok = not tally.problems and not any(checks.values())
    fault_lines = []
    if fault is not None:
        up = timings["up"]
        unavailable = sum(count for (_, status), count in tally.statuses.items() if status == 503)
        meanwhile = [(kind, status) for when, kind, status in tally.answered if timings["down"] <= when <= up]
        during = len(meanwhile)
        signed_in = sum(1 for kind, status in meanwhile if kind == "login" and status == 200)
        recovered = min(
            (when for when, _, status in tally.answered if when > up and status < 500), default=None
        )
        late = [
            status
            for when, _, status in tally.answered
            if recovered and when > recovered + 1 and status >= 500
        ]
        ok = ok and recovered is not None and not late
        fault_lines = [
            f"**Fault**: {fault.service} stopped {DOWN_SECONDS:g} s at request {args.requests // 3}, then "
            f"started again ({up - timings['down']:.1f} s in all, same gunicorn workers): {during} answers "
            f"while it was down ({signed_in} of them successful sign-ins), {unavailable} answers 503 with "
            f"`Retry-After`, {server_errors} other 5xx; first success "
            + (f"{1000 * (recovered - up):.0f} ms after the restart" if recovered else "NEVER")
            + f"; {len(late)} errors more than 1 s after it."
            + (f" {fault.afterwards()}" if fault.afterwards else ""),
            "",
        ]
    lines = [
        "# authsvc load run",
        "",
        f"`.venv/bin/python bench/load_run.py{f' --fault {args.fault}' if args.fault else ''}` — "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; gunicorn, "
        f"{args.workers} sync workers, {args.clients} clients, {args.orgs} orgs of 5 members, loopback.",
        "",
        f"**{sent} requests in {elapsed:.0f} s ({sent / elapsed:.0f}/s): {server_errors} 5xx"
        f"{' other than the fault' + chr(39) + 's 503s' if fault is not None and fault.tolerated else ''}, {foreign} "
        f"answers with rows of another org, {len(tally.problems)} problems in all — {'PASS' if ok else 'FAIL'}.**",
        "",
        *fault_lines,
        "| request (racing_refresh: each of two sent at once) | status | count |",
        "| --- | ---: | ---: |",
        *(f"| {kind} | {status} | {count} |" for (kind, status), count in sorted(tally.statuses.items())),
        "",
        "Database afterwards:",
        "",
        *(f"- {label}: {count}" for label, count in checks.items()),
        "",
        *(f"- problem: {problem}" for problem in tally.problems[:50]),
    ]
    return "\n".join(lines) + "\n", ok


if __name__ == "__main__":
    _reexec_in_venv()
    sys.exit(main())
