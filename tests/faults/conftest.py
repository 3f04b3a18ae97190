"""Fixtures of the fault suite: private PostgreSQL and Redis servers it may stop, a vhost on RabbitMQ,
and the whole system as separate processes on them.

Without the server binaries (or RabbitMQ, for its scenario) a test is skipped and the suite named
at the end of the run; under ``GRIDCASE_REQUIRE_SERVICES=1`` it fails instead. Every process and
folder made here goes in a finalizer, whatever happens to the test.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from tests import services
from tests.faults import servers
from tests.faults.harness import SUITE, Launch, System, child_env, redis_backlog, start_system, stop_system
from tests.integration.support import RUNNING, free_port, logs_of_running
from workflow.base.db import make_engine, unit_of_work
from workflow.base.schema import upgrade
from workflow.notices.org_file import import_org
from workflow.org.tree import DEMO_ORG_FILE, read_org_file

TEMPLATE = "gridcase_template"
_databases = itertools.count(1)


@pytest.fixture(scope="package")
def postgres() -> Iterator[servers.PrivatePostgres]:
    """A PostgreSQL cluster of the suite's own, with a template database: migrated, with the demo tree."""
    services.require(SUITE, servers.postgres_problem() or servers.redis_problem())
    server = servers.PrivatePostgres(free_port())
    try:
        try:
            server.init()
            server.start()
        except (RuntimeError, OSError) as exc:
            services.require(SUITE, f"a private PostgreSQL could not be started ({exc})")
        server.create_database(TEMPLATE)
        engine = make_engine(server.url(TEMPLATE))
        try:
            upgrade(engine)
            with unit_of_work(engine) as session:
                import_org(session, read_org_file(DEMO_ORG_FILE))
        finally:
            engine.dispose()
        yield server
    finally:
        server.destroy()


@pytest.fixture(scope="class")
def database(postgres: servers.PrivatePostgres) -> Iterator[Engine]:
    """A fresh database of the scenario's own, copied from the template; the server is started if one left it down."""
    if not postgres.answers():
        postgres.start()
    name = f"faults_{next(_databases)}"
    postgres.create_database(name, template=TEMPLATE)
    engine = make_engine(postgres.url(name))
    yield engine
    engine.dispose()


@pytest.fixture(scope="class")
def redis_server() -> Iterator[servers.PrivateRedis]:
    """A Redis of the scenario's own (nothing kept on disk), stopped and removed at the end."""
    services.require(SUITE, servers.redis_problem())
    server = servers.PrivateRedis(free_port())
    try:
        server.start()
        yield server
    finally:
        server.destroy()


@pytest.fixture(scope="package")
def rabbit_vhost() -> Iterator[servers.RabbitVhost]:
    """A vhost of the suite's own on the machine's RabbitMQ, deleted at the end."""
    services.require(f"{SUITE} on RabbitMQ", servers.rabbitmq_problem())
    vhost = servers.RabbitVhost()
    try:
        vhost.create()
        yield vhost
    finally:
        vhost.delete()


@pytest.fixture(scope="class")
def launch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launch]:
    """Start the system: ``launch(engine, broker_url, backlog, workers=2, duplicate=False, **env)``; stopped at the end
    of the scenario (a class: its tests check one run)."""
    tmp_path = tmp_path_factory.mktemp("scenario")
    started: list[System] = []
    before = list(RUNNING)

    def _launch(engine: Engine, broker_url: str, backlog: Callable[[], int] | None = None, *, workers: int = 2,
                duplicate: bool = False, **extra_env: str) -> System:
        home = tmp_path / f"home-{len(started) + 1}"
        home.mkdir()
        env = child_env(engine.url.render_as_string(hide_password=False), broker_url, home, **extra_env)
        system = start_system(engine, env, home, free_port(), backlog or redis_backlog(broker_url), workers=workers,
                              duplicate=duplicate)
        started.append(system)
        return system

    try:
        yield _launch
    finally:
        for system in started:
            stop_system(system)
        # A process that failed before its system was complete (one died starting) is in RUNNING too.
        for process in [p for p in RUNNING if p not in before]:
            process.stop(timeout=10)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    """Add the log tails of the gridcase processes to the report of a failed test."""
    report = yield
    if report.failed:
        # The figures of the scenario's run (tests/faults/test_faults.py: the class's ``run`` fixture).
        figures = getattr(getattr(item, "funcargs", {}).get("run"), "figures", None)
        if figures:
            report.sections.append(("fault scenario", "\n".join(f"{k}: {v}" for k, v in figures.items())))
        if RUNNING:
            report.sections.append(("gridcase processes", logs_of_running()))
    return report
