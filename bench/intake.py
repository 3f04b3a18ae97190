"""One event per request: gridcase's CloudEvents intake against a bare Flask app on the same stack, under wrk.

Run from the repository root (needs ``wrk``: ``apt-get install -y wrk``)::

    .venv/bin/python bench/intake.py [--duration 20] [--connections 16]

What it does, all on 127.0.0.1:

1. Prepares the benchmark database (the name must contain ``bench``; its ``public`` schema is
   dropped and re-created, migrated, the demo org loaded) and a table ``bench_bare_events``.
2. Measures the bare baseline and gridcase's intake in turn, ``--rounds`` times (default 3),
   bare first in odd rounds and intake first in even ones, so that a machine getting busier or
   quieter weighs on both alike. Each round gives a ratio; the figures printed are the medians
   over the rounds (``bare_spread`` is the spread of the bare runs, max minus min over their
   median: how noisy the shared machine was). Each is served by gunicorn with the Procfile's settings (2 workers of 4 threads) and loaded
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
   intake_p99_ms=… bare_p50_ms=… bare_p95_ms=… bare_p99_ms=… bare_spread=… rounds=…``.

``--profile FILE`` samples the intake's gunicorn workers with py-spy (``pip install py-spy``;
``--py-spy`` names the binary) during every measured intake run (only the thread holding the GIL: where the CPU goes, not
the waits on the database or Redis, which the requests in flight overlap), writes the stacks to FILE
(collapsed, one ``frame;frame;… count`` line per stack, as flamegraph tools read them) and
prints the functions that take the largest share of the samples.

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
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import median

import httpx
from sqlalchemy import Engine, text

from workflow.base.db import make_engine

# Run as a script, this file's folder heads sys.path, not the repository root that holds ``bench``.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import (  # noqa: E402
    LOG_MARKERS,
    BenchError,
    Processes,
    check_local,
    child_env,
    ensure_database,
    flush_broker,
    free_port,
    log,
    report_logs,
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
  -- Grids to spread the events over (bench/throughput.py passes several); one by default.
  grids = {}
  for i = 2, #args do grids[#grids + 1] = args[i] end
  if #grids == 0 then grids = {"XY-01-A-1"} end
  n = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/cloudevents+json"
end
function request()
  n = n + 1
  local body = string.format('{"specversion":"1.0","id":"%s-%d-%d","source":"SOURCE",'
    .. '"type":"org.gridcase.case.submitted","data":{"category":"NOI","description":"楼上夜间噪音 %d",'
    .. '"grid":"%s","reporter":{"name":"王小明","phone":"13812345678"}}}', run, tid, n, n, grids[1 + n % #grids])
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
            target: str, grids: Sequence[str] = ()) -> Load:
    """Run wrk against ``url`` for ``seconds`` and return its figures; fail on any error or non-2xx answer.

    Event ids start with ``run``; ``grids`` (default: one) are taken in turn.
    """
    cmd = [wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds:g}s", "--timeout=30s", "-s", str(script),
           url, "--", run, *grids]
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


def measure(args: argparse.Namespace, wrk: str, script: Path, procs: Processes, engine: Engine, target: str,
            profile: Path | None = None) -> Load:
    """Start ``target``'s server, warm it up, load it, check every answered request left a row, stop it.

    With ``profile``, py-spy samples the server's workers during the measured run and adds its stacks there.
    """
    base = start_bare(procs, args) if target == "bare" else start_web(procs, args.web_workers, args.web_threads)
    spy: subprocess.Popen[bytes] | None = None
    try:
        url = f"{base}/api/v1/events"
        if args.warmup > 0:
            run_wrk(args, wrk, script, url, f"warm-{uuid.uuid4().hex[:8]}", args.warmup, target)
        run = f"{target}-{uuid.uuid4().hex[:8]}"
        if profile is not None:
            server = procs.running[-1].popen.pid
            raw = profile.with_suffix(f".{run}.txt")
            spy = subprocess.Popen([args.py_spy, "record", "--subprocesses", "--gil", "--format", "raw",
                                    "--rate", "100", "--duration", f"{args.duration:.0f}", "--pid", str(server),
                                    "--output", str(raw)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        load = run_wrk(args, wrk, script, url, run, args.duration, target)
        if spy is not None and profile is not None:
            spy.wait(timeout=60)
            spy = None
            with profile.open("a", encoding="utf-8") as out:
                out.write(raw.read_text(encoding="utf-8"))
            raw.unlink()
    finally:
        if spy is not None:
            spy.kill()
            spy.wait()
        procs.stop()
    stored = scalar_int(engine, "SELECT count(*) FROM bench_bare_events WHERE event_id LIKE :p", p=f"{run}-%") \
        if target == "bare" else \
        scalar_int(engine, "SELECT count(*) FROM inbox WHERE source = :s AND event_id LIKE :p", s=SOURCE, p=f"{run}-%")
    if stored < load.requests:
        raise BenchError(f"{target}: wrk counted {load.requests} answers but {stored} events are stored")
    log(f"  {target}: {load.per_s:.1f} events/s ({load.requests} in {load.seconds:.1f} s), "
        f"p50 {load.p50_ms:.1f} ms, p95 {load.p95_ms:.1f} ms, p99 {load.p99_ms:.1f} ms")
    return load


def summarise_profile(path: Path, top: int = 30) -> None:
    """Print the functions on the most sampled stacks: share of samples anywhere on the stack, and at its top."""
    total = 0
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for line in path.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        # py-spy's frames read "function (file:line)"; the line number would split one function in many.
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        total += n
        for frame in set(frames):
            inclusive[frame] += n
        own[frames[-1]] += n
    if not total:
        log(f"py-spy wrote no samples to {path}")
        return
    log(f"profile: {total} samples in {path}; share of samples with the function on the stack (and at its top)")
    for frame, n in inclusive.most_common(top):
        log(f"  {100 * n / total:5.1f} % ({100 * own[frame] / total:4.1f} %)  {frame}")
    log("at the top of the stack:")
    for frame, n in own.most_common(top // 2):
        log(f"  {100 * n / total:5.1f} %  {frame}")


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
    parser.add_argument("--rounds", type=int, default=3, help="pairs of runs (bare and intake); medians are printed")
    parser.add_argument("--profile", type=Path, help="sample the intake server with py-spy into this file")
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy")),
                        help="the py-spy binary (default: on PATH, else beside this Python)")
    args = parser.parse_args(argv)
    if (args.duration <= 0 or args.warmup < 0 or args.threads < 1 or args.connections < args.threads
            or args.rounds < 1):
        parser.error("--duration above 0, --warmup not negative, --connections at least --threads, --rounds at least 1")
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
            log(f"gridcase intake vs bare: wrk -t{args.threads} -c{args.connections}, {args.duration:g} s each, "
                f"{args.rounds} rounds")
            if args.profile is not None:
                args.profile.write_text("", encoding="utf-8")
            rounds: list[tuple[Load, Load]] = []
            for r in range(args.rounds):
                order = ("bare", "intake") if r % 2 == 0 else ("intake", "bare")
                got = {t: measure(args, wrk, script, procs, engine, t, args.profile if t == "intake" else None)
                       for t in order}
                rounds.append((got["intake"], got["bare"]))
                log(f"  round {r + 1}: intake_vs_bare={got['intake'].per_s / got['bare'].per_s:.2f}")
            engine.dispose()
    except BenchError as exc:
        log(f"benchmark failed: {exc}")
        report_logs(procs.logs, markers=(*LOG_MARKERS, '"status": 4', '"status": 5'))
        return 1
    finally:
        procs.stop()
        flush_broker(args.broker_url, "--broker-url redis://…")
        shutil.rmtree(home, ignore_errors=True)
    if args.profile is not None:
        summarise_profile(args.profile)
    intakes, bares = [i for i, _ in rounds], [b for _, b in rounds]
    bare_rates = [b.per_s for b in bares]
    spread = (max(bare_rates) - min(bare_rates)) / median(bare_rates)

    def med(loads: list[Load], figure: str) -> float:
        return median(float(getattr(load, figure)) for load in loads)

    print(f"intake_per_s={med(intakes, 'per_s'):.1f} bare_per_s={med(bares, 'per_s'):.1f} "
          f"intake_vs_bare={median(i.per_s / b.per_s for i, b in rounds):.2f} "
          f"intake_p50_ms={med(intakes, 'p50_ms'):.1f} intake_p95_ms={med(intakes, 'p95_ms'):.1f} "
          f"intake_p99_ms={med(intakes, 'p99_ms'):.1f} bare_p50_ms={med(bares, 'p50_ms'):.1f} "
          f"bare_p95_ms={med(bares, 'p95_ms'):.1f} bare_p99_ms={med(bares, 'p99_ms'):.1f} "
          f"bare_spread={spread:.2f} rounds={args.rounds}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
