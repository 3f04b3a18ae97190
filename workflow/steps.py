"""Applying one trigger to one case: the only code that writes a case's state."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from schemas.vocabulary import HANDLING_LADDER, Level, Severity, State
from workflow import clock, db
from workflow.deadlines import handling_deadline
from workflow.errors import Forbidden, InvalidInput, NotFound, StaleVersion
from workflow.machine import RULES, Actor, Scope, Step, fire, level_of_state
from workflow.models import Case, CaseEvent, Unit
from workflow.notices import write_notices
from workflow.org import ladder_of

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Applied:
    """A step that was taken: its timeline entry and the outbox notices it wrote."""

    event: CaseEvent
    notice_ids: list[int]


@dataclass(frozen=True)
class ActorContext:
    """Who fires a trigger: a staff member with a unit, the resident, or the system."""

    kind: Actor
    name: str
    unit: Unit | None = None

    @classmethod
    def system(cls) -> ActorContext:
        """Return the actor for the engine's own steps (dispatch, the clock)."""
        return cls(Actor.SYSTEM, "system")

    @classmethod
    def resident(cls) -> ActorContext:
        """Return the actor for the resident's own answers."""
        return cls(Actor.RESIDENT, "resident")


def load_case_for_update(session: Session, case_id: int) -> Case:
    """Load a case and lock its row until the transaction ends (PostgreSQL; SQLite holds a write lock).

    Raises:
        NotFound: there is no such case.
    """
    query = select(Case).where(Case.id == case_id)
    if not db.is_sqlite(session.get_bind().engine):
        # Lock only the case row: the joined units are read, not written.
        query = query.with_for_update(of=Case)
    case = session.scalars(query).unique().one_or_none()
    if case is None:
        raise NotFound(f"no case with id {case_id}")
    return case


def _check_actor(case: Case, trigger: str, actor: ActorContext, ladder: dict[Level, Unit]) -> None:
    rule = RULES.get(trigger)
    if rule is None:
        return  # fire() names the unknown trigger
    if actor.kind not in rule.actors:
        who = " or ".join(sorted(a.value for a in rule.actors))
        raise Forbidden(f"'{trigger}' is done by the {who}, not by {actor.kind.value}")
    if actor.kind is not Actor.STAFF:
        return
    holding = Level(case.level)
    on_path = [level for level, unit in ladder.items() if actor.unit and unit.id == actor.unit.id]
    if not on_path:
        raise Forbidden(f"unit {actor.unit.code if actor.unit else '?'} is not on case {case.id}'s path")
    actor_rank = HANDLING_LADDER.index(on_path[0])
    holding_rank = HANDLING_LADDER.index(holding)
    if rule.scope is Scope.ABOVE and actor_rank <= holding_rank:
        raise Forbidden(f"'{trigger}' is for a unit above the {holding.value} holding the case")
    if actor_rank < holding_rank:
        raise Forbidden(
            f"case {case.id} is held by the {holding.value} {case.holding_unit.code}; "
            "only that unit or one above it may act"
        )


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
    """Fire ``trigger`` on a locked ``case``, append the timeline step and the notices it calls for.

    Raises:
        StaleVersion: ``expected_version`` is not the case's version.
        Forbidden: the actor may not fire this trigger on this case.
        InvalidTransition: the trigger does not apply in the case's state.
        InvalidInput: a value the trigger needs is missing or wrong.
    """
    params = dict(params or {})
    if expected_version is not None and expected_version != case.version:
        raise StaleVersion(
            f"case {case.id} is at version {case.version}, not {expected_version}; reload it and retry"
        )
    ladder = ladder_of(case.grid_unit)
    _check_actor(case, trigger, actor, ladder)
    actor_level = next((lvl for lvl, u in ladder.items() if actor.unit and u.id == actor.unit.id), None)
    step = Step(
        state=case.state,
        level=Level(case.level),
        actor_level=actor_level,
        resolved_level=Level(case.resolved_level) if case.resolved_level else None,
        reopen_count=case.reopen_count,
        params=params,
        supervised=case.supervised,
    )
    if trigger == "merge":
        _check_merge_target(session, case, params.get("merge_into"))
    from_state, from_level = case.state, case.level
    changed = fire(step, trigger)
    at = clock.now()

    case.state = step.state
    case.level = step.level.value
    case.holding_unit_id = ladder[step.level].id
    case.holding_unit = ladder[step.level]
    case.resolved_level = step.resolved_level.value if step.resolved_level else None
    case.supervised = step.supervised
    case.updated_at = at
    if trigger == "reopen":
        case.reopen_count += 1
    if trigger == "merge":
        case.merged_into_id = params["merge_into"]
    if changed:
        case.state_entered_at = at
        entered = level_of_state(case.state)
        case.deadline_at = handling_deadline(Severity(case.severity), at) if entered else None
    try:
        session.flush()  # bumps the version; on SQLite it also checks nobody else did
    except StaleDataError as exc:
        raise StaleVersion(f"case {case.id} changed while this step ran; reload it and retry") from exc

    text = params.get("reason") or params.get("summary") or params.get("message")
    event = CaseEvent(
        case_id=case.id,
        seq=case.version,
        kind=trigger,
        actor=actor.name,
        actor_unit_id=actor.unit.id if actor.unit else None,
        from_state=from_state,
        to_state=case.state,
        from_level=from_level,
        to_level=case.level,
        reason=text,
        public=RULES[trigger].public,
        at=at,
        inbox_id=inbox_id,
    )
    session.add(event)
    session.flush()
    notices = write_notices(session, case, event, ladder)
    logger.info(
        "case %s: %s %s -> %s by %s",
        case.id, trigger, from_state, case.state, actor.name,
        extra={"case_id": case.id, "trigger": trigger, "inbox_id": inbox_id},
    )
    return Applied(event, [n.id for n in notices])


def _check_merge_target(session: Session, case: Case, target_id: Any) -> None:
    if not isinstance(target_id, int):
        return  # the machine's guard names the missing field
    if target_id == case.id:
        raise InvalidInput("a case cannot be merged into itself", field="merge_into")
    target = session.get(Case, target_id)
    if target is None or State(target.state) in {State.MERGED, State.REJECTED, State.WITHDRAWN}:
        raise InvalidInput(f"case {target_id} is not an open case to merge into", field="merge_into")
