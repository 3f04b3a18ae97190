"""Reading a mediation: parties masked unless the reader is an assigned mediator who revealed them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from schemas.mediation import AgreementOut, MediationOut, MediationPartyOut, SessionOut, SignatureOut
from workflow.base import wallclock
from workflow.base.errors import N_, DomainError, NotFound
from workflow.base.privacy import mask_name, mask_phone
from workflow.cases.models import Case, CaseEvent
from workflow.cases.views import on_path
from workflow.clock.models import Deadline
from workflow.mediation.agreement_pdf import mask_address, mask_id
from workflow.mediation.machine import FINAL, FOLLOWING, TRIGGERS, MPosition, MState, applies, check_actor
from workflow.mediation.models import Mediation
from workflow.mediation.steps import current_agreement, positions_of, signers, step_of
from workflow.mediation.timers import FOLLOW_UP, SUBJECT, visits_due
from workflow.org.models import User

# The order the page offers them.
ACTIONS = ("reveal", "assign", "consent", "session", "draft", "sign", "visit", "confirmation", "fail", "withdraw",
           "mediate_again", "refer")


def check_can_see(user: User, mediation: Mediation) -> None:
    """Allow the case's path and the assigned mediators.

    Raises:
        NotFound: neither; the answer of a mediation that does not exist, so ids cannot be probed.
    """
    if MPosition.MEDIATOR not in positions_of(mediation, user) and not on_path(user, mediation.case):
        raise NotFound(N_("no mediation with id %(mediation_id)s"), mediation_id=mediation.id)


def sees_in_full(user: User, mediation: Mediation) -> bool:
    """Tell whether the reader sees the parties in full: an assigned mediator, after a logged reveal."""
    return (MPosition.MEDIATOR in positions_of(mediation, user) and user.name in mediation.revealed_to
            and MState(mediation.state) not in FINAL)


def available(session: Session, mediation: Mediation, user: User) -> list[str]:
    """Return the triggers this member stands where to fire, and that have a way out of the state."""
    step = step_of(session, mediation, user, {})
    found = []
    for trigger in ACTIONS:
        if not applies(mediation.state, trigger):
            continue
        try:
            check_actor(step, trigger)
        except DomainError:
            continue
        found.append(trigger)
    return found


def mediation_view(session: Session, mediation: Mediation, user: User) -> MediationOut:
    """Return the mediation as this member may see it."""
    full = sees_in_full(user, mediation)
    parties = [
        MediationPartyOut(
            party_id=p.case_party_id, role=p.case_party.role,
            name=p.case_party.name if full else mask_name(p.case_party.name) or "",
            phone=p.case_party.phone if full else mask_phone(p.case_party.phone), masked=not full,
            answer=p.answer, given_as=p.given_as, witness=p.witness, reason=p.reason, answered_at=p.answered_at)
        for p in mediation.parties
    ]
    sessions = [SessionOut(number=i, held_on=s.held_on, place=s.place, mediators=s.mediators, attendees=s.attendees,
                           record=s.record, recorded_by=s.recorded_by)
                for i, s in enumerate(mediation.sessions, start=1)]
    agreement = current_agreement(mediation)
    agreement_out = None
    if agreement is not None:
        facts = [f if full else {**f, "id_number": mask_id(f.get("id_number")),
                                 "address": mask_address(f.get("address"))}
                 for f in agreement.party_facts]
        signed = {s.signer for s in agreement.signatures}
        agreement_out = AgreementOut(
            version=agreement.version, facts=agreement.facts, responsibility=agreement.responsibility,
            terms=list(agreement.terms), party_facts=facts,
            signatures=[SignatureOut(signer=s.signer, signer_name=s.signer_name if s.signer == "mediator"
                                     else (s.signer_name if full else mask_name(s.signer_name) or ""),
                                     method=s.method, at=s.at) for s in agreement.signatures],
            to_sign=[] if agreement.effective_at else [s for s in signers(mediation) if s not in signed],
            effective_at=agreement.effective_at, sha256=agreement.sha256, sha256_hant=agreement.sha256_hant,
            pdf_url=f"/api/v1/mediations/{mediation.id}/agreement.pdf" if agreement.pdf else None,
            visits_due=visits_due(agreement.terms) if agreement.effective_at else [])
    return MediationOut(
        id=mediation.id, case_id=mediation.case_id, state=mediation.state, kind=mediation.kind,
        unit=mediation.unit.code, unit_name=mediation.unit.name, proposed_by=mediation.proposed_by,
        proposed_at=mediation.proposed_at, due_at=mediation.due_at, outcome=mediation.outcome,
        version=mediation.version, mediators=[m.user.name for m in mediation.mediators], parties=parties,
        sessions=sessions, agreement=agreement_out, actions=available(session, mediation, user))


@dataclass(frozen=True)
class VisitTask:
    """A follow-up visit (回访) the case's grid has to make: the mediation, its case, when it is due."""

    mediation_id: int
    case_id: int
    due_at: datetime
    due_now: bool  # its day has come: the visit is to be made now


def visit_tasks(session: Session, grid_unit_ids: set[int]) -> list[VisitTask]:
    """Return the next follow-up visit of each agreement being followed up in these grids, soonest first.

    The next visit is the first one armed for the agreement that is due after the last visit recorded
    (a visit covers the dates due before it); an agreement whose visits are all made has none.
    """
    mediations = session.execute(
        select(Mediation.id, Mediation.case_id, Mediation.clock_token).join(Case, Case.id == Mediation.case_id)
        .where(Case.grid_unit_id.in_(grid_unit_ids), Mediation.state.in_([s.value for s in FOLLOWING]))).all()
    tasks = []
    for mid, case_id, token in mediations:
        visited = session.scalar(select(func.max(CaseEvent.at)).where(
            CaseEvent.case_id == case_id, CaseEvent.kind == "mediation.visit", CaseEvent.reason.like(f"#{mid} %")))
        query = select(func.min(Deadline.due_at)).where(
            Deadline.subject == SUBJECT, Deadline.subject_id == mid, Deadline.kind == FOLLOW_UP,
            Deadline.token == token, Deadline.status != "stale")
        if visited is not None:
            query = query.where(Deadline.due_at > visited)
        due = session.scalar(query)
        if due is not None:
            tasks.append(VisitTask(mid, case_id, due, due <= wallclock.now()))
    return sorted(tasks, key=lambda t: t.due_at)


__all__ = ["ACTIONS", "TRIGGERS", "VisitTask", "available", "check_can_see", "mediation_view", "sees_in_full",
           "visit_tasks"]
