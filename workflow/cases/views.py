"""Reading cases: the staff view with masking, and the resident's public view."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.api import (
    CaseOut,
    DeadlineOut,
    EvaluationOut,
    NotificationOut,
    PartyOut,
    PublicStep,
    TimelineEntry,
    TrackOut,
    UnitOut,
    UnitRef,
)
from schemas.text import MAX_ID
from schemas.vocabulary import FINAL_STATES, PartyRole, Role, State
from workflow.base import wallclock
from workflow.base.errors import N_, NotFound
from workflow.base.labels import state_label
from workflow.base.privacy import mask_name, mask_phone, phone_ends_with, scrub, scrub_optional
from workflow.cases.deadlines import handling_deadline_left, policy_of
from workflow.cases.models import Case, CaseEvent, CaseParty, Evaluation
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
    # An id no column can hold names no case; asking the database would overflow its integer.
    case = session.get(Case, case_id) if 0 < case_id <= MAX_ID else None
    if case is None:
        raise NotFound(N_("no case with id %(case_id)s"), case_id=case_id)
    return case


def on_path(user: User, case: Case) -> bool:
    """Tell whether the member's unit is the case's grid or a unit above it."""
    return is_at_or_above(user.unit, case.grid_unit)


def check_can_view(user: User, case: Case) -> None:
    """Allow members of the units on the case's path: its grid and every unit above it.

    Raises:
        NotFound: the member's unit is not on the path; the answer of a case that does not exist.
    """
    if not on_path(user, case):
        # Say nothing of the case, not even that it exists: a 403 here and a 404 for an unused id let a
        # member of one grid count and probe the whole district's cases (the authorization matrix found it).
        raise NotFound(N_("no case with id %(case_id)s"), case_id=case.id)


def needs_personal_data(user: User, case: Case) -> bool:
    """Tell whether a member handles the case now and so sees parties unmasked (DOMAIN.md: privacy).

    Nobody handles a closed, rejected, withdrawn or merged case, so nobody needs its data.
    """
    return user.unit_id == case.holding_unit_id and user.role != Role.ADMIN and State(case.state) not in FINAL_STATES


def free_text_shown(viewer: User, case: Case, text: str) -> str:
    """Return free text as ``viewer`` may read it: whole for the unit handling the case, numbers masked otherwise."""
    return text if needs_personal_data(viewer, case) else scrub(text)


def masked_party(party: CaseParty) -> PartyOut:
    """Return a party with name and phone masked, as every staff view shows it until a reveal."""
    return PartyOut(id=party.id, role=party.role, name=mask_name(party.name) or "", phone=mask_phone(party.phone),
                    masked=True)


def revealed_party(party: CaseParty) -> PartyOut:
    """Return a party in full: only after ``actions.reveal_party`` has written its step."""
    return PartyOut(id=party.id, role=party.role, name=party.name, phone=party.phone, masked=False)


def _ref(unit: Unit) -> UnitRef:
    return UnitRef(code=unit.code, name=unit.name, level=unit.level)


def _evaluations(session: Session, case: Case, reveal: bool) -> list[EvaluationOut]:
    rows = session.scalars(select(Evaluation).where(Evaluation.case_id == case.id).order_by(Evaluation.id))
    # The resident's words may carry a phone or an ID number: masked unless the reader handles the case.
    return [EvaluationOut(resolved=e.resolved, satisfaction=e.satisfaction,
                          comment=(e.comment if reveal else scrub(e.comment)) if e.comment else None, at=e.at)
            for e in rows]


def _answered_by_resident(event: CaseEvent) -> bool:
    return event.kind in {"confirm", "reopen"} and event.actor == "resident"


def case_view(session: Session, case: Case, viewer: User,
              notifications: list[NotificationOut] | None = None) -> CaseOut:
    """Return the staff view of a case: parties masked, free text's numbers masked unless the viewer handles it.

    Parties are masked for everyone; a reveal shows one, on record.
    ``notifications`` are the case's notices as the notices package lists them; the caller
    passes them (this package is below notices and does not read deliveries).
    """
    # The unit handling the case reads what residents wrote as written; everyone else reads it
    # with phone, ID and card numbers masked (DOMAIN.md: privacy).
    text = (lambda t: t) if needs_personal_data(viewer, case) else scrub
    parties = [masked_party(p) for p in case.parties]
    evaluations = _evaluations(session, case, needs_personal_data(viewer, case))
    # Each answer fired one confirm or reopen by the resident, in the same order.
    answers = iter(evaluations)
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
            reason=text(e.reason) if e.reason is not None else None,
            public=e.public,
            evaluation=next(answers, None) if _answered_by_resident(e) else None,
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
        notifications=[n.model_copy(update={"last_error": text(n.last_error)}) if n.last_error else n
                       for n in notifications or []],
        id=case.id,
        tracking_code=display(case.tracking_code),
        state=case.state,
        level=case.level,
        holding_unit=_ref(case.holding_unit),
        grid=_ref(case.grid_unit),
        severity=case.severity,
        category=case.category,
        channel=case.channel,
        description=text(case.description),
        submitted_at=case.submitted_at,
        occurred_at=case.occurred_at,
        deadline_at=case.deadline_at,
        deadline_left_seconds=left.total_seconds() if left is not None else None,
        paused=case.paused_at is not None,
        waiting_request=_request_shown(case.request, text),
        policy=policy.digest if policy else None,
        supervised=case.supervised,
        reopen_count=case.reopen_count,
        merged_into=case.merged_into_id,
        version=case.version,
        parties=parties,
        deadlines=deadlines,
        timeline=timeline,
        evaluations=evaluations,
    )


def _request_shown(request: dict[str, Any] | None, text: Callable[[str], str]) -> dict[str, Any] | None:
    if not request or not isinstance(request.get("reason"), str):
        return request
    return {**request, "reason": text(request["reason"])}


def case_by_tracking_code(session: Session, code: str) -> Case:
    """Return the case a tracking code belongs to.

    Raises:
        NotFound: no case has this code.
    """
    case = session.scalars(select(Case).where(Case.tracking_code == normalize(code))).one_or_none()
    if case is None:
        raise NotFound(N_("no case with this tracking code"), field="tracking_code")
    return case




def case_for_resident(session: Session, code: str, last4: str) -> Case:
    """Return the case of a tracking code whose reporter's phone ends with ``last4``.

    Raises:
        NotFound: no case has this code, or its reporter's phone does not end so; one answer
            for both, so an answer tells nothing of which codes exist.
    """
    case = session.scalars(select(Case).where(Case.tracking_code == normalize(code))).one_or_none()
    if case is None or not resident_owns(case, last4):
        raise NotFound(N_("no case matches this tracking code and these digits"), field="tracking_code")
    return case


def resident_owns(case: Case, last4: str) -> bool:
    """Tell whether ``last4`` are the last four digits of the phone the case's reporter gave."""
    return any(phone_ends_with(p.phone, last4) for p in case.parties if p.role == PartyRole.REPORTER)


def track_view(case: Case, language: str) -> TrackOut:
    """Return what the resident sees: state, level, the public steps; no names but their own, masked."""
    reporter = next((p for p in case.parties if p.role == PartyRole.REPORTER), None)
    steps = [
        PublicStep(
            at=e.at,
            kind=e.kind,
            state=e.to_state,
            level=e.to_level,
            # Public: whoever holds the code reads it, so numbers are always masked.
            message=scrub_optional(e.reason) if e.kind in _RESIDENT_TEXT else None,
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
