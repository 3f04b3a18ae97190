"""Lists of cases for people at work: a member's queue (their subtree) and a party level's inbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session

from schemas.vocabulary import FINAL_STATES, Channel, Level
from workflow.cases.deadlines import WARN
from workflow.cases.models import Case
from workflow.cases.views import free_text_shown
from workflow.clock.models import Deadline
from workflow.org.models import Unit, User

# A queue shows at most this many cases; the rest are reached by search or the unit's inbox.
LIST_LIMIT = 200
_FINAL_STATES = [s.value for s in FINAL_STATES]


@dataclass(frozen=True)
class CaseRow:
    """One line of a queue or an inbox."""

    id: int
    tracking_code: str
    state: str
    level: str
    holding_unit: str
    grid: str
    category: str
    severity: str
    description: str
    deadline_at: datetime | None
    overdue: bool
    warned: bool
    supervised: bool
    love_call: bool = False


def subtree_ids(session: Session, unit_id: int) -> list[int]:
    """Return the ids of a unit and every unit below it."""
    children: dict[int | None, list[int]] = {}
    for uid, parent in session.execute(select(Unit.id, Unit.parent_id)):
        children.setdefault(parent, []).append(uid)
    found, todo = [], [unit_id]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def grids_of(session: Session, user: User) -> list[Unit]:
    """Return the grids a member may log a case in: those of their subtree, or the grid above a household."""
    if user.unit.level == Level.HOUSEHOLD and user.unit.parent is not None:
        return [user.unit.parent]
    ids = subtree_ids(session, user.unit_id)
    return list(session.scalars(select(Unit).where(Unit.id.in_(ids), Unit.level == Level.GRID).order_by(Unit.code)))


def _rows(session: Session, viewer: User, where: list[object], now: datetime) -> list[CaseRow]:
    warned = exists().where(Deadline.subject == "case", Deadline.subject_id == Case.id,
                            Deadline.kind == WARN, Deadline.status == "fired",
                            Deadline.token == Case.clock_token)
    overdue = and_(Case.deadline_at.is_not(None), Case.deadline_at < now)
    query = (
        select(Case, warned.label("warned"))
        .where(Case.state.not_in(_FINAL_STATES), *where)  # type: ignore[arg-type]
        # An old person's 爱心呼叫 before anything else, then overdue, supervised, by deadline.
        .order_by(sql_case((Case.channel == Channel.LOVE_CALL.value, 0), else_=1),
                  sql_case((overdue, 0), else_=1), Case.supervised.desc(),
                  Case.deadline_at.is_(None), Case.deadline_at, Case.id)
        .limit(LIST_LIMIT)
    )
    out = []
    for case, is_warned in session.execute(query):
        out.append(CaseRow(
            id=case.id, tracking_code=case.tracking_code, state=case.state, level=case.level,
            holding_unit=case.holding_unit.name, grid=case.grid_unit.name, category=case.category,
            severity=case.severity, description=free_text_shown(viewer, case, case.description)[:80],
            deadline_at=case.deadline_at,
            overdue=case.deadline_at is not None and case.deadline_at < now, warned=bool(is_warned),
            supervised=case.supervised, love_call=case.channel == Channel.LOVE_CALL.value,
        ))
    return out


def queue(session: Session, user: User, now: datetime) -> list[CaseRow]:
    """Return the open cases of a member's subtree: 爱心呼叫 first, then overdue, supervised, by deadline."""
    return _rows(session, user, [Case.grid_unit_id.in_(subtree_ids(session, user.unit_id))], now)


def inbox(session: Session, user: User, now: datetime) -> list[CaseRow]:
    """Return the open cases a member's unit holds now (escalated to it or taken over), most urgent first."""
    return _rows(session, user, [Case.holding_unit_id == user.unit_id], now)
