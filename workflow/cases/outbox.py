"""Which units and residents must hear of a timeline step: written to the outbox in the same transaction."""

from __future__ import annotations

from sqlalchemy.orm import Session

from schemas.vocabulary import Level
from workflow.base import wallclock
from workflow.cases.models import Case, CaseEvent, OutboxMessage
from workflow.org.tree import UnitInfo

_TOPIC = {
    "dispatch": "case.dispatched",
    "emergency": "case.emergency",
    "escalate": "case.escalated",
    "deadline_passed": "case.escalated",
    "take_over": "case.taken_over",
    "send_back": "case.sent_back",
    "reopen": "case.reopened",
    "reopen_dispute": "case.dispute_reopened",
    "urge": "case.urged",
    "supervise": "case.supervised",
    "warn": "case.deadline_warning",
    "approve_pause": "case.paused",
    "refuse_pause": "case.pause_refused",
    "approve_extension": "case.extended",
    "refuse_extension": "case.extension_refused",
}
# Asked of the level above the holder: it decides, or it must know the holder has not signed.
_TO_ABOVE = {"request_pause": "case.pause_requested", "request_extension": "case.extension_requested",
             "contact_overdue": "case.not_signed"}
_TO_RESIDENT = {"report_back": "case.reported_back", "reject": "case.rejected",
                "approve_extension": "case.extended"}
# What the integrator that filed a case hears of (its webhook): every step that changes where
# the case stands, so a hotline can tell its caller without polling.
_TO_FILER = {"dispatch": "case.dispatched", "emergency": "case.emergency", "escalate": "case.escalated",
             "deadline_passed": "case.escalated", "take_over": "case.taken_over", "send_back": "case.sent_back",
             "resolve": "case.resolved", "report_back": "case.reported_back", "confirm": "case.closed",
             "reopen": "case.reopened", "reopen_dispute": "case.reopened", "reject": "case.rejected",
             "withdraw": "case.withdrawn",
             "merge": "case.merged", "approve_extension": "case.extended"}


def recipients(event: CaseEvent, ladder: dict[Level, UnitInfo]) -> list[tuple[UnitInfo, str]]:
    """Return the (unit, topic) pairs a step must notify."""
    trigger = event.kind
    holder = ladder[Level(event.to_level)]
    if trigger == "emergency":
        return [(unit, _TOPIC[trigger]) for unit in ladder.values()]
    if trigger == "deadline_passed" and event.from_state == event.to_state:
        return [(holder, "case.supervision_flagged")]
    if trigger == "take_over":
        # The unit whose case was pulled up must know it no longer holds it.
        return [(ladder[Level(event.from_level)], _TOPIC[trigger])] if event.from_level else []
    if trigger == "reopen" and event.from_level and Level(event.from_level) != Level(event.to_level):
        # A second "no" sends the case one level up: the unit that resolved it hears the resident too.
        return [(ladder[Level(event.from_level)], _TOPIC[trigger]), (holder, _TOPIC[trigger])]
    if trigger in _TO_ABOVE:
        levels = list(ladder)
        above = levels[min(levels.index(Level(event.to_level)) + 1, len(levels) - 1)]
        return [(ladder[above], _TO_ABOVE[trigger])]
    topic = _TOPIC.get(trigger)
    return [(holder, topic)] if topic else []


def write_notices(
    session: Session, case: Case, event: CaseEvent, ladder: dict[Level, UnitInfo]
) -> list[OutboxMessage]:
    """Add the outbox rows for ``event``; each has a key that makes a second write impossible."""
    now = wallclock.now()
    payload = {"case_id": case.id, "seq": event.seq, "state": case.state, "level": case.level,
               "severity": case.severity, "category": case.category, "message": event.reason}
    rows = [
        OutboxMessage(kind="notify_unit", topic=topic, case_id=case.id, case_event=event, unit_id=unit.id,
                      payload=payload | {"unit": unit.code}, created_at=now,
                      dedupe_key=f"{case.id}:{event.seq}:{topic}:unit:{unit.id}")
        for unit, topic in recipients(event, ladder)
    ]
    resident_topic = _TO_RESIDENT.get(event.kind)
    if resident_topic:
        rows.append(OutboxMessage(kind="notify_resident", topic=resident_topic, case_id=case.id,
                                  case_event=event, unit_id=None,
                                  payload=payload,
                                  created_at=now,
                                  dedupe_key=f"{case.id}:{event.seq}:{resident_topic}:resident"))
    filer_topic = _TO_FILER.get(event.kind)
    if case.filed_by_integrator and filer_topic and (event.kind != "deadline_passed"
                                                     or event.from_state != event.to_state):
        rows.append(OutboxMessage(kind="notify_filer", topic=filer_topic, case_id=case.id, case_event=event,
                                  unit_id=None, payload=payload, created_at=now,
                                  dedupe_key=f"{case.id}:{event.seq}:{filer_topic}:filer"))
    session.add_all(rows)
    return rows
