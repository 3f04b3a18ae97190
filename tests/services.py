"""Which real servers the tests can reach, and what to do when one is missing."""

from __future__ import annotations

import functools
import os
import socket
from urllib.parse import urlsplit

import pytest

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"

# Filled as suites are skipped, printed at the end of the run (tests/conftest.py).
SKIPPED: dict[str, str] = {}


def pg_url() -> str:
    """Return the PostgreSQL URL the tests use; under pytest-xdist, a database of each worker's own."""
    url = os.environ.get("GRIDCASE_TEST_DATABASE_URL", DEFAULT_PG)
    # xdist workers (gw0, gw1, ...) would truncate each other's tables in one database.
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    parts = urlsplit(url)
    return parts._replace(path=f"{parts.path}_{worker}").geturl()


def redis_url() -> str:
    """Return the Redis URL the integration tests use as a broker."""
    return os.environ.get("GRIDCASE_TEST_BROKER_URL", DEFAULT_REDIS)


def services_required() -> bool:
    """Tell whether a missing service must fail the run (CI sets GRIDCASE_REQUIRE_SERVICES=1)."""
    return os.environ.get("GRIDCASE_REQUIRE_SERVICES") == "1"


@functools.cache
def postgres_problem() -> str | None:
    """Return why PostgreSQL cannot be used, or None if it answers (creating the test database if missing)."""
    import psycopg
    from psycopg import sql

    url = pg_url().replace("postgresql+psycopg://", "postgresql://")
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    try:
        with psycopg.connect(parts._replace(path="/postgres").geturl(), connect_timeout=3,
                             autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "not usable here"
        return f"PostgreSQL at {parts.hostname}:{parts.port} did not answer ({exc.__class__.__name__}: {exc})"
    return None


@functools.cache
def redis_problem() -> str | None:
    """Return why Redis cannot be used, or None if it answers PING."""
    parts = urlsplit(redis_url())
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=3) as sock:
            sock.sendall(b"PING\r\n")
            if not sock.recv(16).startswith(b"+PONG"):
                return "Redis did not answer PING"
    except OSError as exc:
        return f"Redis at {parts.hostname}:{parts.port} did not answer ({exc.__class__.__name__})"
    return None


def require(suite: str, problem: str | None) -> None:
    """Skip (or, when services are required, fail) a test whose server is missing."""
    if problem is None:
        return
    if services_required():
        pytest.fail(f"{suite}: {problem} and GRIDCASE_REQUIRE_SERVICES=1")
    SKIPPED[suite] = problem
    pytest.skip(f"{suite}: {problem}")
