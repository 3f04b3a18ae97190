"""Deadlines at scale: how fast the clock moves 10,000 due cases up a level among 1,000,000 open ones.

Run from the repository root::

    .venv/bin/python bench/deadlines.py [--cases 1000000] [--due 10000]

What it does, all on 127.0.0.1:

1. Prepares a dedicated benchmark database (created if missing; its ``public`` schema is
   dropped and re-created, so the database name must contain ``bench``), migrates it and
   loads the demo org tree.
2. Generates ``--cases`` open cases in ``grid_handling`` with SQL (``INSERT ... SELECT ...
   FROM generate_series``), spread over the demo grids, each with one armed ``resolve``
   deadline of token 1 (the case's ``clock_token``). None is due yet: the first ``--due``
   cases fall due in a day, the others between an hour and a week from now. Then VACUUM
   ANALYZE, so the planner knows the tables.
3. Times ``workflow.cases.overdue.sweep`` in this process, in a transaction of its own, when
   nothing is due (the cost of every beat on a quiet system): median and p95 of 20 runs.
4. For one and then two Celery worker processes (prefork, concurrency 1, queues events,
   deliveries and deadlines, as ``bench/throughput.py`` starts them): makes the first
   ``--due`` cases due (their resolve deadline armed, due a second ago; what an earlier
   round added is deleted), starts the workers, publishes ``gridcase.sweep_deadlines``
   and again every 2 s (as beat would), and measures the time until every due case is
   in ``branch_handling``.
5. Prints the details, then on its last line ``cases=... due=... empty_sweep_ms_median=...
   empty_sweep_ms_p95=... one_worker_s=... two_workers_s=... one_worker_per_s=...
   two_workers_per_s=... generate_s=...``.

Every process it starts is stopped on the way out, also on an error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from celery import Celery
from sqlalchemy import Engine, text

from workflow.base import wallclock
from workflow.base.db import make_engine, unit_of_work

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
    explain,
    flush_broker,
    log,
    percentile,
    record_current_policy,
    report_logs,
    reset_database,
    scalar_int,
    sigterm_as_interrupt,
    vacuum_analyze,
    wait_for_workers,
    wait_until,
)

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/gridcase_bench_deadlines"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/12"
LOG_PROBLEM_MARKERS = (*LOG_MARKERS, "Error:")  # what report_logs looks for in the worker logs
LOG_PROBLEM_LIMIT = 12  # lines it prints of each
SWEEP_TASK = "gridcase.sweep_deadlines"
RESEND_SECONDS = 2.0  # the sweep task is published again this often while a round runs, as beat would
EMPTY_SWEEPS = 20
EMPTY_SWEEP_WARMUP = 2
# What sweep() asks, written out for EXPLAIN (its SQLAlchemy query is built inside the function).
SWEEP_SQL = ("SELECT d.id, d.case_id, d.kind, d.token, c.clock_token FROM deadlines d "
             "JOIN cases c ON c.id = d.case_id WHERE d.status = 'armed' AND d.due_at <= now() "
             "ORDER BY d.due_at LIMIT 1000 FOR UPDATE OF d SKIP LOCKED")


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


@contextmanager
def phase(name: str, timings: dict[str, float]) -> Iterator[None]:
    """Time a block and record it under ``name``."""
    started = time.monotonic()
    try:
        yield
    finally:
        timings[name] = time.monotonic() - started


# --------------------------------------------------------------------------------------
# Generating the cases
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """What generation made: the due cases are ids ``first_due..last_due``; deadlines above ``max_deadline`` are new."""

    cases: int
    due: int
    first_due: int
    last_due: int
    max_deadline: int
    policy_id: int


CASES_SQL = """
INSERT INTO cases (tracking_code, state, level, grid_unit_id, holding_unit_id, category, severity, channel,
                   description, submitted_at, state_entered_at, deadline_at, reopen_count, supervised, updated_at,
                   version, policy_id, clock_token)
SELECT 'B' || lpad(g.i::text, 15, '0'), 'grid_handling', 'grid', g.unit, g.unit, 'NOI', 'P2', 'api',
       '楼上噪音，深夜不停 (bench case ' || g.i || ')', g.t, g.t,
       CASE WHEN g.i <= :due THEN g.t + interval '1 day'
            ELSE g.t + interval '1 hour' + (g.i % 600000) * interval '1 second' END,
       0, false, g.t, 2, :policy_id, 1
FROM (SELECT i, (CAST(:grids AS integer[]))[1 + i % :ngrids] AS unit, now() AS t
      FROM generate_series(1, :cases) AS i) AS g
ORDER BY g.i
"""

DEADLINES_SQL = """
INSERT INTO deadlines (case_id, kind, level, due_at, token, status, created_at)
SELECT id, 'resolve', level, deadline_at, clock_token, 'armed', submitted_at FROM cases ORDER BY id
"""


def generate(engine: Engine, cases: int, due: int, timings: dict[str, float]) -> Layout:
    """Insert the cases and their deadlines with SQL; VACUUM ANALYZE; return where things are."""
    policy_id = record_current_policy(engine)
    with engine.connect() as conn:
        grids = [int(i) for i in conn.execute(text("SELECT id FROM units WHERE level = 'grid' ORDER BY id")).scalars()]
    if not grids:
        raise BenchError("the demo org has no grid units")
    log(f"generating {cases} open cases over {len(grids)} grids (policy row {policy_id})")
    with phase("generate_cases", timings), engine.begin() as conn:
        conn.execute(text(CASES_SQL), {"cases": cases, "due": due, "grids": grids, "ngrids": len(grids),
                                       "policy_id": policy_id})
    log(f"  cases: {timings['generate_cases']:.1f} s")
    with phase("generate_deadlines", timings), engine.begin() as conn:
        conn.execute(text(DEADLINES_SQL))
    log(f"  deadlines: {timings['generate_deadlines']:.1f} s")
    with phase("generate_vacuum", timings):
        vacuum_analyze(engine, ["units", "policies", "cases", "deadlines"])
    log(f"  VACUUM ANALYZE: {timings['generate_vacuum']:.1f} s")
    with engine.connect() as conn:
        first, last = conn.execute(text(
            "SELECT min(id), max(id) FROM (SELECT id FROM cases ORDER BY id LIMIT :due) AS d"), {"due": due}).one()
        max_deadline = int(conn.execute(text("SELECT max(id) FROM deadlines")).scalar_one())
        count = int(conn.execute(text("SELECT count(*) FROM cases")).scalar_one())
    if count != cases or last - first + 1 != due:
        raise BenchError(f"generation made {count} cases, due ids {first}..{last}; expected {cases} and {due}")
    return Layout(cases=cases, due=due, first_due=int(first), last_due=int(last), max_deadline=max_deadline,
                  policy_id=policy_id)


def make_due(engine: Engine, layout: Layout) -> None:
    """Put the due cases back where generation left them, their resolve deadline due a second ago.

    Deletes what a round added (inbox, timeline, deliveries, outbox, newer deadlines): generation
    wrote none of those rows, so every one of them belongs to an earlier round.
    """
    span = {"lo": layout.first_due, "hi": layout.last_due}
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM deliveries"))  # before outbox: each delivery references its outbox row
        conn.execute(text("DELETE FROM outbox"))
        conn.execute(text("DELETE FROM case_events"))
        conn.execute(text("DELETE FROM inbox"))
        conn.execute(text("DELETE FROM deadlines WHERE id > :max"), {"max": layout.max_deadline})
        conn.execute(text(
            "UPDATE cases SET state = 'grid_handling', level = 'grid', holding_unit_id = grid_unit_id, version = 2, "
            "clock_token = 1, deadline_at = now() - interval '1 second', state_entered_at = submitted_at, "
            "updated_at = submitted_at, resolved_level = NULL, supervised = false, accepted_at = NULL, "
            "supervised_at = NULL, paused_at = NULL, paused_left = NULL, request = NULL "
            "WHERE id BETWEEN :lo AND :hi"), span)
        conn.execute(text(
            "UPDATE deadlines SET status = 'armed', fired_at = NULL, token = 1, level = 'grid', "
            "due_at = now() - interval '1 second' WHERE case_id BETWEEN :lo AND :hi"), span)
    vacuum_analyze(engine, ["cases", "deadlines", "inbox", "case_events", "outbox"])
    due_now = scalar_int(engine, "SELECT count(*) FROM deadlines WHERE status = 'armed' AND due_at <= now()")
    if due_now != layout.due:
        raise BenchError(f"{due_now} deadlines are due after the reset, expected {layout.due}")


# --------------------------------------------------------------------------------------
# The empty sweep
# --------------------------------------------------------------------------------------


def time_empty_sweeps(engine: Engine, runs: int) -> list[float]:
    """Time ``sweep`` (its whole transaction, commit included) with nothing due; return milliseconds."""
    from workflow.cases.overdue import sweep

    due = scalar_int(engine, "SELECT count(*) FROM deadlines WHERE status = 'armed' AND due_at <= now()")
    if due:
        raise BenchError(f"{due} deadlines are due before the empty sweep")
    times: list[float] = []
    for i in range(EMPTY_SWEEP_WARMUP + runs):
        started = time.perf_counter()
        with unit_of_work(engine) as session:
            swept = sweep(session, wallclock.now())
        elapsed = (time.perf_counter() - started) * 1000
        if swept.fired or swept.stale:
            raise BenchError(f"the empty sweep fired {swept.fired} and found {swept.stale} stale")
        if i >= EMPTY_SWEEP_WARMUP:
            times.append(elapsed)
    return times


# --------------------------------------------------------------------------------------
# A round with workers
# --------------------------------------------------------------------------------------


@dataclass
class Round:
    """What one round measured."""

    workers: int
    seconds: float
    due: int
    published: int
    sweep_first: datetime | None = None
    sweep_last: datetime | None = None
    step_first: datetime | None = None
    step_last: datetime | None = None
    sweep_batches: int = 0
    outbox_drained_s: float | None = None
    checks: list[str] = field(default_factory=list)
    tasks: dict[str, dict[str, int]] = field(default_factory=dict)  # per worker: task name -> runs

    @property
    def per_s(self) -> float:
        """Cases moved up per second."""
        return self.due / self.seconds


def diagnose(engine: Engine, layout: Layout) -> str:
    """Describe where the due cases, their deadlines and the inbox stand."""
    span = {"lo": layout.first_due, "hi": layout.last_due}
    states = count_rows(engine, "SELECT state, count(*) FROM cases WHERE id BETWEEN :lo AND :hi GROUP BY state",
                        **span)
    deadlines = count_rows(engine, "SELECT kind || ':' || status, count(*) FROM deadlines "
                                   "WHERE case_id BETWEEN :lo AND :hi GROUP BY 1", **span)
    inbox = count_rows(engine, "SELECT status, count(*) FROM inbox GROUP BY status")
    outbox = count_rows(engine, "SELECT status, count(*) FROM outbox GROUP BY status")
    with engine.connect() as conn:
        errors = [f"{status}: {error}" for status, error in conn.execute(text(
            "SELECT DISTINCT status, error FROM inbox WHERE error IS NOT NULL LIMIT 5"))]
    return (f"due cases by state: {states}; their deadlines: {deadlines}; inbox: {inbox}; outbox: {outbox}"
            + (f"; inbox errors: {errors}" if errors else ""))


def wait_for_branch(engine: Engine, procs: Processes, app: Celery, layout: Layout, started: float,
                    timeout: float) -> tuple[float, int]:
    """Poll until every due case is in ``branch_handling``, publishing the sweep every 2 s.

    Returns:
        The seconds from ``started`` to the poll that saw the last case, and how many sweep tasks were sent.
    """
    published, last_send, last_report = 1, started, started
    while True:
        done = scalar_int(engine, "SELECT count(*) FROM cases WHERE state = 'branch_handling'")
        now = time.monotonic()
        if done >= layout.due:
            return now - started, published
        procs.check_alive()
        bad = scalar_int(engine, "SELECT count(*) FROM inbox WHERE status IN ('refused', 'failed')")
        if bad:
            raise BenchError(f"{bad} inbox rows were refused or failed; {diagnose(engine, layout)}")
        if now - started > timeout:
            raise BenchError(f"only {done} of {layout.due} cases reached branch_handling within {timeout:.0f} s; "
                             f"{diagnose(engine, layout)}")
        if now - last_send >= RESEND_SECONDS:
            app.send_task(SWEEP_TASK)
            published += 1
            last_send = now
        if now - last_report >= 5:
            fired = scalar_int(engine, "SELECT count(*) FROM deadlines WHERE id <= :max AND status = 'fired'",
                               max=layout.max_deadline)
            pending = scalar_int(engine, "SELECT count(*) FROM inbox WHERE status = 'pending'")
            log(f"  ... {now - started:5.1f} s: {done}/{layout.due} in branch_handling; {fired} deadlines fired, "
                f"{pending} inbox rows pending")
            last_report = now
        time.sleep(0.2)


def check_round(engine: Engine, layout: Layout, result: Round) -> None:
    """Read what the round did from the database and check it did each thing once."""
    span = {"lo": layout.first_due, "hi": layout.last_due, "max": layout.max_deadline}
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT min(fired_at), max(fired_at), count(DISTINCT fired_at), count(*) FROM deadlines "
            "WHERE id <= :max AND case_id BETWEEN :lo AND :hi AND status = 'fired'"), span).one()
        result.sweep_first, result.sweep_last, result.sweep_batches, fired = row[0], row[1], int(row[2]), int(row[3])
        row = conn.execute(text(
            "SELECT min(at), max(at), count(*), count(DISTINCT case_id) FROM case_events "
            "WHERE kind = 'deadline_passed'")).one()
        result.step_first, result.step_last, steps, stepped = row[0], row[1], int(row[2]), int(row[3])
        wrong = int(conn.execute(text(
            "SELECT count(*) FROM cases WHERE id BETWEEN :lo AND :hi AND NOT (state = 'branch_handling' "
            "AND level = 'branch' AND clock_token = 2 AND version = 3)"), span).scalar_one())
        armed = count_rows(engine, "SELECT kind, count(*) FROM deadlines WHERE id > :max AND status = 'armed' "
                                   "AND token = 2 AND level = 'branch' GROUP BY kind", max=layout.max_deadline)
        others = int(conn.execute(text(
            "SELECT count(*) FROM cases WHERE id NOT BETWEEN :lo AND :hi AND state <> 'grid_handling'"),
            span).scalar_one())
    expect = {"fired deadlines": (fired, layout.due), "deadline_passed steps": (steps, layout.due),
              "cases stepped": (stepped, layout.due), "due cases not at branch/token 2/version 3": (wrong, 0),
              "cases not due that moved": (others, 0)}
    for kind in ("first_contact", "warn", "resolve"):
        expect[f"new armed {kind} deadlines"] = (armed.get(kind, 0), layout.due)
    for what, (got, want) in expect.items():
        if got != want:
            result.checks.append(f"{what}: {got}, expected {want}")


def run_round(args: argparse.Namespace, engine: Engine, procs: Processes, app: Celery, layout: Layout,
              workers: int, timings: dict[str, float]) -> Round:
    """Make the cases due, start ``workers`` worker processes, fire the sweep and wait for every case."""
    label = f"{workers}w"
    with phase(f"{label}_reset", timings):
        make_due(engine, layout)
        flush_broker(args.broker_url, DEFAULT_BROKER_URL)
    log(f"round with {workers} worker(s): {layout.due} cases due (reset in {timings[f'{label}_reset']:.1f} s)")
    with phase(f"{label}_start_workers", timings):
        host = socket.gethostname()
        names = [f"dl{workers}{i}@{host}" for i in range(1, workers + 1)]
        started_procs = [procs.start(f"worker-{workers}w-{i}", celery_worker_args("workers.app", name))
                         for i, name in enumerate(names, 1)]
        wait_for_workers(app, procs, names)
    log(f"  workers {', '.join(names)} answer (in {timings[f'{label}_start_workers']:.1f} s); publishing the sweep")
    try:
        started_wall = time.time()
        started = time.monotonic()
        app.send_task(SWEEP_TASK)
        seconds, published = wait_for_branch(engine, procs, app, layout, started, args.timeout)
        timings[f"{label}_run"] = seconds
        result = Round(workers=workers, seconds=seconds, due=layout.due, published=published)
        log(f"  all {layout.due} in branch_handling after {seconds:.2f} s ({result.per_s:.1f} cases/s; "
            f"{published} sweep tasks published)")
        drain_started = time.monotonic()
        try:
            wait_until("the outbox to drain", lambda: scalar_int(
                engine, "SELECT count(*) FROM outbox WHERE status = 'pending'") == 0, 60.0)
            result.outbox_drained_s = time.time() - started_wall
        except BenchError as exc:
            log(f"  warning: {exc}")
        timings[f"{label}_drain_outbox"] = time.monotonic() - drain_started
        check_round(engine, layout, result)
        result.tasks = task_counts(app, names)
        print_round(result, started_wall)
        return result
    finally:
        procs.stop(started_procs)


def task_counts(app: Celery, names: list[str]) -> dict[str, dict[str, int]]:
    """Return how many tasks of each name every worker ran (its ``inspect stats``)."""
    stats: dict[str, Any] = dict(app.control.inspect(destination=names, timeout=2.0).stats() or {})
    totals = {name: dict((stats.get(name) or {}).get("total") or {}) for name in names}
    return {name: {str(task): int(n) for task, n in total.items()} for name, total in totals.items()}


def print_round(result: Round, started_wall: float) -> None:
    """Print where the time of a round went, read from the database's timestamps."""
    def since(at: datetime | None) -> str:
        return "-" if at is None else f"{at.timestamp() - started_wall:.2f} s"

    log(f"  sweep: first deadline fired at {since(result.sweep_first)}, last at {since(result.sweep_last)} "
        f"({result.sweep_batches} batches)")
    log(f"  steps: first deadline_passed at {since(result.step_first)}, last at {since(result.step_last)}")
    if result.outbox_drained_s is not None:
        log(f"  notices: outbox drained at {result.outbox_drained_s:.2f} s")
    for name, counts in result.tasks.items():
        ran = ", ".join(f"{task.removeprefix('gridcase.')} {n}" for task, n in sorted(counts.items())) or "nothing"
        log(f"  {name} ran: {ran}")
    for problem in result.checks:
        log(f"  CHECK FAILED: {problem}")


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=1_000_000, help="open cases to generate")
    parser.add_argument("--due", type=int, default=10_000, help="of which this many fall due at once")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds to wait, in each round, for the last case to move up")
    parser.add_argument("--keep-logs", action="store_true", help="keep the worker logs and data folder")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL,
                        help="PostgreSQL benchmark database (wiped: its name must contain 'bench')")
    parser.add_argument("--broker-url", default=DEFAULT_BROKER_URL, help="Redis database (flushed)")
    args = parser.parse_args(argv)
    if args.cases < 1 or not 1 <= args.due <= args.cases:
        parser.error("--cases must be at least 1 and --due between 1 and --cases")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Generate the cases, time the empty sweep and both rounds, and print the figures; return the exit code."""
    args = parse_args(argv)
    check_local(args.database_url, "--database-url")
    check_local(args.broker_url, "--broker-url")
    check_bench_database(args.database_url)
    home = Path(tempfile.mkdtemp(prefix="gridcase-bench-deadlines-"))
    # The workers and this process (workers.app reads these when it is imported) see the same settings.
    os.environ.update(DATABASE_URL=args.database_url, BROKER_URL=args.broker_url, GRIDCASE_HOME=str(home))
    procs = Processes(env=child_env(), log_dir=home)
    timings: dict[str, float] = {}
    ok = reported = False
    engine: Engine | None = None
    app: Celery | None = None
    log(f"gridcase deadlines: {args.cases} cases, {args.due} due; logs in {home}")
    total_started = time.monotonic()
    try:
        with sigterm_as_interrupt():
            from workers.app import make_celery

            app = make_celery()
            with phase("prepare", timings):
                ensure_database(args.database_url, "the database URL")
                reset_database(args.database_url)
                flush_broker(args.broker_url, DEFAULT_BROKER_URL)
            log(f"database prepared in {timings['prepare']:.1f} s")
            engine = make_engine(args.database_url)
            with phase("generate", timings):
                layout = generate(engine, args.cases, args.due, timings)
            log(f"generated {layout.cases} cases and deadlines in {timings['generate']:.1f} s "
                f"(due: case ids {layout.first_due}..{layout.last_due})")

            with phase("empty_sweep", timings):
                empty = time_empty_sweeps(engine, EMPTY_SWEEPS)
            empty_median, empty_p95 = statistics.median(empty), percentile(empty, 95)
            log(f"empty sweep ({EMPTY_SWEEPS} runs after {EMPTY_SWEEP_WARMUP} warm-up, in-process, transaction "
                f"and commit included): median {empty_median:.2f} ms, p95 {empty_p95:.2f} ms, "
                f"min {min(empty):.2f} ms, max {max(empty):.2f} ms")
            log("  plan of the sweep's query with nothing due:")
            for line in explain(engine, SWEEP_SQL):
                log(f"    {line}")

            make_due(engine, layout)
            log(f"  plan of the sweep's query with {layout.due} due (first batch):")
            for line in explain(engine, SWEEP_SQL):
                log(f"    {line}")

            rounds = [run_round(args, engine, procs, app, layout, workers, timings) for workers in (1, 2)]
            one, two = rounds
            noisy = report_logs(procs.logs, limit=LOG_PROBLEM_LIMIT, markers=LOG_PROBLEM_MARKERS)
            reported = True
            failed = [f"{r.workers} worker(s): {c}" for r in rounds for c in r.checks]
            timings["total"] = time.monotonic() - total_started
            log("phases: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings.items()))
            if failed or noisy:
                log(f"PROBLEMS: {len(failed)} failed checks, {noisy} worker logs with errors or warnings")
            if args.keep_logs:
                log(f"logs kept in {home}")
            log(f"cases={layout.cases} due={layout.due} empty_sweep_ms_median={empty_median:.2f} "
                f"empty_sweep_ms_p95={empty_p95:.2f} one_worker_s={one.seconds:.2f} two_workers_s={two.seconds:.2f} "
                f"one_worker_per_s={one.per_s:.1f} two_workers_per_s={two.per_s:.1f} "
                f"generate_s={timings['generate']:.1f}")
            ok = not failed
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
        if app is not None:
            app.close()
        if not reported:
            report_logs(procs.logs, limit=LOG_PROBLEM_LIMIT, markers=LOG_PROBLEM_MARKERS)
        if ok and not args.keep_logs:
            shutil.rmtree(home, ignore_errors=True)
        elif not ok:
            log(f"logs kept in {home}")


if __name__ == "__main__":
    sys.exit(main())
