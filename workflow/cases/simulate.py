"""What the clock will do to a case if nobody acts: each future step and when it fires."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.vocabulary import HANDLING_LADDER, Level, State
from workflow.cases.deadlines import FIRST_CONTACT, RESOLVE, WARN
from workflow.cases.machine import level_of_state
from workflow.cases.models import Case
from workflow.clock.deadlines import add, remaining
from workflow.clock.models import Deadline
from workflow.clock.models import Policy as PolicyRow
from workflow.clock.policy import Policy, current_policy, parse_policy

REPEATS_SHOWN = 3


@dataclass(frozen=True)
class Planned:
    """One future step of the clock."""

    at: datetime
    level: str
    what: str


def _policy(session: Session, case: Case) -> Policy:
    row = session.get(PolicyRow, case.policy_id) if case.policy_id else None
    return parse_policy(row.body, row.source) if row else current_policy()


def plan(session: Session, case: Case, now: datetime) -> list[Planned]:
    """Return the steps the clock would take for ``case`` from ``now``, under its policy and the calendar."""
    policy = _policy(session, case)
    steps: list[Planned] = []
    state = State(case.state)
    if state == State.REPORTED_BACK and case.deadline_at:
        return [Planned(case.deadline_at, case.level, "closes as 'no evaluation' unless the resident answers")]
    level = level_of_state(case.state)
    if level is None:
        return steps
    if case.paused_at is not None:
        return [Planned(now, case.level, "paused: nothing fires until the case is resumed")]
    armed = session.scalars(select(Deadline).where(Deadline.subject == "case", Deadline.subject_id == case.id,
                                                   Deadline.status == "armed",
                                                   Deadline.token == case.clock_token).order_by(Deadline.due_at))
    due_now = {d.kind: d.due_at for d in armed}
    start = now
    for rung in HANDLING_LADDER[HANDLING_LADDER.index(level):]:
        first, resolve, warn_at = policy.times(case.category, case.severity, rung.value)
        if rung == level and due_now:
            resolve_at = due_now.get(RESOLVE, case.deadline_at or now)
            warn = due_now.get(WARN)
            contact = due_now.get(FIRST_CONTACT) if case.accepted_at is None else None
        else:
            resolve_at = policy.due(start, resolve)
            warn = add(policy, resolve.counts, start, remaining(policy, resolve.counts, start, resolve_at) * warn_at)
            contact = policy.due(start, first)
        if contact and contact >= now:
            steps.append(Planned(contact, rung.value, f"not signed for: the level above is told ({first.text})"))
        if warn and warn >= now:
            steps.append(Planned(warn, rung.value, f"warning (预警) to the holder ({warn_at:.0%} of {resolve.text})"))
        if rung == Level.STREET:
            steps.append(Planned(resolve_at, rung.value, "overdue at the top: flagged for supervision (督办)"))
            at = resolve_at
            for n in range(REPEATS_SHOWN):
                at = policy.due(at, policy.spec.supervision_repeat)
                steps.append(Planned(at, rung.value, f"supervision notice repeated ({n + 2}), every "
                                                     f"{policy.spec.supervision_repeat.text}"))
            break
        up = HANDLING_LADDER[HANDLING_LADDER.index(rung) + 1]
        steps.append(Planned(resolve_at, rung.value, f"overdue ({resolve.text}): escalates to the {up.value}"))
        start = resolve_at
    return sorted(steps, key=lambda p: p.at)
