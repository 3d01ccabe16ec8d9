"""Do the "email me a link" endpoints tell a known address from an unknown one by their timing?

    .venv/bin/python -m bench.enumeration [--requests 400] [--database-url postgres://…/authsvc_bench]

For each ``EMAIL_DELIVERY`` mode it serves the app with gunicorn (one sync worker, sign-up off, mail
kept in memory), then sends ``magic-link/request/`` and ``password/forgot/`` one at a time, known and
unknown addresses interleaved (a fresh unknown address each time), and reports each kind's median and
90th-percentile latency and the ratio of the medians. ``queue`` (production) should be ~1.00: the
request queues the same job either way. ``immediate`` (development) mints and mails in the request for
known addresses only. A script, never a timed test; never run two benchmarks at once.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.client import Api
from bench.seed import DEFAULT_DATABASE_URL, migrate, prepare_database
from bench.server import ROOT, bench_env, gunicorn

ENDPOINTS = {"magic-link/request/": 202, "password/forgot/": 200}
KNOWN = 20


def seed_users(env: dict[str, str]) -> list[str]:
    emails = [f"known-{i}@bench.example" for i in range(KNOWN)]
    code = (
        "from accounts.models import User\n"
        f"for e in {emails!r}:\n"
        "    User.objects.filter(email=e).exists() or User.objects.create_user(e, 'bench passphrase 42')\n"
    )
    subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True, timeout=120
    )
    return emails


def measure(api: Api, path: str, status: int, emails: list[str], requests: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {"known": [], "unknown": []}
    for i in range(requests):
        for kind in ("known", "unknown"):
            email = emails[i % len(emails)] if kind == "known" else f"nobody-{time.time_ns()}@bench.example"
            started = time.perf_counter()
            got, body = api.call("POST", f"/api/auth/{path}", {"email": email})
            timings[kind].append((time.perf_counter() - started) * 1000)
            if got != status:
                raise SystemExit(f"{path}: expected {status}, got {got}: {body}")
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--requests", type=int, default=400, help="requests of each kind per endpoint and mode"
    )
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    args = parser.parse_args()

    prepare_database(args.database_url, recreate=False)
    base = bench_env(args.database_url)
    base.update(AUTH_ALLOW_SIGNUP="0", EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
    migrate(base)
    emails = seed_users(base)
    print(f"{args.requests} requests of each kind, interleaved; latency in ms (median / p90)\n")
    print("| mode | endpoint | known | unknown | known ÷ unknown (medians) |")
    print("|---|---|---|---|---|")
    for mode in ("queue", "immediate"):
        env = dict(base, EMAIL_DELIVERY=mode)
        with (
            tempfile.TemporaryDirectory() as tmp,
            gunicorn(env, workers=1, log_path=Path(tmp) / "gunicorn.log") as port,
        ):
            api = Api(port)
            for path, status in ENDPOINTS.items():
                measure(api, path, status, emails, 30)  # warm-up
                timings = measure(api, path, status, emails, args.requests)
                known, unknown = (statistics.median(timings[k]) for k in ("known", "unknown"))
                p90 = {k: statistics.quantiles(timings[k], n=10)[-1] for k in timings}
                print(
                    f"| {mode} | `{path}` | {known:.2f} / {p90['known']:.2f} | {unknown:.2f} / {p90['unknown']:.2f} "
                    f"| {known / unknown:.2f} |"
                )
    # The queued jobs are never run: drop them so a kept database does not grow a backlog.
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         "from django.db import connection\nconnection.cursor().execute('DELETE FROM procrastinate_jobs')"],
        cwd=ROOT, env=base, check=True, timeout=120,
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
