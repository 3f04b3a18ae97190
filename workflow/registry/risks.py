"""The risk register (矛盾隐患台账): a risk noticed on a visit, its next check date, warnings when it is not checked.

A risk item is its own small machine, not a case: it has no parties, no resident to answer and
no handling ladder, only a household, what was noticed and a date by which someone must look
again. Its states::

    open ──check (next date)──▶ open        (the clock starts again)
    open ──check (resolved)───▶ resolved
    open ──check (to a case)──▶ resolved    (the problem is logged as a case, linked)

While open it is on the clock at two points (``stage``): once the day of its next check has
passed unchecked the grid leader is warned (``warned``, level grid); ``ESCALATE_AFTER`` later the
branch above the grid is warned too (``escalated``, level branch), as a case's deadline climbs.
Each check bumps ``clock_token``, so a warning armed for an earlier date is stale.

Both points are armed on the clock as deadlines of the machine kind ``risk`` (``registry/clock.py``,
registered in ``workflow/machines.py``): the sweep hands a due one to ``fire``, which records the
warning and writes the notice to the grid leaders, then to the branch secretaries. Pages and the
API show the stage computed from the dates when the item is read (``stage``), so they are right
even while a sweep is late.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.events import SUBMITTED, CaseSubmittedEvent
from schemas.vocabulary import Channel, Level, Role
from workflow.base import config, wallclock
from workflow.base.errors import N_, Forbidden, InvalidInput, InvalidTransition, NotFound
from workflow.base.privacy import scrub
from workflow.cases.intake import Accepted, submit_case
from workflow.cases.models import OutboxMessage
from workflow.clock.deadlines import arm_subject
from workflow.org.models import Unit, User
from workflow.registry.models import Household, RegistryStep, RiskItem
from workflow.registry.register import (
    address_label,
    cared_for,
    get_household,
    link_case,
    log_step,
    may_see_full,
    subtree_ids,
)

# Who looks after households in person opens and checks risks; the branch secretary may check one
# escalated to the branch. Everyone of the subtree reads them.
OPENING_ROLES = frozenset({Role.GRID_LEADER, Role.HOUSEHOLD_LEADER})
CHECKING_ROLES = OPENING_ROLES | {Role.BRANCH_SECRETARY}
KINDS = ("tension", "difficulty", "other")
# Without a date, a risk is looked at again a week after it was noticed.
DEFAULT_CHECK_AFTER = timedelta(days=7)
# An unchecked risk is the grid leader's the day after its check date; two days later, the branch's.
ESCALATE_AFTER = timedelta(days=2)
WARN, ESCALATE = "warn", "escalate"
# The machine kind's name on the clock (``deadlines.subject``; ``registry/clock.py``).
SUBJECT = "risk"


def _zone() -> ZoneInfo:
    return ZoneInfo(config.timezone_name())


def today() -> date:
    """Return today's date where the community is (``GRIDCASE_TIMEZONE``)."""
    return wallclock.now().astimezone(_zone()).date()


def warn_at(item: RiskItem) -> datetime:
    """Return when an unchecked item warns its grid leader: the end of its check day, local time."""
    return datetime.combine(item.next_check_on + timedelta(days=1), time(0), _zone())


def escalate_at(item: RiskItem) -> datetime:
    """Return when an unchecked item warns the branch."""
    return warn_at(item) + ESCALATE_AFTER


def stage(item: RiskItem, now: datetime) -> str:
    """Return where an item stands now: ``resolved``, ``on_time``, ``due`` (today), ``warned`` or ``escalated``."""
    if item.status == "resolved":
        return "resolved"
    if now >= escalate_at(item):
        return "escalated"
    if now >= warn_at(item):
        return "warned"
    return "due" if now.astimezone(_zone()).date() == item.next_check_on else "on_time"


def _check_date(value: date | None, noticed_on: date, fld: str) -> date:
    chosen = value or noticed_on + DEFAULT_CHECK_AFTER
    if chosen < today():
        raise InvalidInput(N_("the next check cannot be in the past"), field=fld)
    if chosen > today() + timedelta(days=366):
        raise InvalidInput(N_("the next check must be within a year"), field=fld)
    return chosen


def open_risk(session: Session, user: User, household_id: int, *, kind: str, description: str,
              next_check_on: date | None = None, visit_id: int | None = None) -> RiskItem:
    """Put a risk noticed at one of the member's households on the register, with its next check date.

    Raises:
        Forbidden: the member's role does not visit households.
        NotFound: the household is not in the member's subtree.
        InvalidInput: an unknown kind, no description, a check date in the past or more than a year away.
    """
    if user.role not in OPENING_ROLES:
        raise Forbidden(N_("only grid leaders and central households put risks on the register"))
    household = get_household(session, household_id, user)
    if kind not in KINDS:
        raise InvalidInput(N_("kind must be one of %(kinds)s"), field="kind", kinds=", ".join(KINDS))
    if not description.strip():
        raise InvalidInput(N_("say what was noticed"), field="description")
    now = wallclock.now()
    item = RiskItem(household_id=household.id, grid_unit_id=household.address.building.grid_unit_id,
                    visit_id=visit_id, kind=kind, description=description.strip(),
                    next_check_on=_check_date(next_check_on, today(), "next_check_on"), status="open",
                    clock_token=1, opened_by=user.name, opened_at=now)
    session.add(item)
    session.flush()
    arm(session, item, now)
    log_step(session, user.name, "risk", {"risk": item.id, "kind": kind, "next": item.next_check_on.isoformat()},
             household_id=household.id)
    return item


def get_risk(session: Session, risk_id: int, user: User) -> RiskItem:
    """Return a risk item of the member's subtree.

    Raises:
        NotFound: no such item, or it is outside the member's subtree (not told apart).
    """
    item = session.get(RiskItem, risk_id)
    if item is None or (item.grid_unit_id not in subtree_ids(session, user.unit_id)
                        and item.household_id not in cared_for(session, user)):
        raise NotFound(N_("no risk %(id)s in your part of the register"), id=str(risk_id))
    return item


@dataclass(frozen=True)
class Checked:
    """A check of a risk, and the case it became if the check logged one."""

    item: RiskItem
    case: Accepted | None


def check_risk(session: Session, user: User, risk_id: int, *, note: str, outcome: str,
               next_check_on: date | None = None, category: str | None = None) -> Checked:
    """Record a check of an open risk: ``ongoing`` (next check date), ``resolved``, or ``case`` (logged at once).

    Raises:
        NotFound: the item is not in the member's subtree.
        Forbidden: the member's role does not check risks.
        InvalidTransition: the item is already resolved.
        InvalidInput: no note, an unknown outcome, a bad date, a case without its category.
    """
    item = get_risk(session, risk_id, user)
    if user.role not in CHECKING_ROLES:
        raise Forbidden(N_("only grid leaders, central households and branch secretaries check risks"))
    # Two people checking at once: the second waits for the first and then sees it resolved.
    session.refresh(item, with_for_update=True)
    if item.status != "open":
        raise InvalidTransition(N_("risk %(id)s is already resolved"), id=str(risk_id))
    if not note.strip():
        raise InvalidInput(N_("say what the check found"), field="note")
    if outcome not in ("ongoing", "resolved", "case"):
        raise InvalidInput(N_("outcome must be one of %(outcomes)s"), field="outcome",
                           outcomes="ongoing, resolved, case")
    now = wallclock.now()
    accepted: Accepted | None = None
    if outcome == "ongoing":
        item.next_check_on = _check_date(next_check_on, today(), "next_check_on")
    else:
        if outcome == "case":
            if not category:
                raise InvalidInput(N_("a problem to log as a case needs its category"), field="category")
            accepted = _log_case(session, user, item, category, note)
            item.case_id = accepted.case_id
            if accepted.case_id is not None:
                link_case(session, accepted.case_id, item.household_id)
        item.status, item.resolved_at = "resolved", now
    # A new date or the end of the item: whatever the clock had armed for the old one is stale.
    item.clock_token += 1
    item.warned_level = None
    item.last_checked_at, item.last_checked_by = now, user.name
    arm(session, item, now)  # nothing for a resolved item
    log_step(session, user.name, "risk_check", {
        "risk": item.id, "outcome": outcome, "note": note.strip()[:500],
        "next": item.next_check_on.isoformat() if outcome == "ongoing" else None,
        "case": item.case_id}, household_id=item.household_id)
    session.flush()
    return Checked(item, accepted)


def _log_case(session: Session, user: User, item: RiskItem, category: str, note: str) -> Accepted:
    household = session.get(Household, item.household_id)
    assert household is not None  # a foreign key
    data = {"category": category, "description": f"{item.description}\n{note.strip()}",
            "grid": household.address.building.grid.code, "channel": Channel.GRID_PATROL.value,
            "reporter": {"name": user.display_name}, "household": household.id}
    event = CaseSubmittedEvent.model_validate({
        "specversion": "1.0", "id": str(uuid.uuid4()), "source": f"/risks/{item.id}", "type": SUBMITTED,
        "time": wallclock.now().isoformat(), "data": data})
    return submit_case(session, event)


def risks_of(session: Session, user: User, *, status: str = "open", limit: int = 200) -> list[RiskItem]:
    """Return the risks of the member's subtree, the longest unchecked first."""
    units = subtree_ids(session, user.unit_id)
    query = select(RiskItem).where(RiskItem.grid_unit_id.in_(units)
                                   | RiskItem.household_id.in_(cared_for(session, user)))
    if status != "all":
        query = query.where(RiskItem.status == status)
    return list(session.scalars(query.order_by(RiskItem.status, RiskItem.next_check_on, RiskItem.id).limit(limit)))


def risk_view(session: Session, item: RiskItem, user: User, now: datetime) -> dict[str, Any]:
    """Return a risk item as the API and pages show it; the text masked for roles that see the register masked."""
    household = session.get(Household, item.household_id)
    assert household is not None  # a foreign key
    shown = item.description if may_see_full(user) else scrub(item.description)
    current = stage(item, now)
    return {
        "id": item.id, "household": item.household_id, "address": address_label(household.address),
        "grid": household.address.building.grid.code, "kind": item.kind, "description": shown,
        "status": item.status, "next_check_on": item.next_check_on.isoformat(), "stage": current,
        "warned": {"warned": "grid", "escalated": "branch"}.get(current),
        "overdue_since": warn_at(item).isoformat() if current in ("warned", "escalated") else None,
        "opened_by": item.opened_by, "opened_at": item.opened_at.isoformat(), "visit": item.visit_id,
        "case": item.case_id,
        "last_checked_at": item.last_checked_at.isoformat() if item.last_checked_at else None,
    }


def risk_checks(session: Session, item: RiskItem) -> list[RegistryStep]:
    """Return the checks of a risk (steps on its household's history), oldest first."""
    steps = session.scalars(select(RegistryStep).where(RegistryStep.household_id == item.household_id,
                                                       RegistryStep.kind == "risk_check").order_by(RegistryStep.id))
    return [s for s in steps if s.detail.get("risk") == item.id]


def overdue_count(session: Session, user: User, now: datetime) -> int:
    """Count the open risks of the member's subtree whose check date has passed unchecked."""
    return sum(1 for item in risks_of(session, user) if stage(item, now) in ("warned", "escalated"))


def deadlines_of(item: RiskItem) -> list[tuple[str, Level, datetime]]:
    """Return what the clock must arm for an open item: (kind, level warned, when)."""
    if item.status != "open":
        return []
    return [(WARN, Level.GRID, warn_at(item)), (ESCALATE, Level.BRANCH, escalate_at(item))]


def arm(session: Session, item: RiskItem, now: datetime) -> None:
    """Arm an open item's deadlines under its current token (those armed before go stale with the old token)."""
    for kind, level, due in deadlines_of(item):
        arm_subject(session, SUBJECT, item.id, kind, level.value, due, item.clock_token, now)


def fire(session: Session, item: RiskItem, kind: str, token: int, now: datetime) -> list[OutboxMessage]:
    """The clock's step: warn the grid (``warn``) or the branch (``escalate``) of an unchecked item, once.

    A deadline armed under another token (the item was checked since) does nothing.
    """
    if item.status != "open" or token != item.clock_token or kind not in (WARN, ESCALATE):
        return []
    level = Level.GRID if kind == WARN else Level.BRANCH
    if item.warned_level == level.value or (item.warned_level == Level.BRANCH.value and level == Level.GRID):
        return []
    grid = session.get(Unit, item.grid_unit_id)
    unit = grid if level == Level.GRID or grid is None else (grid.parent or grid)
    assert unit is not None  # a foreign key
    item.warned_level = level.value
    household = session.get(Household, item.household_id)
    topic = "risk.check_overdue" if level == Level.GRID else "risk.escalated"
    role = Role.GRID_LEADER if level == Level.GRID else Role.BRANCH_SECRETARY
    members = list(session.scalars(select(User.id).where(User.unit_id == unit.id, User.role == role.value,
                                                         User.active.is_(True)).order_by(User.id)))
    row = OutboxMessage(kind="notify_members", topic=topic, case_id=None, unit_id=unit.id,
                        payload={"risk_id": item.id, "unit": unit.code, "level": level.value, "user_ids": members,
                                 "next_check_on": item.next_check_on.isoformat(),
                                 "address": address_label(household.address) if household else None},
                        created_at=now, dedupe_key=f"risk:{item.id}:{token}:{kind}")
    session.add(row)
    log_step(session, "clock", "risk_warning", {"risk": item.id, "level": level.value},
             household_id=item.household_id)
    return [row]
