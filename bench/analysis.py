"""The analysis dashboard and the KPI API of a street with 1,000,000 cases, in PostgreSQL, against a baseline.

Run from the repository root (``wrk`` is used if installed: ``apt-get install -y wrk``)::

    .venv/bin/python bench/analysis.py [--cases 1000000] [--reuse] [--duration 15] [--inproc 40]

1. Prepares a benchmark database (the name must contain ``bench``; created if missing). Unless
   ``--reuse`` finds it holding ``--cases`` cases, its schema is dropped, migrated, the demo org
   loaded, and the cases generated with SQL (``INSERT ... SELECT ... FROM generate_series``):
   cases spread evenly over the last 365 days across the demo's 12 grids, in every category,
   severity and channel, with their rows of ``analysis_case_facts`` shaped as ``facts.derive``
   writes them (signed for within or after the first-contact deadline, resolved in the grid or
   above, on time or overdue, supervised, reopened, closed on an answer or by the clock, rated
   1–5). The timelines themselves are not generated: the dashboard and the API read the facts
   table (and ``cases`` for the lists); deriving facts is measured separately on real
   timelines by the unit tests. Then VACUUM ANALYZE.
2. Times ``--inproc`` requests of each route through the app in this process (Flask's test
   client, one at a time): ``/healthz`` (the baseline), ``GET /api/v1/analysis/kpis`` for the
   street this month, and the dashboard page ``/analysis`` for the street this month
   (including its weekly trend over 26 weeks); p50 and p95 in ms.
3. If ``wrk`` is installed, starts gunicorn (2 workers of 4 threads) and runs wrk
   (``-t2 -c4``, ``--duration`` s, ``--latency``) on each route, logged in where needed.

The figures are printed last: each route's p50/p95 in process and under wrk, and the ratio of
each to the baseline measured in the same run. The goal: the street's dashboard within 1 s at p95.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import httpx
from sqlalchemy import Engine, Table, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.reads import beat_sweeper, parse_wrk  # noqa: E402
from bench.support import (  # noqa: E402
    BenchError,
    Processes,
    check_bench_database,
    check_local,
    child_env,
    ensure_database,
    log,
    percentile,
    reset_database,
    scalar_int,
    start_web,
    vacuum_analyze,
)
from workflow.analysis import rollup  # noqa: E402
from workflow.analysis.models import CaseFacts, DailyTally  # noqa: E402
from workflow.base.db import make_engine, unit_of_work  # noqa: E402
from workflow.base.schema import upgrade  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/gridcase_bench_analysis"
PASSWORD = "bench analysis password"

CASES_SQL = """
INSERT INTO cases (id, tracking_code, state, level, grid_unit_id, holding_unit_id, category, severity, channel,
                   description, submitted_at, state_entered_at, updated_at, version, reopen_count, supervised,
                   clock_token)
SELECT i, 'B' || lpad(to_hex(i), 15, '0'),
       CASE WHEN i % 20 = 0 THEN 'grid_handling' ELSE 'closed' END, 'grid',
       g.grids[1 + i % array_length(g.grids, 1)], g.grids[1 + i % array_length(g.grids, 1)],
       (ARRAY['NOI','NEI','PRO','ENV','UTL','FAM','LAB','GOV'])[1 + (i * 7) % 8],
       (ARRAY['P2','P2','P3','P1'])[1 + (i * 3) % 4],
       (ARRAY['hotline','grid_patrol','walk_in','web','12345'])[1 + (i * 11) % 5],
       '楼道噪音', :start + (i::bigint * :span / :cases) * interval '1 second',
       :start + (i::bigint * :span / :cases) * interval '1 second', :start + (i::bigint * :span / :cases) * interval '1 second',
       3, 0, false, 1
FROM generate_series(1, :cases) AS i,
     (SELECT array_agg(id ORDER BY id) AS grids FROM units WHERE level = 'grid') AS g
"""

# Shaped like facts.derive's rows: the fractions are those a busy street might see.
FACTS_SQL = """
INSERT INTO analysis_case_facts (case_id, grid_unit_id, channel, category, severity, state, received_at, ended_at,
    contact_due_at, contact_at, responded, contact_work_s, resolved_at, in_grid, resolution_work_s, settled_at,
    on_time, overdue_at, supervised_at, closed_at, closed_by_resident, reopen_count, reopened_at, answered_at,
    answer_resolved, answer_satisfaction, mediation_ended_at, mediation_agreed, derived_at)
SELECT c.id, c.grid_unit_id, c.channel, c.category, c.severity, c.state, c.submitted_at,
       CASE WHEN c.state = 'closed' THEN c.submitted_at + interval '5 days' END,
       c.submitted_at + interval '24 hours',
       c.submitted_at + ((c.id * 13) % 30) * interval '1 hour', (c.id * 13) % 30 < 24, ((c.id * 13) % 30) * 3600.0,
       CASE WHEN c.state = 'closed' THEN c.submitted_at + interval '3 days' END,
       c.state = 'closed' AND c.id % 10 < 7, CASE WHEN c.state = 'closed' THEN (c.id % 96) * 3600.0 END,
       CASE WHEN c.state = 'closed' THEN c.submitted_at + interval '3 days'
            WHEN c.id % 40 = 0 THEN c.submitted_at + interval '7 days' END,
       c.state = 'closed' AND c.id % 9 <> 0,
       CASE WHEN c.id % 9 = 0 THEN c.submitted_at + interval '7 days' END,
       CASE WHEN c.id % 50 = 0 THEN c.submitted_at + interval '8 days' END,
       CASE WHEN c.state = 'closed' THEN c.submitted_at + interval '5 days' END,
       c.state = 'closed' AND c.id % 10 < 7, (c.id % 17 = 0)::int,
       CASE WHEN c.id % 17 = 0 THEN c.submitted_at + interval '4 days' END,
       CASE WHEN c.state = 'closed' AND c.id % 10 < 7 THEN c.submitted_at + interval '5 days' END,
       CASE WHEN c.state = 'closed' AND c.id % 10 < 7 THEN (ARRAY['yes','yes','yes','partly','no'])[1 + c.id % 5] END,
       CASE WHEN c.state = 'closed' AND c.id % 10 < 7 THEN 1 + (c.id * 7) % 5 END,
       CASE WHEN c.id % 25 = 0 THEN c.submitted_at + interval '10 days' END, c.id % 25 = 0 AND c.id % 100 <> 0,
       now()
FROM cases AS c
"""


def generate(engine: Engine, cases: int) -> None:
    """Generate the cases and their facts (see the module's docstring)."""
    now = datetime.now(UTC)
    start, span = now - timedelta(days=365), int(timedelta(days=365).total_seconds())
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL synchronous_commit = off"))
        conn.execute(text(CASES_SQL), {"cases": cases, "start": start, "span": span})
        conn.execute(text(FACTS_SQL))
        conn.execute(text("INSERT INTO heartbeats (name, at, detail) VALUES ('analysis_refresh', now(), '{}')"))
        conn.execute(text("SELECT setval(pg_get_serial_sequence('cases', 'id'), :n)"), {"n": cases})
    vacuum_analyze(engine, ["cases", "analysis_case_facts"])


def recreate_indexes(engine: Engine) -> None:
    """Drop and create the facts' and tallies' indexes as the models define them now (a reused database may predate them)."""
    for model in (CaseFacts, DailyTally):
        for index in cast(Table, model.__table__).indexes:
            with engine.begin() as conn:
                conn.execute(text(f"DROP INDEX IF EXISTS {index.name}"))
                index.create(conn)
    vacuum_analyze(engine, ["analysis_case_facts", "analysis_daily"])


def prepare(url: str, cases: int, reuse: bool) -> None:
    """Create, reset and fill the benchmark database, unless ``--reuse`` finds it ready."""
    check_local(url, "--database")
    check_bench_database(url, action="wipe")
    ensure_database(url, "--database")
    engine = make_engine(url)
    try:
        if reuse:
            try:
                if (scalar_int(engine, "SELECT count(*) FROM analysis_case_facts") == cases
                        and scalar_int(engine, "SELECT count(*) FROM analysis_daily") > 0):
                    upgrade(engine)  # a no-op when the schema is current
                    recreate_indexes(engine)
                    log(f"reusing {cases:,} cases")
                    return
            except Exception:  # an empty or older database: build it
                pass
        log("resetting the benchmark database")
        reset_database(url)
        began = time.monotonic()
        generate(engine, cases)
        log(f"generated {cases:,} cases and their facts in {time.monotonic() - began:.0f} s")
        began = time.monotonic()
        with unit_of_work(engine) as session:
            rollup.rebuild(session)
        vacuum_analyze(engine, ["analysis_daily", "analysis_daily_digests"])
        log(f"built the daily tallies from the facts in {time.monotonic() - began:.0f} s "
            "(what 'gridcase analysis refresh --all' does after deriving)")
    finally:
        engine.dispose()


def set_password(url: str) -> None:
    """Give the street's demo member a password for the dashboard."""
    from workflow.org.members import set_password as set_it
    from workflow.org.members import user_by_name

    engine = make_engine(url)
    with unit_of_work(engine) as session:
        set_it(user_by_name(session, "xy.street"), PASSWORD)
    engine.dispose()


def token(url: str) -> str:
    """Create an API token for the street's demo member."""
    from workflow.org.members import create_token

    engine = make_engine(url)
    with unit_of_work(engine) as session:
        value = create_token(session, "xy.street")
    engine.dispose()
    return value


def in_process(url: str, routes: dict[str, str], headers: dict[str, str], count: int) -> dict[str, list[float]]:
    """Time ``count`` requests of each route through the app in this process; return the times in ms."""
    from web import create_app

    app = create_app({"DATABASE_URL": url, "PUBLISH_EVENT": lambda _: None, "PUBLISH_NOTICES": lambda _: None})
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
    assert csrf, "no CSRF token on the login page"
    answer = client.post("/login", data={"name": "xy.street", "password": PASSWORD, "csrf_token": csrf.group(1)})
    if answer.status_code != 302:
        raise BenchError(f"logging in answered {answer.status_code}")
    times: dict[str, list[float]] = {}
    for name, path in routes.items():
        answer = client.get(path, headers=headers)  # warm-up, and a check
        if answer.status_code != 200:
            raise BenchError(f"{path} answered {answer.status_code}: {answer.text[:300]}")
        times[name] = []
        for _ in range(count):
            began = time.perf_counter()
            client.get(path, headers=headers)
            times[name].append((time.perf_counter() - began) * 1000)
    return times


def session_cookie(base: str) -> str:
    """Log in to the running web app; return the Cookie header of the session."""
    with httpx.Client(base_url=base, trust_env=False, follow_redirects=False) as http:
        page = http.get("/login")
        csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
        assert csrf, "no CSRF token on the login page"
        answer = http.post("/login", data={"name": "xy.street", "password": PASSWORD, "csrf_token": csrf.group(1)})
        if answer.status_code != 302:
            raise BenchError(f"logging in to the web app answered {answer.status_code}")
        return "; ".join(f"{k}={v}" for k, v in http.cookies.items())


def under_wrk(url: str, routes: dict[str, str], headers: dict[str, str], seconds: float) -> dict[str, str]:
    """Run wrk on each route against gunicorn; return the parsed figures as text lines."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return {}
    folder = Path(tempfile.mkdtemp(prefix="bench-analysis-"))
    env = child_env()
    env["DATABASE_URL"] = url
    env.setdefault("GRIDCASE_HOME", str(folder))
    procs = Processes(env, folder)
    out: dict[str, str] = {}
    try:
        base = start_web(procs, 2, 4)
        cookie = session_cookie(base)
        for name, path in routes.items():
            cmd = [wrk, "-t2", "-c4", f"-d{seconds:g}s", "--latency", "--timeout=10s",
                   "-H", f"Authorization: {headers['Authorization']}", "-H", f"Cookie: {cookie}", base + path]
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=False)
            result = parse_wrk(name, done.stdout + done.stderr)
            if result.non_2xx:
                raise BenchError(f"wrk {name}: {result.non_2xx} answers were not 2xx")
            out[name] = (f"{result.rps:8.1f} req/s  p50 {result.p50_ms:7.1f} ms  p90 {result.p90_ms:7.1f} ms  "
                         f"p99 {result.p99_ms:7.1f} ms")
            out[name + "_p99"] = str(result.p99_ms)
    finally:
        procs.stop()
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its figures last."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--database", default=os.environ.get("GRIDCASE_BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--reuse", action="store_true", help="keep the database if it already holds --cases cases")
    parser.add_argument("--inproc", type=int, default=40, help="requests of each route timed in process")
    parser.add_argument("--duration", type=float, default=15, help="seconds of wrk per route")
    args = parser.parse_args(argv)
    try:
        prepare(args.database, args.cases, args.reuse)
        set_password(args.database)
        headers = {"Authorization": f"Bearer {token(args.database)}"}
        today = datetime.now(UTC).date()
        month = f"from={today.replace(day=1).isoformat()}&to={today.isoformat()}"
        last_end = today.replace(day=1) - timedelta(days=1)
        last_month = f"from={last_end.replace(day=1).isoformat()}&to={last_end.isoformat()}"
        routes = {"baseline": "/healthz", "kpis": f"/api/v1/analysis/kpis?unit=XY&{month}",
                  "dashboard": f"/analysis?unit=XY&{month}",
                  "kpis_last_month": f"/api/v1/analysis/kpis?unit=XY&{last_month}",
                  "dashboard_last_month": f"/analysis?unit=XY&{last_month}"}
        engine = make_engine(args.database)
        beat_sweeper(engine)  # /healthz, the baseline, answers 200 only with a recent sweep
        log(f"timing {args.inproc} requests of each route in process")
        times = in_process(args.database, routes, headers, args.inproc)
        beat_sweeper(engine)
        engine.dispose()
        log("running wrk against gunicorn" if shutil.which("wrk") else "wrk is not installed: skipping the load runs")
        loaded = under_wrk(args.database, routes, headers, args.duration)
    except BenchError as exc:
        print(f"bench/analysis.py: {exc}", file=sys.stderr)
        return 1
    base50, base95 = percentile(times["baseline"], 50), percentile(times["baseline"], 95)
    print(f"\n== analysis of a street with {args.cases:,} cases (this month; facts as generated) ==")
    print("in process, one request at a time:")
    for name, values in times.items():
        p50, p95 = percentile(values, 50), percentile(values, 95)
        print(f"  {name:<20} p50 {p50:8.1f} ms  p95 {p95:8.1f} ms  ({p50 / base50:6.1f}x / {p95 / base95:6.1f}x baseline)")
    if loaded:
        print("under wrk (-t2 -c4), gunicorn 2 workers x 4 threads:")
        for name in routes:
            print(f"  {name:<20} {loaded[name]}")
    for name in ("dashboard", "dashboard_last_month"):
        p95 = percentile(times[name], 95)
        print(f"{name} p95 in process: {p95:.0f} ms ({'within' if p95 <= 1000 else 'OVER'} 1 s)")
        if name + "_p99" in loaded:
            # wrk reports p50/p75/p90/p99: a p99 within the goal bounds the p95 the issue names.
            p99 = float(loaded[name + "_p99"])
            print(f"{name} p99 under wrk: {p99:.0f} ms ({'within' if p99 <= 1000 else 'OVER'} 1 s, so p95 is too)"
                  if p99 <= 1000 else f"{name} p99 under wrk: {p99:.0f} ms (OVER 1 s: read p90 against the goal)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
