"""One case's facts, derived from its timeline, its deadlines and the resident's answers.

This is the only place that reads meaning into a timeline; ``definitions`` says which of these
facts each figure counts. A pure function of its inputs, so a test builds a timeline by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from schemas.vocabulary import FINAL_STATES, HANDLING_STATE, Level, State
from workflow.clock.calendar import WorkCalendar

_HANDLING = {s.value for s in HANDLING_STATE.values()}
_FINAL = {s.value for s in FINAL_STATES}
# Either counts as the first contact: signing for the case, or resolving it on the spot.
_CONTACT_KINDS = {"accept", "resolve"}
# A closure that did not settle the case for the resident: the case never needed an answer.
_NOT_DUE = {State.REJECTED.value, State.WITHDRAWN.value, State.MERGED.value}
# A mediation that ended without an agreement (a referral follows a breach, so an agreement came first).
_MEDIATION_ENDED = {"failed", "withdrawn"}


class StepLike(Protocol):
    """What a timeline step must offer (a ``CaseEvent`` row, or a test's stand-in)."""

    kind: str
    actor: str
    at: datetime
    from_level: str | None
    to_level: str
    to_state: str


class DeadlineLike(Protocol):
    """What a deadline row must offer."""

    kind: str
    level: str
    due_at: datetime
    created_at: datetime


class MediationLike(Protocol):
    """What a mediation row must offer: its state, as its machine left it."""

    state: str


class AnswerLike(Protocol):
    """What an evaluation row must offer."""

    resolved: str
    satisfaction: int
    at: datetime


@dataclass
class Facts:
    """What happened to one case, as the figures need it (the columns of ``CaseFacts``)."""

    received_at: datetime
    state: str
    ended_at: datetime | None = None
    contact_due_at: datetime | None = None
    contact_at: datetime | None = None
    responded: bool = False
    contact_work_s: float | None = None
    resolved_at: datetime | None = None
    in_grid: bool = False
    resolution_work_s: float | None = None
    settled_at: datetime | None = None
    on_time: bool = False
    overdue_at: datetime | None = None
    supervised_at: datetime | None = None
    closed_at: datetime | None = None
    closed_by_resident: bool = False
    reopen_count: int = 0
    reopened_at: datetime | None = None
    answered_at: datetime | None = None
    answer_resolved: str | None = None
    answer_satisfaction: int | None = None
    mediation_ended_at: datetime | None = None
    mediation_agreed: bool = False


def _first(steps: Sequence[StepLike], *kinds: str) -> StepLike | None:
    return next((s for s in steps if s.kind in kinds), None)


def derive(received_at: datetime, steps: Sequence[StepLike], deadlines: Sequence[DeadlineLike],
           answers: Sequence[AnswerLike], calendar: WorkCalendar,
           mediations: Sequence[MediationLike] = ()) -> Facts:
    """Derive a case's facts; ``steps``, ``deadlines`` and ``answers`` in the order they happened."""
    facts = Facts(received_at=received_at, state=steps[-1].to_state if steps else State.COLLECTED.value)
    ended = next((s for s in steps if s.to_state in _FINAL and s.from_level is not None), None)
    facts.ended_at = ended.at if ended else None
    _response(facts, steps, deadlines, calendar)
    _resolution(facts, steps, deadlines, calendar)
    supervised = next((s for s in steps if s.kind == "supervise"
                       or (s.kind == "deadline_passed" and s.from_level == Level.STREET.value)), None)
    facts.supervised_at = supervised.at if supervised else None
    closed = next((s for s in steps if s.to_state == State.CLOSED.value), None)
    if closed is not None:
        facts.closed_at = closed.at
        facts.closed_by_resident = closed.actor == "resident"
    reopens = [s for s in steps if s.kind == "reopen"]
    facts.reopen_count = len(reopens)
    facts.reopened_at = reopens[-1].at if reopens else None
    if answers:
        last = answers[-1]
        facts.answered_at, facts.answer_resolved, facts.answer_satisfaction = last.at, last.resolved, last.satisfaction
    _mediation(facts, steps, mediations)
    return facts


def _mediation(facts: Facts, steps: Sequence[StepLike], mediations: Sequence[MediationLike]) -> None:
    # Concluded: an agreement took effect (its step is on the timeline), or every mediation of the
    # case failed or was withdrawn, at the last mediation step (nothing follows a final state).
    agreed = next((s for s in steps if s.kind == "mediation.effective"), None)
    if agreed is not None:
        facts.mediation_ended_at, facts.mediation_agreed = agreed.at, True
        return
    if mediations and all(m.state in _MEDIATION_ENDED for m in mediations):
        last = [s for s in steps if s.kind.startswith("mediation.")]
        facts.mediation_ended_at = last[-1].at if last else None


def _response(facts: Facts, steps: Sequence[StepLike], deadlines: Sequence[DeadlineLike],
              calendar: WorkCalendar) -> None:
    # Due for response: the first level's first-contact deadline, unless the case was rejected,
    # withdrawn or merged before it came due without anyone touching it.
    first_due = next((d for d in deadlines if d.kind == "first_contact"), None)
    dispatched = next((s for s in steps if s.to_state in _HANDLING), None)
    if first_due is None or dispatched is None:
        return
    contact = next((s for s in steps if s.kind in _CONTACT_KINDS and s.from_level == first_due.level), None)
    dropped = next((s for s in steps if s.to_state in _NOT_DUE), None)
    if contact is None and dropped is not None and dropped.at <= first_due.due_at:
        return
    facts.contact_due_at = first_due.due_at
    if contact is not None:
        facts.contact_at = contact.at
        facts.responded = contact.at <= first_due.due_at
        facts.contact_work_s = calendar.working_between(dispatched.at, contact.at).total_seconds()


def _resolution(facts: Facts, steps: Sequence[StepLike], deadlines: Sequence[DeadlineLike],
                calendar: WorkCalendar) -> None:
    resolved = _first(steps, "resolve")
    overdue = _first(steps, "deadline_passed")
    facts.overdue_at = overdue.at if overdue else None
    if resolved is not None:
        facts.resolved_at = resolved.at
        before = steps[: list(steps).index(resolved) + 1]
        # Resolved in the grid: by the grid, and the case never stood higher before that.
        facts.in_grid = all(s.to_level == Level.GRID.value for s in before)
        worked = calendar.working_between(facts.received_at, resolved.at)
        for begin, end in _paused_spans(steps, resolved):
            worked -= calendar.working_between(begin, end)  # paused time does not count
        facts.resolution_work_s = worked.total_seconds()
    if resolved is not None and (overdue is None or resolved.at < overdue.at):
        facts.settled_at = resolved.at
        facts.on_time = resolved.at <= _due_in_force(resolved, steps, deadlines) or _paused_at(resolved, steps)
    elif overdue is not None:
        facts.settled_at, facts.on_time = overdue.at, False


def _due_in_force(resolved: StepLike, steps: Sequence[StepLike], deadlines: Sequence[DeadlineLike]) -> datetime:
    # The last resolve deadline armed before the resolution: an extension or a resume re-arms it.
    armed = [d for d in deadlines if d.kind == "resolve" and d.created_at <= resolved.at]
    return armed[-1].due_at if armed else resolved.at


def _paused_spans(steps: Sequence[StepLike], until: StepLike) -> list[tuple[datetime, datetime]]:
    # A pause runs from its approval to the resume, or to a step that moves the case to
    # another level (the new level's clock starts afresh), or to ``until``.
    spans: list[tuple[datetime, datetime]] = []
    began: datetime | None = None
    for step in steps:
        if began is not None and (step is until or step.kind == "resume" or step.from_level != step.to_level):
            spans.append((began, step.at))
            began = None
        if step is until:
            break
        if step.kind == "approve_pause":
            began = step.at
    return spans


def _paused_at(resolved: StepLike, steps: Sequence[StepLike]) -> bool:
    spans = _paused_spans(steps, resolved)
    return bool(spans) and spans[-1][1] == resolved.at
