"""Throughput benchmark of authsvc against stock baselines, served by gunicorn on loopback.

    .venv/bin/python bench/run.py            # the one command (see bench/README.md)

Serves the app with gunicorn (2 sync workers, ``bench.wsgi``: DEBUG on, as ``AUTHSVC_BENCH=1`` requires,
with Django's query log off) against Postgres, loads it with ``wrk`` (or, without wrk, a bounded Python
load generator) and compares, in the same run, the service's endpoints with the baseline endpoints of
``bench/views.py``. Every measurement is repeated (default 3 rounds, endpoints interleaved within a
round) and the median is reported. It also times one Argon2id verification in-process (the hash floor)
and counts the database work per request (Django queries and wire-level round trips, from a libpq
protocol trace).

Writes the report to stdout and to ``bench/results.md``. Stops gunicorn in every case.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"

if __package__ in (None, ""):
    # Run as a script, Python put ``bench/`` first on the path; the ``bench`` package (and the project,
    # for Django) live at the repository root.
    sys.path[0] = str(ROOT)

# The bench modules import only the standard library at the top, so this works before _reexec_in_venv.
from bench.client import Api  # noqa: E402
from bench.endpoints import round_targets  # noqa: E402
from bench.hashing import hash_seconds, hasher_parameters, parallel_hash_rate  # noqa: E402
from bench.load import Load, Sample, Target, load_generator  # noqa: E402
from bench.machine import describe, settle  # noqa: E402
from bench.probe import database_work, django_setup  # noqa: E402
from bench.report import Measured, percent, report  # noqa: E402
from bench.seed import DEFAULT_DATABASE_URL, MEMBERS, Seed, add_members, migrate, prepare_database  # noqa: E402
from bench.server import bench_env, gunicorn  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=5, help="seconds per measurement (default 5)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds before each measurement")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the report takes medians (default 3)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections (default 16)")
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


@dataclass
class Rounds:
    """Everything measured against the server: per-target samples and, per round, the hash timings."""

    measured: dict[str, Measured] = field(default_factory=dict)
    hash_times: list[float] = field(default_factory=list)
    parallel_rates: list[float] = field(default_factory=list)


def measure_rounds(args: argparse.Namespace, load: Load, users: Seed) -> Rounds:
    """``args.rounds`` rounds, each running every target once, so slow drift hits all targets alike."""
    rounds = Rounds()
    for round_number in range(1, args.rounds + 1):
        for target in round_targets(users):
            if target.key == "login":
                rounds.hash_times.append(hash_seconds(args.hash_samples))  # server idle: same run, same box
                rounds.parallel_rates.append(parallel_hash_rate(args.hash_samples))
            sample = measure(target, args, load)
            rounds.measured.setdefault(target.key, Measured(target)).samples.append(sample)
            print(
                f"round {round_number}/{args.rounds} {target.key:>13}: {sample.rps:8.1f} req/s "
                f"(ok {sample.ok}, failed {sample.failed}, p50 {sample.p50_ms:.1f} ms, "
                f"background CPU before: {percent(sample.background)})",
                flush=True,
            )
    return rounds


def measure(target: Target, args: argparse.Namespace, load: Load) -> Sample:
    """One measurement: a warm-up, then the measured run, each with unspent tokens of its own.

    Tokens are minted before waiting for a quiet machine, so minting does not count as other load.
    """
    warm_tokens = target.chains(args.chains) if target.chains else None
    tokens = target.chains(args.chains) if target.chains else None
    background = settle(args.settle)
    load.run(target, args.warmup, warm_tokens)
    return dataclasses.replace(load.run(target, args.duration, tokens), background=background)


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

    with tempfile.TemporaryDirectory(prefix="authsvc-bench-") as tmp:
        workdir = Path(tmp)
        with gunicorn(env, workers=args.workers, log_path=workdir / "gunicorn.log") as port:
            users = Seed.register(Api(port), count=4)
            users.members_org = add_members(users.emails[0], MEMBERS)
            load = load_generator(wrk, port, args.connections, workdir)
            print(f"gunicorn on 127.0.0.1:{port}; load generator: {load.name}", flush=True)
            rounds = measure_rounds(args, load, users)

    text, all_pass = report(
        measured=rounds.measured,
        hash_times=rounds.hash_times,
        parallel_rates=rounds.parallel_rates,
        params=params,
        work=work,
        checks=checks,
        args=args,
        load_name=load.name,
        environment=describe(wrk, database_url),
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
