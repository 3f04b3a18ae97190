"""Machine kinds on the clock: what a due deadline of a case, a mediation, a decision... is handed to.

The clock keeps deadline rows for any *subject*: a case, or a row of another machine (a mediation, a
community decision). Each machine kind registers one object here that tells the sweep the subjects'
current clock tokens (a deadline armed under an older token is stale) and does what a due deadline
asks. The kinds themselves live above the clock, in their capability's package (``<capability>/clock.py``);
``workflow/machines.py`` registers every one of them, in one place, and every entry point imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class DueDeadline:
    """A claimed deadline still current when swept, as its machine kind receives it."""

    deadline_id: int
    subject: str
    subject_id: int
    kind: str
    token: int


class MachineKind(Protocol):
    """What the clock needs of a machine kind."""

    @property
    def name(self) -> str:
        """The kind's name, stored in ``deadlines.subject`` ("case", "mediation", "decision", ...)."""
        ...

    def tokens(self, session: Session, subject_ids: list[int]) -> dict[int, int]:
        """Return the current clock token of each subject; a subject that no longer exists is left out."""
        ...

    def fire_due(self, session: Session, due: DueDeadline, inbox_id: int) -> list[Any]:
        """Lock the subject, re-check the token, take the step the deadline asks; return the outbox rows written."""
        ...


_REGISTRY: dict[str, MachineKind] = {}


def register(kind: MachineKind) -> None:
    """Add a machine kind to the registry (registering the same object twice is harmless)."""
    known = _REGISTRY.get(kind.name)
    if known is not None and known is not kind:
        raise ValueError(f"machine kind '{kind.name}' is registered twice, by two different objects")
    _REGISTRY[kind.name] = kind


def get(name: str) -> MachineKind:
    """Return the registered machine kind called ``name``."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise LookupError(f"machine kind '{name}' is not registered (is workflow.machines imported?); "
                          f"registered: {', '.join(sorted(_REGISTRY)) or 'none'}") from None


def names() -> list[str]:
    """Return the names of the registered machine kinds."""
    return sorted(_REGISTRY)
