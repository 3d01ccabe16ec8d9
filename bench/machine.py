"""The machine the benchmark runs on: how busy other processes keep it, and what it is (for the report)."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
import time
from pathlib import Path

# Above this share of the cores busy with other processes (server idle), a measurement is not trusted:
# ``settle`` waits for less before measuring, and the report warns when it did not get it.
BUSY_THRESHOLD = 0.15


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


def settle(max_seconds: float, threshold: float = BUSY_THRESHOLD) -> float | None:
    """Wait (bounded) until other processes leave the cores idle; return the last busy share seen.

    The server is idle when this runs, so what is busy is someone else: their CPU is stolen from the
    measurement that follows.
    """
    deadline = time.monotonic() + max_seconds
    busy = cpu_busy(0.5)
    while busy is not None and busy > threshold and time.monotonic() < deadline:
        busy = cpu_busy(1.0)
    return busy


def describe(wrk: str | None, database_url: str) -> str:
    """Cores, CPU model and the versions that shape the figures, so a report says what produced it."""
    from importlib.metadata import version

    import psycopg  # the venv's; run.py may start under another Python and re-exec itself

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
        with psycopg.connect(database_url, connect_timeout=10) as conn:
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
