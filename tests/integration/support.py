"""Helpers of the integration suite: the real processes it starts, the API as a resident and staff use it,
and bounded waits on the database and the broker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar, cast

import pytest
import redis
from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from werkzeug.test import TestResponse

from tests import services

SUITE = "PostgreSQL + Redis integration suite"
ROOT = Path(__file__).resolve().parents[2]
QUEUES = ("events", "deliveries", "deadlines")
# How long a test waits for the worker before it fails; generous for a busy 2-core machine.
WAIT_SECONDS = 30.0
STRUCTURED = "application/cloudevents+json"
SUBMITTED = "org.gridcase.case.submitted"
SOURCE = "/tests/integration"
REPORTER_PHONE = "13912345678"
FAST_POLICY = Path(__file__).with_name("fast-policy.yaml")
# A robot's limit scaled down so a burst test takes seconds: 10 messages in any 2 seconds.
ROBOT_RATE = "10 per 2 seconds"

T = TypeVar("T")

# Every process the suite started and has not stopped yet: their logs go with a failure report.
RUNNING: list[ManagedProcess] = []


def need_services() -> None:
    """Skip (or fail, under GRIDCASE_REQUIRE_SERVICES=1) unless PostgreSQL and Redis both answer."""
    services.require(SUITE, services.postgres_problem() or services.redis_problem())


def sqlalchemy_url(url: str) -> str:
    """Return ``url`` with the psycopg driver named, as gridcase's config does for DATABASE_URL."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# The SMTP server of tests/integration/test_notifications.py listens here; the worker sends to it.
SMTP_PORT = free_port()


class ManagedProcess:
    """A child process whose output goes to a log file; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, name: str, argv: list[str], env: Mapping[str, str], log_path: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = dict(env)
        self.log_path = log_path
        self._log: IO[bytes] | None = None
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the process with its output appended to the log file."""
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(self.argv, env=self.env, cwd=ROOT, stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        RUNNING.append(self)

    def log_text(self) -> str:
        """Return everything the process wrote so far."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        """Return the last ``lines`` lines of the log, headed by the process name."""
        tail = "\n".join(self.log_text().splitlines()[-lines:])
        return f"--- last {lines} lines of {self.name} ({self.log_path}) ---\n{tail}"

    def alive(self) -> bool:
        """Tell whether the process is still running."""
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, ready: Callable[[], bool], timeout: float) -> None:
        """Wait until ``ready()`` holds; fail with the log tail if the process dies or the time is up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                self.stop()
                pytest.fail(f"{self.name} exited before it was ready\n{self.log_tail()}")
            if ready():
                return
            time.sleep(0.2)
        self.stop()
        pytest.fail(f"{self.name} was not ready within {timeout:.0f} s\n{self.log_tail()}")

    def stop(self, timeout: float = 20.0) -> None:
        """Ask the process to stop (a warm shutdown for Celery), kill it if it does not; close the log."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(10)
            self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self in RUNNING:
            RUNNING.remove(self)


def celery_worker(name: str, env: Mapping[str, str], log_path: Path) -> ManagedProcess:
    """Return (not started) a prefork Celery worker of two processes on every gridcase queue."""
    argv = [sys.executable, "-m", "celery", "-A", "workers.app", "worker", "--pool", "prefork",
            "--concurrency", "2", "--queues", ",".join(QUEUES), "--loglevel", "INFO", "-n", f"{name}@%h"]
    return ManagedProcess(f"celery worker {name}", argv, env, log_path)


def gunicorn(port: int, env: Mapping[str, str], log_path: Path) -> ManagedProcess:
    """Return (not started) gunicorn serving ``web.wsgi:app`` with two processes of four threads."""
    argv = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
            "--threads", "4", "--graceful-timeout", "5", "web.wsgi:app"]
    return ManagedProcess("gunicorn", argv, env, log_path)


def logs_of_running() -> str:
    """Return the log tails of every process the suite runs, for a failure report."""
    return "\n".join(p.log_tail() for p in RUNNING)


def wait_until(check: Callable[[], T | None], what: str, timeout: float = WAIT_SECONDS,
               interval: float = 0.1) -> T:
    """Poll ``check`` until it returns something true, and return that; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{logs_of_running()}")
        time.sleep(interval)


def submitted_event(*, grid: str = "XY-01-A-1", category: str = "NEI", severity: str | None = None,
                    phone: str = REPORTER_PHONE, event_id: str | None = None,
                    description: str = "楼上每晚十一点后拖动家具，噪音扰民，协商未果") -> dict[str, Any]:
    """Return a structured-mode ``case.submitted`` CloudEvent with a reporter who gave a phone number."""
    data: dict[str, Any] = {
        "category": category,
        "description": description,
        "grid": grid,
        "reporter": {"name": "王小明", "phone": phone},
        "parties": [{"role": "respondent", "name": "李大山", "phone": "13700001111"}],
    }
    if severity is not None:
        data["severity"] = severity
    return {
        "specversion": "1.0",
        "id": event_id or f"it-{uuid.uuid4()}",
        "source": SOURCE,
        "type": SUBMITTED,
        "time": "2026-03-01T20:15:00+08:00",
        "datacontenttype": "application/json",
        "data": data,
    }


@dataclass
class Api:
    """The JSON API through Flask's test client; publishing goes to the real broker."""

    client: FlaskClient
    tokens: dict[str, str]

    def _auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def submit_raw(self, event: dict[str, Any]) -> TestResponse:
        """POST an event in structured mode and return the response as it is."""
        return self.client.post("/api/v1/events", json=event, content_type=STRUCTURED)

    def submit(self, event: dict[str, Any]) -> dict[str, Any]:
        """POST an event and return the 202 answer (case_id, tracking_code, status_url)."""
        response = self.submit_raw(event)
        assert response.status_code == 202, response.get_data(as_text=True)
        return _json(response)

    def case(self, user: str, case_id: int) -> dict[str, Any]:
        """Return the staff view of a case as ``user`` sees it."""
        response = self.client.get(f"/api/v1/cases/{case_id}", headers=self._auth(user))
        assert response.status_code == 200, response.get_data(as_text=True)
        return _json(response)

    def act_raw(self, user: str, case_id: int, trigger: str, **body: Any) -> TestResponse:
        """Fire a trigger as ``user`` and return the response as it is."""
        return self.client.post(f"/api/v1/cases/{case_id}/actions/{trigger}", json=body,
                                headers=self._auth(user))

    def act(self, user: str, case_id: int, trigger: str, **body: Any) -> dict[str, Any]:
        """Fire a trigger as ``user``; expect 200 and return the case view."""
        response = self.act_raw(user, case_id, trigger, **body)
        assert response.status_code == 200, f"{trigger} by {user}: {response.get_data(as_text=True)}"
        return _json(response)

    def track_raw(self, code: str, phone_last4: str = REPORTER_PHONE[-4:]) -> TestResponse:
        """GET the resident's view of a case with the code and the phone's last four digits."""
        return self.client.get(f"/api/v1/track/{code}", headers={"X-Phone-Last4": phone_last4})

    def track(self, code: str) -> dict[str, Any]:
        """Return the resident's view of a case."""
        response = self.track_raw(code)
        assert response.status_code == 200, response.get_data(as_text=True)
        return _json(response)

    def evaluate(self, code: str, resolved: str, satisfaction: int,
                 phone_last4: str = REPORTER_PHONE[-4:]) -> dict[str, Any]:
        """Post the resident's evaluation; expect 200 and return the new state and level."""
        response = self.client.post(f"/api/v1/track/{code}/evaluation", json={
            "phone_last4": phone_last4, "resolved": resolved, "satisfaction": satisfaction})
        assert response.status_code == 200, response.get_data(as_text=True)
        return _json(response)


def _json(response: TestResponse) -> dict[str, Any]:
    body = response.get_json()
    assert isinstance(body, dict), response.get_data(as_text=True)
    return body


@dataclass
class Live:
    """The running system: the database, the broker, the worker processes and the API."""

    engine: Engine
    redis: redis.Redis
    api: Api
    workers: list[ManagedProcess] = field(default_factory=list)

    # -- the database ------------------------------------------------------------------------

    def rows(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        """Run a query and return its rows as dicts."""
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(text(sql), params)]

    def scalar(self, sql: str, **params: Any) -> Any:
        """Run a query and return its single value."""
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar_one()

    def state(self, case_id: int) -> str:
        """Return a case's state as stored (``<no such case>`` if there is none)."""
        rows = self.rows("SELECT state FROM cases WHERE id = :id", id=case_id)
        return str(rows[0]["state"]) if rows else "<no such case>"

    def steps(self, case_id: int) -> list[dict[str, Any]]:
        """Return a case's timeline rows in seq order."""
        return self.rows("SELECT * FROM case_events WHERE case_id = :id ORDER BY seq, id", id=case_id)

    def notices(self, case_id: int) -> list[dict[str, Any]]:
        """Return a case's outbox rows with the code of the unit each one is for."""
        return self.rows(
            "SELECT o.*, u.code AS unit_code, e.kind AS step_kind, e.seq AS step_seq FROM outbox o "
            "LEFT JOIN units u ON u.id = o.unit_id LEFT JOIN case_events e ON e.id = o.case_event_id "
            "WHERE o.case_id = :id ORDER BY o.id", id=case_id)

    def wait_for_state(self, case_id: int, state: str, timeout: float = WAIT_SECONDS) -> None:
        """Wait until the case is in ``state``."""

        def reached() -> bool:
            return self.state(case_id) == state

        wait_until(reached, f"case {case_id} to reach {state} (it is {self.state(case_id)})", timeout)

    def wait_notices_sent(self, case_id: int, timeout: float = WAIT_SECONDS) -> list[dict[str, Any]]:
        """Wait until every outbox row of the case is done and each of its deliveries sent; return the rows."""

        def all_sent() -> list[dict[str, Any]] | None:
            rows = self.notices(case_id)
            unsent = self.scalar("SELECT count(*) FROM deliveries WHERE case_id = :id AND status <> 'sent'", id=case_id)
            return rows if rows and all(r["status"] == "done" for r in rows) and not unsent else None

        return wait_until(all_sent, f"every notice of case {case_id} to be sent", timeout)

    # -- the broker --------------------------------------------------------------------------

    def broker_backlog(self) -> int:
        """Return how many task messages wait in the queues or are taken but not acknowledged."""
        waiting = 0
        for queue in QUEUES:
            # kombu keeps one list per queue, plus one per priority step ("events\x06\x163").
            for key in self.redis.scan_iter(match=f"{queue}*"):
                if self.redis.type(key) == b"list":
                    # redis-py 6 (what kombu 5.6 allows) types replies as "int | Awaitable[int]".
                    waiting += int(cast(int, self.redis.llen(key)))
        return waiting + int(cast(int, self.redis.hlen("unacked")))

    def wait_idle(self, timeout: float = WAIT_SECONDS) -> None:
        """Wait until the workers have acknowledged every message (acks_late: after the task ran)."""
        quiet_polls = 0

        def idle() -> bool:
            nonlocal quiet_polls
            quiet_polls = quiet_polls + 1 if self.broker_backlog() == 0 else 0
            return quiet_polls >= 3  # a message between BRPOP and the unacked hash is seen next time

        wait_until(idle, f"the broker to drain (backlog {self.broker_backlog()})", timeout)


def env_for_children(pg: str, broker: str, home: Path, **extra: str) -> dict[str, str]:
    """Return the environment of the worker and web processes: the test database and broker."""
    env = dict(os.environ)
    for name in ("DATABASE_URL", "BROKER_URL", "GRIDCASE_HOME", "GRIDCASE_RELAY_INTERVAL"):
        env.pop(name, None)
    env.update(DATABASE_URL=pg, BROKER_URL=broker, GRIDCASE_HOME=str(home), PYTHONUNBUFFERED="1",
               GRIDCASE_RELAY_GRACE="2", GRIDCASE_POLICY=str(FAST_POLICY), GRIDCASE_SWEEP_INTERVAL="1",
               GRIDCASE_RELAY_INTERVAL="1", SMTP_URL=f"smtp://127.0.0.1:{SMTP_PORT}", GRIDCASE_RETRY_BASE="0.3",
               GRIDCASE_RETRY_MAX="4", GRIDCASE_ROBOT_RATE=ROBOT_RATE, GRIDCASE_SMS_FILE=str(home / "sms.jsonl"),
               # Bursts of thousands of events come from this one address: no intake limit here.
               GRIDCASE_INTAKE_LIMIT="1000000 per second", **extra)
    return env


def celery_beat(env: Mapping[str, str], home: Path) -> ManagedProcess:
    """Return (not started) celery beat: the relay and, with the fast policy, a sweep every second."""
    argv = [sys.executable, "-m", "celery", "-A", "workers.app", "beat", "--loglevel", "INFO",
            "--schedule", str(home / "celerybeat-schedule")]
    return ManagedProcess("celery beat", argv, env, home / "beat.log")
