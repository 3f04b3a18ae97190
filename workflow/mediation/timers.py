"""What a mediation arms on the clock: its deadline, the day-20 reminder, and the follow-up visits (回访).

A mediation has two phases the clock watches, each under its own ``clock_token``
(``mediations.clock_token``, bumped by ``steps`` when the mediation enters another phase, so
whatever was armed for the phase it left is stale):

- mediating (proposed, in session): a reminder to the mediators two thirds of the way (day 20
  of the default 30 days), then at the deadline the machine's ``deadline_passed``: a branch's
  informal mediation goes up to the general branch's people's mediation committee with a new
  deadline; a committee's overdue mediation is reported to the street (DOMAIN.md: warned and
  escalated like a case).
- following up (agreed, following up): one visit task for the case's grid a week after each
  performance date and a month after the last (``visits_due``), each told to the grid.

``steps`` arms them; ``clock.MEDIATION_KIND`` (registered in ``workflow/machines.py``) fires them.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from workflow.base import config
from workflow.clock.deadlines import arm_subject
from workflow.mediation.machine import FOLLOWING, MEDIATING, MState
from workflow.mediation.models import Mediation

SUBJECT = "mediation"
WARN, RESOLVE, FOLLOW_UP, CONFIRMATION = "warn", "resolve", "follow_up", "confirmation"
# 人民调解法 art. 33: judicial confirmation within 30 days; the parties are reminded on day 20 unless they applied.
CONFIRMATION_REMINDER = timedelta(days=20)
# The reminder comes when two thirds of the time are used: day 20 of the default 30 days.
WARN_AT = 2 / 3
# Follow-up visits (回访), by default: a week after each performance date, a month after the last.
VISIT_AFTER_EACH, VISIT_AFTER_LAST = timedelta(days=7), timedelta(days=30)
# A visit is due in the morning of its day, in the deployment's time zone.
VISIT_HOUR = time(9, 0)


def phase(state: str) -> str | None:
    """Return the phase of a state the clock watches: "mediating", "following" or None."""
    if MState(state) in MEDIATING:
        return "mediating"
    if MState(state) in FOLLOWING:
        return "following"
    return None


def arm_mediating(session: Session, mediation: Mediation, now: datetime) -> None:
    """Arm the reminder and the deadline of a mediation that has just started (or restarted) mediating."""
    warn_at = now + (mediation.due_at - now) * WARN_AT
    level = mediation.unit.level
    if warn_at > now:
        arm_subject(session, SUBJECT, mediation.id, WARN, level, warn_at, mediation.clock_token, now,
                    case_id=mediation.case_id)
    arm_subject(session, SUBJECT, mediation.id, RESOLVE, level, mediation.due_at, mediation.clock_token, now,
                case_id=mediation.case_id)


def visits_due(terms: list[dict[str, object]]) -> list[date]:
    """Return the dates of the follow-up visits of an agreement's terms, earliest first."""
    dues = sorted({date.fromisoformat(str(t["due"])) for t in terms})
    if not dues:
        return []
    return sorted({d + VISIT_AFTER_EACH for d in dues} | {dues[-1] + VISIT_AFTER_LAST})


def visit_time(day: date) -> datetime:
    """Return when a visit due on ``day`` is put in the grid's hands: that morning, local time."""
    return datetime.combine(day, VISIT_HOUR, tzinfo=ZoneInfo(config.timezone_name()))


def arm_visits(session: Session, mediation: Mediation, days: list[date], now: datetime) -> None:
    """Arm one follow-up visit task per day, for the grid of the mediation's case."""
    for day in days:
        arm_subject(session, SUBJECT, mediation.id, FOLLOW_UP, "grid", visit_time(day), mediation.clock_token, now,
                    case_id=mediation.case_id)
