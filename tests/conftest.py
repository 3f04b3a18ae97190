"""Fixtures shared by every suite: a migrated SQLite database with the demo tree, the app, a client."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests import services

# Fixed keys for the suites (README.md, "Keys"): encryption at rest is on in every test, and
# processes a test starts (gridcase up, workers) read the same keys from the environment.
os.environ.setdefault("GRIDCASE_DATA_KEYS", "test0001:" + "dGVzdC1kYXRhLWtleS1vZi0zMi1ieXRlcy1hdC1yZXM=")
os.environ.setdefault("GRIDCASE_INDEX_KEY", "dGVzdC1pbmRleC1rZXktMzItYnl0ZXMtZm9yLWhtYWM=")
from tests.logcapture import captured_logs  # noqa: F401 - a fixture for the tests of logs
from web import create_app
from workflow.base.db import make_engine, unit_of_work
from workflow.base.schema import upgrade
from workflow.notices.models import Subscription
from workflow.notices.org_file import import_org
from workflow.org.tree import DEMO_ORG_FILE, forget_cached_units, read_org_file


@pytest.fixture(autouse=True)
def sms_sink(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the default SMS sender writes during a test (never the working tree's var/)."""
    path = tmp_path / "sms.jsonl"
    monkeypatch.setenv("GRIDCASE_SMS_FILE", str(path))
    return path


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate one SQLite file with the demo tree; each test gets a copy (faster than migrating)."""
    path = tmp_path_factory.mktemp("template") / "gridcase.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with unit_of_work(engine) as session:
        import_org(session, read_org_file(DEMO_ORG_FILE))
    engine.dispose()
    return path


# The demo tree's subscriptions, one per unit above the households; tests may add more.
DEMO_SUBSCRIPTIONS = 22
# Tables a test writes to, emptied before each test on PostgreSQL; the org tree (units,
# members, subscriptions, which the administration tests edit) is then loaded again.
# Recorded policies stay: a process remembers their ids.
CASE_TABLES = ("analysis_case_facts", "analysis_daily", "analysis_reports", "analysis_exports",
               "integrator_requests", "integrators", "evaluations", "deliveries", "outbox", "case_events", "inbox",
               "deadlines", "case_parties", "attachments", "cases", "api_tokens", "staff_sessions", "heartbeats", "admin_audit",
               "subscriptions", "users", "units", "report_phone_codes", "resident_reports", "kiosk_keys")


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[Engine]:
    """The PostgreSQL test database, rebuilt once per run from the migrations, with the demo tree."""
    services.require("unit suite on PostgreSQL", services.postgres_problem())
    engine = make_engine(services.pg_url())
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    upgrade(engine)
    with unit_of_work(engine) as session:
        import_org(session, read_org_file(DEMO_ORG_FILE))
    with engine.connect() as conn:
        assert conn.scalar(select(func.max(Subscription.id))) == DEMO_SUBSCRIPTIONS
    yield engine
    engine.dispose()


@pytest.fixture
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated database with the demo tree and no cases: SQLite by default, PostgreSQL with
    GRIDCASE_TEST_DB=postgresql (CI runs the unit suite both ways)."""
    if os.environ.get("GRIDCASE_TEST_DB") == "postgresql":
        pg: Engine = request.getfixturevalue("postgres_engine")
        with pg.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {', '.join(CASE_TABLES)} RESTART IDENTITY CASCADE")
        with unit_of_work(pg) as session:
            import_org(session, read_org_file(DEMO_ORG_FILE))
        forget_cached_units()
        yield pg
        return
    path = tmp_path / "gridcase.sqlite3"
    shutil.copy(request.getfixturevalue("sqlite_template"), path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """One transaction on the test database, committed at the end of the test."""
    with unit_of_work(engine) as s:
        yield s


class Published:
    """What the app would have sent to the broker."""

    def __init__(self) -> None:
        self.events: list[int] = []
        self.notices: list[int] = []


@pytest.fixture
def published() -> Published:
    """The messages the app published, instead of a broker."""
    return Published()


@pytest.fixture
def app(engine: Engine, published: Published) -> Any:
    """The Flask app on the test database; publishing is recorded, not sent."""
    return create_app({
        "ENGINE": engine,
        "DATABASE_URL": str(engine.url),
        "PUBLISH_EVENT": published.events.append,
        "PUBLISH_NOTICES": published.notices.extend,
    })


@pytest.fixture
def client(app: Any) -> FlaskClient:
    """A test client of the app."""
    return app.test_client()  # type: ignore[no-any-return]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say plainly which suites were skipped because a server was missing."""
    if services.SKIPPED:
        terminalreporter.section("suites skipped for lack of a server")
        for suite, why in services.SKIPPED.items():
            terminalreporter.write_line(f"{suite}: skipped, {why}")
        terminalreporter.write_line("set GRIDCASE_REQUIRE_SERVICES=1 to make this a failure (CI does)")
