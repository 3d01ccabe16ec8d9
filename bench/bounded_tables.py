"""Bounded tables: 5 000 sign-ins and 5 000 refreshes through the API, then the cleanup commands, as if the
activity had happened long ago; every table's row count before and after.

    .venv/bin/python bench/bounded_tables.py    # about 3.5 minutes on 2 cores; writes bench/bounded_tables.md

Serves the app with gunicorn (2 sync workers) on a database of its own (``authsvc_bench_bounded``,
dropped and created afresh, on the machine's Postgres at 127.0.0.1:5432). 20 users, one org
each, then 8 clients: 5 000 password sign-ins, each followed by a refresh (10 000 in all), every fifth
session logged out, every tenth sign-in also asking for a magic link and a password reset, and as many
inviting someone to the org. Then time
passes: every timestamp in the database is moved back 400 days (more than any retention: sessions 7 days
after they end, audit events ``AUDIT_RETENTION_DAYS`` = 365), and the daily cron commands run
(``sessions_purge``, ``audit_purge``, ``magiclinks_purge``, ``invitations_purge``, ``jobs_purge``).

Fails (exit 1) unless afterwards every table that grows with activity is back to what the identities
themselves hold: users, orgs, memberships, API keys, and no sessions, events, emailed tokens or jobs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):
    sys.path[0] = str(ROOT)

from bench.client import Api  # noqa: E402
from bench.run import _reexec_in_venv  # noqa: E402
from bench.seed import Seed, manage, migrate, prepare_database  # noqa: E402
from bench.server import bench_env, gunicorn  # noqa: E402

DATABASE_URL = "postgres://postgres@127.0.0.1:5432/authsvc_bench_bounded"
AGE = "400 days"
PURGES = ["sessions_purge", "audit_purge", "magiclinks_purge", "invitations_purge", "jobs_purge"]
# Tables that grow with activity: each must be empty once it is all older than every retention.
GROWING = {
    "accounts_session",
    "tenants_auditevent",
    "magiclinks_emailtoken",
    "accounts_mfachallenge",
    "invitations_invitation",
    "procrastinate_jobs",
    "procrastinate_events",
}


def activity(api: Api, seed: Seed, count: int, clients: int) -> dict[str, int]:
    kinds = ("sign-ins", "refreshes", "logouts", "magic-link requests", "forgot", "invitations")
    done = dict.fromkeys(kinds, 0)
    lock = threading.Lock()

    def one(n: int) -> None:
        email = seed.emails[n % len(seed.emails)]
        pair = seed.login(email)
        rotated = api.expect(200, "POST", "/api/auth/refresh/", {"refresh": pair["refresh"]})
        counts = {"sign-ins": 1, "refreshes": 1}
        # Each owner in turn invites someone: 25 each, under the per-org throttle. An invitation stays
        # pending until it expires.
        if n // len(seed.emails) % 10 == 3:
            invitee = {"email": f"invitee-{n}@example.com", "role": "member"}
            api.expect(201, "POST", "/api/auth/org/invitations/", invitee, token=rotated["access"])
            counts["invitations"] = 1
        if n % 5 == 0:
            api.expect(204, "POST", "/api/auth/logout/", token=rotated["access"])
            counts["logouts"] = 1
        if n % 10 == 0:
            api.expect(202, "POST", "/api/auth/magic-link/request/", {"email": email})
            api.expect(200, "POST", "/api/auth/password/forgot/", {"email": email})
            counts |= {"magic-link requests": 1, "forgot": 1}
        with lock:
            for key, value in counts.items():
                done[key] += value

    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(one, range(count)))
    return done


def row_counts(database_url: str) -> dict[str, int]:
    import psycopg
    from psycopg import sql

    with psycopg.connect(database_url) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            ).fetchall()
        ]
        count = sql.SQL("SELECT count(*) FROM {}")
        return {name: conn.execute(count.format(sql.Identifier(name))).fetchone()[0] for name in tables}


def age_everything(database_url: str) -> int:
    """Move every timestamp of every table back by ``AGE`` (as the superuser: RLS does not apply)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(database_url) as conn:
        columns = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND data_type IN ('timestamp with time zone', 'timestamp without time zone')"
        ).fetchall()
        for table, column in columns:
            moved = sql.SQL("UPDATE {table} SET {column} = {column} - %s::interval")
            conn.execute(moved.format(table=sql.Identifier(table), column=sql.Identifier(column)), [AGE])
    return len(columns)


def purge(env: dict[str, str]) -> list[str]:
    return [f"- `manage.py {command}`: {manage(env, command).strip()}" for command in PURGES]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sign-ins", type=int, default=5000, help="each followed by a refresh")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "bounded_tables.md")
    args = parser.parse_args()

    prepare_database(DATABASE_URL, recreate=True)
    env = bench_env(DATABASE_URL)
    env["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    migrate(env)
    with tempfile.TemporaryDirectory(prefix="authsvc-bounded-") as tmp:
        with gunicorn(env, workers=2, log_path=Path(tmp) / "gunicorn.log") as port:
            api = Api(port, timeout=60)
            seed = Seed.register(api, 20)
            print(
                f"{args.sign_ins} sign-ins, each with a refresh, from {args.clients} clients ...", flush=True
            )
            started = time.monotonic()
            done = activity(api, seed, args.sign_ins, args.clients)
            elapsed = time.monotonic() - started
    after_run = row_counts(DATABASE_URL)
    aged = age_everything(DATABASE_URL)
    purged = purge(env)
    after_purge = row_counts(DATABASE_URL)

    left = {table: after_purge[table] for table in GROWING if after_purge.get(table)}
    ok = not left
    shown = [table for table in after_run if after_run[table] or after_purge[table]]
    lines = [
        "# authsvc bounded tables",
        "",
        f"`.venv/bin/python bench/bounded_tables.py` — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; gunicorn, 2 sync "
        f"workers, {args.clients} clients, loopback.",
        "",
        f"Activity in {elapsed:.0f} s: " + ", ".join(f"{value} {key}" for key, value in done.items()) + ".",
        f"Then every timestamp ({aged} columns) moved back {AGE}, and the daily cleanup ran:",
        "",
        *purged,
        "",
        f"**Tables that grow with activity, afterwards: {left or 'all empty'} — {'PASS' if ok else 'FAIL'}.**",
        "",
        "| table | after the activity | after the cleanup |",
        "| --- | ---: | ---: |",
        *(f"| {table} | {after_run[table]} | {after_purge[table]} |" for table in shown),
        "",
        "Rows per sign-in while they are kept: "
        f"sessions {after_run['accounts_session'] / done['sign-ins']:.2f}, "
        f"audit events {after_run['tenants_auditevent'] / done['sign-ins']:.2f}.",
    ]
    text = "\n".join(lines) + "\n"
    args.output.write_text(text)
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    _reexec_in_venv()
    sys.exit(main())
