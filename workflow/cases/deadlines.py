"""The clock of a case: arming its deadlines after each step, by the policy recorded on the case.

The rows, the stored policies and the counting of working time are the clock package's; what
each step of the case machine does to them is here.

A deadline is a row (kind, due_at, token). Every re-arming bumps the case's clock token, so
rows armed before are stale: the sweeper still fires them, and handling them does nothing.
That makes a stale or duplicate firing a no-op without updating old rows on the hot path.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from schemas.policy import Duration
from schemas.vocabulary import FINAL_STATES, State
from workflow.cases.machine import level_of_state
from workflow.cases.models import Case
from workflow.clock.deadlines import add, arm, remaining
from workflow.clock.policy import Policy, current_policy
from workflow.clock.stored_policies import record_policy, stored_policy

FIRST_CONTACT, WARN, RESOLVE, SUPERVISION, EVALUATION = (
    "first_contact", "warn", "resolve", "supervision", "evaluation")


def policy_of(session: Session, case: Case) -> Policy:
    """Return the policy recorded on the case, recording the one in force if its clock never started."""
    if case.policy_id is None:
        policy = current_policy()
        case.policy_id = record_policy(session, policy)
        return policy
    return stored_policy(session, case.policy_id, f"case {case.id}")


def _arm(session: Session, case: Case, kind: str, due: datetime, now: datetime) -> None:
    arm(session, case.id, kind, case.level, due, case.clock_token, now)


def _new_token(case: Case) -> None:
    case.clock_token = (case.clock_token or 0) + 1


def start_level(session: Session, case: Case, now: datetime) -> None:
    """Arm first contact, the warning and the resolve-or-escalate deadline of the level that now holds the case."""
    policy = policy_of(session, case)
    first, resolve, warn_at = policy.times(case.category, case.severity, case.level)
    _new_token(case)
    case.accepted_at, case.paused_at, case.paused_left, case.request = None, None, None, None
    due = policy.due(now, resolve)
    case.deadline_at = due
    span = remaining(policy, resolve.counts, now, due)
    _arm(session, case, FIRST_CONTACT, policy.due(now, first), now)
    _arm(session, case, WARN, add(policy, resolve.counts, now, span * warn_at), now)
    _arm(session, case, RESOLVE, due, now)


def on_step(session: Session, case: Case, trigger: str, changed: bool, params: dict[str, object],
            now: datetime) -> None:
    """Re-arm the clock after a step: the one place deadlines are set, cancelled, paused or extended."""
    state = State(case.state)
    if state in FINAL_STATES or state == State.RESOLVED:
        if changed:
            _new_token(case)
            case.deadline_at = None
        return
    if state == State.REPORTED_BACK:
        if changed:
            policy = policy_of(session, case)
            _new_token(case)
            case.deadline_at = policy.due(now, policy.spec.evaluation)
            _arm(session, case, EVALUATION, case.deadline_at, now)
        return
    if changed and level_of_state(case.state) is not None:
        start_level(session, case, now)
        return
    if trigger == "reapply_policy":
        # An operator asked for the policy in force now: this level's clock starts again under it.
        case.policy_id = record_policy(session, current_policy())
        start_level(session, case, now)
        return
    if trigger in {"request_pause", "request_extension"}:
        # The level that asks is kept so the machine can refuse it deciding its own request.
        case.request = {"kind": trigger.removeprefix("request_"), "reason": params.get("reason"),
                        "extend_by": params.get("extend_by"), "level": params.get("level"),
                        "at": now.isoformat()}
    elif trigger == "accept" and case.accepted_at is None:
        case.accepted_at = now
    elif trigger == "deadline_passed":  # at the street: flagged, told again until acted on
        policy = policy_of(session, case)
        case.supervised_at = case.supervised_at or now
        _new_token(case)
        _arm(session, case, SUPERVISION, policy.due(now, policy.spec.supervision_repeat), now)
    elif trigger == "approve_pause":
        _pause(session, case, now)
    elif trigger == "resume":
        _resume(session, case, now)
    elif trigger == "approve_extension":
        _extend(session, case, now)
    if trigger in {"approve_pause", "refuse_pause", "approve_extension", "refuse_extension"}:
        case.request = None


def _resolve_counts(session: Session, case: Case) -> tuple[Policy, Duration]:
    policy = policy_of(session, case)
    return policy, policy.times(case.category, case.severity, case.level)[1]


def _pause(session: Session, case: Case, now: datetime) -> None:
    policy, resolve = _resolve_counts(session, case)
    due = case.deadline_at or now
    # Remember what was left, counted as the policy counts it; the paused time never counts.
    case.paused_left = remaining(policy, resolve.counts, now, due).total_seconds()
    case.paused_at = now
    _new_token(case)


def _resume(session: Session, case: Case, now: datetime) -> None:
    policy, resolve = _resolve_counts(session, case)
    left = timedelta(seconds=case.paused_left or 0)
    case.paused_at, case.paused_left = None, None
    _new_token(case)
    case.deadline_at = add(policy, resolve.counts, now, left)
    _arm(session, case, RESOLVE, case.deadline_at, now)


def _extend(session: Session, case: Case, now: datetime) -> None:
    policy, resolve = _resolve_counts(session, case)
    request = case.request or {}
    extra = Duration.parse(f"{request.get('extend_by')} {resolve.counts}")
    base = max(case.deadline_at or now, now)
    _new_token(case)
    case.deadline_at = policy.due(base, extra)
    _arm(session, case, RESOLVE, case.deadline_at, now)


def handling_deadline_left(session: Session, case: Case, now: datetime) -> timedelta | None:
    """Return the working (or calendar) time left before the current deadline, or None if there is none."""
    if case.deadline_at is None or case.paused_at is not None:
        return None
    level = level_of_state(case.state)
    if level is None:
        return remaining(policy_of(session, case), "calendar", now, case.deadline_at)
    policy, resolve = _resolve_counts(session, case)
    return remaining(policy, resolve.counts, now, case.deadline_at)
