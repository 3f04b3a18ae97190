"""What the benchmark scripts in ``bench/`` share: helpers, process management, database and broker set-up.

The scripts of ``bench/`` import it as ``bench.support``: the logging and waiting helpers
and ``BenchError``; the guards that keep a benchmark on this machine and on a database it
may wipe; ``Processes``, which starts the web app and Celery workers each in a session of
its own and stops them (SIGTERM, then SIGKILL to the group), and the reading of their logs;
the preparation of the benchmark database and the broker; VACUUM ANALYZE, EXPLAIN ANALYZE
and recording the policy in force.

Celery workers import ``bench.throughput`` (``-A bench.throughput:noop_app``), and with it
this module: it must stay importable without side effects.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import psycopg
import redis
from celery import Celery
from psycopg import sql
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from workflow.base.db import make_engine, unit_of_work
from workflow.base.schema import upgrade
from workflow.notices.org_file import import_org
from workflow.org.tree import DEMO_ORG_FILE, read_org_file

ROOT = Path(__file__).resolve().parent.parent
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
QUEUES = "events,deliveries,deadlines"
LOG_MARKERS = ("ERROR", "CRITICAL", "Traceback", "WARNING", "Exception")


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


class BenchError(Exception):
    """The benchmark cannot go on; the message says why."""


def log(message: str) -> None:
    """Print a progress line, flushed at once."""
    print(message, flush=True)


def wait_until(what: str, check: Callable[[], bool], timeout: float, interval: float = 0.2) -> None:
    """Call ``check`` until it returns True, or raise ``BenchError`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def percentile(values: Sequence[float], pct: float) -> float:
    """Return the ``pct`` percentile (nearest rank) of ``values``, which must not be empty."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def check_local(url: str, what: str) -> None:
    """Refuse a URL whose host is not this machine: the benchmark sends traffic nowhere else."""
    host = make_url(url).host if "://" in url else None
    if host not in LOCAL_HOSTS:
        raise BenchError(f"{what} must point at 127.0.0.1, not {host!r}")


def check_bench_database(url: str, *, action: str = "use", example: str = "postgresql+psycopg://...") -> None:
    """Refuse any database but a PostgreSQL one whose name contains ``bench``: the benchmark wipes it.

    Args:
        url: The database URL.
        action: What the refusal says it will not do to the database ("use", "wipe").
        example: The example of a PostgreSQL URL the refusal of another database shows.
    """
    name = make_url(url).database or ""
    if "bench" not in name:
        raise BenchError(f"refusing to {action} database {name!r}: its name must contain 'bench'")
    if not url.startswith("postgresql"):
        raise BenchError(f"the benchmark needs PostgreSQL ({example})")


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt while the benchmark runs, so its cleanup runs too."""
    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# --------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------


def child_env() -> dict[str, str]:
    """Return the environment of the started processes: this one's, unbuffered, the repository root on the path.

    The load comes from this one address, far faster than a client would send: the intake limit
    per address is lifted unless ``GRIDCASE_INTAKE_LIMIT`` is set (to measure it).
    """
    return dict(os.environ, PYTHONUNBUFFERED="1",
                GRIDCASE_INTAKE_LIMIT=os.environ.get("GRIDCASE_INTAKE_LIMIT", "1000000 per second"),
                PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p))


@dataclass
class Proc:
    """A process the benchmark started, in a session (and process group) of its own."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path


@dataclass
class Processes:
    """The processes started so far; ``stop`` ends them, politely first."""

    env: dict[str, str]
    log_dir: Path
    running: list[Proc] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def start(self, name: str, args: list[str]) -> Proc:
        """Start ``args`` with the benchmark's environment, logging to ``<log_dir>/<name>.log``."""
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("wb") as out:
            popen = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        proc = Proc(name, popen, log_path)
        self.running.append(proc)
        self.logs.append(log_path)
        return proc

    def check_alive(self) -> None:
        """Raise ``BenchError`` with the log's tail if a started process has exited."""
        for proc in self.running:
            code = proc.popen.poll()
            if code is not None:
                raise BenchError(f"{proc.name} exited with {code}; its log ends with:\n{tail(proc.log_path)}")

    def stop(self, procs: list[Proc] | None = None, grace: float = 15.0) -> None:
        """Stop ``procs`` (default: all): SIGTERM to each main process, then SIGKILL to its group."""
        targets = list(self.running if procs is None else procs)
        for proc in targets:
            if proc.popen.poll() is None:
                # Only the main process: a warm shutdown lets a prefork child finish its task.
                _signal(proc.popen.pid, signal.SIGTERM, group=False)
        deadline = time.monotonic() + grace
        for proc in targets:
            try:
                proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log(f"  {proc.name} did not stop within {grace:.0f} s; killing it")
            # Whatever is left of the group (children of a killed or exited parent) goes too.
            _signal(proc.popen.pid, signal.SIGKILL, group=True)
            try:
                proc.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                log(f"  {proc.name} (pid {proc.popen.pid}) is still there after SIGKILL")
            if proc in self.running:
                self.running.remove(proc)


def _signal(pid: int, signum: signal.Signals, *, group: bool) -> None:
    try:
        if group:
            os.killpg(pid, signum)  # the group id is the pid: each process leads its own session
        else:
            os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def tail(path: Path, lines: int = 30) -> str:
    """Return the last ``lines`` lines of a log file."""
    try:
        content = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        return f"(cannot read {path}: {exc})"
    return "\n".join(content[-lines:])


def log_problems(path: Path, limit: int = 8, markers: Sequence[str] = LOG_MARKERS) -> list[str]:
    """Return the first ``limit`` lines of a log that contain one of ``markers`` (errors, warnings, tracebacks)."""
    try:
        content = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    return [line for line in content if any(m in line for m in markers)][:limit]


def report_logs(paths: Iterable[Path], *, limit: int = 8, markers: Sequence[str] = LOG_MARKERS) -> int:
    """Print the error and warning lines of every log in ``paths``; return how many logs had some."""
    noisy = 0
    for path in paths:
        problems = log_problems(path, limit, markers)
        if problems:
            noisy += 1
            log(f"log {path.name} reports:")
            for line in problems:
                log(f"  {line[:300]}")
    return noisy


def celery_worker_args(app: str, hostname: str) -> list[str]:
    """Return the command line of one worker process of ``app`` (prefork, concurrency 1, gridcase's queues)."""
    return [sys.executable, "-m", "celery", "-A", app, "worker", "--pool", "prefork", "--concurrency", "1",
            "--queues", QUEUES, "--loglevel", "WARNING", "-n", hostname]


def wait_for_workers(app: Celery, procs: Processes, hostnames: list[str], timeout: float = 60.0) -> None:
    """Wait until every worker in ``hostnames`` answers a broadcast ping (sent through ``app``)."""
    pending = set(hostnames)

    def answered() -> bool:
        procs.check_alive()
        for reply in app.control.ping(destination=sorted(pending), timeout=1.0) or []:
            pending.difference_update(reply)
        return not pending

    wait_until(f"workers {', '.join(sorted(pending))} to answer a ping", answered, timeout, interval=0.1)


# --------------------------------------------------------------------------------------
# Database and broker
# --------------------------------------------------------------------------------------


def ensure_database(url: str, what: str) -> None:
    """Create the database named in ``url`` if it does not exist (connecting to ``postgres``).

    Args:
        url: The database URL.
        what: How the error names the URL when it names no database.
    """
    parsed = make_url(url)
    name = parsed.database
    if not name:
        raise BenchError(f"{what} names no database")
    with psycopg.connect(host=parsed.host or "127.0.0.1", port=parsed.port or 5432,
                         user=parsed.username or "postgres", password=parsed.password,
                         dbname="postgres", autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            log(f"created database {name}")


def reset_database(url: str) -> None:
    """Drop and re-create schema ``public`` of the benchmark database, migrate it and load the demo org."""
    check_bench_database(url)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '10s'"))
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        upgrade(engine)
        with unit_of_work(engine) as session:
            import_org(session, read_org_file(DEMO_ORG_FILE))
    finally:
        engine.dispose()


def flush_broker(url: str, example: str) -> None:
    """Empty the broker's Redis database (only that one database); ``example`` is shown if it is not Redis."""
    if not url.startswith("redis://"):
        raise BenchError(f"the benchmark needs a Redis broker ({example})")
    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        client.flushdb()
    finally:
        client.close()


def scalar_int(engine: Engine, query: str, **params: Any) -> int:
    """Run a query that returns one integer (0 for NULL)."""
    with engine.connect() as conn:
        value = conn.execute(text(query), params).scalar()
    return int(value or 0)


def count_rows(engine: Engine, query: str, **params: Any) -> dict[str, int]:
    """Run a ``SELECT key, count(*) ... GROUP BY key`` query and return it as a dict."""
    with engine.connect() as conn:
        return {str(key): int(n) for key, n in conn.execute(text(query), params)}


def vacuum_analyze(engine: Engine, tables: Sequence[str]) -> None:
    """VACUUM ANALYZE the tables (outside a transaction), so every round starts from the same shape."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in tables:
            conn.execute(text(f"VACUUM ANALYZE {table}"))


def explain(engine: Engine, query: str, params: dict[str, Any] | None = None) -> list[str]:
    """Return the EXPLAIN ANALYZE plan of ``query``, run in a transaction that is rolled back.

    Args:
        engine: The database.
        query: SQL text; with ``params`` it is passed to the driver as it is (``%(name)s`` placeholders,
            as SQLAlchemy hands a statement to psycopg), without them through ``text()``.
        params: The driver parameters of ``query``, if any.
    """
    statement = f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {query}"
    with engine.connect() as conn:
        result = conn.exec_driver_sql(statement, params) if params is not None else conn.execute(text(statement))
        plan = [str(line) for line in result.scalars()]
        conn.rollback()
    return plan


def record_current_policy(engine: Engine) -> int:
    """Store the policy in force (as the engine does when a clock starts) and return its row id."""
    from workflow.clock.policy import current_policy
    from workflow.clock.stored_policies import record_policy

    with unit_of_work(engine) as session:
        return record_policy(session, current_policy())


def start_web(procs: Processes, web_workers: int, web_threads: int) -> str:
    """Start the web app under gunicorn on a free port, wait until it answers; return its base URL."""
    import httpx

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    procs.start("web", [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers",
                        str(web_workers), "--threads", str(web_threads), "--log-level", "warning",
                        "web.wsgi:app"])

    def web_answers() -> bool:
        procs.check_alive()
        try:
            return httpx.get(f"{base}/api/v1/units", timeout=2.0, trust_env=False).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until("the web app to answer GET /api/v1/units", web_answers, 60.0)
    return base
