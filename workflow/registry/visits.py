"""Patrol visits (排查走访): a visit to a household, a problem found becoming a case at once, monthly coverage."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from schemas.events import SUBMITTED, CaseSubmittedEvent
from schemas.vocabulary import Channel, Level, Role
from workflow.base import wallclock
from workflow.base.errors import N_, Forbidden, InvalidInput, NotFound
from workflow.cases.intake import Accepted, submit_case
from workflow.org.models import Unit, User
from workflow.org.tree import is_at_or_above
from workflow.registry import tags
from workflow.registry.models import Address, Building, Household, Resident, Visit
from workflow.registry.register import address_label, get_household, link_case, log_step, subtree_ids
from workflow.registry.risks import open_risk

OUTCOMES = ("nothing", "service", "risk", "case")
# Who visits households: the grid leader and the central households (DOMAIN.md).
VISITING_ROLES = frozenset({Role.GRID_LEADER, Role.HOUSEHOLD_LEADER})


@dataclass(frozen=True)
class Recorded:
    """A stored visit and, when it found a problem to log, the case it became."""

    visit_id: int
    case: Accepted | None
    risk_id: int | None = None


def record_visit(session: Session, user: User, household_id: int, *, visited_on: date | None, met: str | None,
                 outcome: str, note: str | None, case: dict[str, Any] | None = None,
                 risk: dict[str, Any] | None = None) -> Recorded:
    """Store a visit of the member's own households; a ``case`` outcome logs the case in the same transaction.

    ``case`` holds the case's ``category`` and optional ``severity``/``description`` (default: the note);
    the place is the household's address, the channel ``grid_patrol``. A ``risk`` outcome puts the risk on
    the risk register (``risks``) with ``risk``'s ``kind`` (default ``tension``) and ``next_check_on``.

    Raises:
        Forbidden: the member's role does not visit households.
        NotFound: the household is not in the member's subtree.
        InvalidInput: an unknown outcome, a visit in the future, a case outcome without a category.
    """
    if user.role not in VISITING_ROLES:
        raise Forbidden(N_("only grid leaders and central households record visits"))
    household = get_household(session, household_id, user)
    if outcome not in OUTCOMES:
        raise InvalidInput(N_("outcome must be one of %(outcomes)s"), field="outcome", outcomes=", ".join(OUTCOMES))
    today = wallclock.now().date()
    visited_on = visited_on or today
    if visited_on > today:
        raise InvalidInput(N_("a visit cannot be in the future"), field="visited_on")
    accepted: Accepted | None = None
    if outcome == "case":
        if not case or not case.get("category"):
            raise InvalidInput(N_("a problem to log as a case needs its category"), field="case.category")
        data = {"category": case["category"], "description": case.get("description") or note or "-",
                "grid": household.address.building.grid.code, "channel": Channel.GRID_PATROL.value,
                "reporter": {"name": user.display_name}}
        if case.get("severity"):
            data["severity"] = case["severity"]
        event = CaseSubmittedEvent.model_validate({
            "specversion": "1.0", "id": str(uuid.uuid4()), "source": f"/visits/{user.name}", "type": SUBMITTED,
            "time": wallclock.now().isoformat(), "data": data})
        accepted = submit_case(session, event)
    visit = Visit(household_id=household.id, visitor=user.name, visited_on=visited_on, met=met, outcome=outcome,
                  note=note, case_id=accepted.case_id if accepted else None, recorded_at=wallclock.now())
    session.add(visit)
    session.flush()
    if visit.case_id is not None:
        link_case(session, visit.case_id, household.id)
    log_step(session, user.name, "visit", {"visit": visit.id, "outcome": outcome, "on": visited_on.isoformat(),
                                           "case": visit.case_id}, household_id=household.id)
    risk_id = None
    if outcome == "risk":
        risk = risk or {}
        risk_id = open_risk(session, user, household.id, kind=risk.get("kind") or "tension",
                            description=note or "-", next_check_on=risk.get("next_check_on"), visit_id=visit.id).id
    return Recorded(visit.id, accepted, risk_id)


def month_bounds(month: str) -> tuple[date, date]:
    """Return the first day of ``YYYY-MM`` and of the month after.

    Raises:
        InvalidInput: not a month written YYYY-MM.
    """
    try:
        year, number = (int(part) for part in month.split("-"))
        first = date(year, number, 1)
    except ValueError:
        raise InvalidInput(N_("'%(month)s' is not a month such as 2026-11"), field="month", month=month) from None
    return first, date(year + number // 12, number % 12 + 1, 1)


def _due_by_cycle(session: Session, units: set[int], first: date, after: date) -> dict[int, dict[str, Any]]:
    """Return the tagged households whose own cycle (``tags.visit_cycle``) passed without a visit.

    Looked at on the last day of the month, or today while the month runs: a household visited
    every 7 days is due if its last visit is 7 days old or more, or it was never visited.
    """
    as_of = min(wallclock.now().date(), after - timedelta(days=1))
    in_units = (select(Household.id).join(Address, Household.address_id == Address.id)
                .join(Building, Address.building_id == Building.id).where(Building.grid_unit_id.in_(units)))
    codes: dict[int, list[str]] = {}
    for household_id, resident_tags in session.execute(
            select(Resident.household_id, Resident.tags).where(Resident.household_id.in_(in_units))):
        codes.setdefault(household_id, []).extend(resident_tags or [])
    cycles = {h: c for h, t in codes.items() if (c := tags.visit_cycle(t)) is not None}
    if not cycles or as_of < first:
        return {}
    last: dict[int, date] = {household_id: seen for household_id, seen in session.execute(
        select(Visit.household_id, func.max(Visit.visited_on))
        .where(Visit.household_id.in_(in_units), Visit.visited_on <= as_of).group_by(Visit.household_id))}
    due: dict[int, dict[str, Any]] = {}
    for household_id, every in cycles.items():
        seen = last.get(household_id)
        if seen is None or (as_of - seen).days >= every:
            due[household_id] = {"every_days": every, "last_visited": seen.isoformat() if seen else None}
    return due


def coverage(session: Session, user: User, unit_code: str, month: str) -> dict[str, Any]:
    """Return each grid's share of households visited in the month under a unit, and the households not visited.

    Each grid also lists ``due_by_tag``: households whose tags call for visits more often than monthly
    (``visit_every_days`` in data/tags.yaml) and whose cycle passed without one.

    Raises:
        NotFound: no such unit, or it is outside the member's subtree.
        InvalidInput: a month not written YYYY-MM.
    """
    unit = session.scalars(select(Unit).where(Unit.code == unit_code)).one_or_none()
    mine = session.get(Unit, user.unit_id)
    if unit is None or mine is None or not is_at_or_above(mine, unit):
        raise NotFound(N_("no unit with code '%(code)s' in your subtree"), field="unit", code=unit_code)
    first, after = month_bounds(month)
    units = subtree_ids(session, unit.id)
    grids = session.scalars(select(Unit).where(Unit.id.in_(units), Unit.level == Level.GRID.value)
                            .order_by(Unit.code)).all()
    visited = set(session.scalars(select(Visit.household_id).distinct()
                                  .where(Visit.visited_on >= first, Visit.visited_on < after)))
    due = _due_by_cycle(session, units, first, after)
    rows = []
    total = total_visited = 0
    for grid in grids:
        households = session.scalars(
            select(Household).join(Address, Household.address_id == Address.id)
            .join(Building, Address.building_id == Building.id).where(Building.grid_unit_id == grid.id)
            .order_by(Household.id)).all()
        seen = [h for h in households if h.id in visited]
        total += len(households)
        total_visited += len(seen)
        rows.append({"grid": grid.code, "name": grid.name, "households": len(households), "visited": len(seen),
                     "coverage": round(len(seen) / len(households), 4) if households else None,
                     "not_visited": [{"id": h.id, "address": address_label(h.address)}
                                     for h in households if h.id not in visited],
                     "due_by_tag": [{"id": h.id, "address": address_label(h.address), **due[h.id]}
                                    for h in households if h.id in due]})
    visits = session.scalar(select(func.count()).select_from(Visit).where(
        Visit.visited_on >= first, Visit.visited_on < after, Visit.household_id.in_(
            select(Household.id).join(Address, Household.address_id == Address.id)
            .join(Building, Address.building_id == Building.id).where(Building.grid_unit_id.in_(units)))))
    return {"unit": unit.code, "month": month, "households": total, "visited": total_visited,
            "coverage": round(total_visited / total, 4) if total else None, "visits": visits or 0, "grids": rows}
