"""Memory of the Celery worker processes over 100,000 events: does it level off, or keep growing?

Run from the repository root::

    .venv/bin/python bench/memory.py [--events 100000] [--step 10000] [--workers 2]

What it does, all on 127.0.0.1:

1. Prepares a dedicated benchmark database (created if missing; its ``public`` schema is
   dropped and re-created, so the name must contain ``bench``), migrates it and loads the
   demo org tree; flushes the broker's Redis database (its own: 13 by default, as
   ``bench/deadlines.py`` uses 12 and ``bench/throughput.py`` 14).
2. Starts ``--workers`` gridcase worker processes as ``bench/throughput.py`` does (prefork,
   concurrency 1, queues events, deliveries and deadlines) and, unless ``--no-beat``,
   Celery beat, so the relay, the sweeper and the audit run in the workers as deployed.
   Each worker is two processes: the parent (consumer, broker connection, heartbeats) and
   its pool child, which runs the tasks; both are measured.
3. Reads the memory of every parent and pool child from ``/proc/<pid>/status``: ``VmRSS``
   (resident set, shared pages included), ``RssAnon`` (anonymous resident memory: the
   Python heap, without the shared libraries and files) and ``VmHWM`` (peak resident set).
   The first reading is taken when the workers answer a ping, before any event.
4. Feeds the events in steps of ``--step``: ``--producers`` threads of this process each
   call the app's own intake (``workflow.cases.intake.accept_submission``, which writes the case,
   its reporter, its first step and the inbox row) and then publish the handling task the
   way the web app does after a commit (``workers.publish.publish_event``, which arms the
   Redis kick flag so a burst shares one draining task). After each step it waits until
   every case fed so far is in ``grid_handling``, the inbox is empty and every notice
   (one per case, the dispatch notice to the grid leader, written to the outbox by
   handling and sent by the ``deliver_notices`` task through the default SMS sender, a
   file) is sent; then it reads the memory again. Readings are so taken at quiet points:
   what a process keeps between batches, not what a batch holds while it runs.
5. Checks every event became a case in ``grid_handling`` and every notice was sent once,
   that no worker's pool child was replaced (a new pid would hide growth), prints a table
   of the readings and each process's growth, then on its last line ``events=...
   workers=... child_rss_start_mb=... child_rss_10k_mb=... child_rss_end_mb=...
   child_growth_last_half_mb=... parent_rss_start_mb=... parent_rss_end_mb=...
   parent_growth_last_half_mb=... bytes_per_event_last_half=... plateau=yes|no`` (child and
   parent figures are the largest over the workers).

Plateau: yes when every process (parents and pool children) grew by less than
``--threshold-mb`` (5 MB) and less than ``--threshold-pct`` (5 %) of its size at the
half-way reading, between the half-way reading and the last one. A process that still
grows a little at every step fails it even when the total is small only if it crosses
those limits; the per-step growth and ``bytes_per_event_last_half`` are printed so a slow
steady climb shows anyway. The first steps grow while caches fill (imports, the org
tree, the policy, SQLAlchemy's compiled statements): that is why only the second half is
judged.

Every process it starts is stopped on the way out, also on an error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from celery import Celery
from sqlalchemy import Engine, text

from workflow.base.db import make_engine

# Run as a script, this file's folder heads sys.path, not the repository root that holds ``bench``.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import (
    LOG_MARKERS,
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
    report_logs,
    reset_database,
    scalar_int,
    sigterm_as_interrupt,
    wait_for_workers,
    wait_until,
)

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/gridcase_bench_memory"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/13"
SOURCE = "bench-memory"
LOG_PROBLEM_MARKERS = (*LOG_MARKERS, "Error:")
MB = 1024 * 1024


# --------------------------------------------------------------------------------------
# Reading memory from /proc
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Memory:
    """One reading of one process, in bytes."""

    pid: int
    rss: int
    anon: int
    hwm: int


def read_memory(pid: int) -> Memory:
    """Read VmRSS, RssAnon and VmHWM of a process from ``/proc/<pid>/status``."""
    values: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "RssAnon", "VmHWM"):
                    values[key] = int(rest.split()[0]) * 1024  # kB
    except OSError as exc:
        raise BenchError(f"cannot read the memory of process {pid}: {exc}") from exc
    if "VmRSS" not in values:
        raise BenchError(f"/proc/{pid}/status has no VmRSS (a zombie?)")
    return Memory(pid, values["VmRSS"], values.get("RssAnon", 0), values.get("VmHWM", 0))


def children_of(pid: int) -> list[int]:
    """Return the pids of the live child processes of ``pid`` (read from ``/proc/*/stat``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'.
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1 and fields[0] != "Z" and int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


@dataclass
class Worker:
    """A worker the benchmark started: its node name, main (parent) pid and pool child pids."""

    name: str
    parent: int
    children: list[int] = field(default_factory=list)

    def labels(self) -> list[tuple[str, int]]:
        """Return (label, pid) of the parent and each pool child."""
        short = self.name.split("@")[0]
        return [(f"{short} parent", self.parent)] + [
            (f"{short} child" + (f" {i}" if len(self.children) > 1 else ""), pid)
            for i, pid in enumerate(self.children, 1)]


@dataclass
class Reading:
    """The memory of every measured process after ``events`` events."""

    events: int
    at: float
    memory: dict[str, Memory]


def take_reading(workers: list[Worker], events: int) -> Reading:
    """Read every parent and pool child; raise if a pool child was replaced since the start."""
    for worker in workers:
        now = children_of(worker.parent)
        if now != worker.children:
            raise BenchError(f"the pool children of {worker.name} changed from {worker.children} to {now}: "
                             "a replaced child hides its growth (see the worker log)")
    return Reading(events, time.monotonic(),
                   {label: read_memory(pid) for worker in workers for label, pid in worker.labels()})


# --------------------------------------------------------------------------------------
# Feeding events
# --------------------------------------------------------------------------------------


def event_body(run: str, index: int, grids: Sequence[str]) -> dict[str, Any]:
    """Return submission ``index`` of run ``run``: a structured CloudEvent, each with its own text and phone."""
    return {
        "specversion": "1.0", "id": f"mem-{run}-{index}", "source": SOURCE, "type": "org.gridcase.case.submitted",
        "data": {"category": "NOI", "description": f"楼上夜间噪音，第 {index} 次投诉", "grid": grids[index % len(grids)],
                 "reporter": {"name": "王小明", "phone": f"138{index % 100_000_000:08d}"}},
    }


def feed(engine: Engine, run: str, indices: range, grids: Sequence[str], producers: int) -> None:
    """Accept the events ``indices`` as intake does and publish their handling task; raise on a refusal."""
    from schemas.events import CaseSubmittedEvent
    from workers.publish import publish_event
    from workflow.cases.intake import accept_submission

    def submit(index: int) -> None:
        accepted = accept_submission(engine, CaseSubmittedEvent.model_validate(event_body(run, index, grids)))
        if accepted.duplicate:
            raise BenchError(f"event {index} was taken for a duplicate")
        publish_event(accepted.inbox_id)

    with ThreadPoolExecutor(max_workers=producers, thread_name_prefix="producer") as pool:
        for future in [pool.submit(submit, i) for i in indices]:
            future.result()


def wait_for_quiet(engine: Engine, procs: Processes, fed: int, timeout: float) -> None:
    """Wait until ``fed`` cases are in ``grid_handling``, the inbox is done and every notice is sent."""
    deadline = time.monotonic() + timeout
    while True:
        procs.check_alive()
        with engine.connect() as conn:
            handled, inbox, outbox, deliveries, bad = conn.execute(text(
                "SELECT (SELECT count(*) FROM cases WHERE state = 'grid_handling'), "
                "(SELECT count(*) FROM inbox WHERE status = 'pending'), "
                "(SELECT count(*) FROM outbox WHERE status = 'pending'), "
                "(SELECT count(*) FROM deliveries WHERE status <> 'sent'), "
                "(SELECT count(*) FROM inbox WHERE status IN ('refused', 'failed'))")).one()
        if bad:
            with engine.connect() as conn:
                errors = [str(e) for e in conn.execute(text(
                    "SELECT DISTINCT error FROM inbox WHERE status IN ('refused', 'failed') LIMIT 5")).scalars()]
            raise BenchError(f"{bad} inbox rows were refused or failed: {errors}")
        if handled >= fed and inbox == 0 and outbox == 0 and deliveries == 0:
            return
        if time.monotonic() > deadline:
            raise BenchError(f"after {timeout:.0f} s: {handled}/{fed} cases in grid_handling, {inbox} inbox rows "
                             f"pending, {outbox} outbox rows pending, {deliveries} deliveries not sent")
        time.sleep(0.2)


def check_totals(engine: Engine, events: int) -> list[str]:
    """Return what is wrong with the end state: one case per event, each dispatched once, each notice sent once."""
    states = count_rows(engine, "SELECT state, count(*) FROM cases GROUP BY state")
    inbox = count_rows(engine, "SELECT status, count(*) FROM inbox WHERE source = :source GROUP BY status",
                       source=SOURCE)
    dispatches = scalar_int(engine, "SELECT count(*) FROM case_events WHERE kind = 'dispatch'")
    sent = scalar_int(engine, "SELECT count(*) FROM deliveries WHERE status = 'sent'")
    twice = scalar_int(engine, "SELECT count(*) FROM (SELECT outbox_id, recipient FROM deliveries "
                               "GROUP BY 1, 2 HAVING count(*) > 1) AS d")
    problems = []
    if states != {"grid_handling": events}:
        problems.append(f"cases by state: {states}, expected {{'grid_handling': {events}}}")
    if inbox != {"done": events}:
        problems.append(f"inbox rows of the events by status: {inbox}")
    if dispatches != events:
        problems.append(f"{dispatches} dispatch steps, expected {events}")
    if sent < events:
        problems.append(f"{sent} notices sent, expected at least {events}")
    if twice:
        problems.append(f"{twice} notices delivered twice to one recipient")
    return problems


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=100_000, help="events to feed")
    parser.add_argument("--step", type=int, default=10_000, help="events between two readings")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (prefork, concurrency 1)")
    parser.add_argument("--producers", type=int, default=4, help="threads feeding events")
    parser.add_argument("--no-beat", action="store_true", help="do not run Celery beat (relay, sweeper, audit)")
    parser.add_argument("--threshold-mb", type=float, default=5.0,
                        help="plateau: most a process may grow over the second half, in MB")
    parser.add_argument("--threshold-pct", type=float, default=5.0,
                        help="plateau: most a process may grow over the second half, in %% of its half-way size")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for each step to be handled")
    parser.add_argument("--keep-logs", action="store_true", help="keep the worker logs and the data folder")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL,
                        help="PostgreSQL benchmark database (wiped: its name must contain 'bench')")
    parser.add_argument("--broker-url", default=DEFAULT_BROKER_URL, help="Redis database (flushed)")
    args = parser.parse_args(argv)
    if args.events < 1 or args.step < 1 or args.workers < 1 or args.producers < 1:
        parser.error("--events, --step, --workers and --producers must be at least 1")
    if args.events < 2 * args.step:
        parser.error("--events must be at least twice --step: the second half is what is judged")
    return args


def mb(value: int) -> str:
    """Format bytes as MB with one decimal."""
    return f"{value / MB:.1f}"


def print_table(readings: list[Reading]) -> None:
    """Print VmRSS (and RssAnon) of every process at every reading, then the peaks."""
    labels = list(readings[0].memory)
    width = max(len(label) for label in labels)
    log("memory in MB, VmRSS (RssAnon), at each reading:")
    log(f"  {'events':>8}  {'s':>6}  " + "  ".join(f"{label:>{max(width, 16)}}" for label in labels))
    for r in readings:
        cells = [f"{mb(r.memory[label].rss)} ({mb(r.memory[label].anon)})" for label in labels]
        log(f"  {r.events:>8}  {r.at - readings[0].at:>6.0f}  "
            + "  ".join(f"{cell:>{max(width, 16)}}" for cell in cells))
    last = readings[-1]
    log("  peak VmHWM: " + ", ".join(f"{label} {mb(last.memory[label].hwm)}" for label in labels))


def main(argv: Sequence[str] | None = None) -> int:
    """Start the workers, feed the events step by step, read the memory and print the figures."""
    args = parse_args(argv)
    try:
        check_local(args.database_url, "--database-url")
        check_local(args.broker_url, "--broker-url")
        check_bench_database(args.database_url, action="wipe")
    except BenchError as exc:
        log(f"benchmark refused: {exc}")
        return 2
    if not Path("/proc/self/status").exists():
        log("this benchmark reads /proc/<pid>/status: it runs on Linux only")
        return 2
    home = Path(tempfile.mkdtemp(prefix="gridcase-bench-memory-"))
    # The workers and this process (workers.app reads these when it is imported) see the same settings.
    os.environ.update(DATABASE_URL=args.database_url, BROKER_URL=args.broker_url, GRIDCASE_HOME=str(home))
    procs = Processes(env=child_env(), log_dir=home)
    ok = reported = False
    engine: Engine | None = None
    run = uuid.uuid4().hex[:8]
    log(f"gridcase memory: {args.events} events in steps of {args.step}, {args.workers} workers"
        f"{'' if args.no_beat else ' and beat'}, run {run}; logs in {home}")
    try:
        with sigterm_as_interrupt():
            ensure_database(args.database_url, "the database URL")
            reset_database(args.database_url)
            flush_broker(args.broker_url, DEFAULT_BROKER_URL)
            engine = make_engine(args.database_url)
            with engine.connect() as conn:
                grids = [str(c) for c in conn.execute(text(
                    "SELECT code FROM units WHERE level = 'grid' ORDER BY id")).scalars()]
            if not grids:
                raise BenchError("the demo org has no grid units")

            from workers.app import app as celery_app

            app: Celery = celery_app
            host = socket.gethostname()
            workers = [Worker(f"mem{i}@{host}", 0) for i in range(1, args.workers + 1)]
            for worker in workers:
                proc = procs.start(f"worker-{worker.name.split('@')[0]}", celery_worker_args("workers.app",
                                                                                            worker.name))
                worker.parent = proc.popen.pid
            if not args.no_beat:
                procs.start("beat", [sys.executable, "-m", "celery", "--quiet", "-A", "workers.app", "beat",
                                     "--loglevel", "WARNING"])
            wait_for_workers(app, procs, [w.name for w in workers])
            wait_until("a pool child of every worker", lambda: all(children_of(w.parent) for w in workers), 30.0)
            for worker in workers:
                worker.children = children_of(worker.parent)
            log("workers ready: " + "; ".join(
                f"{w.name} parent {w.parent}, pool child {', '.join(map(str, w.children))}" for w in workers))

            readings = [take_reading(workers, 0)]
            started = time.monotonic()
            fed = 0
            while fed < args.events:
                count = min(args.step, args.events - fed)
                step_started = time.monotonic()
                feed(engine, run, range(fed, fed + count), grids, args.producers)
                fed_s = time.monotonic() - step_started
                fed += count
                wait_for_quiet(engine, procs, fed, args.timeout)
                readings.append(take_reading(workers, fed))
                step_s = time.monotonic() - step_started
                children = [m for label, m in readings[-1].memory.items() if "child" in label]
                log(f"  {fed:>7} events: step of {count} fed in {fed_s:.1f} s, handled and notices sent after "
                    f"{step_s:.1f} s ({count / step_s:.0f} events/s); pool child VmRSS "
                    + ", ".join(mb(m.rss) for m in children) + " MB")
            total_s = time.monotonic() - started

            problems = check_totals(engine, args.events)
            stats: dict[str, Any] = dict(app.control.inspect(destination=[w.name for w in workers],
                                                             timeout=2.0).stats() or {})
            for worker in workers:
                ran = dict((stats.get(worker.name) or {}).get("total") or {})
                log(f"  {worker.name} ran: " + (", ".join(f"{str(t).removeprefix('gridcase.')} {n}"
                                                         for t, n in sorted(ran.items())) or "nothing"))
            print_table(readings)

            half = min(readings, key=lambda r: abs(r.events - args.events / 2))
            last, first = readings[-1], readings[0]
            at_10k = min(readings[1:], key=lambda r: abs(r.events - 10_000))
            plateau = True
            log(f"growth from the reading at {half.events} events to the last ({last.events}), VmRSS:")
            for label in last.memory:
                grown = last.memory[label].rss - half.memory[label].rss
                pct = 100 * grown / half.memory[label].rss
                steps = [b.memory[label].rss - a.memory[label].rss
                         for a, b in zip(readings, readings[1:], strict=False) if a.events >= half.events]
                flat = grown < args.threshold_mb * MB and pct < args.threshold_pct
                plateau = plateau and flat
                log(f"  {label}: {mb(half.memory[label].rss)} -> {mb(last.memory[label].rss)} MB "
                    f"({grown / MB:+.1f} MB, {pct:+.1f} %; per step " + ", ".join(f"{s / MB:+.1f}" for s in steps)
                    + f"; from the start {(last.memory[label].rss - first.memory[label].rss) / MB:+.1f} MB)"
                    + ("" if flat else "  <- still growing"))

            noisy = report_logs(procs.logs, markers=LOG_PROBLEM_MARKERS)
            reported = True
            for problem in problems:
                log(f"CHECK FAILED: {problem}")
            if noisy:
                log(f"PROBLEMS: {noisy} logs with errors or warnings (above)")
            if args.keep_logs:
                log(f"logs kept in {home}")

            def worst(kind: str, reading: Reading) -> int:
                return max(m.rss for label, m in reading.memory.items() if kind in label)

            def worst_growth(kind: str) -> int:
                return max(last.memory[label].rss - half.memory[label].rss for label in last.memory if kind in label)

            log(f"{args.events} events in {total_s:.0f} s ({args.events / total_s:.0f}/s fed, handled and notified)")
            log(f"events={args.events} workers={args.workers} child_rss_start_mb={mb(worst('child', first))} "
                f"child_rss_{at_10k.events // 1000}k_mb={mb(worst('child', at_10k))} "
                f"child_rss_end_mb={mb(worst('child', last))} "
                f"child_growth_last_half_mb={worst_growth('child') / MB:.1f} "
                f"parent_rss_start_mb={mb(worst('parent', first))} parent_rss_end_mb={mb(worst('parent', last))} "
                f"parent_growth_last_half_mb={worst_growth('parent') / MB:.1f} "
                f"bytes_per_event_last_half={worst_growth('child') / max(1, last.events - half.events):.0f} "
                f"plateau={'yes' if plateau else 'no'}")
            ok = not problems
            return 0 if ok else 1
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
        if not reported:
            report_logs(procs.logs, markers=LOG_PROBLEM_MARKERS)
        if ok and not args.keep_logs:
            shutil.rmtree(home, ignore_errors=True)
        elif not ok:
            log(f"logs kept in {home}")


if __name__ == "__main__":
    sys.exit(main())
