"""Reading a mediation: parties masked unless the reader is an assigned mediator who revealed them."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session

from schemas.mediation import AgreementOut, MediationOut, MediationPartyOut, SessionOut, SignatureOut
from workflow.base.errors import DomainError
from workflow.base.privacy import mask_name, mask_phone
from workflow.cases.views import check_on_path
from workflow.mediation.agreement_pdf import mask_address, mask_id
from workflow.mediation.machine import FINAL, TRIGGERS, MPosition, MState, applies, check_actor
from workflow.mediation.models import Mediation
from workflow.mediation.steps import current_agreement, positions_of, signers, step_of
from workflow.org.models import User

# Follow-up visits (回访), by default: a week after each performance date, a month after the last.
VISIT_AFTER_EACH, VISIT_AFTER_LAST = timedelta(days=7), timedelta(days=30)


def visits_due(terms: list[dict[str, object]]) -> list[date]:
    """Return the dates of the follow-up visits of an agreement's terms, earliest first."""
    dues = sorted({date.fromisoformat(str(t["due"])) for t in terms})
    if not dues:
        return []
    return sorted({d + VISIT_AFTER_EACH for d in dues} | {dues[-1] + VISIT_AFTER_LAST})


# The order the page offers them.
ACTIONS = ("reveal", "assign", "consent", "session", "draft", "sign", "visit", "fail", "withdraw",
           "mediate_again", "refer")


def check_can_see(user: User, mediation: Mediation) -> None:
    """Allow the case's path and the assigned mediators.

    Raises:
        Forbidden: neither.
    """
    if MPosition.MEDIATOR not in positions_of(mediation, user):
        check_on_path(user, mediation.case)


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
            effective_at=agreement.effective_at, sha256=agreement.sha256,
            pdf_url=f"/api/v1/mediations/{mediation.id}/agreement.pdf" if agreement.pdf else None,
            visits_due=visits_due(agreement.terms) if agreement.effective_at else [])
    return MediationOut(
        id=mediation.id, case_id=mediation.case_id, state=mediation.state, kind=mediation.kind,
        unit=mediation.unit.code, unit_name=mediation.unit.name, proposed_by=mediation.proposed_by,
        proposed_at=mediation.proposed_at, due_at=mediation.due_at, outcome=mediation.outcome,
        version=mediation.version, mediators=[m.user.name for m in mediation.mediators], parties=parties,
        sessions=sessions, agreement=agreement_out, actions=available(session, mediation, user))


__all__ = ["ACTIONS", "TRIGGERS", "available", "check_can_see", "mediation_view", "sees_in_full"]
