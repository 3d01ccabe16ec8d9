"""Scale check: the hot endpoints with 10 000 organizations and 1 000 000 sessions, against the same
endpoints on a nearly empty database, in one run; and the plan of every hot query.

    .venv/bin/python bench/scale.py          # about 5 minutes on 2 cores (bench/README.md, "Scale")

1. A fresh database (``authsvc_bench_scale`` unless ``DATABASE_URL`` is set), migrated; gunicorn as in
   ``bench/run.py``; a few users registered through the API, one org grown to 26 members.
2. ``small``: ``GET me/``, ``POST refresh/``, ``GET org/members/`` and the stock SimpleJWT view (a
   control: it reads one user by primary key, so it shows what the machine itself drifted), median of
   the rounds.
3. Bulk load, as the database owner, in a bounded time: 10 000 orgs, each with an owner (a user and a
   membership), and 1 000 000 sessions spread over those users (a fifth revoked, a fifth expired, as a
   real table holds between two runs of ``sessions_purge``); then ``ANALYZE``.
4. ``large``: the same measurements, same server (its connections keep their prepared statements:
   Postgres replans them when the statistics change).
5. ``EXPLAIN`` of each hot statement, as the runtime role under RLS, with the generic plan the
   prepared statements settle on: every table is reached through an index.

Writes ``bench/scale.md``. Loopback only; the database is dropped and created afresh unless
``DATABASE_URL`` points at one of your own (then it is never dropped, and the bulk rows stay).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):
    sys.path[0] = str(ROOT)

from bench.client import Api  # noqa: E402
from bench.load import Load, Target, load_generator  # noqa: E402
from bench.machine import describe, settle  # noqa: E402
from bench.probe import django_setup  # noqa: E402
from bench.run import _reexec_in_venv  # noqa: E402
from bench.seed import MEMBERS, Seed, add_members, migrate, prepare_database  # noqa: E402
from bench.server import bench_env, gunicorn  # noqa: E402

SCALE_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/authsvc_bench_scale"
ORGS = 10_000
SESSIONS = 1_000_000
WITHIN = 0.10  # the large figures stay within 10 % of the small ones

_BULK_SQL = [
    # One owner per org: a user, the org, the membership (ids derived from the series, so joins are cheap).
    """
    INSERT INTO accounts_user (id, password, is_superuser, email, first_name, last_name, is_active,
                               is_staff, date_joined, email_verified, mfa_enabled)
    SELECT md5('scale-user-' || i)::uuid, '!', false, 'scale-' || i || '@example.com', 'Scale', 'User',
           true, false, now(), true, false
    FROM generate_series(1, %(orgs)s) AS i
    """,
    """
    INSERT INTO tenants_organization (id, name, slug, created_at, require_mfa)
    SELECT md5('scale-org-' || i)::uuid, 'Scale ' || i, 'scale-' || i, now(), false
    FROM generate_series(1, %(orgs)s) AS i
    """,
    """
    INSERT INTO tenants_membership (id, org_id, user_id, role, is_active, joined_at)
    SELECT md5('scale-membership-' || i)::uuid, md5('scale-org-' || i)::uuid, md5('scale-user-' || i)::uuid,
           'owner', true, now()
    FROM generate_series(1, %(orgs)s) AS i
    """,
    # An API key per org (the lookup's index must hold with many).
    """
    INSERT INTO apikeys_apikey (id, name, public_id, digest, scopes, created_at, org_id)
    SELECT gen_random_uuid(), 'scale', substr(md5('scale-key-' || i), 1, 16), md5('scale-digest-' || i),
           '{}', now(), md5('scale-org-' || i)::uuid
    FROM generate_series(1, %(orgs)s) AS i
    """,
    # Sessions: each user gets sessions / orgs of them; a fifth revoked, a fifth expired.
    """
    INSERT INTO accounts_session (id, created_at, last_used_at, expires_at, revoked_at, revoked_reason,
                                  user_agent, ip, refresh_jti, access_jti, issued_at, active_org_id,
                                  membership_id, user_id, amr, authenticated_at)
    SELECT gen_random_uuid(), now() - interval '1 day', now(),
           CASE WHEN s %% 5 = 1 THEN now() - interval '1 hour' ELSE now() + interval '30 days' END,
           CASE WHEN s %% 5 = 2 THEN now() ELSE NULL END,
           CASE WHEN s %% 5 = 2 THEN 'logout' ELSE '' END,
           'scale', '127.0.0.1', gen_random_uuid(), gen_random_uuid(), 0,
           md5('scale-org-' || u)::uuid, md5('scale-membership-' || u)::uuid, md5('scale-user-' || u)::uuid,
           '{pwd}', now()
    FROM generate_series(0, %(sessions)s - 1) AS s, LATERAL (SELECT s %% %(orgs)s + 1 AS u) AS pick
    """,
    "ANALYZE",
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds per phase; medians are reported")
    parser.add_argument("--duration", type=int, default=4, help="seconds per measurement")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up seconds before each measurement")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chains", type=int, default=32)
    parser.add_argument("--orgs", type=int, default=ORGS)
    parser.add_argument("--sessions", type=int, default=SESSIONS)
    parser.add_argument("--settle", type=float, default=20)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "scale.md")
    return parser.parse_args()


def targets(seed: Seed) -> list[Target]:
    member = {"Authorization": f"Bearer {seed.login(seed.emails[0])['access']}"}
    return [
        Target(
            "simplejwt",
            "control: stock SimpleJWT `GET /bench/simplejwt/`",
            "GET",
            "/bench/simplejwt/",
            member,
        ),
        Target("me", "`GET /api/auth/me/`", "GET", "/api/auth/me/", member),
        Target(
            "refresh",
            "`POST /api/auth/refresh/`",
            "POST",
            "/api/auth/refresh/",
            {"Content-Type": "application/json"},
            chains=seed.our_refresh_tokens,
        ),
        Target(
            "members",
            f"`GET /api/auth/org/members/` ({MEMBERS + 1} members)",
            "GET",
            "/api/auth/org/members/",
            member,
        ),
    ]


def measure_phase(args: argparse.Namespace, load: Load, seed: Seed) -> dict[str, list[float]]:
    rates: dict[str, list[float]] = {}
    for round_number in range(1, args.rounds + 1):
        for target in targets(seed):
            tokens = target.chains(args.chains) if target.chains else None
            warm = target.chains(args.chains) if target.chains else None
            settle(args.settle)
            load.run(target, args.warmup, warm)
            sample = load.run(target, args.duration, tokens)
            if sample.failed:
                raise SystemExit(f"{target.key}: {sample.failed} failed requests")
            rates.setdefault(target.key, []).append(sample.rps)
            print(f"round {round_number}/{args.rounds} {target.key:>10}: {sample.rps:8.1f} req/s", flush=True)
    return rates


def bulk_load(database_url: str, args: argparse.Namespace) -> float:
    """The bulk rows, as the owner (a superuser bypasses RLS); returns the seconds it took."""
    import psycopg

    started = time.monotonic()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SET statement_timeout = '15min'")
        for statement in _BULK_SQL:
            conn.execute(statement, {"orgs": args.orgs, "sessions": args.sessions})
    return time.monotonic() - started


def explain_hot_statements(seed: Seed) -> list[tuple[str, str, bool]]:
    """(name, plan, every scan an index scan) for each hot statement, as the runtime role under RLS: the
    prepared ones with the generic plan they settle on, the ORM's with the plan of their literal SQL."""
    import uuid

    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from accounts.models import Session, User
    from accounts.selectors import _PRINCIPAL
    from accounts.services.sessions import _ROTATE
    from apikeys.services import _LOOKUP_SQL
    from tenants.models import Organization
    from tenants.rls.context import ORG_SETTING, cross_tenant
    from tenants.selectors import _MEMBERSHIPS, organization_members

    owner = User.objects.get(email=seed.emails[0])
    with cross_tenant():
        session = Session.objects.filter(user=owner, membership__isnull=False).order_by("-created_at").first()
    org = Organization.objects.get(id=session.active_org_id)
    params = {
        "sid": session.id,
        "user_id": owner.id,
        "org_id": org.id,
        "membership_id": session.membership_id,
        "own_user": owner.id,
        "jti": uuid.uuid4(),
        "new_refresh": uuid.uuid4(),
        "new_access": uuid.uuid4(),
        "issued_at": 0,
        "public_id": "nonexistent",
    }
    plans = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")  # what prepared statements settle on
        cursor.execute("SELECT set_config(%s, %s, true)", [ORG_SETTING, str(org.id)])
        for name, statement in (
            ("principal (every Bearer request), generic plan", _PRINCIPAL),
            ("membership list (`me/`, `orgs/`, sign-in; own rows), generic plan", _MEMBERSHIPS),
            ("refresh rotation, generic plan", _ROTATE),
        ):
            alias = f"scale_{statement.name}"
            cursor.execute(statement.prepare_sql.replace(statement.name, alias, 1))
            cursor.execute(f"EXPLAIN {statement.execute_sql.replace(statement.name, alias, 1)}", params)
            plans.append((name, "\n".join(row[0] for row in cursor.fetchall())))
        cursor.execute(f"EXPLAIN {_LOOKUP_SQL}", params)
        plans.append(("API-key lookup", "\n".join(row[0] for row in cursor.fetchall())))
        with CaptureQueriesContext(connection) as captured:
            organization_members(org=org, limit=100, offset=0)
            User.objects.get(email=owner.email)
        for name, query in zip(
            ("members page with its total (`org/members/`)", "sign-in: the user by email"),
            captured.captured_queries,
            strict=True,
        ):
            cursor.execute(f"EXPLAIN {query['sql']}")
            plans.append((name, "\n".join(row[0] for row in cursor.fetchall())))
    return [(name, plan, "Seq Scan" not in plan) for name, plan in plans]


def table_counts(database_url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(database_url) as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 (fixed names)
            for table in (
                "tenants_organization",
                "accounts_user",
                "tenants_membership",
                "accounts_session",
                "apikeys_apikey",
            )
        }


def report(args, environment, small, large, seconds, counts, plans) -> tuple[str, bool]:
    lines = [
        "# authsvc scale check",
        "",
        f"`.venv/bin/python bench/scale.py` — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"gunicorn `bench.wsgi`, {args.workers} sync workers, wrk {args.connections} connections, "
        f"{args.duration} s per measurement after a {args.warmup} s warm-up, median of {args.rounds} rounds "
        "per phase. *small*: the freshly migrated database with the benchmark's few users; *large*: after "
        f"loading {args.orgs:,} orgs (an owner each) and {args.sessions:,} sessions ({seconds:.0f} s), "
        "same server.",
        "",
        f"Machine: {environment}.",
        "",
        "Rows after the load: " + ", ".join(f"`{table}` {count:,}" for table, count in counts.items()) + ".",
        "",
        "| Endpoint | small req/s | large req/s | large ÷ small | within 10 % |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    all_pass = True
    for target in ("simplejwt", "me", "refresh", "members"):
        before, after = statistics.median(small[target]), statistics.median(large[target])
        ratio = after / before
        control = target == "simplejwt"
        ok = ratio >= 1 - WITHIN
        all_pass &= ok or control
        verdict = "(control)" if control else ("PASS" if ok else "MISS")
        runs = " / ".join(f"{rate:.0f}" for rate in large[target])
        lines.append(f"| {target} | {before:.0f} | {after:.0f} ({runs}) | {ratio:.2f} | {verdict} |")
    lines += ["", "## Plans of the hot statements (generic plans, as the runtime role under RLS)", ""]
    for name, plan, indexed in plans:
        all_pass &= indexed
        lines += [
            f"**{name}**: {'every table through an index' if indexed else 'SEQUENTIAL SCAN'}",
            "",
            "```",
            plan,
            "```",
            "",
        ]
    return "\n".join(lines), all_pass


def main() -> int:
    args = parse_args()
    wrk = shutil.which("wrk")
    database_url = os.environ.get("DATABASE_URL", "").strip() or SCALE_DATABASE_URL
    prepare_database(database_url, recreate=database_url == SCALE_DATABASE_URL)
    env = bench_env(database_url)
    migrate(env)
    django_setup(env)
    with tempfile.TemporaryDirectory(prefix="authsvc-scale-") as tmp:
        workdir = Path(tmp)
        with gunicorn(env, workers=args.workers, log_path=workdir / "gunicorn.log") as port:
            seed = Seed.register(Api(port), count=4)
            seed.members_org = add_members(seed.emails[0], MEMBERS)
            load = load_generator(wrk, port, args.connections, workdir)
            print("small ...", flush=True)
            small = measure_phase(args, load, seed)
            print(f"loading {args.orgs} orgs and {args.sessions} sessions ...", flush=True)
            seconds = bulk_load(database_url, args)
            print(f"loaded in {seconds:.0f} s; large ...", flush=True)
            large = measure_phase(args, load, seed)
    plans = explain_hot_statements(seed)
    text, all_pass = report(
        args, describe(wrk, database_url), small, large, seconds, table_counts(database_url), plans
    )
    args.output.write_text(text)
    print("\n" + text)
    print(f"written to {args.output}")
    return 0 if all_pass else 1


if __name__ == "__main__":
    _reexec_in_venv()
    sys.exit(main())
