"""Faults during a burst: workers killed, Redis restarted empty, PostgreSQL restarted, every message twice.

Each scenario (a class) posts a burst of GRIDCASE_FAULT_EVENTS (2,000) complaints through a real
gunicorn, handled by real Celery worker processes with beat running the relay every second (grace
two seconds), breaks something in the middle of it, and waits (bounded) until every row is handled
and the broker is empty. Its tests then check that one run:

- ``test_cases_and_inbox``: for every event that got a 2xx exactly one case, a timeline of exactly
  ``submitted``, ``dispatch``, no case left ``collected``, every inbox row ``done``, one notice per
  case handled once;
- ``test_answers``: every event got its 2xx, and no client ever saw a 500 (or, where the database
  is away, anything but a 503 with Retry-After);
- ``test_no_sms_twice_unrecognisable``: no SMS went out twice where the receiver cannot tell the
  second is a copy (different message ids) or, with no crash at all, twice at all.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from celery import Celery
from sqlalchemy import Engine

from tests.faults import servers
from tests.faults.harness import (
    EVENTS,
    Burst,
    Launch,
    System,
    check_notices,
    measure,
    task_log,
    verify,
    wait_broker_idle,
    wait_settled,
)

# Where in the burst a fault strikes: once this share of the events got their 2xx.
EARLY, LATE = 0.25, 0.5

Fault = Callable[[System, Burst, dict[str, Any]], None]


@dataclass
class Run:
    """One scenario's run, as its tests check it."""

    system: System
    burst: Burst
    figures: dict[str, Any] = field(default_factory=dict)


def run_burst(name: str, system: System, source: str, fault: Fault | None = None) -> Run:
    """Post the burst, strike with ``fault`` in the middle of it, wait for every answer, for every row to be
    handled and for the broker to be empty; print the figures (shown with -s; a failed test's report has them too)."""
    run = Run(system, Burst(system.base_url, EVENTS, source))
    try:
        run.burst.start()
        if fault is not None:
            fault(system, run.burst, run.figures)
        run.burst.join()
        run.figures["settled after the burst in"] = f"{wait_settled(system):.1f} s"
        run.figures["broker empty after"] = f"{wait_broker_idle(system):.1f} s"
        run.figures.update(measure(system, run.burst))
    finally:
        run.burst.close()
        print(f"\n[{name}] " + ", ".join(f"{k}: {v}" for k, v in run.figures.items()))
    return run


def no_server_errors(burst: Burst, allowed: frozenset[str] = frozenset()) -> None:
    """Check that every event got its 2xx, and no attempt a 5xx or a broken connection other than ``allowed``."""
    lost = [a for a in burst.answers if not a.accepted]
    assert not lost, f"{len(lost)} events never got a 2xx, e.g. {[(a.event_id, a.seen) for a in lost[:3]]}"
    bad = {seen: n for seen, n in burst.tally().items()
           if seen not in allowed and not (seen.isdigit() and int(seen) < 500)}
    assert not bad, f"answers a client should never get here: {bad}"


# -- a worker killed --------------------------------------------------------------------------


BrokerChoice = tuple[str, str, dict[str, str], Callable[[], int] | None]


def kill_workers(system: System, burst: Burst, figures: dict[str, Any]) -> None:
    """SIGKILL a whole worker (main process and pool children) while it handles events, start it again a second
    later; then the same while one is in the middle of a batch of notices (between a send and its commit)."""
    for share, doing, when in ((EARLY, "handling events", system.running("gridcase.handle_event")),
                               (LATE, "sending notices", system.sending())):
        burst.wait_accepted(int(EVENTS * share))
        index, hit = system.kill_worker(when)
        killed_at = burst.accepted
        assert killed_at < EVENTS, "the burst ended before the worker was killed: make it longer"
        time.sleep(1.0)
        ready = system.start_worker(index)
        figures[f"killed {doing}"] = (f"w{index + 1} at {killed_at} accepted (caught {doing}: {hit}), "
                                      f"ready again in {ready:.1f} s at {burst.accepted} accepted")


class WorkerKilled:
    """A worker killed mid-burst, twice, and started again (run on Redis and, unchanged, on RabbitMQ below)."""

    @pytest.fixture(scope="class")
    @classmethod
    def run(cls, broker: BrokerChoice, database: Engine, launch: Launch) -> Run:
        """The burst with two workers killed in it."""
        name, url, extra_env, backlog = broker
        system = launch(database, url, backlog, **extra_env)
        return run_burst(f"workers killed, {name}", system, f"/faults/kill/{name}", kill_workers)

    def test_cases_and_inbox(self, run: Run) -> None:
        """Every accepted event: one case, submitted + dispatch, inbox done, its notice handled once."""
        verify(run.system, run.burst)

    def test_answers(self, run: Run) -> None:
        """A dead worker is invisible to clients: every event got its 202 at once."""
        no_server_errors(run.burst)

    def test_no_sms_twice_unrecognisable(self, run: Run) -> None:
        """A notice sent again after its worker died must carry the first one's message id."""
        check_notices(run.figures, crashes=True)


class TestWorkerKilledRedis(WorkerKilled):
    """On Redis."""

    @pytest.fixture(scope="class")
    @classmethod
    def broker(cls, redis_server: servers.PrivateRedis) -> BrokerChoice:
        """The scenario's Redis (requested before ``launch``, so it outlives the processes that use it)."""
        # A task killed with its worker comes back from Redis after the visibility timeout: short
        # here, so that the redelivery happens within the test and is seen to do no harm.
        return "redis", redis_server.url, {"GRIDCASE_VISIBILITY_TIMEOUT": "15"}, None


class TestWorkerKilledRabbitMQ(WorkerKilled):
    """On RabbitMQ, unchanged (no kick flag there: every accepted event publishes its own task)."""

    @pytest.fixture(scope="class")
    @classmethod
    def broker(cls, rabbit_vhost: servers.RabbitVhost) -> BrokerChoice:
        """The suite's vhost on the machine's RabbitMQ."""
        return "rabbitmq", rabbit_vhost.url, {}, rabbit_vhost.backlog


# -- Redis restarted empty ----------------------------------------------------------------------


def restart_redis(server: servers.PrivateRedis) -> Fault:
    """Return the fault: Redis killed (SIGKILL) mid-burst, down three seconds, started again empty."""

    def fault(system: System, burst: Burst, figures: dict[str, Any]) -> None:
        burst.wait_accepted(int(EVENTS * EARLY))
        assert not burst.done(), "the burst ended before Redis was killed: make it longer"
        figures["killed at"] = f"{burst.accepted} accepted, {system.backlog()} messages in Redis"
        server.restart(down_seconds=3.0)
        figures["back at"] = f"{burst.accepted} accepted"

    return fault


class TestRedisRestarted:
    """Redis dies mid-burst and comes back empty: every queued message and kick flag is lost; the inbox and the
    relay recover them all."""

    @pytest.fixture(scope="class")
    @classmethod
    def run(cls, database: Engine, redis_server: servers.PrivateRedis, launch: Launch) -> Run:
        """The burst with Redis restarted in it."""
        system = launch(database, redis_server.url)
        return run_burst("Redis restarted", system, "/faults/redis", restart_redis(redis_server))

    def test_cases_and_inbox(self, run: Run) -> None:
        """Every accepted event: one case, submitted + dispatch, inbox done, its notice handled once."""
        verify(run.system, run.burst)

    def test_answers(self, run: Run) -> None:
        """Intake does not need the broker: every event got its 202, never an error."""
        no_server_errors(run.burst)

    def test_no_sms_twice_unrecognisable(self, run: Run) -> None:
        """A notice sent again after its task was cut off must carry the first one's message id."""
        check_notices(run.figures, crashes=True)


# -- PostgreSQL restarted -----------------------------------------------------------------------


def restart_postgres(server: servers.PrivatePostgres) -> Fault:
    """Return the fault: PostgreSQL stopped mid-burst (fast: every session cut), down four seconds, started."""

    def fault(system: System, burst: Burst, figures: dict[str, Any]) -> None:
        burst.wait_accepted(int(EVENTS * EARLY))
        assert not burst.done(), "the burst ended before PostgreSQL was stopped: make it longer"
        figures["stopped at"] = f"{burst.accepted} accepted"
        server.stop("fast")
        down = time.monotonic()
        time.sleep(4.0)
        server.start()
        figures["down"] = f"{time.monotonic() - down:.1f} s, back at {burst.accepted} accepted"

    return fault


class TestPostgresRestarted:
    """PostgreSQL restarts mid-burst: workers and web reconnect, intake answers 503 with Retry-After meanwhile."""

    @pytest.fixture(scope="class")
    @classmethod
    def run(cls, database: Engine, postgres: servers.PrivatePostgres, redis_server: servers.PrivateRedis,
            launch: Launch) -> Run:
        """The burst with PostgreSQL restarted in it."""
        system = launch(database, redis_server.url)
        return run_burst("PostgreSQL restarted", system, "/faults/postgres", restart_postgres(postgres))

    def test_cases_and_inbox(self, run: Run) -> None:
        """Every accepted event: one case, submitted + dispatch, inbox done, its notice handled once."""
        verify(run.system, run.burst)

    def test_answers(self, run: Run) -> None:
        """While the database is away intake answers 503 with Retry-After, never a 500; a retry then gets its 202."""
        tally = run.burst.tally()
        assert tally["503"] > 0, f"no request met the outage (answers: {dict(tally)})"
        missing = sum(a.missing_retry_after for a in run.burst.answers)
        assert missing == 0, f"{missing} answers 503 came without a Retry-After header"
        no_server_errors(run.burst, allowed=frozenset({"503"}))

    def test_no_sms_twice_unrecognisable(self, run: Run) -> None:
        """A notice sent again after its commit failed must carry the first one's message id."""
        check_notices(run.figures, crashes=True)


# -- every message twice ------------------------------------------------------------------------


@pytest.fixture(scope="class")
def publisher(redis_server: servers.PrivateRedis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Celery]:
    """The test's own Celery app on the scenario's Redis, built by gridcase's factory (same queues and routes)."""
    import workers.app

    with pytest.MonkeyPatch.context() as env:
        env.setenv("BROKER_URL", redis_server.url)
        env.setenv("GRIDCASE_HOME", str(tmp_path_factory.mktemp("publisher")))
        celery = workers.app.make_celery()
    yield celery
    celery.pool.force_close_all()  # type: ignore[attr-defined]
    celery.close()


def replay(publisher: Celery) -> Fault:
    """Return the 'fault' of the duplicate scenario: nothing during the burst (the processes publish every message
    twice themselves); after it, every event's handling task, every notice's delivery task and the relay again."""

    def fault(system: System, burst: Burst, figures: dict[str, Any]) -> None:
        burst.join()
        wait_settled(system)
        wait_broker_idle(system)
        per_id: Counter[str] = Counter()
        for worker in system.workers:
            for task_id, seen in task_log(worker).items():
                per_id[task_id] += seen["received"]
        figures["task ids by times received"] = dict(sorted(Counter(per_id.values()).items()))
        inbox_ids = [int(r["id"]) for r in system.rows("SELECT id FROM inbox ORDER BY id")]
        outbox_ids = [int(r["id"]) for r in system.rows("SELECT id FROM outbox ORDER BY id")]
        with publisher.producer_or_acquire() as producer:
            for inbox_id in inbox_ids:
                publisher.send_task("gridcase.handle_event", (inbox_id,), producer=producer)
            for outbox_id in outbox_ids:
                publisher.send_task("gridcase.deliver_notices", ([outbox_id],), producer=producer)
            for _ in range(3):
                publisher.send_task("gridcase.relay", producer=producer)
        figures["sent again"] = f"{len(inbox_ids)} handle_event, {len(outbox_ids)} deliver_notices, 3 relay"

    return fault


class TestEveryMessageTwice:
    """Every task message the web, the workers and beat publish goes to the broker twice during the burst
    (tests/faults/twice.py); after it every handling, delivery and relay task is sent once more."""

    @pytest.fixture(scope="class")
    @classmethod
    def run(cls, database: Engine, redis_server: servers.PrivateRedis, publisher: Celery, launch: Launch) -> Run:
        """The burst with every message duplicated, and the replay after it."""
        system = launch(database, redis_server.url, duplicate=True)
        return run_burst("every message twice", system, "/faults/twice", replay(publisher))

    def test_messages_came_twice(self, run: Run) -> None:
        """The duplication was real: every task id the workers ran arrived at least twice."""
        received = run.figures["task ids by times received"]
        assert received and min(received) >= 2, f"some messages were not duplicated: {received}"

    def test_cases_and_inbox(self, run: Run) -> None:
        """Every accepted event: one case, submitted + dispatch, inbox done, its notice handled once."""
        verify(run.system, run.burst)

    def test_answers(self, run: Run) -> None:
        """Every event got its 202, never an error."""
        no_server_errors(run.burst)

    def test_no_sms_twice_unrecognisable(self, run: Run) -> None:
        """Nothing crashed: no SMS went out twice at all."""
        check_notices(run.figures, crashes=False)
