"""Reading cases: the staff view with masking, and the resident's public view."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.api import (
    CaseOut,
    DeadlineOut,
    NotificationOut,
    PartyOut,
    PublicStep,
    TimelineEntry,
    TrackOut,
    UnitOut,
    UnitRef,
)
from schemas.vocabulary import FINAL_STATES, PartyRole, Role, State
from workflow.base import wallclock
from workflow.base.errors import Forbidden, NotFound
from workflow.base.labels import state_label
from workflow.base.privacy import mask_name, mask_phone
from workflow.cases.deadlines import handling_deadline_left, policy_of
from workflow.cases.models import Case
from workflow.cases.tracking import display, normalize
from workflow.clock.deadlines import history
from workflow.org.models import Unit, User
from workflow.org.tree import is_at_or_above

# Steps whose text is written for the resident.
_RESIDENT_TEXT = {"report_back", "reject"}


def list_units(session: Session) -> list[UnitOut]:
    """Return every unit, parents before children."""
    units = session.scalars(select(Unit).order_by(Unit.id)).all()
    return [UnitOut(code=u.code, name=u.name, level=u.level, parent=u.parent.code if u.parent else None) for u in units]


def get_case(session: Session, case_id: int) -> Case:
    """Return a case.

    Raises:
        NotFound: there is no such case.
    """
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"no case with id {case_id}")
    return case


def check_can_view(user: User, case: Case) -> None:
    """Allow members of the units on the case's path: its grid and every unit above it.

    Raises:
        Forbidden: the member's unit is not on the path.
    """
    if not is_at_or_above(user.unit, case.grid_unit):
        # Say nothing of where the case is: its grid is none of this member's business.
        raise Forbidden(f"case {case.id} is outside the area of unit {user.unit.code}")


def needs_personal_data(user: User, case: Case) -> bool:
    """Tell whether a member handles the case now and so sees parties unmasked (DOMAIN.md: privacy).

    Nobody handles a closed, rejected, withdrawn or merged case, so nobody needs its data.
    """
    return user.unit_id == case.holding_unit_id and user.role != Role.ADMIN and State(case.state) not in FINAL_STATES


def _ref(unit: Unit) -> UnitRef:
    return UnitRef(code=unit.code, name=unit.name, level=unit.level)


def case_view(session: Session, case: Case, viewer: User,
              notifications: list[NotificationOut] | None = None) -> CaseOut:
    """Return the staff view of a case, personal data masked unless the viewer needs it.

    ``notifications`` are the case's notices as the notices package lists them; the caller
    passes them (this package is below notices and does not read deliveries).
    """
    reveal = needs_personal_data(viewer, case)
    parties = [
        PartyOut(
            role=p.role,
            name=p.name if reveal else mask_name(p.name) or "",
            phone=p.phone if reveal else mask_phone(p.phone),
            masked=not reveal,
        )
        for p in case.parties
    ]
    timeline = [
        TimelineEntry(
            seq=e.seq,
            at=e.at,
            kind=e.kind,
            actor=e.actor,
            actor_unit=e.actor_unit.code if e.actor_unit else None,
            from_state=e.from_state,
            to_state=e.to_state,
            from_level=e.from_level,
            to_level=e.to_level,
            reason=e.reason,
            public=e.public,
        )
        for e in case.events
    ]
    left = handling_deadline_left(session, case, wallclock.now()) if case.policy_id else None
    policy = policy_of(session, case) if case.policy_id else None
    # An armed row of an older clock token will do nothing when it fires: show it as stale.
    deadlines = [
        DeadlineOut(
            kind=d.kind,
            level=d.level,
            due_at=d.due_at,
            fired_at=d.fired_at,
            status="stale" if d.status == "armed" and d.token != case.clock_token else d.status,
        )
        for d in history(session, case.id)
    ]
    return CaseOut(
        notifications=notifications or [],
        id=case.id,
        tracking_code=display(case.tracking_code),
        state=case.state,
        level=case.level,
        holding_unit=_ref(case.holding_unit),
        grid=_ref(case.grid_unit),
        severity=case.severity,
        category=case.category,
        channel=case.channel,
        description=case.description,
        submitted_at=case.submitted_at,
        occurred_at=case.occurred_at,
        deadline_at=case.deadline_at,
        deadline_left_seconds=left.total_seconds() if left is not None else None,
        paused=case.paused_at is not None,
        waiting_request=case.request,
        policy=policy.digest if policy else None,
        supervised=case.supervised,
        reopen_count=case.reopen_count,
        merged_into=case.merged_into_id,
        version=case.version,
        parties=parties,
        deadlines=deadlines,
        timeline=timeline,
    )


def case_by_tracking_code(session: Session, code: str) -> Case:
    """Return the case a tracking code belongs to.

    Raises:
        NotFound: no case has this code.
    """
    case = session.scalars(select(Case).where(Case.tracking_code == normalize(code))).one_or_none()
    if case is None:
        raise NotFound("no case with this tracking code", field="tracking_code")
    return case


def track_view(case: Case, language: str) -> TrackOut:
    """Return what the resident sees: state, level, the public steps; no names but their own, masked."""
    reporter = next((p for p in case.parties if p.role == PartyRole.REPORTER), None)
    steps = [
        PublicStep(
            at=e.at,
            kind=e.kind,
            state=e.to_state,
            level=e.to_level,
            message=e.reason if e.kind in _RESIDENT_TEXT else None,
        )
        for e in case.events
        if e.public
    ]
    return TrackOut(
        tracking_code=display(case.tracking_code),
        state=case.state,
        state_label=state_label(case.state, language),
        level=case.level,
        holding_unit=case.holding_unit.name,
        category=case.category,
        submitted_at=case.submitted_at,
        deadline_at=case.deadline_at,
        reporter=mask_name(reporter.name) if reporter else None,
        awaiting_evaluation=case.state == State.REPORTED_BACK,
        timeline=steps,
    )
