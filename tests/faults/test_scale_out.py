"""Scale-out, shown working: two worker hosts and one lost whole mid-burst; two beats, and a standby beat.

- ``TestOneHostLost{Redis,RabbitMQ}``: two worker "hosts", each a process group of its own (a prefork
  worker with its own name, metrics port and metrics folder) on one PostgreSQL and one broker. A burst, and
  the host that is handling events is SIGKILLed whole and never comes back: the other host
  finishes everything: one case per accepted event, nothing done twice, no SMS sent twice
  unrecognisably, and its own metrics port counted the events it handled.
- ``TestTwoBeatsByMistake``: two beats with no lock (``GRIDCASE_BEAT_LOCK=0``, as if the lock
  were off or two were started on different brokers' settings), the fast policy firing warnings
  and escalations every few seconds: both sweep, and still no deadline fires twice, because the
  sweeper claims deadline rows under ``FOR UPDATE SKIP LOCKED`` and settles them in the same
  transaction.
- ``TestStandbyBeat``: the shipped setting on Redis (celery-redbeat's lock): a second beat waits
  and sends nothing while the first runs; the first is SIGKILLed; the standby takes over within
  the lock's lapse and the sweeper keeps running.
"""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from tests.faults import servers
from tests.faults.harness import (
    EVENTS,
    Burst,
    GroupProcess,
    Launch,
    System,
    check_notices,
    verify,
    wait_settled,
    worker_ready,
)
from tests.faults.test_faults import EARLY, BrokerChoice, Run, no_server_errors, run_burst
from tests.integration.support import FAST_POLICY, celery_beat, celery_worker, free_port, wait_until
from workers.app import BEAT_LOCK_SECONDS, BEAT_TICK_SECONDS

HOSTS = ("host-a", "host-b")


def start_hosts(system: System) -> dict[str, int]:
    """Replace the system's workers by two hosts with environments of their own; return their metrics ports."""
    ports = {}
    hosts = []
    for name in HOSTS:
        folder = system.home / name
        folder.mkdir()
        ports[name] = free_port()
        env = dict(system.web.env, GRIDCASE_WORKER_METRICS_PORT=str(ports[name]),
                   PROMETHEUS_MULTIPROC_DIR=str(folder / "metrics"))
        hosts.append(GroupProcess.like(celery_worker(name, env, system.home / f"worker-{name}.log")))
    for host in hosts:
        host.start()
    for host in hosts:
        host.wait_ready(worker_ready(host, 0), timeout=90)
    system.workers = hosts
    return ports


def handled_at(port: int) -> float:
    """Return the events a host's metrics port says it handled."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    return sum(s.value for family in text_string_to_metric_families(text) for s in family.samples
               if s.name == "gridcase_events_handled_total")


class OneHostLost:
    """One of two worker hosts is lost whole mid-burst and not brought back (on Redis, and on RabbitMQ)."""

    @pytest.fixture(scope="class")
    @classmethod
    def run(cls, broker: BrokerChoice, database: Engine, launch: Launch) -> Run:
        """The burst on two hosts, one killed at a quarter of it while it handles events."""
        name, url, extra_env, backlog = broker
        system = launch(database, url, backlog, workers=0, **extra_env)
        ports = start_hosts(system)

        def lose_a_host(system: System, burst: Burst, figures: dict[str, Any]) -> None:
            burst.wait_accepted(int(EVENTS * EARLY))
            index, hit = system.kill_worker(system.running("gridcase.handle_event"))
            assert not burst.done(), "the burst ended before the host was lost: make it longer"
            figures["lost"] = f"{HOSTS[index]} at {burst.accepted} accepted (caught handling events: {hit})"
            figures["lost_index"] = index

        run = run_burst(f"one host of two lost, {name}", system, f"/faults/hosts/{name}", lose_a_host)
        survivor = HOSTS[1 - run.figures["lost_index"]]
        run.figures["survivor handled (its metrics port)"] = handled_at(ports[survivor])
        return run

    def test_cases_and_inbox(self, run: Run) -> None:
        """Every accepted event: one case, submitted + dispatch, inbox done, its notice handled once."""
        verify(run.system, run.burst)

    def test_answers(self, run: Run) -> None:
        """A lost host is invisible to clients."""
        no_server_errors(run.burst)

    def test_no_sms_twice_unrecognisable(self, run: Run) -> None:
        """A notice sent again after its host died carries the first one's message id."""
        check_notices(run.figures, crashes=True)

    def test_the_survivor_did_the_rest_and_says_so_on_its_metrics_port(self, run: Run) -> None:
        """The surviving host's own port counts what it handled: at least the three quarters after the loss."""
        assert run.figures["survivor handled (its metrics port)"] >= EVENTS * (1 - EARLY) * 0.9


class TestOneHostLostRedis(OneHostLost):
    """On Redis."""

    @pytest.fixture(scope="class")
    @classmethod
    def broker(cls, redis_server: servers.PrivateRedis) -> BrokerChoice:
        """The scenario's Redis; a task lost with its host comes back after the visibility timeout, short here."""
        return "redis", redis_server.url, {"GRIDCASE_VISIBILITY_TIMEOUT": "15"}, None


class TestOneHostLostRabbitMQ(OneHostLost):
    """On RabbitMQ: a lost host's unacknowledged messages come back when its connection drops."""

    @pytest.fixture(scope="class")
    @classmethod
    def broker(cls, rabbit_vhost: servers.RabbitVhost) -> BrokerChoice:
        """The suite's vhost on the machine's RabbitMQ."""
        return "rabbitmq", rabbit_vhost.url, {}, rabbit_vhost.backlog


def twice(system: System, sql: str) -> list[dict[str, Any]]:
    """Return the rows of a grouping query that found something more than once."""
    return system.rows(sql)


class TestTwoBeatsByMistake:
    """Two beats with no lock, both sweeping every second over deadlines that fall due every few seconds."""

    CASES = 60

    @pytest.fixture(scope="class")
    @classmethod
    def beats(cls, database: Engine, redis_server: servers.PrivateRedis, launch: Launch
              ) -> tuple[System, dict[str, int]]:
        """The system with the fast policy, a second beat started next to the first, cases climbing the ladder."""
        system = launch(database, redis_server.url, GRIDCASE_POLICY=str(FAST_POLICY), GRIDCASE_SWEEP_INTERVAL="1",
                        GRIDCASE_BEAT_LOCK="0")
        second_home = system.home / "second-beat"
        second_home.mkdir()
        second = GroupProcess.like(celery_beat(system.beat.env, second_home))
        second.start()
        try:
            second.wait_ready(lambda: "Sending due task sweep-deadlines" in second.log_text(), timeout=60)
            burst = Burst(system.base_url, cls.CASES, "/faults/two-beats", rate=30)
            burst.start()
            burst.join()
            burst.close()
            # Four levels of four seconds each, then supervision at the street every two: 25 s sees it all.
            time.sleep(25)
        finally:
            second.stop()
        figures = {"second beat sweeps": second.log_text().count("Sending due task sweep-deadlines"),
                   "first beat sweeps": system.beat.log_text().count("Sending due task sweep-deadlines")}
        wait_settled(system)
        print(f"\n[two beats] {figures}")
        return system, figures

    def test_both_beats_swept(self, beats: tuple[System, dict[str, int]]) -> None:
        """The scenario is real: each beat sent the sweeper many times."""
        figures = beats[1]
        assert figures["first beat sweeps"] >= 15 and figures["second beat sweeps"] >= 15, figures

    def test_deadlines_fired_and_none_twice(self, beats: tuple[System, dict[str, int]]) -> None:
        """Every fired deadline row has exactly one inbox event; no level warned or escalated a case twice."""
        system = beats[0]
        fired = system.scalar("SELECT count(*) FROM deadlines WHERE status = 'fired'")
        assert fired >= self.CASES * 4, f"only {fired} deadlines fired: the clock did not run"
        assert not twice(system, "SELECT event_id, count(*) AS n FROM inbox WHERE source = 'gridcase/clock' "
                                 "GROUP BY event_id HAVING count(*) > 1")
        assert system.scalar("SELECT count(*) FROM inbox WHERE source = 'gridcase/clock'") == fired
        # Below the street a level warns once and escalates once; only the street repeats its supervision.
        assert not twice(system, "SELECT case_id, kind, from_level, count(*) AS n FROM case_events "
                                 "WHERE kind IN ('warn', 'deadline_passed') AND from_level <> 'street' "
                                 "GROUP BY case_id, kind, from_level HAVING count(*) > 1")
        reached = system.scalar("SELECT count(*) FROM cases WHERE level = 'street'")
        assert reached == self.CASES, f"{reached} of {self.CASES} cases reached the street"


class TestStandbyBeat:
    """The shipped setting on Redis: one beat sends, a standby waits, and takes over when the first dies."""

    @pytest.fixture(scope="class")
    @classmethod
    def figures(cls, database: Engine, redis_server: servers.PrivateRedis, launch: Launch) -> dict[str, Any]:
        """Run a standby next to beat for ten seconds, kill beat, time the takeover."""
        system = launch(database, redis_server.url, workers=1, GRIDCASE_SWEEP_INTERVAL="1")
        standby_home: Path = system.home / "standby"
        standby_home.mkdir()
        standby = GroupProcess.like(celery_beat(system.beat.env, standby_home))
        standby.start()
        figures: dict[str, Any] = {}
        try:
            time.sleep(10)
            figures["standby sends while beat runs"] = standby.log_text().count("Sending due task")
            figures["beat sends meanwhile"] = system.beat.log_text().count("Sending due task")
            system.beat.kill_group()
            killed = time.monotonic()
            wait_until(lambda: "Sending due task sweep-deadlines" in standby.log_text(), "the standby to take over",
                       timeout=BEAT_LOCK_SECONDS + BEAT_TICK_SECONDS + 20)
            figures["takeover seconds"] = time.monotonic() - killed
            before = system.scalar("SELECT at FROM heartbeats WHERE name = 'sweeper'")
            wait_until(lambda: system.scalar("SELECT at FROM heartbeats WHERE name = 'sweeper'") > before,
                       "the sweeper to run under the standby", timeout=20)
        finally:
            standby.stop()
        print(f"\n[standby beat] {figures}")
        return figures

    def test_the_standby_sends_nothing_while_beat_holds_the_lock(self, figures: dict[str, Any]) -> None:
        """Two beats running, one sending."""
        assert figures["beat sends meanwhile"] >= 10 and figures["standby sends while beat runs"] == 0, figures

    def test_the_standby_takes_over_within_the_lock_lapse(self, figures: dict[str, Any]) -> None:
        """The lock lapses BEAT_LOCK_SECONDS after the last renewal; the standby tries every tick."""
        assert figures["takeover seconds"] <= BEAT_LOCK_SECONDS + BEAT_TICK_SECONDS + 5, figures
