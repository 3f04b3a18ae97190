"""Applying one trigger to one case: the only code that writes a case's state."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from schemas.text import MAX_ID
from schemas.vocabulary import Level, State
from workflow.base import db, wallclock
from workflow.base.errors import N_, DomainError, Forbidden, InvalidInput, NotFound, StaleVersion
from workflow.cases.deadlines import on_step
from workflow.cases.machine import RULES, Actor, Position, Step, fire, position_of
from workflow.cases.models import Case, CaseEvent, OutboxMessage
from workflow.cases.outbox import write_notices
from workflow.org.models import Unit, User
from workflow.org.tree import UnitInfo, cached_ladder, is_at_or_above

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Applied:
    """A step that was taken: its timeline entry and the outbox notices it wrote (ids after a flush)."""

    event: CaseEvent
    notices: list[OutboxMessage]

    @property
    def notice_ids(self) -> list[int]:
        """Return the ids of the notices; the session must have been flushed."""
        return [n.id for n in self.notices]


@dataclass(frozen=True)
class ActorContext:
    """Who fires a trigger: a staff member with a unit, the resident, or the system."""

    kind: Actor
    name: str
    unit_id: int | None = None
    unit_code: str | None = None
    role: str | None = None

    @classmethod
    def system(cls) -> ActorContext:
        """Return the actor for the engine's own steps (dispatch, the clock)."""
        return cls(Actor.SYSTEM, "system")

    @classmethod
    def resident(cls) -> ActorContext:
        """Return the actor for the resident's own answers."""
        return cls(Actor.RESIDENT, "resident")


def staff_actor(user: User) -> ActorContext:
    """Return the actor context of a staff member."""
    return ActorContext(Actor.STAFF, user.name, user.unit_id, user.unit.code, user.role)


def lock_cases(session: Session, case_ids: Sequence[int]) -> dict[int, Case]:
    """Load cases and lock their rows until the transaction ends, in id order so two batches never deadlock.

    SQLite has no row locks; there the transaction's write lock (BEGIN IMMEDIATE) and the
    version check stand in for them.
    """
    query = select(Case).where(Case.id.in_(sorted(set(case_ids)))).order_by(Case.id).options(lazyload("*"))
    if not db.is_sqlite(session.get_bind().engine):
        query = query.with_for_update(of=Case)
    return {case.id: case for case in session.scalars(query)}


def load_case_for_update(session: Session, case_id: int) -> Case:
    """Load one case and lock its row.

    Raises:
        NotFound: there is no such case.
    """
    # An id no column can hold names no case; asking the database would overflow its integer.
    case = lock_cases(session, [case_id]).get(case_id) if 0 < case_id <= MAX_ID else None
    if case is None:
        raise NotFound(N_("no case with id %(case_id)s"), case_id=case_id)
    return case


@dataclass(frozen=True)
class _Place:
    """Where a staff actor stands on the case's path: their level, position and role."""

    level: Level | None = None
    position: Position | None = None
    role: str | None = None


def _check_actor(case: Case, trigger: str, actor: ActorContext, ladder: dict[Level, UnitInfo]) -> _Place:
    rule = RULES.get(trigger)
    if rule is None:
        return _Place()  # fire() names the unknown trigger
    if actor.kind not in rule.actors:
        who = " or ".join(sorted(a.value for a in rule.actors))
        raise Forbidden(N_("'%(trigger)s' is done by the %(who)s, not by %(actor)s"), trigger=trigger, who=who,
                        actor=actor.kind.value)
    if actor.kind is not Actor.STAFF:
        return _Place()
    actor_level = next((level for level, unit in ladder.items() if unit.id == actor.unit_id), None)
    if actor_level is None:
        raise Forbidden(N_("unit %(unit)s is not on case %(case_id)s's path"), unit=actor.unit_code, case_id=case.id)
    # What each position may do is the machine's rule (RULES); fire() enforces it.
    return _Place(actor_level, position_of(actor_level, Level(case.level)), actor.role)


def apply_trigger(
    session: Session,
    case: Case,
    trigger: str,
    actor: ActorContext,
    params: dict[str, Any] | None = None,
    *,
    expected_version: int | None = None,
    inbox_id: int | None = None,
) -> Applied:
    """Fire ``trigger`` on a locked ``case``; add the timeline step and the notices it calls for.

    Every refusal is raised before anything is changed, so the caller's transaction stays
    clean; nothing is flushed here (the caller flushes once for a whole batch).

    Raises:
        StaleVersion: ``expected_version`` is not the case's version.
        Forbidden: the actor may not fire this trigger on this case.
        InvalidTransition: the trigger does not apply in the case's state.
        InvalidInput: a value the trigger needs is missing or wrong.
    """
    params = dict(params or {})
    if expected_version is not None and expected_version != case.version:
        raise StaleVersion(N_("case %(case_id)s is at version %(version)s, not %(expected)s; reload it and retry"),
                           case_id=case.id, version=case.version, expected=expected_version)
    ladder = cached_ladder(session, case.grid_unit_id)
    place = _check_actor(case, trigger, actor, ladder)
    step = _step_of(case, place, params)
    if trigger == "merge":
        _check_merge_target(session, case, params.get("merge_into"), actor)
    from_state, from_level = case.state, case.level
    changed = fire(step, trigger)
    at = wallclock.now()

    case.state = step.state
    case.level = step.level.value
    case.holding_unit_id = ladder[step.level].id
    case.resolved_level = step.resolved_level.value if step.resolved_level else None
    case.supervised = step.supervised
    case.updated_at = at
    if trigger == "reopen":
        case.reopen_count += 1
    if trigger == "merge":
        case.merged_into_id = params["merge_into"]
    if changed:
        case.state_entered_at = at
    on_step(session, case, trigger, changed, {**params, "level": place.level.value if place.level else None}, at)

    case.version += 1
    event = CaseEvent(
        case_id=case.id,
        seq=case.version,  # steps are numbered by the version they made
        kind=trigger,
        actor=actor.name,
        actor_unit_id=actor.unit_id,
        from_state=from_state,
        to_state=case.state,
        from_level=from_level,
        to_level=case.level,
        reason=_reason(trigger, params),
        public=RULES[trigger].public,
        at=at,
        inbox_id=inbox_id,
    )
    session.add(event)
    notices = write_notices(session, case, event, ladder)
    logger.info("case %s: %s %s -> %s by %s", case.id, trigger, from_state, case.state, actor.name,
                extra={"case_id": case.id, "trigger": trigger, "inbox_id": inbox_id})
    return Applied(event, notices)


def _step_of(case: Case, place: _Place, params: dict[str, Any]) -> Step:
    asked_by = (case.request or {}).get("level")
    return Step(
        state=case.state,
        level=Level(case.level),
        actor_level=place.level,
        actor_position=place.position,
        actor_role=place.role,
        requested_by=Level(asked_by) if asked_by else None,
        resolved_level=Level(case.resolved_level) if case.resolved_level else None,
        reopen_count=case.reopen_count,
        params=params,
        supervised=case.supervised,
        paused=case.paused_at is not None,
        waiting=(case.request or {}).get("kind"),
    )


# Stand-ins for the text a trigger needs, so that asking "could this fire?" passes the guards on
# text and stops only at the ones on the case (state, level, pause, a request waiting).
_ANY_TEXT = {"reason": "-", "summary": "-", "message": "-", "extend_by": "P1D", "merge_into": 0}


def could_fire(session: Session, case: Case, trigger: str, actor: ActorContext) -> bool:
    """Tell whether ``actor`` may fire ``trigger`` on ``case`` now, given the text it needs."""
    try:
        place = _check_actor(case, trigger, actor, cached_ladder(session, case.grid_unit_id))
        fire(_step_of(case, place, dict(_ANY_TEXT)), trigger)
    except DomainError:
        return False
    return True


def _reason(trigger: str, params: dict[str, Any]) -> str | None:
    text = params.get("reason") or params.get("summary") or params.get("message")
    if trigger == "request_extension" and params.get("extend_by"):
        return f"{params['extend_by']}: {text}"
    return text if text is None else str(text)


def _check_merge_target(session: Session, case: Case, target_id: Any, actor: ActorContext) -> None:
    """Refuse a merge target that does not exist, is not open, or lies outside the actor's units.

    The three get one answer, so a refusal tells nothing of other grids' cases.
    """
    if not isinstance(target_id, int):
        return  # the machine's guard names the missing field
    if target_id == case.id:
        raise InvalidInput(N_("a case cannot be merged into itself"), field="merge_into")
    target = session.get(Case, target_id)
    actor_unit = session.get(Unit, actor.unit_id) if actor.unit_id is not None else None
    # Staff merge only into a case they may see: one of their own subtree or on its path.
    in_scope = target is not None and (
        actor.kind is not Actor.STAFF or (actor_unit is not None and is_at_or_above(actor_unit, target.grid_unit)))
    if not in_scope or target is None or State(target.state) in {State.MERGED, State.REJECTED, State.WITHDRAWN}:
        raise InvalidInput(N_("there is no open case %(case_id)s of yours to merge into"), field="merge_into",
                           case_id=target_id)
