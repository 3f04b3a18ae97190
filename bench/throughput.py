"""End-to-end throughput of gridcase against a no-op Celery task on the same broker.

Run from the repository root::

    .venv/bin/python bench/throughput.py [--events 2000]

What it does, all on 127.0.0.1:

1. Prepares a dedicated benchmark database (created if missing; its ``public`` schema is
   dropped and re-created, so the database name must contain ``bench``), migrates it and
   loads the demo org tree; flushes the broker's Redis database.
2. Starts the web app under gunicorn (2 workers of 4 threads, as the Procfile) and two Celery worker processes
   (prefork, concurrency 1, queues events, deliveries and deadlines), waits until the web
   answers and both workers answer a ping, and warms them up with a few events.
3. Posts N ``org.gridcase.case.submitted`` CloudEvents from a pool of client threads and
   waits until every case has reached ``grid_handling``. The rate is N divided by the time
   from the first case's ``submitted_at`` to the last ``dispatch`` step's ``at`` (both
   read from the database).
4. Stops those processes, starts two worker processes of a no-op Celery app built with the
   same settings (``workers.app.celery_settings``) and flags, publishes N no-op tasks from a
   few threads and measures tasks/s from the first publish to the last completion (each
   task appends its completion time to a Redis list).
5. With ``--split`` (diagnosis), also measures intake alone (web up, no worker) and the
   workers alone draining that backlog.
6. Prints the details, then on its last line
   ``events_per_s=... noop_tasks_per_s=... ratio=...``.

Every process it starts is stopped on the way out, also on an error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import redis
from celery import Celery
from sqlalchemy import Engine, text

from workflow.db import make_engine

# Run as a script, this file's folder heads sys.path, not the repository root that holds ``bench``.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import (
    BenchError,
    Processes,
    celery_worker_args,
    check_bench_database,
    check_local,
    child_env,
    count_rows,
    ensure_database,
    flush_broker,
    free_port,
    log,
    percentile,
    report_logs,
    reset_database,
    scalar_int,
    sigterm_as_interrupt,
    wait_for_workers,
    wait_until,
)

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/gridcase_bench"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/14"
BROKER_EXAMPLE = f"BROKER_URL={DEFAULT_BROKER_URL}"  # shown if BROKER_URL is not a Redis URL
GRIDS = ("XY-01-A-1", "XY-01-A-2", "XY-01-B-3", "XY-01-B-4", "XY-02-A-1", "XY-02-A-2", "XY-02-B-3",
         "XY-02-B-4", "XY-03-A-1", "XY-03-A-2", "XY-03-B-3", "XY-03-B-4")
EVENT_TYPE = "org.gridcase.case.submitted"
CLOUDEVENTS_JSON = "application/cloudevents+json"
NOOP_TASK = "bench.noop"
NOOP_DONE_KEY = "bench:noop:done"
WARMUP = 20


# --------------------------------------------------------------------------------------
# The no-op Celery app. Its workers import this module (``-A bench.throughput:noop_app``),
# so it must stay importable without side effects: the settings are read lazily.
# --------------------------------------------------------------------------------------


def broker_url() -> str:
    """Return ``BROKER_URL``, or the local Redis database the benchmark uses by default."""
    return os.environ.get("BROKER_URL") or DEFAULT_BROKER_URL


def database_url() -> str:
    """Return ``DATABASE_URL``, or the local PostgreSQL benchmark database."""
    return os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL


def _noop_settings() -> dict[str, Any]:
    # Imported here, not at the top: importing workers.app builds gridcase's own app and
    # creates its data folder, which must wait until GRIDCASE_HOME points at a temp dir.
    from workers.app import celery_settings

    return celery_settings(broker_url())


noop_app = Celery("gridcase_bench_noop", set_as_current=False)
noop_app.add_defaults(_noop_settings)

_redis_local = threading.local()


def _task_redis() -> redis.Redis:
    """Return this process's Redis client for the no-op task (made after the prefork fork)."""
    client: redis.Redis | None = getattr(_redis_local, "client", None)
    if client is None:
        client = redis.Redis.from_url(broker_url())
        _redis_local.client = client
    return client


@noop_app.task(name=NOOP_TASK)
def noop() -> None:
    """Do nothing but record the completion time: one Redis round trip."""
    _task_redis().rpush(NOOP_DONE_KEY, repr(time.time()))


# --------------------------------------------------------------------------------------
# Phase 1: events through the HTTP API
# --------------------------------------------------------------------------------------


@dataclass
class EventResult:
    """What the events phase measured."""

    count: int
    first_submit: datetime
    last_submit: datetime
    last_dispatch: datetime
    latencies: list[float]
    client_seconds: float
    notices_sent: int

    @property
    def rate(self) -> float:
        """Events per second from the first intake to the last dispatch."""
        return self.count / (self.last_dispatch - self.first_submit).total_seconds()


def event_body(run: str, index: int) -> dict[str, Any]:
    """Return the CloudEvent for submission ``index`` of run ``run``."""
    return {
        "specversion": "1.0", "id": f"bench-{run}-{index}", "source": "bench", "type": EVENT_TYPE,
        "data": {"category": "NOI", "description": "楼上噪音", "grid": GRIDS[index % len(GRIDS)],
                 "reporter": {"name": "王小明", "phone": "13812345678"}},
    }


def post_events(base: str, run: str, indices: range, clients: int) -> list[str]:
    """Post the events ``indices`` from ``clients`` threads; return the failures (empty if all got 202)."""
    local = threading.local()
    failures: list[str] = []
    lock = threading.Lock()
    opened: list[httpx.Client] = []

    def client() -> httpx.Client:
        http: httpx.Client | None = getattr(local, "client", None)
        if http is None:
            http = httpx.Client(base_url=base, timeout=30.0, trust_env=False)
            local.client = http
            with lock:
                opened.append(http)
        return http

    def post(index: int) -> None:
        try:
            body = json.dumps(event_body(run, index), ensure_ascii=False).encode()
            response = client().post("/api/v1/events", content=body,
                                     headers={"Content-Type": CLOUDEVENTS_JSON})
            ok = response.status_code == 202 and "case_id" in response.json()
            problem = "" if ok else f"event {index}: {response.status_code} {response.text[:300]}"
        except (httpx.HTTPError, ValueError) as exc:
            problem = f"event {index}: {type(exc).__name__}: {exc}"
        if problem:
            with lock:
                failures.append(problem)

    try:
        with ThreadPoolExecutor(max_workers=clients, thread_name_prefix="client") as pool:
            list(pool.map(post, indices))
    finally:
        for http in opened:
            http.close()
    return failures


def wait_for_cases(engine: Engine, procs: Processes, after_id: int, count: int, timeout: float) -> None:
    """Wait until ``count`` cases with an id above ``after_id`` are in ``grid_handling``.

    Raises:
        BenchError: a process died, an event was refused, or the time ran out (with what is left).
    """
    deadline = time.monotonic() + timeout
    last_report = time.monotonic()
    while True:
        procs.check_alive()
        done = scalar_int(engine, "SELECT count(*) FROM cases WHERE id > :after AND state = 'grid_handling'",
                          after=after_id)
        if done >= count:
            return
        now = time.monotonic()
        if now > deadline:
            states = count_rows(engine, "SELECT state, count(*) FROM cases WHERE id > :after GROUP BY state",
                                after=after_id)
            inbox = count_rows(engine, "SELECT status, count(*) FROM inbox WHERE case_id > :after "
                                       "GROUP BY status", after=after_id)
            raise BenchError(f"only {done} of {count} cases reached grid_handling within {timeout:.0f} s; "
                             f"cases by state: {states}; inbox rows by status: {inbox}")
        refused = scalar_int(engine, "SELECT count(*) FROM inbox WHERE case_id > :after "
                                     "AND status = 'refused'", after=after_id)
        if refused:
            with engine.connect() as conn:
                errors = [str(e) for e in conn.execute(text(
                    "SELECT DISTINCT error FROM inbox WHERE case_id > :after AND status = 'refused' LIMIT 5"),
                    {"after": after_id}).scalars()]
            raise BenchError(f"{refused} events were refused: {errors}")
        if now - last_report > 10:
            log(f"  ... {done}/{count} cases in grid_handling")
            last_report = now
        time.sleep(0.2)


def wait_for_outbox(engine: Engine, timeout: float) -> None:
    """Wait until no outbox notice is pending (so a phase starts from a quiet system)."""
    wait_until("the outbox to drain",
               lambda: scalar_int(engine, "SELECT (SELECT count(*) FROM outbox WHERE status = 'pending') + "
                                          "(SELECT count(*) FROM deliveries WHERE status = 'pending')") == 0,
               timeout)


def start_web(args: argparse.Namespace, procs: Processes) -> str:
    """Start gunicorn on a free port, wait until it answers; return its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    procs.start("web", [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers",
                        str(args.web_workers), "--threads", str(args.web_threads), "--log-level", "warning",
                        "web.wsgi:app"])

    def web_answers() -> bool:
        procs.check_alive()
        try:
            return httpx.get(f"{base}/api/v1/units", timeout=2.0, trust_env=False).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until("the web app to answer GET /api/v1/units", web_answers, 60.0)
    return base


def start_gridcase_workers(args: argparse.Namespace, procs: Processes, prefix: str) -> list[str]:
    """Start ``args.workers`` gridcase worker processes; return their node names (not waiting for them)."""
    host = socket.gethostname()
    names = [f"{prefix}{i}@{host}" for i in range(1, args.workers + 1)]
    for name in names:
        procs.start(f"worker-{name.split('@')[0]}", celery_worker_args("workers.app", name))
    return names


def warm_up(args: argparse.Namespace, engine: Engine, procs: Processes, base: str, run: str) -> int:
    """Post a few events and wait until they are dispatched; return the last case id before the run."""
    before = scalar_int(engine, "SELECT coalesce(max(id), 0) FROM cases")
    failures = post_events(base, f"{run}-warmup", range(WARMUP), args.clients)
    if failures:
        raise BenchError("warm-up events failed:\n" + "\n".join(failures[:10]))
    wait_for_cases(engine, procs, before, WARMUP, 60.0)
    wait_for_outbox(engine, 60.0)
    return scalar_int(engine, "SELECT max(id) FROM cases")


def run_events(args: argparse.Namespace, engine: Engine, procs: Processes, run: str) -> EventResult:
    """Start web and gridcase workers, warm up, push ``args.events`` events and measure."""
    names = start_gridcase_workers(args, procs, "w")
    base = start_web(args, procs)
    wait_for_workers(noop_app, procs, names)
    log(f"web on {base}, workers {', '.join(names)} ready; warming up with {WARMUP} events")
    after_id = warm_up(args, engine, procs, base, run)

    log(f"posting {args.events} events from {args.clients} client threads")
    started = time.monotonic()
    failures = post_events(base, run, range(args.events), args.clients)
    client_seconds = time.monotonic() - started
    if failures:
        raise BenchError(f"{len(failures)} events were not accepted:\n" + "\n".join(failures[:10]))
    log(f"  all {args.events} accepted in {client_seconds:.1f} s; waiting for dispatch")
    wait_for_cases(engine, procs, after_id, args.events, args.timeout)

    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT c.submitted_at, e.at FROM cases c JOIN case_events e "
            "ON e.case_id = c.id AND e.kind = 'dispatch' WHERE c.id > :after"), {"after": after_id}).all()
    if len(rows) != args.events:
        raise BenchError(f"expected {args.events} dispatch steps, found {len(rows)}")
    submitted = [r[0] for r in rows]
    dispatched = [r[1] for r in rows]
    # Let the notices of the last dispatches be delivered before the workers stop.
    try:
        wait_for_outbox(engine, 30.0)
    except BenchError as exc:
        log(f"  warning: {exc}")
    notices = scalar_int(engine, "SELECT count(*) FROM deliveries WHERE status = 'sent' AND case_id > :after",
                         after=after_id)
    return EventResult(
        count=args.events, first_submit=min(submitted), last_submit=max(submitted),
        last_dispatch=max(dispatched),
        latencies=[(d - s).total_seconds() for s, d in zip(submitted, dispatched, strict=True)],
        client_seconds=client_seconds, notices_sent=notices,
    )


def run_split(args: argparse.Namespace, engine: Engine, procs: Processes, run: str) -> tuple[float, float]:
    """Diagnose: intake alone (no worker running), then the workers draining that backlog.

    Returns:
        The intake rate (first to last ``submitted_at``) and the drain rate (first to last
        ``dispatch``), both per second.
    """
    base = start_web(args, procs)
    # Warm the web app and the workers on a few events first, then stop the workers.
    warm = start_gridcase_workers(args, procs, "s")
    wait_for_workers(noop_app, procs, warm)
    after_id = warm_up(args, engine, procs, base, f"{run}-split")
    procs.stop([p for p in procs.running if p.name.startswith("worker-")])
    log(f"split: posting {args.events} events with no worker running")
    failures = post_events(base, f"{run}-split", range(args.events), args.clients)
    if failures:
        raise BenchError(f"{len(failures)} events were not accepted:\n" + "\n".join(failures[:10]))
    log("split: starting the workers on the backlog")
    names = start_gridcase_workers(args, procs, "d")
    wait_for_cases(engine, procs, after_id, args.events, args.timeout)
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT min(c.submitted_at), max(c.submitted_at), min(e.at), max(e.at) FROM cases c "
            "JOIN case_events e ON e.case_id = c.id AND e.kind = 'dispatch' WHERE c.id > :after"),
            {"after": after_id}).one()
    intake_s = (row[1] - row[0]).total_seconds()
    drain_s = (row[3] - row[2]).total_seconds()
    log(f"split: intake alone {intake_s:.2f} s, drain by {len(names)} workers {drain_s:.2f} s")
    return args.events / intake_s, args.events / drain_s


# --------------------------------------------------------------------------------------
# Phase 2: no-op tasks
# --------------------------------------------------------------------------------------


@dataclass
class NoopResult:
    """What the no-op phase measured."""

    count: int
    first_publish: float
    last_publish: float
    last_done: float

    @property
    def rate(self) -> float:
        """Tasks per second from the first publish to the last completion."""
        return self.count / (self.last_done - self.first_publish)


def publish_noops(count: int, publishers: int) -> tuple[float, float]:
    """Publish ``count`` no-op tasks from ``publishers`` threads; return the first and last publish time."""
    def publish(chunk: range) -> None:
        for _ in chunk:
            noop_app.send_task(NOOP_TASK)

    step = -(-count // publishers)
    chunks = [range(i, min(count, i + step)) for i in range(0, count, step)]
    first = time.time()
    with ThreadPoolExecutor(max_workers=publishers, thread_name_prefix="publish") as pool:
        list(pool.map(publish, chunks))
    return first, time.time()


def run_noop(args: argparse.Namespace, procs: Processes) -> NoopResult:
    """Start the no-op workers, warm up, publish ``args.events`` tasks and measure."""
    client = redis.Redis.from_url(broker_url(), socket_timeout=5)
    try:
        host = socket.gethostname()
        names = [f"noop{i}@{host}" for i in range(1, args.workers + 1)]
        for name in names:
            procs.start(f"worker-{name.split('@')[0]}", celery_worker_args("bench.throughput:noop_app", name))
        wait_for_workers(noop_app, procs, names)
        log(f"no-op workers {', '.join(names)} ready; warming up with {WARMUP} tasks")
        publish_noops(WARMUP, args.publishers)
        wait_until("the warm-up no-op tasks", lambda: client.llen(NOOP_DONE_KEY) >= WARMUP, 60.0)
        client.delete(NOOP_DONE_KEY)

        log(f"publishing {args.events} no-op tasks from {args.publishers} threads")
        first, last = publish_noops(args.events, args.publishers)
        deadline = time.monotonic() + args.timeout
        while (done := client.llen(NOOP_DONE_KEY)) < args.events:
            procs.check_alive()
            if time.monotonic() > deadline:
                raise BenchError(f"only {done} of {args.events} no-op tasks ran within {args.timeout:.0f} s")
            time.sleep(0.1)
        times = [float(t) for t in client.lrange(NOOP_DONE_KEY, 0, -1)]
    finally:
        client.close()
    return NoopResult(count=len(times), first_publish=first, last_publish=last, last_done=max(times))


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=2000, help="events (and no-op tasks) to push")
    parser.add_argument("--clients", type=int, default=8, help="HTTP client threads")
    parser.add_argument("--publishers", type=int, default=4, help="threads publishing no-op tasks")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes in each phase")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--web-threads", type=int, default=4,
                        help="threads per gunicorn worker (as in the Procfile): requests overlap their waits")
    parser.add_argument("--timeout", type=float, default=180.0,
                        help="seconds to wait for the last case or task of a phase")
    parser.add_argument("--split", action="store_true",
                        help="also measure intake alone and the workers draining a backlog (diagnosis)")
    parser.add_argument("--keep-logs", action="store_true", help="keep the process logs and data folder")
    args = parser.parse_args(argv)
    if args.events < 1 or args.clients < 1 or args.publishers < 1 or args.workers < 1:
        parser.error("--events, --clients, --publishers and --workers must be at least 1")
    return args


def print_summary(events: EventResult, noops: NoopResult) -> None:
    """Print the details of both phases (not the final line)."""
    lat = events.latencies
    intake_s = (events.last_submit - events.first_submit).total_seconds()
    span_s = (events.last_dispatch - events.first_submit).total_seconds()
    tail_s = (events.last_dispatch - events.last_submit).total_seconds()
    intake_rate = events.count / intake_s if intake_s > 0 else float("inf")
    log(f"events: {events.count} in {span_s:.2f} s from first intake to last dispatch")
    log(f"  intake: {intake_s:.2f} s from first to last submitted_at ({intake_rate:.1f}/s); "
        f"client posting took {events.client_seconds:.2f} s")
    log(f"  last dispatch {tail_s:.2f} s after the last intake; notices delivered: {events.notices_sent}")
    log(f"  latency submitted_at -> dispatch: median {statistics.median(lat) * 1000:.0f} ms, "
        f"p95 {percentile(lat, 95) * 1000:.0f} ms, p99 {percentile(lat, 99) * 1000:.0f} ms, "
        f"max {max(lat) * 1000:.0f} ms")
    noop_span = noops.last_done - noops.first_publish
    log(f"no-op tasks: {noops.count} in {noop_span:.2f} s from first publish to last completion "
        f"(publishing took {noops.last_publish - noops.first_publish:.2f} s)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run both phases and print the figures; return the exit code."""
    args = parse_args(argv)
    db_url, mq_url = database_url(), broker_url()
    check_local(db_url, "DATABASE_URL")
    check_local(mq_url, "BROKER_URL")
    home = Path(tempfile.mkdtemp(prefix="gridcase-bench-"))
    os.environ.update(DATABASE_URL=db_url, BROKER_URL=mq_url, GRIDCASE_HOME=str(home))
    procs = Processes(env=child_env(), log_dir=home)
    run = uuid.uuid4().hex[:8]
    ok = False
    engine: Engine | None = None
    log(f"gridcase throughput: {args.events} events, run {run}, logs in {home}")
    try:
        with sigterm_as_interrupt():
            ensure_database(db_url, "DATABASE_URL")
            check_bench_database(db_url, action="wipe", example="DATABASE_URL=postgresql+psycopg://...")
            reset_database(db_url)
            flush_broker(mq_url, BROKER_EXAMPLE)
            engine = make_engine(db_url)

            events = run_events(args, engine, procs, run)
            procs.stop()
            flush_broker(mq_url, BROKER_EXAMPLE)
            noops = run_noop(args, procs)
            procs.stop()
            split = run_split(args, engine, procs, run) if args.split else None
            procs.stop()

            print_summary(events, noops)
            if split is not None:
                log(f"split: intake alone {split[0]:.1f} events/s; backlog drained at {split[1]:.1f} events/s "
                    f"(ratio to no-op {split[1] / noops.rate:.2f})")
            report_logs(sorted(procs.log_dir.glob("*.log")))
            if args.keep_logs:
                log(f"logs kept in {home}")
            ratio = events.rate / noops.rate
            log(f"events_per_s={events.rate:.2f} noop_tasks_per_s={noops.rate:.2f} ratio={ratio:.2f}")
            ok = True
            return 0
    except BenchError as exc:
        log(f"benchmark failed: {exc}")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        procs.stop()
        if engine is not None:
            engine.dispose()
        if not ok:
            report_logs(sorted(procs.log_dir.glob("*.log")))
        if ok and not args.keep_logs:
            shutil.rmtree(home, ignore_errors=True)
        elif not ok:
            log(f"logs kept in {home}")


if __name__ == "__main__":
    sys.exit(main())
