"""Argon2id in-process: one verification's time (the hash floor), all cores at once, and the parameters.

Django must be set up first (``bench.probe.django_setup``): the hasher is the configured one.
"""

from __future__ import annotations

import os
import secrets
import statistics
import time
from typing import Any


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
    """A pool task (module level, so it pickles): ``count`` verifications of one password."""
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


def hasher_parameters() -> dict[str, Any]:
    """The configured hasher's dotted name and the parameters it encodes (variety, m, t, p)."""
    from django.contrib.auth.hashers import get_hasher, make_password

    hasher = get_hasher()
    decoded = hasher.decode(make_password(secrets.token_urlsafe(16)))
    return {"hasher": f"{type(hasher).__module__}.{type(hasher).__qualname__}", **decoded}
