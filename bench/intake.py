"""One event per request: gridcase's CloudEvents intake against a bare Flask app on the same stack, under wrk.

Run from the repository root (needs ``wrk``: ``apt-get install -y wrk``)::

    .venv/bin/python bench/intake.py [--duration 20] [--connections 16]

What it does, all on 127.0.0.1:

1. Prepares the benchmark database (the name must contain ``bench``; its ``public`` schema is
   dropped and re-created, migrated, the demo org loaded) and a table ``bench_bare_events``.
2. Measures, in turn, the bare baseline, gridcase's intake, and the bare baseline again (the
   baseline is the mean of the two runs; their spread shows how noisy the shared machine was).
   Each is served by gunicorn with the Procfile's settings (2 workers of 4 threads) and loaded
   by ``wrk`` (C, event-driven: little CPU per request, so the figure is the server's and not
   the client's) for a warm-up and then ``--duration`` seconds. A Lua script gives every
   request a unique CloudEvent ``id``, so every request is a new event (no idempotent replay).

   - ``bare``: ``bench/bare_intake.py``, a minimal Flask app that parses the same body and
     does one INSERT and commit into the same database: the floor of this HTTP stack.
   - ``intake``: ``POST /api/v1/events`` of ``web.wsgi:app``, structured mode, as a grid
     leader's form or a hotline would send it: validation, the case, its parties, the first
     step and the inbox row in one statement, the task published to Redis. No worker runs,
     so this is intake alone (the kick flag stays set, as it does under a sustained load
     while a worker drains).
3. Checks that every request answered 2xx with no socket error, and that the database holds
   a stored event for every completed request; prints the details, and last
   ``intake_per_s=… bare_per_s=… intake_vs_bare=… intake_p50_ms=… intake_p95_ms=…
   intake_p99_ms=… bare_p50_ms=… bare_p95_ms=… bare_p99_ms=… bare_spread=…``.

Every process it starts is stopped on the way out, also on an error or Ctrl-C.
Exit codes: 0 figures printed, 1 the benchmark failed, 2 wrk is missing.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import Engine, text

from workflow.base.db import make_engine

# Run as a script, this file's folder heads sys.path, not the repository root that holds ``bench``.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import (  # noqa: E402
    BenchError,
    Processes,
    check_local,
    child_env,
    ensure_database,
    flush_broker,
    free_port,
    log,
    reset_database,
    scalar_int,
    sigterm_as_interrupt,
    start_web,
    wait_until,
)

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/gridcase_bench"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/14"
SOURCE = "/bench/wrk"

# Every request a new event: thread number and a per-thread counter make the id unique.
LUA = r"""
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
function init(args)
  run = args[1]
  n = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/cloudevents+json"
end
function request()
  n = n + 1
  local body = string.format('{"specversion":"1.0","id":"%s-%d-%d","source":"SOURCE",'
    .. '"type":"org.gridcase.case.submitted","data":{"category":"NOI","description":"楼上夜间噪音 %d",'
    .. '"grid":"XY-01-A-1","reporter":{"name":"王小明","phone":"13812345678"}}}', run, tid, n, n)
  return wrk.format(nil, nil, nil, body)
end
function done(summary, latency, requests)
  io.write(string.format("WRK requests=%d duration_us=%d non2xx=%d connect=%d read=%d write=%d timeout=%d "
    .. "p50_us=%d p95_us=%d p99_us=%d\n", summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
""".replace("SOURCE", SOURCE)


@dataclass(frozen=True)
class Load:
    """What one measured wrk run saw."""

    target: str
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @property
    def per_s(self) -> float:
        """Requests answered per second."""
        return self.requests / self.seconds


def run_wrk(args: argparse.Namespace, wrk: str, script: Path, url: str, run: str, seconds: float,
            target: str) -> Load:
    """Run wrk against ``url`` for ``seconds`` and return its figures; fail on any error or non-2xx answer."""
    cmd = [wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds:g}s", "--timeout=30s", "-s", str(script),
           url, "--", run]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=False,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"wrk for {target} did not finish within {seconds + 60:.0f} s") from exc
    line = re.search(r"^WRK (.*)$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or line is None:
        raise BenchError(f"wrk for {target} exited with {done.returncode}:\n{done.stdout}\n{done.stderr}")
    f = {k: int(v) for k, v in (kv.split("=") for kv in line.group(1).split())}
    errors = {k: f[k] for k in ("non2xx", "connect", "read", "write", "timeout") if f[k]}
    if errors:
        raise BenchError(f"wrk for {target} saw errors: {errors}")
    return Load(target, f["requests"], f["duration_us"] / 1e6, f["p50_us"] / 1000, f["p95_us"] / 1000,
                f["p99_us"] / 1000)


def start_bare(procs: Processes, args: argparse.Namespace) -> str:
    """Start the bare app under gunicorn with the Procfile's settings; return its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    procs.start("bare", [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers",
                         str(args.web_workers), "--threads", str(args.web_threads), "--log-level", "warning",
                         "bench.bare_intake:app"])

    def answers() -> bool:
        procs.check_alive()
        try:
            return httpx.post(f"{base}/api/v1/events", content=b"{}", timeout=2.0, trust_env=False).status_code == 400
        except httpx.HTTPError:
            return False

    wait_until("the bare app to answer", answers, 60.0)
    return base


def measure(args: argparse.Namespace, wrk: str, script: Path, procs: Processes, engine: Engine, target: str) -> Load:
    """Start ``target``'s server, warm it up, load it, check every answered request left a row, stop it."""
    base = start_bare(procs, args) if target == "bare" else start_web(procs, args.web_workers, args.web_threads)
    try:
        url = f"{base}/api/v1/events"
        if args.warmup > 0:
            run_wrk(args, wrk, script, url, f"warm-{uuid.uuid4().hex[:8]}", args.warmup, target)
        run = f"{target}-{uuid.uuid4().hex[:8]}"
        load = run_wrk(args, wrk, script, url, run, args.duration, target)
    finally:
        procs.stop()
    stored = scalar_int(engine, "SELECT count(*) FROM bench_bare_events WHERE event_id LIKE :p", p=f"{run}-%") \
        if target == "bare" else \
        scalar_int(engine, "SELECT count(*) FROM inbox WHERE source = :s AND event_id LIKE :p", s=SOURCE, p=f"{run}-%")
    if stored < load.requests:
        raise BenchError(f"{target}: wrk counted {load.requests} answers but {stored} events are stored")
    log(f"  {target}: {load.per_s:.1f} events/s ({load.requests} in {load.seconds:.1f} s), "
        f"p50 {load.p50_ms:.1f} ms, p95 {load.p95_ms:.1f} ms, p99 {load.p99_ms:.1f} ms")
    return load


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of each measured wrk run")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of wrk before each measured run")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (all open at once)")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes (as the Procfile)")
    parser.add_argument("--web-threads", type=int, default=4, help="threads per gunicorn worker (as the Procfile)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
                        help="PostgreSQL benchmark database (wiped: its name must contain 'bench')")
    parser.add_argument("--broker-url", default=DEFAULT_BROKER_URL, help="Redis database intake publishes to")
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.warmup < 0 or args.threads < 1 or args.connections < args.threads:
        parser.error("--duration above 0, --warmup not negative, --connections at least --threads")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Measure bare, intake, bare; print the figures last."""
    args = parse_args(argv)
    wrk = shutil.which("wrk")
    if wrk is None:
        print("wrk is not installed: install it with 'apt-get install -y wrk' and run again", file=sys.stderr)
        return 2
    check_local(args.database_url, "--database-url")
    check_local(args.broker_url, "--broker-url")
    home = Path(tempfile.mkdtemp(prefix="gridcase-bench-intake-"))
    # The web processes read these; intake is measured, not the limit on it.
    os.environ.update(DATABASE_URL=args.database_url, BROKER_URL=args.broker_url, GRIDCASE_HOME=str(home))
    procs = Processes(env=child_env(), log_dir=home)
    script = home / "intake.lua"
    script.write_text(LUA, encoding="utf-8")
    try:
        with sigterm_as_interrupt():
            ensure_database(args.database_url, "--database-url")
            reset_database(args.database_url)
            flush_broker(args.broker_url, "--broker-url redis://…")
            engine = make_engine(args.database_url)
            with engine.begin() as conn:
                conn.execute(text("CREATE TABLE bench_bare_events (id bigserial PRIMARY KEY, source text NOT NULL, "
                                  "event_id text NOT NULL, data jsonb, UNIQUE (source, event_id))"))
            log(f"gridcase intake vs bare: wrk -t{args.threads} -c{args.connections}, {args.duration:g} s each")
            first = measure(args, wrk, script, procs, engine, "bare")
            intake = measure(args, wrk, script, procs, engine, "intake")
            last = measure(args, wrk, script, procs, engine, "bare")
            engine.dispose()
    except BenchError as exc:
        log(f"benchmark failed: {exc}")
        return 1
    finally:
        procs.stop()
        flush_broker(args.broker_url, "--broker-url redis://…")
        shutil.rmtree(home, ignore_errors=True)
    bare = (first.per_s + last.per_s) / 2
    spread = abs(first.per_s - last.per_s) / bare
    print(f"intake_per_s={intake.per_s:.1f} bare_per_s={bare:.1f} intake_vs_bare={intake.per_s / bare:.2f} "
          f"intake_p50_ms={intake.p50_ms:.1f} intake_p95_ms={intake.p95_ms:.1f} intake_p99_ms={intake.p99_ms:.1f} "
          f"bare_p50_ms={(first.p50_ms + last.p50_ms) / 2:.1f} bare_p95_ms={(first.p95_ms + last.p95_ms) / 2:.1f} "
          f"bare_p99_ms={(first.p99_ms + last.p99_ms) / 2:.1f} bare_spread={spread:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
