"""Bringing a database to the current schema with Alembic, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect

MIGRATIONS = Path(__file__).parent.parent / "migrations"  # workflow/migrations: every package's tables


def alembic_config(engine: Engine | None = None) -> Config:
    """Return an Alembic config pointing at gridcase's migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def upgrade(engine: Engine) -> None:
    """Apply every migration the database lacks."""
    with engine.connect() as connection:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
        connection.commit()


def is_current(engine: Engine) -> bool:
    """Tell whether the database has gridcase's tables at all (a cheap check before serving)."""
    return inspect(engine).has_table("alembic_version")
