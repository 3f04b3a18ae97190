"""The 爱心呼叫 line: a vulnerable resident's call or tap becomes a P1 case at their address, on channel love_call."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.events import SUBMITTED, CaseSubmittedEvent
from schemas.vocabulary import Category, Channel, Role, Severity
from workflow.base.errors import N_, InvalidInput, NotFound
from workflow.base.privacy import mask_name
from workflow.cases.models import Case, OutboxMessage
from workflow.org.models import User
from workflow.registry import tags
from workflow.registry.models import Care, PartyMember, Resident
from workflow.registry.register import address_label, link_case


def vulnerable(resident: Resident) -> bool:
    """Tell whether a resident carries a tag that marks them vulnerable (data/tags.yaml), so may have the line."""
    known = tags.all_tags()
    return any(known[t].vulnerable for t in resident.tags if t in known)


def caller(session: Session, resident_id: int) -> Resident:
    """Return a resident who may use the line.

    Raises:
        NotFound: no such resident.
        InvalidInput: the resident carries no vulnerable tag.
    """
    resident = session.get(Resident, resident_id)
    if resident is None:
        raise NotFound(N_("no resident %(id)s"), id=str(resident_id))
    if not vulnerable(resident):
        raise InvalidInput(N_("the 爱心呼叫 line is for residents tagged as vulnerable"), field="resident")
    return resident


def call_event(session: Session, resident_id: int, at: datetime) -> CaseSubmittedEvent:
    """Return the P1 ``love_call`` submission of a call or tap; taps within the same minute are one event.

    Raises:
        NotFound: no such resident.
        InvalidInput: the resident carries no vulnerable tag.
    """
    resident = caller(session, resident_id)
    address = resident.household.address
    data = {
        "category": Category.OTH.value, "severity": Severity.P1.value, "channel": Channel.LOVE_CALL.value,
        "grid": address.building.grid.code,
        "description": f"爱心呼叫：{address_label(address)}，{mask_name(resident.name)}",
        "reporter": {"name": resident.name, **({"phone": resident.phone} if resident.phone else {})},
    }
    # The id repeats within a minute, so intake's (source, id) idempotency turns a double tap into one case.
    return CaseSubmittedEvent.model_validate({
        "specversion": "1.0", "id": f"resident-{resident.id}-{at:%Y%m%d%H%M}", "source": "/love-call",
        "type": SUBMITTED, "time": at.isoformat(), "data": data})


def who_answers(session: Session, resident: Resident) -> list[int]:
    """Return the members a call reaches directly: the central households looking after the home, its grid leaders."""
    household = resident.household
    central_units = select(PartyMember.household_unit_id).join(Care, Care.party_member_id == PartyMember.id).where(
        Care.household_id == household.id, PartyMember.household_unit_id.is_not(None))
    central = select(User.id).where(User.unit_id.in_(central_units), User.role == Role.HOUSEHOLD_LEADER.value,
                                    User.active.is_(True))
    leaders = select(User.id).where(User.unit_id == household.address.building.grid_unit_id,
                                    User.role == Role.GRID_LEADER.value, User.active.is_(True))
    return sorted(set(session.scalars(central)) | set(session.scalars(leaders)))


def answer_call(session: Session, resident_id: int, case_id: int, at: datetime) -> OutboxMessage | None:
    """Link a call's case to the household and write its direct notice, once; return the notice if new.

    The notice (kind ``notify_urgent``) goes to the central households and grid leaders of the
    home at once: quiet hours do not hold it and it is sent before any other (workflow/notices).
    Called after intake, also for a repeated tap, so a notice lost between the two is written then.
    """
    resident = session.get(Resident, resident_id)
    case = session.get(Case, case_id)
    if resident is None or case is None:
        return None
    link_case(session, case_id, resident.household_id)
    key = f"{case_id}:love_call"
    if session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)) is not None:
        return None
    address = resident.household.address
    row = OutboxMessage(kind="notify_urgent", topic="case.love_call", case_id=case_id,
                        unit_id=address.building.grid_unit_id, created_at=at, dedupe_key=key,
                        payload={"case_id": case_id, "state": case.state, "level": case.level,
                                 "severity": case.severity, "category": case.category,
                                 "message": address_label(address), "user_ids": who_answers(session, resident)})
    session.add(row)
    session.flush()
    return row
