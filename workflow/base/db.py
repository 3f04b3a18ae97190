"""Engines, sessions and the column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from workflow.base import config
from workflow.base.private_files import private_dir, private_file

# Named constraints from the first migration on, so later migrations can drop them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every gridcase table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and read back timezone-aware, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive times and store aware ones in UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach UTC to what SQLite hands back without a zone."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def is_sqlite(engine: Engine) -> bool:
    """Tell whether the engine talks to SQLite (no row locks, version checks instead)."""
    return engine.dialect.name == "sqlite"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the web, the worker and beat read while one of them writes; the busy
    # timeout makes a writer wait for the lock instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # pysqlite defers BEGIN until the first write, so a read-then-write transaction
    # could see stale rows; BEGIN IMMEDIATE takes the write lock up front.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


# A pooled connection older than this is replaced at checkout: a firewall or a server-side
# idle timeout that drops quiet connections then costs nothing, without a ping per checkout.
POOL_RECYCLE_SECONDS = 1800


def make_engine(url: str, *, pre_ping: bool = True) -> Engine:
    """Create an engine for ``url`` with the settings gridcase relies on.

    ``pre_ping=False`` skips the round trip that checks each pooled connection before use
    (the web app: one per request, about a fifth of intake's time in the database). A
    connection the server dropped then fails on its first statement instead: SQLAlchemy
    recognises the disconnect, throws away every connection of the pool made before it,
    and the error (``OperationalError``) is what the caller sees, a 503 on the web.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 15, "isolation_level": None})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=pre_ping, pool_recycle=POOL_RECYCLE_SECONDS, pool_size=5,
                         max_overflow=10)


@functools.cache
def engine_for(url: str, *, pre_ping: bool = True) -> Engine:
    """Return the process-wide engine for ``url`` (``pre_ping``: see ``make_engine``)."""
    return make_engine(url, pre_ping=pre_ping)


def default_engine() -> Engine:
    """Return the engine for the configured ``DATABASE_URL``."""
    url = config.database_url()
    if url.startswith("sqlite:///"):
        folder = private_dir(config.data_dir())
        database = Path(url.removeprefix("sqlite:///"))
        if database.parent == folder:  # the embedded database: private from its first byte
            private_file(database)
    return engine_for(url)


@functools.cache
def _session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(engine: Engine | None = None) -> Iterator[Session]:
    """Open one transaction: commit when the block ends, roll back if it raises."""
    session = _session_factory(engine or default_engine())()
    try:
        with session.begin():
            yield session
    finally:
        session.close()
