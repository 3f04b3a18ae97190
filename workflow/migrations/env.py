"""Alembic environment: runs on the connection gridcase hands it, SQLite in batch mode."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from workflow.base import config as gridcase_config
from workflow.tables import metadata

target_metadata = metadata


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        engine = create_engine(gridcase_config.database_url())
        with engine.connect() as conn:
            _run(conn)
        return
    _run(connection)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    if connection.dialect.name == "sqlite":
        # A batch "recreate" of a parent table would cascade-delete its children with
        # foreign keys on; the pragma only takes effect outside a transaction.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
