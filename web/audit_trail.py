"""Putting an administrator's act on the audit log from a page, the API or the command line."""

from __future__ import annotations

import getpass
from typing import Any

from sqlalchemy.orm import Session

from workflow.audit.log import record
from workflow.org.models import User


def note(session: Session, user: User, action: str, target: str, **detail: Any) -> None:
    """Record an act of a logged-in member, in the transaction that does it."""
    record(session, user.name, action, target, detail, actor_unit=user.unit.code)


def note_cli(session: Session, action: str, target: str, **detail: Any) -> None:
    """Record an act done with the ``gridcase`` command, naming the system user who ran it."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        who = "?"
    record(session, f"cli:{who}", action, target, detail)
