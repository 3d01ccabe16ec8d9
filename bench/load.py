"""Load generation: what one measurement requests (``Target``), what it yields (``Sample``), and the two
generators, ``wrk`` and a bounded Python fallback for machines without it.
"""

from __future__ import annotations

import http.client
import json
import queue
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Target:
    """One endpoint under load: a fixed request, or (``chains``) a refresh rotation."""

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
    """One measurement: 2xx requests per second over the run, latency percentiles and failures."""

    rps: float
    ok: int
    failed: int
    seconds: float
    p50_ms: float
    p99_ms: float
    background: float | None = None  # share of the cores busy just before, with the server idle


class Load(Protocol):
    """A load generator: runs ``target`` for ``seconds`` (spending ``tokens`` for a chain target)."""

    name: str

    def run(self, target: Target, seconds: int, tokens: list[str] | None) -> Sample: ...


def load_generator(wrk: str | None, port: int, connections: int, workdir: Path) -> Load:
    """``wrk`` when there is one (it leaves the cores to the server), else the Python fallback."""
    return WrkLoad(wrk, port, connections, workdir) if wrk else PythonLoad(port, connections)


def _lua_string(value: str) -> str:
    """A Lua long-bracket literal: no escaping to get wrong, and a value that cannot fit is refused."""
    if "]==]" in value or "\n" in value:
        raise ValueError("value does not fit a Lua long string")
    return f"[==[{value}]==]"


# Prints one machine-readable line: requests, duration, the error counts, p50/p99 and how often a chain
# pool ran dry (each such request carried no valid token, so it counts as failed).
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

# Refresh rotation: a FIFO pool of unspent tokens; each request spends the oldest, each 200 response
# puts back the token it carries.
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
    """``wrk`` with a generated Lua script per target; one thread, ``connections`` connections."""

    name = "wrk"

    def __init__(self, executable: str, port: int, connections: int, workdir: Path) -> None:
        self.executable, self.port, self.connections, self.workdir = executable, port, connections, workdir

    def run(self, target: Target, seconds: int, tokens: list[str] | None) -> Sample:
        script = self.workdir / f"{target.key}.lua"
        script.write_text(self._script(target, tokens) + _LUA_DONE)
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

    def _script(self, target: Target, tokens: list[str] | None) -> str:
        """The request part of the Lua script (the token pool goes through a file, one per line)."""
        if target.chains is not None:
            tokens_file = self.workdir / f"{target.key}.tokens"
            tokens_file.write_text("\n".join(tokens or []) + "\n")
            return _LUA_CHAINS % {"tokens": _lua_string(str(tokens_file)), "path": _lua_string(target.path)}
        lines = [f"wrk.method = {_lua_string(target.method)}"]
        lines += [f"wrk.headers[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in target.headers.items()]
        if target.body is not None:
            lines.append(f"wrk.body = {_lua_string(target.body)}")
        return "\n".join(lines) + "\n"


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
