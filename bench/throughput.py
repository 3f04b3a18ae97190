"""End-to-end throughput of gridcase against a no-op Celery task, and latency at half the peak rate.

Run from the repository root::

    .venv/bin/python bench/throughput.py [--events 4000] [--workers 1,2,4] [--batch 50]
    .venv/bin/python bench/throughput.py --load wrk [--wrk-seconds 15]

What it does, all on 127.0.0.1:

1. Prepares a dedicated benchmark database (created if missing; its ``public`` schema is
   dropped and re-created, so the database name must contain ``bench``), migrates it and
   loads the demo org tree; flushes the broker's Redis database.
2. For each worker count W of ``--workers`` (default 2), in turn:

   a. Starts the web app under gunicorn (2 workers of 4 threads, as the Procfile) and W
      Celery worker processes (prefork, concurrency 1, queues events, deliveries and
      deadlines), waits until the web answers and the workers answer a ping, and warms
      them up with a few events.
   b. Peak: posts N ``org.gridcase.case.submitted`` CloudEvents from a pool of client
      threads, ``--batch`` events per request (1: one structured event per request; more:
      the batched mode, ``application/cloudevents-batch+json``), and waits until every case
      has reached ``grid_handling``. The rate is N divided by the time from the first
      case's ``submitted_at`` to the last ``dispatch`` step's ``at`` (both read from the
      database).
   c. Latency: posts events at half that rate for ``--latency-seconds``, open loop: request
      k is due at start + k x (batch / half rate), whenever the one before it answered,
      sent by whichever of ``--latency-clients`` threads is free, so a slow answer delays
      nothing but itself. Each event's latency runs from its request's due time (not the
      moment a thread got round to it: a client falling behind is counted, not hidden)
      to its case's ``dispatch`` step (``at``, read from the database): intake, the
      broker, the worker's linger and its transaction. With ``--batch`` above 1 every
      event of a request shares that request's due time: the time a real client spends
      gathering a batch is its own and not counted.
   d. Stops those processes, starts W worker processes of a no-op Celery app built with
      the same settings (``workers.app.celery_settings``) and flags, publishes N no-op
      tasks from a few threads and measures tasks/s from the first publish to the last
      completion (each task appends its completion time to a Redis list).

   The baseline is measured again for each W, with W worker processes: the ratio compares
   like with like (W processes doing gridcase's work against W doing nothing but a Redis
   round trip), and on this 2-core machine more processes than cores change both figures.
3. With ``--split`` (diagnosis), also measures, with the last worker count, intake alone
   (web up, no worker) and the workers alone draining that backlog.
4. Prints the details, one line per worker count
   ``workers=W batch=B events_per_s=... noop_tasks_per_s=... ratio=... with_notices_per_s=...
   ratio_with_notices=... half_rate=...
   latency_p50_ms=... latency_p95_ms=... latency_p99_ms=...``, and last the headline: the
   line of 2 workers (the deployment's default; else the last count) and, when several
   counts ran, ``min_ratio`` and ``max_latency_p99_ms`` over all of them.

``--load wrk`` (one event per request only) posts the peak with ``wrk`` for ``--wrk-seconds``
instead of Python threads, with ``bench/intake.py``'s Lua script (every request a new event
id, the events spread over the same grids): on two cores shared by client and server the
threads' own CPU held the rate down, and wrk's costs a fraction of it, so the figure is the
server's. The events counted are those stored; the latency phase is paced by threads as before.

``ratio`` ends at the last dispatch, as the engine's promise is measured (a case reaches
its grid); under a backlog the workers dispatch first and deliver the notices after, so
``ratio_with_notices`` ends when the last of those cases' notices was delivered too: the
rate a sustained load can keep up.

Every process it starts is stopped on the way out, also on an error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import itertools
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
from typing import Any, cast

import httpx
import redis
from celery import Celery
from sqlalchemy import Engine, text

from workflow.base.db import make_engine
from workflow.cases.intake import MAX_BATCH_EVENTS

# Run as a script, this file's folder heads sys.path, not the repository root that holds ``bench``.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.intake import LUA as INTAKE_LUA  # noqa: E402
from bench.intake import SOURCE as WRK_SOURCE
from bench.intake import run_wrk
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
    log,
    percentile,
    report_logs,
    reset_database,
    scalar_int,
    sigterm_as_interrupt,
    wait_for_workers,
    wait_until,
)
from bench.support import (
    start_web as support_start_web,
)

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/gridcase_bench"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/14"
BROKER_EXAMPLE = f"BROKER_URL={DEFAULT_BROKER_URL}"  # shown if BROKER_URL is not a Redis URL
GRIDS = ("XY-01-A-1", "XY-01-A-2", "XY-01-B-3", "XY-01-B-4", "XY-02-A-1", "XY-02-A-2", "XY-02-B-3",
         "XY-02-B-4", "XY-03-A-1", "XY-03-A-2", "XY-03-B-3", "XY-03-B-4")
EVENT_TYPE = "org.gridcase.case.submitted"
CLOUDEVENTS_JSON = "application/cloudevents+json"
CLOUDEVENTS_BATCH = "application/cloudevents-batch+json"
NOOP_TASK = "bench.noop"
NOOP_DONE_KEY = "bench:noop:done"
WARMUP = 20
HEADLINE_WORKERS = 2  # the deployment's default (Procfile, gridcase up): the final line reports it


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
    last_notice: datetime | None  # the last of these cases' notices delivered

    @property
    def rate(self) -> float:
        """Events per second from the first intake to the last dispatch."""
        return self.count / (self.last_dispatch - self.first_submit).total_seconds()

    @property
    def rate_with_notices(self) -> float:
        """Events per second from the first intake until the last of their notices was delivered too.

        Under a backlog the workers dispatch first and deliver after, so ``rate`` leaves out
        notice work that trails the last dispatch; this rate counts all of it, which is what a
        sustained load has to pay.
        """
        end = max(self.last_dispatch, self.last_notice or self.last_dispatch)
        return self.count / (end - self.first_submit).total_seconds()


def event_body(run: str, index: int) -> dict[str, Any]:
    """Return the CloudEvent for submission ``index`` of run ``run``."""
    return {
        "specversion": "1.0", "id": f"bench-{run}-{index}", "source": "bench", "type": EVENT_TYPE,
        "data": {"category": "NOI", "description": "楼上噪音", "grid": GRIDS[index % len(GRIDS)],
                 "reporter": {"name": "王小明", "phone": "13812345678"}},
    }


def requests_of(indices: range, batch: int) -> list[range]:
    """Split ``indices`` into the requests that carry them: ``batch`` events each (the last may hold fewer)."""
    return [indices[i:i + batch] for i in range(0, len(indices), batch)]


class Poster:
    """Posts events to the web app from many threads, one HTTP client (keep-alive) per thread.

    A request of one event goes as a structured CloudEvent (as before batches existed), one
    of several as a batch; either way the answer is checked, and problems are collected.
    """

    def __init__(self, base: str, run: str, batch: int) -> None:
        """Post to ``base``, events of run ``run``, ``batch`` events per request."""
        self.base, self.run, self.batch = base, run, batch
        self.failures: list[str] = []
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: list[httpx.Client] = []

    def _client(self) -> httpx.Client:
        http: httpx.Client | None = getattr(self._local, "client", None)
        if http is None:
            http = httpx.Client(base_url=self.base, timeout=30.0, trust_env=False)
            self._local.client = http
            with self._lock:
                self._opened.append(http)
        return http

    def post(self, indices: range) -> None:
        """Post the events ``indices`` in one request; record a problem unless each got its case."""
        try:
            if len(indices) == 1 and self.batch == 1:
                body = json.dumps(event_body(self.run, indices[0]), ensure_ascii=False).encode()
                response = self._client().post("/api/v1/events", content=body,
                                               headers={"Content-Type": CLOUDEVENTS_JSON})
                ok = response.status_code == 202 and "case_id" in response.json()
            else:
                body = json.dumps([event_body(self.run, i) for i in indices], ensure_ascii=False).encode()
                response = self._client().post("/api/v1/events", content=body,
                                               headers={"Content-Type": CLOUDEVENTS_BATCH})
                answers = response.json() if response.status_code == 202 else None
                ok = isinstance(answers, list) and len(answers) == len(indices) and all(
                    "case_id" in a for a in answers)
            problem = "" if ok else f"events {indices[0]}..: {response.status_code} {response.text[:300]}"
        except (httpx.HTTPError, ValueError) as exc:
            problem = f"events {indices[0]}..: {type(exc).__name__}: {exc}"
        if problem:
            with self._lock:
                self.failures.append(problem)

    def close(self) -> None:
        """Close every thread's client."""
        for http in self._opened:
            http.close()


def post_events(base: str, run: str, indices: range, clients: int, batch: int = 1) -> list[str]:
    """Post the events ``indices`` from ``clients`` threads, ``batch`` per request; return the failures."""
    poster = Poster(base, run, batch)
    try:
        with ThreadPoolExecutor(max_workers=clients, thread_name_prefix="client") as pool:
            list(pool.map(poster.post, requests_of(indices, batch)))
    finally:
        poster.close()
    return poster.failures


def post_with_wrk(args: argparse.Namespace, engine: Engine, base: str, run: str) -> tuple[int, float]:
    """Load intake with wrk, one event per request, for ``--wrk-seconds``; return the events stored and the seconds.

    wrk's client costs a fraction of the Python threads' CPU, so on a machine whose cores the
    client shares with the server the rate is the server's (issue 18). The requests are those
    of ``bench/intake.py``, spread over the same grids as the threads' events.
    """
    wrk = shutil.which("wrk")
    if wrk is None:
        raise BenchError("--load wrk needs wrk: apt-get install -y wrk")
    script = Path(os.environ["GRIDCASE_HOME"]) / "intake.lua"
    script.write_text(INTAKE_LUA, encoding="utf-8")
    log(f"posting one event per request with wrk -t2 -c{args.wrk_connections} for {args.wrk_seconds:g} s")
    load = run_wrk(argparse.Namespace(threads=2, connections=args.wrk_connections), wrk, script,
                   f"{base}/api/v1/events", run, args.wrk_seconds, "intake", GRIDS)
    # Requests still in flight when wrk stopped may have been stored without being counted: count the rows.
    time.sleep(1.0)
    stored = scalar_int(engine, "SELECT count(*) FROM inbox WHERE source = :s AND event_id LIKE :p",
                        s=WRK_SOURCE, p=f"{run}-%")
    if stored < load.requests:
        raise BenchError(f"wrk counted {load.requests} answers but {stored} events are stored")
    return stored, load.seconds


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
    return support_start_web(procs, args.web_workers, args.web_threads)


def start_gridcase_workers(count: int, procs: Processes, prefix: str) -> list[str]:
    """Start ``count`` gridcase worker processes; return their node names (not waiting for them)."""
    host = socket.gethostname()
    names = [f"{prefix}{i}@{host}" for i in range(1, count + 1)]
    for name in names:
        procs.start(f"worker-{name.split('@')[0]}", celery_worker_args("workers.app", name))
    return names


def warm_up(args: argparse.Namespace, engine: Engine, procs: Processes, base: str, run: str) -> int:
    """Post a few events and wait until they are dispatched; return the last case id before the run."""
    before = scalar_int(engine, "SELECT coalesce(max(id), 0) FROM cases")
    failures = post_events(base, f"{run}-warmup", range(WARMUP), args.clients, min(args.batch, WARMUP // 2))
    if failures:
        raise BenchError("warm-up events failed:\n" + "\n".join(failures[:10]))
    wait_for_cases(engine, procs, before, WARMUP, 60.0)
    wait_for_outbox(engine, 60.0)
    return scalar_int(engine, "SELECT max(id) FROM cases")


def start_stack(args: argparse.Namespace, workers: int, engine: Engine, procs: Processes, run: str) -> str:
    """Start ``workers`` gridcase workers and the web app, warm them up; return the web's base URL."""
    names = start_gridcase_workers(workers, procs, "w")
    base = start_web(args, procs)
    wait_for_workers(noop_app, procs, names)
    log(f"web on {base}, workers {', '.join(names)} ready; warming up with {WARMUP} events")
    warm_up(args, engine, procs, base, run)
    return base


def run_events(args: argparse.Namespace, engine: Engine, procs: Processes, base: str, run: str) -> EventResult:
    """Push ``args.events`` events (``args.batch`` per request) through the running stack and measure."""
    after_id = scalar_int(engine, "SELECT coalesce(max(id), 0) FROM cases")
    if args.load == "wrk":
        count, client_seconds = post_with_wrk(args, engine, base, run)
    else:
        count = args.events
        log(f"posting {count} events from {args.clients} client threads, {args.batch} per request")
        started = time.monotonic()
        failures = post_events(base, run, range(count), args.clients, args.batch)
        client_seconds = time.monotonic() - started
        if failures:
            raise BenchError(f"{len(failures)} requests were not accepted:\n" + "\n".join(failures[:10]))
    log(f"  all {count} accepted in {client_seconds:.1f} s; waiting for dispatch")
    wait_for_cases(engine, procs, after_id, count, args.timeout)

    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT c.submitted_at, e.at FROM cases c JOIN case_events e "
            "ON e.case_id = c.id AND e.kind = 'dispatch' WHERE c.id > :after"), {"after": after_id}).all()
    if len(rows) != count:
        raise BenchError(f"expected {count} dispatch steps, found {len(rows)}")
    submitted = [r[0] for r in rows]
    dispatched = [r[1] for r in rows]
    # Let the notices of the last dispatches be delivered before the next phase.
    try:
        wait_for_outbox(engine, 30.0)
    except BenchError as exc:
        log(f"  warning: {exc}")
    notices = scalar_int(engine, "SELECT count(*) FROM deliveries WHERE status = 'sent' AND case_id > :after",
                         after=after_id)
    with engine.connect() as conn:
        last_notice = conn.execute(text("SELECT max(sent_at) FROM deliveries WHERE status = 'sent' "
                                        "AND case_id > :after"), {"after": after_id}).scalar()
    return EventResult(
        count=count, first_submit=min(submitted), last_submit=max(submitted),
        last_dispatch=max(dispatched),
        latencies=[(d - s).total_seconds() for s, d in zip(submitted, dispatched, strict=True)],
        client_seconds=client_seconds, notices_sent=notices, last_notice=last_notice,
    )


# --------------------------------------------------------------------------------------
# Phase 2: latency at half the peak rate, open loop
# --------------------------------------------------------------------------------------


@dataclass
class LatencyResult:
    """What the latency phase measured (seconds)."""

    rate: float  # the rate asked for (events/s)
    achieved: float  # events / (last due time - first due time)
    latencies: list[float]  # due time of the request -> dispatch
    send_lag: list[float]  # due time -> the moment a thread sent the request (client behind if large)
    intake: list[float]  # due time -> submitted_at (the client, HTTP and intake's transaction)
    handling: list[float]  # submitted_at -> dispatch (broker, linger, the worker's transaction)


def pace(poster: Poster, requests: list[range], interval: float, threads: int) -> tuple[list[float], list[float]]:
    """Send ``requests`` open loop, request k due at start + k x ``interval``; return due and send times (epoch s)."""
    start = time.time() + 0.2
    due = [start + k * interval for k in range(len(requests))]
    sent = [0.0] * len(requests)
    counter = itertools.count()
    lock = threading.Lock()

    def sender() -> None:
        while True:
            with lock:
                k = next(counter)
            if k >= len(requests):
                return
            wait = due[k] - time.time()
            if wait > 0:
                time.sleep(wait)
            sent[k] = time.time()
            poster.post(requests[k])

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="paced") as pool:
        for future in [pool.submit(sender) for _ in range(threads)]:
            future.result()
    return due, sent


def run_latency(args: argparse.Namespace, engine: Engine, procs: Processes, base: str, run: str,
                rate: float) -> LatencyResult:
    """Post events at ``rate`` per second for ``args.latency_seconds``; measure due time -> dispatch."""
    count = max(args.latency_min_events, round(rate * args.latency_seconds))
    count = max(args.batch, count - count % args.batch)  # whole requests only
    requests = requests_of(range(count), args.batch)
    interval = args.batch / rate
    after_id = scalar_int(engine, "SELECT coalesce(max(id), 0) FROM cases")
    log(f"latency: {count} events at {rate:.1f}/s ({len(requests)} requests of {args.batch}, one every "
        f"{interval * 1000:.1f} ms, from {args.latency_clients} threads)")
    poster = Poster(base, run, args.batch)
    try:
        due, sent = pace(poster, requests, interval, args.latency_clients)
    finally:
        poster.close()
    if poster.failures:
        raise BenchError(f"{len(poster.failures)} requests were not accepted:\n" + "\n".join(poster.failures[:10]))
    wait_for_cases(engine, procs, after_id, count, args.timeout)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT i.event_id, c.submitted_at, e.at FROM inbox i JOIN cases c ON c.id = i.case_id "
            "JOIN case_events e ON e.case_id = c.id AND e.kind = 'dispatch' WHERE c.id > :after"),
            {"after": after_id}).all()
    if len(rows) != count:
        raise BenchError(f"expected {count} dispatch steps, found {len(rows)}")
    request_of = {index: k for k, indices in enumerate(requests) for index in indices}
    prefix = f"bench-{run}-"
    latencies, send_lag, intake, handling = [], [], [], []
    for event_id, submitted_at, dispatched_at in rows:
        k = request_of[int(str(event_id).removeprefix(prefix))]
        latencies.append(dispatched_at.timestamp() - due[k])
        send_lag.append(sent[k] - due[k])
        intake.append(submitted_at.timestamp() - due[k])
        handling.append((dispatched_at - submitted_at).total_seconds())
    try:
        wait_for_outbox(engine, 30.0)
    except BenchError as exc:
        log(f"  warning: {exc}")
    achieved = count / (due[-1] - due[0] + interval)
    return LatencyResult(rate, achieved, latencies, send_lag, intake, handling)


def run_split(args: argparse.Namespace, workers: int, engine: Engine, procs: Processes,
              run: str) -> tuple[float, float]:
    """Diagnose: intake alone (no worker running), then the workers draining that backlog.

    Returns:
        The intake rate (first to last ``submitted_at``) and the drain rate (first to last
        ``dispatch``), both per second.
    """
    base = start_web(args, procs)
    # Warm the web app and the workers on a few events first, then stop the workers.
    warm = start_gridcase_workers(workers, procs, "s")
    wait_for_workers(noop_app, procs, warm)
    after_id = warm_up(args, engine, procs, base, f"{run}-split")
    procs.stop([p for p in procs.running if p.name.startswith("worker-")])
    log(f"split: posting {args.events} events with no worker running, {args.batch} per request")
    failures = post_events(base, f"{run}-split", range(args.events), args.clients, args.batch)
    if failures:
        raise BenchError(f"{len(failures)} requests were not accepted:\n" + "\n".join(failures[:10]))
    log("split: starting the workers on the backlog")
    names = start_gridcase_workers(workers, procs, "d")
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
# Phase 3: no-op tasks
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


def run_noop(args: argparse.Namespace, workers: int, procs: Processes) -> NoopResult:
    """Start ``workers`` no-op workers, warm up, publish ``args.events`` tasks and measure."""
    client = redis.Redis.from_url(broker_url(), socket_timeout=5)
    try:
        host = socket.gethostname()
        names = [f"noop{i}@{host}" for i in range(1, workers + 1)]
        for name in names:
            procs.start(f"worker-{name.split('@')[0]}", celery_worker_args("bench.throughput:noop_app", name))
        wait_for_workers(noop_app, procs, names)
        log(f"no-op workers {', '.join(names)} ready; warming up with {WARMUP} tasks")
        client.delete(NOOP_DONE_KEY)
        publish_noops(WARMUP, args.publishers)
        wait_until("the warm-up no-op tasks", lambda: cast(int, client.llen(NOOP_DONE_KEY)) >= WARMUP, 60.0)
        client.delete(NOOP_DONE_KEY)

        log(f"publishing {args.events} no-op tasks from {args.publishers} threads")
        first, last = publish_noops(args.events, args.publishers)
        deadline = time.monotonic() + args.timeout
        # redis-py 6 (what kombu 5.6 allows) types replies as "int | Awaitable[int]".
        while (done := cast(int, client.llen(NOOP_DONE_KEY))) < args.events:
            procs.check_alive()
            if time.monotonic() > deadline:
                raise BenchError(f"only {done} of {args.events} no-op tasks ran within {args.timeout:.0f} s")
            time.sleep(0.1)
        times = [float(t) for t in cast(list[bytes], client.lrange(NOOP_DONE_KEY, 0, -1))]
    finally:
        client.close()
    return NoopResult(count=len(times), first_publish=first, last_publish=last, last_done=max(times))


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def worker_counts(value: str) -> list[int]:
    """Read ``--workers``: one count or several, comma-separated (``1,2,4``)."""
    try:
        counts = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a comma-separated list of worker counts") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("each worker count must be at least 1")
    return counts


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=2000, help="events (and no-op tasks) to push at peak")
    parser.add_argument("--batch", type=int, default=1,
                        help="events per request: 1 posts one structured event each (default), more use "
                             "the batched mode (application/cloudevents-batch+json)")
    parser.add_argument("--clients", type=int, default=8, help="HTTP client threads at peak")
    parser.add_argument("--load", choices=("threads", "wrk"), default="threads",
                        help="what posts at peak: --clients Python threads (--events of them), or wrk for "
                             "--wrk-seconds (one event per request only; costs the shared cores far less)")
    parser.add_argument("--wrk-seconds", type=float, default=15.0, help="seconds of wrk at peak (--load wrk)")
    parser.add_argument("--wrk-connections", type=int, default=16, help="wrk connections at peak (--load wrk)")
    parser.add_argument("--publishers", type=int, default=4, help="threads publishing no-op tasks")
    parser.add_argument("--workers", type=worker_counts, default=[HEADLINE_WORKERS],
                        help="Celery worker processes, or several counts to run in turn: 1,2,4 (default 2)")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--web-threads", type=int, default=4,
                        help="threads per gunicorn worker (as in the Procfile): requests overlap their waits")
    parser.add_argument("--latency-seconds", type=float, default=10.0,
                        help="how long to post at half the peak rate (0: skip the latency phase)")
    parser.add_argument("--latency-min-events", type=int, default=500,
                        help="post at least this many events in the latency phase")
    parser.add_argument("--latency-clients", type=int, default=16,
                        help="threads sending the paced requests (a request waits only for a free thread)")
    parser.add_argument("--timeout", type=float, default=180.0,
                        help="seconds to wait for the last case or task of a phase")
    parser.add_argument("--split", action="store_true",
                        help="also measure intake alone and the workers draining a backlog (diagnosis)")
    parser.add_argument("--keep-logs", action="store_true", help="keep the process logs and data folder")
    args = parser.parse_args(argv)
    if min(args.events, args.clients, args.publishers, args.batch, args.latency_clients) < 1:
        parser.error("--events, --clients, --publishers, --batch and --latency-clients must be at least 1")
    if args.load == "wrk" and (args.batch != 1 or args.wrk_seconds <= 0 or args.wrk_connections < 2):
        parser.error("--load wrk posts one event per request (--batch 1), --wrk-seconds above 0, "
                     "--wrk-connections at least 2")
    if args.batch > MAX_BATCH_EVENTS:
        parser.error(f"--batch may be at most {MAX_BATCH_EVENTS} (the intake's cap)")
    return args


def ms(values: Sequence[float], pct: float) -> float:
    """Return the ``pct`` percentile of ``values`` in milliseconds."""
    return percentile(values, pct) * 1000


@dataclass
class Round:
    """The figures of one worker count."""

    workers: int
    events: EventResult
    noops: NoopResult
    latency: LatencyResult | None

    @property
    def ratio(self) -> float:
        """Events per second over no-op tasks per second."""
        return self.events.rate / self.noops.rate

    def line(self, batch: int) -> str:
        """The ``name=value`` line of this round."""
        figures = (f"workers={self.workers} batch={batch} events_per_s={self.events.rate:.2f} "
                   f"noop_tasks_per_s={self.noops.rate:.2f} ratio={self.ratio:.2f} "
                   f"with_notices_per_s={self.events.rate_with_notices:.2f} "
                   f"ratio_with_notices={self.events.rate_with_notices / self.noops.rate:.2f}")
        if self.latency is not None:
            lat = self.latency.latencies
            figures += (f" half_rate={self.latency.rate:.2f} latency_p50_ms={ms(lat, 50):.0f} "
                        f"latency_p95_ms={ms(lat, 95):.0f} latency_p99_ms={ms(lat, 99):.0f}")
        return figures


def print_summary(r: Round) -> None:
    """Print the details of one worker count's phases (not the figures line)."""
    events, noops = r.events, r.noops
    lat = events.latencies
    intake_s = (events.last_submit - events.first_submit).total_seconds()
    span_s = (events.last_dispatch - events.first_submit).total_seconds()
    tail_s = (events.last_dispatch - events.last_submit).total_seconds()
    intake_rate = events.count / intake_s if intake_s > 0 else float("inf")
    log(f"[{r.workers} worker(s)] events: {events.count} in {span_s:.2f} s from first intake to last dispatch")
    log(f"  intake: {intake_s:.2f} s from first to last submitted_at ({intake_rate:.1f}/s); "
        f"client posting took {events.client_seconds:.2f} s")
    log(f"  last dispatch {tail_s:.2f} s after the last intake; notices delivered: {events.notices_sent}")
    log(f"  at peak, submitted_at -> dispatch: median {statistics.median(lat) * 1000:.0f} ms, "
        f"p95 {ms(lat, 95):.0f} ms, p99 {ms(lat, 99):.0f} ms, max {max(lat) * 1000:.0f} ms")
    if r.latency is not None:
        lr = r.latency
        log(f"  at half rate ({lr.rate:.1f}/s asked, {lr.achieved:.1f}/s sent), {len(lr.latencies)} events:")
        for name, values in (("due -> dispatch", lr.latencies), ("due -> sent", lr.send_lag),
                             ("due -> submitted_at", lr.intake), ("submitted_at -> dispatch", lr.handling)):
            log(f"    {name}: median {ms(values, 50):.0f} ms, p95 {ms(values, 95):.0f} ms, "
                f"p99 {ms(values, 99):.0f} ms, max {max(values) * 1000:.0f} ms")
    noop_span = noops.last_done - noops.first_publish
    log(f"  no-op tasks: {noops.count} in {noop_span:.2f} s from first publish to last completion "
        f"(publishing took {noops.last_publish - noops.first_publish:.2f} s)")


def run_round(args: argparse.Namespace, workers: int, engine: Engine, procs: Processes, run: str) -> Round:
    """Measure one worker count: peak, latency at half of it, then the no-op baseline."""
    mq_url = broker_url()
    flush_broker(mq_url, BROKER_EXAMPLE)
    tag = f"{run}-w{workers}"
    base = start_stack(args, workers, engine, procs, tag)
    events = run_events(args, engine, procs, base, tag)
    log(f"  peak with {workers} worker(s): {events.rate:.1f} events/s")
    latency = None
    if args.latency_seconds > 0:
        latency = run_latency(args, engine, procs, base, f"{tag}-lat", events.rate / 2)
    procs.stop()
    flush_broker(mq_url, BROKER_EXAMPLE)
    noops = run_noop(args, workers, procs)
    procs.stop()
    return Round(workers, events, noops, latency)


def headline(rounds: list[Round], batch: int) -> str:
    """The final line: the round of HEADLINE_WORKERS (else the last), with the worst figures of all."""
    main = next((r for r in rounds if r.workers == HEADLINE_WORKERS), rounds[-1])
    line = main.line(batch)
    if len(rounds) > 1:
        line += f" min_ratio={min(r.ratio for r in rounds):.2f}"
        p99s = [ms(r.latency.latencies, 99) for r in rounds if r.latency is not None]
        if p99s:
            line += f" max_latency_p99_ms={max(p99s):.0f}"
    return line


def main(argv: Sequence[str] | None = None) -> int:
    """Run every phase for every worker count and print the figures; return the exit code."""
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
    log(f"gridcase throughput: {args.events} events, {args.batch} per request, workers "
        f"{','.join(map(str, args.workers))}, run {run}, logs in {home}")
    try:
        with sigterm_as_interrupt():
            ensure_database(db_url, "DATABASE_URL")
            check_bench_database(db_url, action="wipe", example="DATABASE_URL=postgresql+psycopg://...")
            reset_database(db_url)
            engine = make_engine(db_url)

            rounds = [run_round(args, workers, engine, procs, run) for workers in args.workers]
            split = None
            if args.split:
                flush_broker(mq_url, BROKER_EXAMPLE)
                split = run_split(args, args.workers[-1], engine, procs, run)
                procs.stop()

            for r in rounds:
                print_summary(r)
            if split is not None:
                log(f"split ({args.workers[-1]} workers): intake alone {split[0]:.1f} events/s; backlog drained "
                    f"at {split[1]:.1f} events/s (ratio to no-op {split[1] / rounds[-1].noops.rate:.2f})")
            report_logs(sorted(procs.log_dir.glob("*.log")))
            if args.keep_logs:
                log(f"logs kept in {home}")
            for r in rounds:
                log(r.line(args.batch))
            log(headline(rounds, args.batch))
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
