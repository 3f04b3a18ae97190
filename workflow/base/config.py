"""Settings read from the environment at call time, with embedded defaults."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_TIMEZONE = "Asia/Shanghai"


def data_dir() -> Path:
    """Return the folder for the embedded database and broker (``GRIDCASE_HOME``, default ``./var``)."""
    return Path(os.environ.get("GRIDCASE_HOME", "var")).resolve()


def database_url() -> str:
    """Return ``DATABASE_URL``, or an SQLite file in the data folder."""
    url = os.environ.get("DATABASE_URL")
    if url:
        # Hosting platforms hand out postgres:// URLs; SQLAlchemy wants the driver named.
        if url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgres://")
        elif url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return url
    return f"sqlite:///{data_dir() / 'gridcase.sqlite3'}"


def broker_url() -> str:
    """Return ``BROKER_URL``, or the embedded filesystem broker in the data folder."""
    return os.environ.get("BROKER_URL") or "filesystem://"


def public_base_url() -> str:
    """Return the address residents are sent to (``GRIDCASE_PUBLIC_URL``)."""
    return os.environ.get("GRIDCASE_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")


def relay_grace_seconds() -> float:
    """Return how long an inbox or outbox row may wait before the relay publishes it again."""
    return float(os.environ.get("GRIDCASE_RELAY_GRACE", "15"))


def timezone_name() -> str:
    """Return the deployment's display time zone (``GRIDCASE_TIMEZONE``)."""
    return os.environ.get("GRIDCASE_TIMEZONE", DEFAULT_TIMEZONE)


def retention_days() -> int:
    """Return how many days a case stays closed before its personal data is anonymised (``GRIDCASE_RETENTION_DAYS``).

    Three years by default (issue 12; DOMAIN.md, "Privacy"): long enough for a reopened dispute
    or an appeal to find its parties, short enough that the register of old quarrels does not grow.
    """
    return int(os.environ.get("GRIDCASE_RETENTION_DAYS", "1096"))
