"""Postgres restarts under load: requests in the gap get 503, never 500 nor a hang, and the same gunicorn
workers serve again once it is back, without an app restart.

A private Postgres (pgserver's binaries, in a temporary folder: never the machine's shared server) is
migrated and served by gunicorn as in production; four clients call ``GET me/`` while the server is
stopped (fast shutdown: every connection is ended, as a restart or failover does), kept down a moment,
and started again.
"""

from __future__ import annotations

import http.client
import threading
import time

from bench.client import Api
from bench.seed import migrate
from bench.server import gunicorn, restart_private_postgres
from tests.servers import REQUEST_TIMEOUT, SIGNUP, gunicorn_workers, served_env

DOWN_SECONDS = 2.0
CLIENTS = 4


def test_a_postgres_restart_under_load_costs_503s_only_and_the_app_recovers_by_itself(
    private_postgres, tmp_path
):
    env = served_env(private_postgres)
    migrate(env)  # as the owner (the cluster's superuser), as a deployment does

    with gunicorn(env, workers=2, log_path=tmp_path / "gunicorn.log") as port:
        api = Api(port, timeout=REQUEST_TIMEOUT)
        status, body = api.call("POST", "/api/auth/register/", SIGNUP)
        assert status == 201, body
        token = body["access"]
        workers_before = gunicorn_workers()
        assert len(workers_before) == 2

        results: list[tuple[float, int | str]] = []
        stop = threading.Event()

        def client() -> None:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    status, _, headers = api.request("GET", "/api/auth/me/", token=token)
                    retry_after = headers.get("Retry-After")
                    results.append(
                        (
                            started,
                            status if status != 503 or retry_after == "1" else "503 without Retry-After",
                        )
                    )
                except (OSError, http.client.HTTPException) as exc:
                    results.append((started, type(exc).__name__))

        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        down = time.monotonic()
        restart_private_postgres(private_postgres, down_seconds=DOWN_SECONDS)
        up = time.monotonic()
        time.sleep(3.0)
        stop.set()
        for thread in threads:
            thread.join(timeout=REQUEST_TIMEOUT * 2)

        assert gunicorn_workers() == workers_before  # served throughout by the same workers

    statuses = [status for _, status in results]
    assert set(statuses) <= {200, 503}, sorted(set(map(str, statuses)))  # no 500, no hang, no reset
    assert all(status == 200 for started, status in results if started < down - 0.2)
    assert any(status == 503 for started, status in results if down < started < up)
    recovered = min(started for started, status in results if started > up and status == 200)
    assert recovered - up < 1.0  # the first request after the restart is served
    after = [status for started, status in results if started > recovered]
    assert after and all(status == 200 for status in after)
    print(  # the figures, for a run with -s
        f"requests {len(results)}, 200: {statuses.count(200)}, 503: {statuses.count(503)}, "
        f"down {up - down:.2f} s, first 200 {1000 * (recovered - up):.0f} ms after the restart"
    )
