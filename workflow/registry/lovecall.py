"""The 爱心呼叫 line: a vulnerable resident's call or tap becomes a P1 case at their address, on channel love_call."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from schemas.events import SUBMITTED, CaseSubmittedEvent
from schemas.vocabulary import Category, Channel, Severity
from workflow.base.errors import N_, InvalidInput, NotFound
from workflow.base.privacy import mask_name
from workflow.registry import tags
from workflow.registry.models import Resident
from workflow.registry.register import address_label


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
