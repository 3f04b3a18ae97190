"""Fixtures of the integration suite: real PostgreSQL, real Redis, real Celery worker processes.

Every fixture here first asks ``need_services()``: without the servers the suite is skipped (and
named at the end of the run), under ``GRIDCASE_REQUIRE_SERVICES=1`` it fails. The expensive fixtures
are package-scoped: they are set up once and torn down when the last integration test has run, before
any other suite, so nothing of this suite (processes, patched publisher) leaks into the others.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from celery import Celery
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import OperationalError

from tests import services
from tests.integration.support import (
    RUNNING,
    Api,
    Live,
    ManagedProcess,
    celery_beat,
    celery_worker,
    env_for_children,
    free_port,
    gunicorn,
    logs_of_running,
    need_services,
    sqlalchemy_url,
)
from web import create_app
from workflow.base.db import engine_for, make_engine, unit_of_work
from workflow.base.schema import upgrade
from workflow.notices.org_file import import_org
from workflow.org.members import create_token
from workflow.org.models import User
from workflow.org.tree import DEMO_ORG_FILE, read_org_file

# The staff the tests act as (workflow/org/demo/org.yaml).
STAFF = ("xy01a1.leader", "xy01a2.leader", "xy01a.secretary", "xy01.secretary", "xy.street")
CASE_TABLES = "evaluations, deliveries, outbox, case_events, case_parties, inbox, deadlines, cases, heartbeats"


@pytest.fixture(scope="package")
def pg_url() -> str:
    """The URL of the PostgreSQL test database, with the driver SQLAlchemy needs."""
    need_services()
    return sqlalchemy_url(services.pg_url())


@pytest.fixture(scope="package")
def pg_engine(pg_url: str) -> Iterator[Engine]:
    """The test database, emptied, migrated to head and loaded with the demo org tree, once."""
    need_services()
    engine = make_engine(pg_url)
    with engine.begin() as conn:
        # A leftover worker of an aborted run must not make this hang: give up on the lock instead.
        conn.execute(text("SET LOCAL lock_timeout = '10s'"))
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    with unit_of_work(engine) as session:
        import_org(session, read_org_file(DEMO_ORG_FILE))
    yield engine
    engine.dispose()


@pytest.fixture(scope="package")
def tokens(pg_engine: Engine) -> dict[str, str]:
    """A bearer token for each member the tests act as."""
    need_services()
    with unit_of_work(pg_engine) as session:
        names = set(session.scalars(select(User.name)))
        assert set(STAFF) <= names, f"the demo tree lacks {set(STAFF) - names}"
        return {name: create_token(session, name) for name in STAFF}


@pytest.fixture(scope="package")
def redis_client() -> Iterator[redis.Redis]:
    """A client of the broker's Redis database, emptied at the start."""
    need_services()
    client = redis.Redis.from_url(services.redis_url())
    client.flushdb()
    yield client
    client.close()


@pytest.fixture(scope="package")
def gridcase_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """GRIDCASE_HOME of the processes this suite starts (beat schedule, anything they write)."""
    return tmp_path_factory.mktemp("gridcase-home")


@pytest.fixture(scope="package")
def child_env(pg_url: str, gridcase_home: Path) -> dict[str, str]:
    """The environment of the worker and web processes."""
    need_services()
    return env_for_children(pg_url, services.redis_url(), gridcase_home)


@pytest.fixture(scope="package")
def worker(pg_engine: Engine, redis_client: redis.Redis, child_env: dict[str, str],
           gridcase_home: Path) -> Iterator[ManagedProcess]:
    """A real Celery worker (prefork, two processes) on the test database and broker."""
    need_services()
    process = celery_worker("w1", child_env, gridcase_home / "worker-w1.log")
    process.start()
    try:
        process.wait_ready(lambda: " ready." in process.log_text(), timeout=90)
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def beat(live: Live, child_env: dict[str, str], gridcase_home: Path) -> Iterator[ManagedProcess]:
    """Celery beat for one test module: the relay every second and, with the suite's fast policy, the sweeper."""
    process = celery_beat(child_env, gridcase_home)
    process.start()
    try:
        process.wait_ready(lambda: "beat: Starting" in process.log_text(), timeout=60)
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="package")
def broker(gridcase_home: Path) -> Iterator[Celery]:
    """The test process's own Celery app on the test broker, used by ``workers.publish``.

    ``workers.app.app`` is built from the environment when first imported, and another suite may
    have imported it already (with the embedded broker); so the publisher's app is replaced here by
    one built by the same factory with the test broker, and put back when the suite ends.
    """
    need_services()
    import workers.app
    import workers.publish

    with pytest.MonkeyPatch.context() as env:
        env.setenv("BROKER_URL", services.redis_url())
        env.setenv("GRIDCASE_HOME", str(gridcase_home))
        celery = workers.app.make_celery()
    assert celery.conf.broker_url == services.redis_url()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(workers.publish, "app", celery)
        yield celery
    # Celery.close() only drops the pool; close its broker connections too (celery-types calls the
    # pool a ProducerPool, it is kombu's ConnectionPool).
    celery.pool.force_close_all()  # type: ignore[attr-defined]
    celery.close()


@pytest.fixture(scope="package")
def live(pg_engine: Engine, pg_url: str, redis_client: redis.Redis, tokens: dict[str, str],
         worker: ManagedProcess, broker: Celery) -> Iterator[Live]:
    """The whole system running: worker, broker, database, and the Flask app publishing to Redis."""
    need_services()
    app = create_app({"DATABASE_URL": pg_url})
    yield Live(engine=pg_engine, redis=redis_client, api=Api(app.test_client(), tokens), workers=[worker])
    engine_for(pg_url, pre_ping=False).dispose()


@pytest.fixture(autouse=True)
def clean_cases(live: Live) -> None:
    """Start each test with no cases: let the worker finish what is in flight, then empty the tables."""
    need_services()
    with contextlib.suppress(pytest.fail.Exception):
        live.wait_idle(timeout=15)
    for attempt in range(3):
        try:
            with live.engine.begin() as conn:
                conn.execute(text("SET LOCAL lock_timeout = '5s'"))
                # No RESTART IDENTITY: a stray message of an earlier test then finds no row to act on.
                conn.execute(text(f"TRUNCATE {CASE_TABLES} CASCADE"))
            return
        except OperationalError:
            if attempt == 2:
                raise
            time.sleep(0.5)


@pytest.fixture(scope="package")
def http_base(child_env: dict[str, str], gridcase_home: Path, live: Live) -> Iterator[str]:
    """The app served by a real gunicorn (two processes) on a free port; its base URL."""
    need_services()
    port = free_port()
    process = gunicorn(port, child_env, gridcase_home / "gunicorn.log")
    base = f"http://127.0.0.1:{port}"
    process.start()

    def answers() -> bool:
        try:
            with httpx.Client(base_url=base, timeout=2) as client:
                return client.get("/api/v1/units").status_code == 200
        except httpx.TransportError:
            return False

    try:
        process.wait_ready(answers, timeout=60)
        yield base
    finally:
        process.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    """Add the log tails of the worker and web processes to the report of a failed test."""
    report = yield
    if report.failed and RUNNING:
        report.sections.append(("gridcase processes", logs_of_running()))
    return report
