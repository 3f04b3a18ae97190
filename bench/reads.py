"""Reads under load: the tracking API and the case API with 1,000,000 cases in PostgreSQL, against a baseline.

Run from the repository root (needs ``wrk``: ``apt-get install -y wrk``)::

    .venv/bin/python bench/reads.py [--cases 1000000] [--reuse] [--duration 20]

What it does, all on 127.0.0.1:

1. Prepares a dedicated benchmark database (created if missing; the name must contain
   ``bench``). Unless ``--reuse`` finds it already holding what this script generates (the
   same number of cases, none of their deadlines due within the next 15 minutes), its
   ``public`` schema is dropped and re-created, migrated, the demo org loaded, and
   ``--cases`` cases generated with SQL (``INSERT ... SELECT ... FROM generate_series``),
   shaped like the rows the engine writes for a submitted and dispatched complaint (compare
   ``workflow/cases/intake.py``, ``workflow/cases/steps.py``, ``workflow/cases/deadlines.py``): each case in
   ``grid_handling`` at one of the demo grids, with a 16-character tracking code in the
   alphabet of ``workflow/cases/tracking.py`` (64 bits of an MD5, so random over the index), a
   reporter with a phone, a timeline of ``submitted`` and ``dispatch`` (every second case
   also ``accept``, signed for by the grid leader), its three armed deadlines (first
   contact, warning, resolve; computed with the policy in force, as ``start_level`` does),
   and the dispatch notice in the outbox with its delivery (sent, by SMS, to the grid
   leader). The inbox rows intake would have written are left out: no view reads them.
   Then VACUUM ANALYZE. With ``--reuse`` the migrations are still applied (a no-op when
   the schema is current).
2. Adds a street-level staff member (``street_staff`` at ``XY``: ``check_can_view`` lets the
   street see every case) and creates an API token for it; picks ``--sample`` random
   tracking codes and writes them to a file for the load generator.
3. Calls each route through the app in this process (Flask's test client, no HTTP)
   while recording every SQL statement it sends, and prints the scans of the EXPLAIN
   ANALYZE of each statement with its real parameters; a sequential scan of a table of
   more than 10,000 rows is printed in full and counted in ``seq_scans``, and the tracking
   code lookup must read ``cases`` through an index or the benchmark fails. Then times
   ``--inproc`` requests of each route, one at a time, each to a random code or case:
   the routes' own cost (Python and the database, no HTTP server, no concurrency), less
   sensitive to a busy machine than the load figures.
4. Starts the web app under gunicorn as ``bench/throughput.py`` does (2 workers of 4
   threads, as the Procfile), checks one answer of each route, and then, for each target,
   runs ``wrk`` (``-t2 -c16``, a warm-up of ``--warmup`` s, then ``--duration`` s, with
   ``--latency``) from a separate process:

   - ``track``: ``GET /api/v1/track/<code>`` (dashed, as printed on the resident's slip),
     a random code of the sample on every request (a Lua script reads the file);
   - ``case``: ``GET /api/v1/cases/<id>`` with ``Authorization: Bearer <token>``, a random
     id among all the cases on every request;
   - ``page``: the resident's HTML status page of the web UI (``GET /track/<code>``, the
     ``resident.status`` route; left out if the app has none, or with ``--no-page``), a
     random case of the sample on every request, each with the session cookie the lookup
     form sets once the code and the phone's last four digits match (plus the CSRF token
     a returning browser holds). The cookies are signed in this process with the app's own
     session interface and the secret key the web app reads from the same data folder:
     the form itself is CSRF-protected and rate-limited per address, and is not measured;
   - ``baseline``: ``GET /healthz``, run first and again last (the figure is the mean of
     the two; their spread shows how noisy the shared machine was meanwhile).

   Why ``/healthz`` as the baseline: it is the cheapest route that goes through the whole
   stack the real reads use (gunicorn, Flask, the app's session on its pool, one
   PostgreSQL transaction with two indexed one-row queries) and returns a tiny JSON body,
   so it is the ceiling of requests per second for any route that reads the database on
   this machine; the ratios ``*_vs_baseline`` say what the views' own queries and
   serialisation cost beyond it. ``/openapi.json`` is no ceiling (it serialises a large
   document on every request) and no route skips the database. ``/healthz`` answers 503
   when the sweeper has not run for two minutes: the benchmark runs the real
   ``workflow.cases.overdue.sweep`` (nothing is due) before each baseline run, as beat would.
5. Checks that wrk saw no non-2xx/3xx response and no socket error, else fails. Prints
   the details, then on its last line ``cases=... track_rps=... track_p99_ms=...
   case_rps=... case_p99_ms=... [page_rps=... page_p99_ms=... page_vs_baseline=...]
   baseline_rps=... baseline_p99_ms=... track_vs_baseline=...
   case_vs_baseline=... baseline_spread=... track_inproc_ms=... case_inproc_ms=...
   baseline_inproc_ms=... seq_scans=... data=generated|reused``.

The load generator shares the machine's two cores with gunicorn and PostgreSQL: the
figures are those of the whole machine serving itself, comparable only as ratios to the
baseline measured in the same run. Every process it starts is stopped on the way out, also
on an error or Ctrl-C. Exit codes: 0 figures printed, 1 the benchmark failed, 2 wrk is
missing or an argument is wrong, 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from flask import Flask, url_for
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import SQLAlchemyError

from workflow.base import wallclock
from workflow.base.db import make_engine, unit_of_work
from workflow.base.schema import upgrade
from workflow.cases.tracking import display

# Run as a script, this file's folder heads sys.path, not the repository root that holds ``bench``.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import (
    BenchError,
    Processes,
    check_bench_database,
    check_local,
    child_env,
    ensure_database,
    explain,
    log,
    percentile,
    record_current_policy,
    report_logs,
    reset_database,
    scalar_int,
    sigterm_as_interrupt,
    vacuum_analyze,
)
from bench.support import (
    start_web as support_start_web,
)

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/gridcase_bench_reads"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/11"  # the web app is configured with it; no read publishes
BENCH_USER = "bench.reads"
BENCH_UNIT = "XY"  # the street: every case is on its path
BENCH_ROLE = "street_staff"
CODE_SALT = "gridcase-bench-reads:"
LARGE_TABLE_ROWS = 10_000  # a sequential scan of a table larger than this is reported
GENERATED_TABLES = ("units", "users", "api_tokens", "policies", "cases", "case_parties", "case_events", "deadlines",
                    "outbox", "deliveries")
REUSE_MARGIN = timedelta(minutes=15)  # reuse only if no deadline falls due this soon
PAGE_ENDPOINT = "resident.status"  # the web UI's status page for residents, GET /track/<code>
WRK_INSTALL = "wrk is not installed: install it with 'apt-get install -y wrk' (Debian/Ubuntu) and run again"


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

# Submitted in the hour before generation (spread over ten minutes), dispatched 20 ms later;
# every second case signed for 10 minutes after dispatch. :ref is the submission time of
# the first case; its deadlines are :first_due, :warn_due and :resolve_due, and every other
# case's are shifted by its own submission time.
CASES_SQL = """
INSERT INTO cases (tracking_code, state, level, grid_unit_id, holding_unit_id, category, severity, channel,
                   description, submitted_at, state_entered_at, deadline_at, reopen_count, supervised, updated_at,
                   version, policy_id, clock_token, accepted_at)
SELECT upper(left(md5(:salt || g.i), 16)), 'grid_handling', 'grid', g.unit, g.unit, 'NOI', 'P2', 'api',
       '楼上夜间噪音，持续到凌晨，影响老人和孩子休息 (bench case ' || g.i || ')',
       g.sub, g.sub + interval '20 milliseconds', CAST(:resolve_due AS timestamptz) + (g.sub - CAST(:ref AS timestamptz)),
       0, false,
       CASE WHEN g.i % 2 = 0 THEN g.sub + interval '10 minutes 20 milliseconds' ELSE g.sub + interval '20 milliseconds' END,
       CASE WHEN g.i % 2 = 0 THEN 3 ELSE 2 END, :policy_id, 1,
       CASE WHEN g.i % 2 = 0 THEN g.sub + interval '10 minutes 20 milliseconds' END
FROM (SELECT i, (CAST(:grids AS integer[]))[1 + i % :ngrids] AS unit,
             CAST(:ref AS timestamptz) + (i % 600) * interval '1 second' AS sub
      FROM generate_series(1, :cases) AS i) AS g
ORDER BY g.i
"""

PARTIES_SQL = """
INSERT INTO case_parties (case_id, role, name, phone)
SELECT id, 'reporter', (CAST(:names AS text[]))[1 + id % :nnames], '13' || lpad(((id::bigint * 7919) % 1000000000)::text, 9, '0')
FROM cases ORDER BY id
"""

EVENTS_SQL = """
INSERT INTO case_events (case_id, seq, kind, actor, actor_unit_id, from_state, to_state, from_level, to_level,
                         reason, public, at)
SELECT c.id, s.seq, s.kind, CASE s.seq WHEN 1 THEN '/hotline' WHEN 2 THEN 'system' ELSE u.name END,
       CASE WHEN s.seq = 3 THEN c.grid_unit_id END,
       CASE s.seq WHEN 1 THEN NULL WHEN 2 THEN 'collected' ELSE 'grid_handling' END,
       CASE s.seq WHEN 1 THEN 'collected' ELSE 'grid_handling' END,
       CASE WHEN s.seq = 1 THEN NULL ELSE 'grid' END, 'grid', NULL, true,
       CASE s.seq WHEN 1 THEN c.submitted_at WHEN 2 THEN c.state_entered_at ELSE c.accepted_at END
FROM cases c
JOIN LATERAL (SELECT name FROM users WHERE unit_id = c.grid_unit_id ORDER BY id LIMIT 1) AS u ON true
JOIN (VALUES (1, 'submitted'), (2, 'dispatch'), (3, 'accept')) AS s(seq, kind) ON s.seq <= c.version
ORDER BY c.id, s.seq
"""

DEADLINES_SQL = """
INSERT INTO deadlines (case_id, kind, level, due_at, token, status, created_at)
SELECT c.id, k.kind, 'grid', k.due + (c.submitted_at - CAST(:ref AS timestamptz)), 1, 'armed', c.state_entered_at
FROM cases c
CROSS JOIN (VALUES (1, 'first_contact', CAST(:first_due AS timestamptz)), (2, 'warn', CAST(:warn_due AS timestamptz)),
                   (3, 'resolve', CAST(:resolve_due AS timestamptz))) AS k(n, kind, due)
ORDER BY c.id, k.n
"""

OUTBOX_SQL = """
INSERT INTO outbox (kind, topic, case_id, case_event_id, unit_id, payload, dedupe_key, status, attempts, created_at,
                    sent_at)
SELECT 'notify_unit', 'case.dispatched', c.id, e.id, c.grid_unit_id,
       json_build_object('case_id', c.id, 'seq', 2, 'state', 'grid_handling', 'level', 'grid', 'severity', c.severity,
                         'category', c.category, 'message', NULL, 'unit', u.code),
       c.id || ':2:case.dispatched:unit:' || c.grid_unit_id, 'done', 1, e.at + interval '10 milliseconds',
       e.at + interval '20 milliseconds'
FROM case_events e JOIN cases c ON c.id = e.case_id JOIN units u ON u.id = c.grid_unit_id
WHERE e.kind = 'dispatch'
ORDER BY c.id
"""

DELIVERIES_SQL = """
INSERT INTO deliveries (outbox_id, case_id, recipient, channel, target, language, unit_id, user_id, status, attempts,
                        next_attempt_at, last_attempt_at, errors, sent_at, created_at)
SELECT o.id, o.case_id, 'user:' || u.id, 'sms', u.phone, 'zh_Hans', o.unit_id, u.id, 'sent', 1, o.sent_at, o.sent_at,
       CAST('[]' AS json), o.sent_at, o.sent_at
FROM outbox o JOIN users u ON u.unit_id = o.unit_id AND u.phone IS NOT NULL
ORDER BY o.id, u.id
"""

REPORTER_NAMES = ["王小明", "李秀兰", "张伟", "刘芳", "陈建华", "杨丽娟", "赵国强", "黄晓燕", "周志刚", "吴桂英"]


@dataclass(frozen=True)
class Layout:
    """What the database holds: cases ``first_id..last_id`` (contiguous)."""

    cases: int
    first_id: int
    last_id: int
    generated: bool


def clock_of_first_case(ref: datetime) -> dict[str, datetime]:
    """Return the deadlines the engine arms for a P2 noise case dispatched at ``ref`` (as ``start_level`` does)."""
    from workflow.clock.deadlines import add, remaining
    from workflow.clock.policy import current_policy

    policy = current_policy()
    first, resolve, warn_at = policy.times("NOI", "P2", "grid")
    due = policy.due(ref, resolve)
    span = remaining(policy, resolve.counts, ref, due)
    return {"first_due": policy.due(ref, first), "warn_due": add(policy, resolve.counts, ref, span * warn_at),
            "resolve_due": due}


def generate(engine: Engine, cases: int, timings: dict[str, float]) -> None:
    """Insert the cases and what hangs off them with SQL, then VACUUM ANALYZE."""
    policy_id = record_current_policy(engine)
    with engine.connect() as conn:
        grids = [int(i) for i in conn.execute(text("SELECT id FROM units WHERE level = 'grid' ORDER BY id")).scalars()]
    if not grids:
        raise BenchError("the demo org has no grid units")
    ref = wallclock.now() - timedelta(hours=1)
    params: dict[str, Any] = {"cases": cases, "grids": grids, "ngrids": len(grids), "policy_id": policy_id,
                              "salt": CODE_SALT, "ref": ref, **clock_of_first_case(ref + timedelta(milliseconds=20))}
    log(f"generating {cases} cases over {len(grids)} grids (policy row {policy_id}); first case's resolve deadline "
        f"{params['resolve_due']:%Y-%m-%d %H:%M} UTC")
    steps = [("cases", CASES_SQL, params), ("parties", PARTIES_SQL, {"names": REPORTER_NAMES,
                                                                       "nnames": len(REPORTER_NAMES)}),
             ("timeline", EVENTS_SQL, {}), ("deadlines", DEADLINES_SQL, params), ("outbox", OUTBOX_SQL, {}),
             ("deliveries", DELIVERIES_SQL, {})]
    for name, query, values in steps:
        with phase(f"generate_{name}", timings), engine.begin() as conn:
            used = {k: v for k, v in values.items() if f":{k}" in query}
            inserted = conn.execute(text(query), used).rowcount
        log(f"  {name}: {inserted} rows in {timings[f'generate_{name}']:.1f} s")
    with phase("generate_vacuum", timings):
        vacuum_analyze(engine, GENERATED_TABLES)
    log(f"  VACUUM ANALYZE: {timings['generate_vacuum']:.1f} s")


def add_bench_user(engine: Engine) -> None:
    """Add the street-level staff member the case API is read as."""
    from workflow.org.members import add_user

    with unit_of_work(engine) as session:
        add_user(session, BENCH_USER, BENCH_UNIT, BENCH_ROLE, display_name="读取压测")


def new_token(engine: Engine) -> str:
    """Create a fresh API token for the bench member."""
    from workflow.org.members import create_token

    with unit_of_work(engine) as session:
        return create_token(session, BENCH_USER)


def reuse_problem(engine: Engine, cases: int) -> str | None:
    """Return why the database cannot be reused for ``cases`` cases, or None if it can."""
    try:
        with engine.connect() as conn:
            row = conn.execute(text(
                "SELECT (SELECT count(*) FROM cases), (SELECT min(id) FROM cases), (SELECT max(id) FROM cases), "
                "(SELECT count(*) FROM case_parties), (SELECT count(*) FROM deadlines), "
                "(SELECT count(*) FROM deliveries), (SELECT min(due_at) FROM deadlines WHERE status = 'armed'), "
                "(SELECT count(*) FROM users WHERE name = :user)"), {"user": BENCH_USER}).one()
    except SQLAlchemyError as exc:
        return f"it cannot be read ({exc.__class__.__name__}: {str(exc).splitlines()[0]})"
    count, lo, hi, parties, deadlines, deliveries, first_due, users = row
    if count != cases:
        return f"it holds {count} cases, not {cases}"
    if hi - lo + 1 != cases:
        return f"its case ids {lo}..{hi} are not contiguous"
    if parties < cases or deadlines != 3 * cases or deliveries < cases or users != 1:
        return (f"it holds {parties} parties, {deadlines} deadlines, {deliveries} deliveries and {users} bench users, "
                "not what this script generates")
    if first_due is None or first_due < wallclock.now() + REUSE_MARGIN:
        return f"its first armed deadline ({first_due}) falls due within {REUSE_MARGIN}: the sweeper would fire it"
    return None


def prepare(args: argparse.Namespace, timings: dict[str, float]) -> Layout:
    """Reuse the database if asked and possible, otherwise wipe it and generate the cases."""
    ensure_database(args.database_url, "the database URL")
    engine = make_engine(args.database_url)
    try:
        if args.reuse:
            problem = reuse_problem(engine, args.cases)
            if problem is None:
                upgrade(engine)
                lo, hi = scalar_int(engine, "SELECT min(id) FROM cases"), scalar_int(engine, "SELECT max(id) FROM cases")
                log(f"reusing the {args.cases} cases in the database (ids {lo}..{hi})")
                return Layout(args.cases, lo, hi, generated=False)
            log(f"cannot reuse the database: {problem}; generating")
        with phase("prepare", timings):
            reset_database(args.database_url)
        log(f"database prepared in {timings['prepare']:.1f} s")
        with phase("generate", timings):
            generate(engine, args.cases, timings)
            add_bench_user(engine)
        lo, hi = scalar_int(engine, "SELECT min(id) FROM cases"), scalar_int(engine, "SELECT max(id) FROM cases")
        count = scalar_int(engine, "SELECT count(*) FROM cases")
        if count != args.cases or hi - lo + 1 != count:
            raise BenchError(f"generation made {count} cases with ids {lo}..{hi}; expected {args.cases}, contiguous")
        log(f"generated {count} cases in {timings['generate']:.1f} s")
        return Layout(count, lo, hi, generated=True)
    finally:
        engine.dispose()


def sample_codes(engine: Engine, layout: Layout, count: int, path: Path) -> list[tuple[str, str]]:
    """Pick ``count`` random cases; write their dashed tracking codes to ``path``; return (code, reporter's party id)."""
    with engine.connect() as conn:
        codes = [(str(code), str(party_id)) for code, party_id in conn.execute(text(
            "SELECT c.tracking_code, p.id FROM cases c "
            "JOIN case_parties p ON p.case_id = c.id AND p.role = 'reporter' "
            "WHERE c.id IN (SELECT DISTINCT :lo + floor(random() * :n)::int FROM generate_series(1, :count))"),
            {"lo": layout.first_id, "n": layout.cases, "count": count})]
    if not codes:
        raise BenchError("no tracking code sampled")
    # wrk reads "CODE<TAB>LAST4": the tracking API wants the phone's last four digits (X-Phone-Last4).
    path.write_text("".join(f"{display(code)}\t{last4}\n" for code, last4 in codes), encoding="ascii")
    return codes


def page_sample(app: Flask, codes: Sequence[tuple[str, str]], path: Path) -> list[tuple[str, str]] | None:
    """Return (path, Cookie header) of the resident's status page for each code, also written to ``path``.

    None if the app has no such page. The cookie is the session the lookup form sets once a
    code and the phone's last four digits match (the reporter proved, by party id; plus the CSRF token a returning browser
    holds), signed with the app's own session interface and secret key.
    """
    if PAGE_ENDPOINT not in app.view_functions:
        return None
    from web.ui.resident import _FOLLOWED

    interface = app.session_interface
    serializer = interface.get_signing_serializer(app) if isinstance(interface, SecureCookieSessionInterface) else None
    if serializer is None:
        raise BenchError("the app's sessions are not signed cookies with a secret key: cannot follow a case")
    name = app.config["SESSION_COOKIE_NAME"]
    pages = []
    with app.test_request_context():
        for code, party_id in codes:
            session = {_FOLLOWED: {code: int(party_id)}, "csrf_token": secrets.token_hex(20)}
            pages.append((url_for(PAGE_ENDPOINT, code=display(code)), f"{name}={serializer.dumps(session)}"))
    path.write_text("".join(f"{page}\t{cookie}\n" for page, cookie in pages), encoding="ascii")
    return pages


@dataclass
class Samples:
    """What the requests pick from: tracking codes, status pages with their cookie, case ids, the token."""

    codes: list[tuple[str, str]]
    pages: list[tuple[str, str]] | None
    layout: Layout
    token: str

    def request(self, target: str) -> tuple[str, dict[str, str]]:
        """Return the path and headers of one request to ``target``, to a random case."""
        if target == "baseline":
            return "/healthz", {}
        if target == "track":
            code, last4 = random.choice(self.codes)
            return f"/api/v1/track/{display(code)}", {"X-Phone-Last4": last4}
        if target == "page" and self.pages:
            page, cookie = random.choice(self.pages)
            return page, {"Cookie": cookie}
        if target == "case":
            case_id = random.randint(self.layout.first_id, self.layout.last_id)
            return f"/api/v1/cases/{case_id}", {"Authorization": f"Bearer {self.token}"}
        raise BenchError(f"no requests for target {target!r}")


# --------------------------------------------------------------------------------------
# What the views ask the database
# --------------------------------------------------------------------------------------


@dataclass
class Statement:
    """One SQL statement a view sent, with its parameters and its plan."""

    view: str
    sql: str
    params: Any
    plan: list[str] = field(default_factory=list)

    def scans(self) -> list[tuple[str, str]]:
        """Return the plan's scan nodes as (kind and index, table), e.g. ``("Index Scan using pk_cases", "cases")``."""
        found = []
        for line in self.plan:
            node = line.strip().removeprefix("->").strip()
            m = re.match(r"((?:Parallel )?(?:Seq|Index|Index Only|Bitmap Heap) Scan(?: using \S+)?) on (\w+)", node)
            if m:
                found.append((m.group(1), m.group(2)))
        return found

    def seq_scans(self, rows: dict[str, int]) -> list[str]:
        """Return the tables with more than ``LARGE_TABLE_ROWS`` rows (by ``rows``) the plan reads sequentially."""
        return [table for kind, table in self.scans()
                if kind.endswith("Seq Scan") and rows.get(table, 0) > LARGE_TABLE_ROWS]

    def summary(self) -> str:
        """Return the scans in one line, repeats counted (``Index Scan using pk_units on units x8``)."""
        counts: dict[str, int] = {}
        for kind, table in self.scans():
            counts[f"{kind} on {table}"] = counts.get(f"{kind} on {table}", 0) + 1
        return "; ".join(f"{scan}{f' x{n}' if n > 1 else ''}" for scan, n in counts.items()) or "(no table scan)"

    def execution_ms(self) -> float | None:
        """Return the execution time EXPLAIN ANALYZE measured, if it printed one."""
        for line in self.plan:
            if m := re.match(r"\s*Execution Time: ([\d.]+) ms", line):
                return float(m.group(1))
        return None


def table_rows(engine: Engine) -> dict[str, int]:
    """Return the planner's row estimate of every table of the schema (as of the last ANALYZE)."""
    with engine.connect() as conn:
        return {str(name): int(n) for name, n in conn.execute(text(
            "SELECT c.relname, greatest(c.reltuples, 0)::bigint FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'"))}


@dataclass
class Probe:
    """What the routes did when called in this process, without HTTP: their SQL and their time."""

    statements: list[Statement]
    ms: dict[str, list[float]]


def probe_routes(app: Flask, targets: Sequence[str], samples: Samples, requests: int) -> Probe:
    """Call each route through the app in this process (Flask's test client: no HTTP, no concurrency).

    First one request of each with every SQL statement recorded, then ``requests`` timed ones
    in a row, each to a random code or case (after a few untimed), to tell the routes' own
    cost apart from the machine's load and the HTTP server.
    """
    from web.session import EXTENSION

    engine: Engine = app.extensions[EXTENSION]["engine"]
    client = app.test_client(use_cookies=False)
    captured: list[Statement] = []
    current = ["?"]

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        captured.append(Statement(current[0], statement, parameters))

    def get(target: str) -> None:
        path, headers = samples.request(target)
        response = client.get(path, headers=headers)
        if response.status_code != 200:
            raise BenchError(f"in-process GET {path} answered {response.status_code}: {response.text[:300]}")

    try:
        event.listen(engine, "before_cursor_execute", capture)
        try:
            for target in targets:
                current[0] = target
                get(target)
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        ms: dict[str, list[float]] = {}
        for target in targets:
            for _ in range(min(20, requests)):
                get(target)
            times = []
            for _ in range(requests):
                started = time.perf_counter()
                get(target)
                times.append((time.perf_counter() - started) * 1000)
            ms[target] = times
    finally:
        engine.dispose()  # the pool: the engine itself stays usable, for the EXPLAINs
    statements = [s for s in captured if s.sql.lstrip().upper().startswith(("SELECT", "WITH"))]
    for statement in statements:
        statement.plan = explain(engine, statement.sql, statement.params)
    return Probe(statements, ms)


def print_plans(statements: list[Statement], rows: dict[str, int]) -> int:
    """Print each statement's scans and time; return how many read a large table sequentially."""
    bad = 0
    for i, s in enumerate(statements, 1):
        flat = " ".join(s.sql.split())
        shown = flat[flat.find(" FROM ") + 1:] if " FROM " in flat else flat
        ms = s.execution_ms()
        log(f"  {s.view} #{i}: {shown[:110]}")
        log(f"      {s.summary()}; {ms if ms is not None else '?'} ms")
        if large := s.seq_scans(rows):
            bad += 1
            log(f"      SEQUENTIAL SCAN of {', '.join(f'{t} ({rows[t]} rows)' for t in large)}; the full plan:")
            for line in s.plan:
                log(f"        {line}")
    return bad


def check_code_lookup(statements: list[Statement]) -> None:
    """Raise unless the tracking view's lookup by code reads ``cases`` through an index."""
    lookups = [s for s in statements if s.view == "track" and "tracking_code =" in s.sql]
    if not lookups:
        raise BenchError("the tracking view sent no query on cases.tracking_code")
    for s in lookups:
        if not any(table == "cases" and "Seq" not in kind for kind, table in s.scans()):
            raise BenchError("the tracking code lookup does not use an index:\n" + "\n".join(s.plan))


# --------------------------------------------------------------------------------------
# The web app and wrk
# --------------------------------------------------------------------------------------


TRACK_LUA = """
-- A random tracking code of the sample file (args[1], "CODE<TAB>LAST4" lines) on every request, under the
-- prefix args[2], with its phone's last four digits.
local codes, digits, prefix = {}, {}, "/api/v1/track/"
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_no", threads)
end
function init(args)
  math.randomseed(os.time() * 100 + (thread_no or 0))
  for line in io.lines(args[1]) do
    local code, last4 = line:match("^([^\t]+)\t?(%d*)$")
    if code then codes[#codes + 1] = code; digits[#digits + 1] = last4 end
  end
  if args[2] then prefix = args[2] end
end
function request()
  local i = math.random(#codes)
  return wrk.format("GET", prefix .. codes[i], {["X-Phone-Last4"] = digits[i]})
end
"""

CASE_LUA = """
-- A random case id in args[1]..args[2] on every request, with the bearer token read from the file args[3].
local lo, hi
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_no", threads)
end
function init(args)
  math.randomseed(os.time() * 100 + (thread_no or 0))
  lo, hi = tonumber(args[1]), tonumber(args[2])
  local f = assert(io.open(args[3], "r"))
  local token = f:read("*l")
  f:close()
  wrk.headers["Authorization"] = "Bearer " .. token
end
function request()
  return wrk.format("GET", "/api/v1/cases/" .. math.random(lo, hi))
end
"""


PAGE_LUA = """
-- A random status page of the file args[1] (lines of path, a tab, the Cookie header) on every request.
local pages = {}
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_no", threads)
end
function init(args)
  math.randomseed(os.time() * 100 + (thread_no or 0))
  for line in io.lines(args[1]) do
    local path, cookie = line:match("^(%S+)\t(.+)$")
    if path then pages[#pages + 1] = {path, cookie} end
  end
end
function request()
  local page = pages[math.random(#pages)]
  return wrk.format("GET", page[1], {Cookie = page[2]})
end
"""


@dataclass
class WrkResult:
    """What one wrk run printed."""

    target: str
    rps: float
    requests: int
    seconds: float
    p50_ms: float
    p75_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int
    socket_errors: dict[str, int]
    output: str


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _ms(value: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", value.strip())
    if m is None:
        raise BenchError(f"cannot read the duration {value!r} in wrk's output")
    return float(m.group(1)) * _UNITS_MS[m.group(2)]


def parse_wrk(target: str, output: str) -> WrkResult:
    """Read the figures of a ``wrk --latency`` run from its output."""
    def find(pattern: str) -> re.Match[str]:
        m = re.search(pattern, output, re.MULTILINE)
        if m is None:
            raise BenchError(f"wrk's output for {target} has no match for {pattern!r}:\n{output}")
        return m

    dist = {pct: _ms(find(rf"^\s+{pct}%\s+(\S+)\s*$").group(1)) for pct in (50, 75, 90, 99)}
    done = find(r"^\s*(\d+) requests in ([\d.]+\w+),")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    socket_errors = dict(zip(("connect", "read", "write", "timeout"), (int(g) for g in errors.groups()), strict=True)) \
        if errors else {}
    return WrkResult(
        target=target, rps=float(find(r"^Requests/sec:\s+([\d.]+)").group(1)), requests=int(done.group(1)),
        seconds=_ms(done.group(2)) / 1000, p50_ms=dist[50], p75_ms=dist[75], p90_ms=dist[90], p99_ms=dist[99],
        max_ms=_ms(find(r"^\s+Latency\s+\S+\s+\S+\s+(\S+)").group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0, socket_errors=socket_errors, output=output)


def run_wrk(args: argparse.Namespace, wrk: str, base: str, target: str, path: str, script: Path | None,
            script_args: Sequence[str], seconds: float) -> WrkResult:
    """Run wrk once against ``base + path`` (the script, if any, makes the paths) and return its figures."""
    cmd = [wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds:g}s", "--latency",
           f"--timeout={args.wrk_timeout:g}s"]
    if script is not None:
        cmd += ["-s", str(script)]
    cmd += [base + path]
    if script_args:
        cmd += ["--", *script_args]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=False,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"wrk for {target} did not finish within {seconds + 60:.0f} s") from exc
    if done.returncode != 0:
        raise BenchError(f"wrk for {target} exited with {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return parse_wrk(target, done.stdout + done.stderr)


def start_web(args: argparse.Namespace, procs: Processes) -> str:
    """Start gunicorn on a free port (as ``bench/throughput.py`` does), wait until it answers; return its base URL."""
    return support_start_web(procs, args.web_workers, args.web_threads)


def beat_sweeper(engine: Engine) -> None:
    """Run the deadline sweeper once, as beat would, so /healthz finds it recent; nothing may be due."""
    from workflow.cases.overdue import sweep

    with unit_of_work(engine) as session:
        swept = sweep(session, wallclock.now())
    if swept.fired or swept.stale:
        raise BenchError(f"the sweeper fired {swept.fired} deadlines ({swept.stale} stale): some were due")


def check_answers(base: str, samples: Samples, targets: Sequence[str]) -> None:
    """Check one answer of each route over HTTP: the status and the shape of the body (the views did real work)."""
    with httpx.Client(base_url=base, timeout=10.0, trust_env=False) as http:
        for target in targets:
            path, headers = samples.request(target)
            response = http.get(path, headers=headers)
            if response.status_code != 200:
                raise BenchError(f"GET {path} answered {response.status_code}: {response.text[:300]}")
            size = f"{len(response.content)} bytes"
            if target == "track":
                body = response.json()
                steps = body.get("timeline") or []
                if len(steps) < 2 or not body.get("reporter"):
                    raise BenchError(f"the tracking view shows {len(steps)} steps and no reporter: {response.text[:300]}")
                log(f"  {path}: {len(steps)} public steps, {size}")
            elif target == "case":
                body = response.json()
                shape = {k: len(body.get(k) or []) for k in ("timeline", "parties", "deadlines", "notifications")}
                if shape["timeline"] < 2 or shape["parties"] < 1 or shape["deadlines"] != 3 or shape["notifications"] < 1:
                    raise BenchError(f"the case view is not what generation made: {shape}")
                log(f"  {path}: {', '.join(f'{n} {k}' for k, n in shape.items())}, {size}")
            elif target == "page":
                code = path.rsplit("/", 1)[-1]
                if "html" not in response.headers.get("content-type", "") or code not in response.text:
                    raise BenchError(f"GET {path} is not the status page of {code}: {response.text[:300]}")
                log(f"  {path}: {response.headers.get('content-type')}, {size}")
            else:
                log(f"  {path}: {size}")


def probe_failures(base: str, samples: Samples, target: str) -> str:
    """Return the statuses of a few requests like those that failed, to say what went wrong."""
    lines = []
    with httpx.Client(base_url=base, timeout=10.0, trust_env=False) as http:
        for _ in range(3):
            path, headers = samples.request(target)
            try:
                r = http.get(path, headers=headers)
                lines.append(f"  GET {path}: {r.status_code} {r.text[:200]}")
            except httpx.HTTPError as exc:
                lines.append(f"  GET {path}: {exc.__class__.__name__}: {exc}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=1_000_000, help="cases to generate")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the cases already in the database if it holds what this script generates "
                             "(same --cases, no deadline due soon); generate otherwise")
    parser.add_argument("--sample", type=int, default=100_000, help="random tracking codes the load generator uses")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of each measured wrk run")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of wrk before each measured run")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (all open at once)")
    parser.add_argument("--wrk-timeout", type=float, default=30.0,
                        help="seconds before wrk counts a request as timed out (a timeout fails the benchmark)")
    parser.add_argument("--inproc", type=int, default=200,
                        help="requests of each route timed in this process, one at a time, before the load")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--web-threads", type=int, default=4, help="threads per gunicorn worker (as in the Procfile)")
    parser.add_argument("--no-page", action="store_true",
                        help="leave out the resident's HTML status page (loaded when the web UI has one)")
    parser.add_argument("--keep-logs", action="store_true", help="keep the web log and the data folder")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL,
                        help="PostgreSQL benchmark database (wiped unless reused: its name must contain 'bench')")
    parser.add_argument("--broker-url", default=DEFAULT_BROKER_URL,
                        help="Redis URL the web app is configured with (nothing is published by reads)")
    args = parser.parse_args(argv)
    if args.cases < 1 or args.sample < 1 or args.inproc < 1 or args.duration <= 0 or args.warmup < 0:
        parser.error("--cases, --sample and --inproc must be at least 1, --duration above 0, --warmup not negative")
    if args.threads < 1 or args.connections < args.threads:
        parser.error("--threads must be at least 1 and --connections at least --threads")
    return args


def print_result(r: WrkResult, baseline_rps: float | None = None) -> None:
    """Print one wrk run's figures."""
    vs = f", {r.rps / baseline_rps:.2f}x the baseline" if baseline_rps else ""
    log(f"  {r.target}: {r.rps:.1f} req/s ({r.requests} in {r.seconds:.1f} s){vs}; latency p50 {r.p50_ms:.1f} ms, "
        f"p75 {r.p75_ms:.1f} ms, p90 {r.p90_ms:.1f} ms, p99 {r.p99_ms:.1f} ms, max {r.max_ms:.1f} ms")


def main(argv: Sequence[str] | None = None) -> int:
    """Prepare the data, explain the views' queries, load each route with wrk and print the figures."""
    args = parse_args(argv)
    wrk = shutil.which("wrk")
    if wrk is None:
        log(WRK_INSTALL)
        return 2
    try:
        check_local(args.database_url, "--database-url")
        check_local(args.broker_url, "--broker-url")
        check_bench_database(args.database_url, action="wipe")
    except BenchError as exc:
        log(f"benchmark refused: {exc}")
        return 2
    home = Path(tempfile.mkdtemp(prefix="gridcase-bench-reads-"))
    # The web app (and this process, for the views' queries) see the same settings.
    # The residents' lookups are limited per address and per code; the load generator is one address.
    os.environ.update(DATABASE_URL=args.database_url, BROKER_URL=args.broker_url, GRIDCASE_HOME=str(home),
                      GRIDCASE_TRACK_LIMIT="100000000 per minute", GRIDCASE_TRACK_CODE_LIMIT="100000000 per minute")
    procs = Processes(env=child_env(), log_dir=home)
    timings: dict[str, float] = {}
    ok = reported = False
    engine: Engine | None = None
    log(f"gridcase reads: {args.cases} cases, wrk -t{args.threads} -c{args.connections} {args.duration:g} s per target "
        f"after {args.warmup:g} s warm-up; logs in {home}")
    try:
        with sigterm_as_interrupt():
            layout = prepare(args, timings)
            engine = make_engine(args.database_url)
            token = new_token(engine)
            token_file = home / "token.txt"
            token_file.write_text(token + "\n", encoding="ascii")
            token_file.chmod(0o600)
            codes_file = home / "codes.txt"
            codes = sample_codes(engine, layout, args.sample, codes_file)
            log(f"sampled {len(codes)} tracking codes; bench member {BENCH_USER} ({BENCH_ROLE} at {BENCH_UNIT})")
            rows = {t: scalar_int(engine, f"SELECT count(*) FROM {t}")
                    for t in ("cases", "case_parties", "case_events", "deadlines", "outbox", "deliveries")}
            log("rows: " + ", ".join(f"{t} {n}" for t, n in rows.items()))
            size = scalar_int(engine, "SELECT pg_database_size(current_database())")
            log(f"database size: {size / 2**20:.0f} MB")

            from web import create_app
            from web.session import EXTENSION

            app = create_app()  # as the web app is: the same settings, secret key and data folder
            try:
                pages = None if args.no_page else page_sample(app, codes, home / "pages.txt")
                samples = Samples(codes, pages, layout, token)
                names = ["baseline", "track", "case"] + (["page"] if pages else [])
                log("the resident's status page: " + (
                    "left out (--no-page)" if args.no_page else
                    f"GET {pages[0][0]} and the like" if pages else
                    f"the app has none ({PAGE_ENDPOINT} is not a route): left out"))
                beat_sweeper(engine)
                probe = probe_routes(app, names, samples, args.inproc)
            finally:
                app.extensions[EXTENSION]["engine"].dispose()
            log("the SQL of one request of each route (in this process), with the scans of its EXPLAIN ANALYZE:")
            seq_scans = print_plans(probe.statements, table_rows(engine))
            check_code_lookup(probe.statements)
            if seq_scans:
                log(f"WARNING: {seq_scans} statements scan a large table sequentially (see above)")
            inproc = {t: statistics.median(v) for t, v in probe.ms.items()}
            log(f"in this process, one request at a time ({args.inproc} each, Flask test client, no HTTP):")
            for target, times in probe.ms.items():
                log(f"  {target}: median {inproc[target]:.2f} ms, p99 {percentile(times, 99):.2f} ms "
                    f"({inproc[target] / inproc['baseline']:.2f}x the baseline's)")

            base = start_web(args, procs)
            beat_sweeper(engine)
            log(f"web on {base}; one request of each route:")
            check_answers(base, samples, names)
            scripts = {"track": home / "track.lua", "case": home / "case.lua", "page": home / "page.lua"}
            for name, lua in (("track", TRACK_LUA), ("case", CASE_LUA), ("page", PAGE_LUA)):
                scripts[name].write_text(lua, encoding="utf-8")
            targets: list[tuple[str, str, Path | None, list[str]]] = [
                ("baseline", "/healthz", None, []),
                ("track", "/", scripts["track"], [str(codes_file)]),
                ("case", "/", scripts["case"], [str(layout.first_id), str(layout.last_id), str(token_file)]),
            ]
            if pages:
                targets.append(("page", "/", scripts["page"], [str(home / "pages.txt")]))
            targets.append(("baseline", "/healthz", None, []))

            results: list[WrkResult] = []
            for target, path, script, script_args in targets:
                if target == "baseline":
                    beat_sweeper(engine)
                procs.check_alive()
                if args.warmup > 0:
                    run_wrk(args, wrk, base, target, path, script, script_args, args.warmup)
                result = run_wrk(args, wrk, base, target, path, script, script_args, args.duration)
                errors = sum(result.socket_errors.values())
                if result.non_2xx or errors:
                    raise BenchError(
                        f"{target}: wrk saw {result.non_2xx} non-2xx/3xx responses and socket errors "
                        f"{result.socket_errors} out of {result.requests}:\n{result.output}\nsample requests now:\n"
                        + probe_failures(base, samples, target))
                print_result(result)
                results.append(result)

            baselines = [r for r in results if r.target == "baseline"]
            baseline_rps = sum(r.rps for r in baselines) / len(baselines)
            baseline_p99 = sum(r.p99_ms for r in baselines) / len(baselines)
            spread = abs(baselines[0].rps - baselines[-1].rps) / baseline_rps
            by_target = {r.target: r for r in results if r.target != "baseline"}
            log(f"summary (wrk -t{args.threads} -c{args.connections}, {args.duration:g} s each; gunicorn "
                f"{args.web_workers}x{args.web_threads}):")
            log(f"  baseline GET /healthz: {baselines[0].rps:.1f} req/s first, {baselines[-1].rps:.1f} req/s last "
                f"(spread {spread * 100:.0f}%); mean {baseline_rps:.1f} req/s")
            for r in by_target.values():
                print_result(r, baseline_rps)
            noisy = report_logs(procs.logs)
            reported = True
            if noisy:
                log("PROBLEMS: the web log has errors or warnings (above)")
            if args.keep_logs:
                log(f"logs kept in {home}")
            track, case = by_target["track"], by_target["case"]
            page = by_target.get("page")
            page_fields = (f"page_rps={page.rps:.1f} page_p99_ms={page.p99_ms:.1f} "
                           f"page_vs_baseline={page.rps / baseline_rps:.2f} ") if page else ""
            log(f"cases={layout.cases} track_rps={track.rps:.1f} track_p99_ms={track.p99_ms:.1f} "
                f"case_rps={case.rps:.1f} case_p99_ms={case.p99_ms:.1f} {page_fields}"
                f"baseline_rps={baseline_rps:.1f} baseline_p99_ms={baseline_p99:.1f} "
                f"track_vs_baseline={track.rps / baseline_rps:.2f} case_vs_baseline={case.rps / baseline_rps:.2f} "
                f"baseline_spread={spread:.2f} track_inproc_ms={inproc['track']:.2f} "
                f"case_inproc_ms={inproc['case']:.2f} baseline_inproc_ms={inproc['baseline']:.2f} seq_scans={seq_scans} "
                f"data={'generated' if layout.generated else 'reused'}")
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
        if not reported:
            report_logs(procs.logs)
        if ok and not args.keep_logs:
            shutil.rmtree(home, ignore_errors=True)
        elif not ok:
            log(f"logs kept in {home}")


if __name__ == "__main__":
    sys.exit(main())
