"""The database and the broker as the web app holds them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import cast

from flask import current_app
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from workflow.base.db import unit_of_work

EXTENSION = "gridcase"


def engine() -> Engine:
    """Return the app's engine."""
    return cast(Engine, current_app.extensions[EXTENSION]["engine"])


@contextmanager
def db_session() -> Iterator[Session]:
    """Open one transaction on the app's database."""
    with unit_of_work(engine()) as session:
        yield session


def publish_event(inbox_id: int) -> None:
    """Publish the handling task for an inbox row (after its commit)."""
    publisher = cast(Callable[[int], object], current_app.extensions[EXTENSION]["publish_event"])
    publisher(inbox_id)


def publish_notices(outbox_ids: list[int]) -> None:
    """Publish delivery tasks for outbox rows (after their commit)."""
    publisher = cast(Callable[[list[int]], object], current_app.extensions[EXTENSION]["publish_notices"])
    publisher(outbox_ids)
