"""When the level holding a case must have resolved or escalated it."""

from __future__ import annotations

from datetime import datetime, timedelta

from schemas.vocabulary import Severity

# DOMAIN.md's defaults, counted in calendar time until the working-day calendar and the
# deployment's policy file arrive (issue 3).
RESOLVE_OR_ESCALATE: dict[Severity, timedelta] = {
    Severity.P0: timedelta(hours=4),
    Severity.P1: timedelta(days=3),
    Severity.P2: timedelta(days=7),
    Severity.P3: timedelta(days=3),
}


def handling_deadline(severity: Severity, started: datetime) -> datetime:
    """Return when a level that took the case at ``started`` must resolve or escalate it."""
    return started + RESOLVE_OR_ESCALATE[severity]
