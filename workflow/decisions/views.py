"""Reading a decision: for the committee and the street (residents masked), and for the public page."""

from __future__ import annotations

from sqlalchemy.orm import Session

from schemas.decisions import (
    AttachmentOut,
    DecisionEventOut,
    DecisionOut,
    MeetingOut,
    ObjectionOut,
    PeriodOut,
    PublicDecisionOut,
    PublicMeetingOut,
    PublicObjectionOut,
)
from workflow.base import wallclock
from workflow.base.errors import DomainError
from workflow.base.privacy import mask_name, mask_phone, scrub
from workflow.decisions.machine import NOT_STAFF, RULES, Actor, applies, check_actor
from workflow.decisions.models import Decision, DecisionEvent
from workflow.decisions.steps import _period_state, party_register, step_of
from workflow.org.models import User

# The order the page offers them.
ACTIONS = ("joint_meeting", "party_meeting", "residents_meeting", "publish", "answer", "carry_out",
           "publish_result", "close", "attach", "comment", "rework", "reject", "withdraw")
assert set(ACTIONS) == set(RULES), "every staff trigger is offered"
assert set(NOT_STAFF) == {"object", "period_over"}


def available(decision: Decision, user: User) -> list[str]:
    """Return the triggers this member stands where to fire, and that have a way out of the state."""
    step = step_of(decision, user, {}, Actor.STAFF, wallclock.now())
    found = []
    for trigger in ACTIONS:
        if not applies(decision.state, trigger):
            continue
        try:
            check_actor(step, trigger)
        except DomainError:
            continue
        found.append(trigger)
    return found


def period_of(decision: Decision) -> PeriodOut | None:
    """Return the publication period running now, if any."""
    if decision.period_kind is None or decision.period_started_at is None:
        return None
    _, over, _ = _period_state(decision, wallclock.now())
    return PeriodOut(kind=decision.period_kind, started_at=decision.period_started_at,
                     ends_at=None if decision.paused_at else decision.period_ends_at,
                     paused=decision.paused_at is not None, over=over)


def _event(e: DecisionEvent, *, public: bool = False) -> DecisionEventOut:
    return DecisionEventOut(seq=e.seq, at=e.at, kind=e.kind, actor="" if public else e.actor,
                            from_state=e.from_state, to_state=e.to_state,
                            reason=scrub(e.reason) if e.reason and public else e.reason, public=e.public)


def decision_view(session: Session, decision: Decision, user: User) -> DecisionOut:
    """Return the decision as a member sees it: objecting residents masked, everything else in full."""
    meetings = [MeetingOut(kind=m.kind, held_on=m.held_on, place=m.place, entitled=list(m.entitled),
                           present=list(m.present), entitled_count=len(m.entitled), present_count=len(m.present),
                           entitled_from=m.entitled_from, votes_for=m.votes_for, votes_against=m.votes_against,
                           votes_abstaining=m.votes_abstaining, passed=m.passed, minutes=m.minutes,
                           recorded_by=m.recorded_by)
                for m in decision.meetings]
    # The committee calls an objecting resident back; their name and phone are masked on every page all the same.
    objections = [ObjectionOut(id=o.id, stage=o.stage, name=mask_name(o.name) or "", phone=mask_phone(o.phone),
                               text=o.text, raised_at=o.raised_at, answer=o.answer, answered_at=o.answered_at)
                  for o in decision.objections]
    attachments = [AttachmentOut(id=a.id, kind=a.kind, title=a.title, content_type=a.content_type, size=a.size,
                                 url=f"/decisions/{decision.id}/documents/{a.id}", at=a.at)
                   for a in decision.attachments]
    return DecisionOut(
        id=decision.id, community=decision.unit.code, community_name=decision.unit.name,
        proposing_unit=decision.proposing_unit.code, state=decision.state, title=decision.title,
        matter=decision.matter, reasons=decision.reasons, options=list(decision.options), budget=decision.budget,
        case_id=decision.case_id, proposed_by=decision.proposed_by, proposed_at=decision.proposed_at,
        resolution_text=decision.resolution_text, result_text=decision.result_text, period=period_of(decision),
        outcome=decision.outcome, version=decision.version, meetings=meetings, objections=objections,
        attachments=attachments, timeline=[_event(e) for e in decision.events],
        party_register=[mask_name(n) or "" for n in party_register(session, decision)],
        actions=available(decision, user))


def public_view(decision: Decision) -> PublicDecisionOut:
    """Return a published decision as the community's public page shows it: no names, numbers masked."""
    running, _, _ = _period_state(decision, wallclock.now())
    return PublicDecisionOut(
        id=decision.id, title=scrub(decision.title), state=decision.state,
        resolution_text=decision.resolution_text, result_text=decision.result_text, period=period_of(decision),
        objections_open=running,
        meetings=[PublicMeetingOut(kind=m.kind, held_on=m.held_on, entitled_count=len(m.entitled),
                                   present_count=len(m.present), votes_for=m.votes_for,
                                   votes_against=m.votes_against, votes_abstaining=m.votes_abstaining,
                                   passed=m.passed) for m in decision.meetings],
        objections=[PublicObjectionOut(id=o.id, stage=o.stage, text=scrub(o.text), raised_at=o.raised_at,
                                       answer=o.answer, answered_at=o.answered_at) for o in decision.objections],
        timeline=[_event(e, public=True) for e in decision.events if e.public])
