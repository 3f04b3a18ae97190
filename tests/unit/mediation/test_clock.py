"""The mediation on the clock: its deadline and day-20 reminder, the escalation, the follow-up visits."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import time_machine
from sqlalchemy import select

from tests.unit.mediation.test_api import BRANCH, LEADER, MEDIATOR, Desk, _agreed, png
from tests.unit.ui_helpers import Browser
from workflow import machines
from workflow.base.db import unit_of_work
from workflow.cases.handling import handle_inbox_event
from workflow.cases.models import CaseEvent, OutboxMessage
from workflow.cases.overdue import sweep
from workflow.clock.deadlines import armed
from workflow.mediation.clock import MEDIATION_KIND
from workflow.mediation.models import Mediation
from workflow.org.models import Unit


def _run_clock(desk: Desk, now: datetime) -> None:
    """Sweep at ``now`` and handle what it fired, as beat and a worker do, the clock moved to ``now``."""
    with time_machine.travel(now, tick=False):
        with unit_of_work(desk.engine) as session:
            swept = sweep(session, now)
        for inbox_id in swept.inbox_ids:
            with unit_of_work(desk.engine) as session:
                assert handle_inbox_event(session, inbox_id, batch=1).status == "done"


def _armed(desk: Desk, mid: int) -> list[tuple[str, datetime]]:
    with unit_of_work(desk.engine) as session:
        return [(d.kind, d.due_at) for d in armed(session, "mediation", mid)]


def _told(desk: Desk, topic: str) -> list[str]:
    with unit_of_work(desk.engine) as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == topic).order_by(OutboxMessage.id))
        return [session.get(Unit, r.unit_id).code for r in rows]  # type: ignore[union-attr]


def _kinds(desk: Desk, case_id: int) -> list[str]:
    with unit_of_work(desk.engine) as session:
        return list(session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case_id)
                                    .order_by(CaseEvent.seq)))


def test_the_mediation_kind_is_registered() -> None:
    assert MEDIATION_KIND in machines.KINDS


def test_a_proposal_arms_the_day_20_reminder_and_the_30_day_deadline(desk: Desk) -> None:
    case_id = desk.dispute_at_branch()
    mid = desk.propose(BRANCH, case_id, mediators=[MEDIATOR]).get_json()["mediation_id"]
    with unit_of_work(desk.engine) as session:
        m = session.get(Mediation, mid)
        assert m is not None
        proposed, due = m.proposed_at, m.due_at
    assert due - proposed == timedelta(days=30)
    [(warn, warn_at), (resolve, resolve_at)] = _armed(desk, mid)
    assert (warn, resolve, resolve_at) == ("warn", "resolve", due)
    assert abs(warn_at - proposed - timedelta(days=20)) < timedelta(minutes=1)

    _run_clock(desk, warn_at + timedelta(minutes=1))  # the case's own deadlines fire too
    assert "mediation.warn" in _kinds(desk, case_id)
    # The mediating branch and the mediator's own unit (the general branch) are reminded.
    assert _told(desk, "mediation.deadline_warning") == ["XY-01-A", "XY-01"]


def test_a_branch_mediation_past_its_deadline_goes_to_the_committee_and_then_is_reported_overdue(
        desk: Desk) -> None:
    case_id = desk.dispute_at_branch()
    mid = desk.propose(BRANCH, case_id, mediators=[MEDIATOR]).get_json()["mediation_id"]
    [_, (_, due)] = _armed(desk, mid)
    _run_clock(desk, due + timedelta(minutes=1))  # the reminder and the deadline, both due
    shown = desk.get(BRANCH, mid).get_json()
    assert (shown["kind"], shown["unit"], shown["state"]) == ("committee", "XY-01", "proposed")
    assert _told(desk, "mediation.escalated") == ["XY-01", "XY-01-A"]
    assert "mediation.deadline_passed" in _kinds(desk, case_id)
    [(_, warn_again), (_, due_again)] = _armed(desk, mid)
    assert due_again - due > timedelta(days=29) and warn_again < due_again

    _run_clock(desk, due_again + timedelta(minutes=1))
    assert _told(desk, "mediation.overdue") == ["XY-01", "XY"]
    assert _armed(desk, mid) == []


def test_an_agreement_in_effect_replaces_the_deadline_by_the_follow_up_visits(desk: Desk) -> None:
    case_id, mid, parties = _agreed(desk)
    [_, (_, due)] = _armed(desk, mid)
    for signer in (f"party:{parties[0]}", f"party:{parties[1]}", "mediator"):
        desk.ok(MEDIATOR, mid, "sign", signer=signer, signature=png())
    visits = [(k, d) for k, d in _armed(desk, mid) if k == "follow_up"]
    # A week after each performance date (12-20, 12-31) and a month after the last.
    assert [(k, d.date()) for k, d in visits] == [
        ("follow_up", date(2026, 12, 27)), ("follow_up", date(2027, 1, 7)), ("follow_up", date(2027, 1, 30))]
    # The old deadline is stale: sweeping past it does nothing to the agreed mediation.
    first = visits[0][1]
    _run_clock(desk, min(due, first) + timedelta(minutes=1))
    assert desk.get(BRANCH, mid).get_json()["state"] == "agreed"
    assert "mediation.deadline_passed" not in _kinds(desk, case_id)

    _run_clock(desk, first + timedelta(minutes=1))
    assert "mediation.visit_due" in _kinds(desk, case_id)
    assert _told(desk, "mediation.visit_due") == ["XY-01-A-1"]


def test_a_failed_mediation_disarms_its_clock(desk: Desk) -> None:
    case_id = desk.dispute_at_branch()
    mid = desk.propose(BRANCH, case_id, mediators=[MEDIATOR]).get_json()["mediation_id"]
    [_, (_, due)] = _armed(desk, mid)
    desk.ok(BRANCH, mid, "withdraw", reason="双方自行和解")
    _run_clock(desk, due + timedelta(minutes=1))
    assert "mediation.deadline_passed" not in _kinds(desk, case_id)


def test_the_grid_leaders_queue_lists_the_next_follow_up_visit_until_it_is_made(app: Any, desk: Desk) -> None:
    _, mid, parties = _agreed(desk)
    for signer in (f"party:{parties[0]}", f"party:{parties[1]}", "mediator"):
        desk.ok(MEDIATOR, mid, "sign", signer=signer, signature=png())
    leader = Browser(app, desk.engine, LEADER)
    queue = leader.get("/queue").text
    assert 'id="visit-tasks"' in queue and f'data-mediation="{mid}"' in queue and "2026-12-27" in queue
    with time_machine.travel(datetime(2027, 1, 1, 3, 0, tzinfo=UTC), tick=False):
        leader = Browser(app, desk.engine, LEADER)  # a month later: a new session
        assert "due now" in leader.get("/queue").text
        desk.ok(LEADER, mid, "visit", finding="partly", note="已付400元")
        queue = leader.get("/queue").text
    # The visit covers the dates due before it: the next one is the week after the second term.
    assert "2027-01-07" in queue and "2026-12-27" not in queue
    # The branch's inbox has no such list: the visits are the grid's.
    assert 'id="visit-tasks"' not in Browser(app, desk.engine, BRANCH).get("/inbox").text


def test_on_day_20_the_parties_are_reminded_of_judicial_confirmation_unless_they_applied(desk: Desk) -> None:
    reminded = []
    for applied in (False, True):
        _, mid, parties = _agreed(desk)
        for signer in (f"party:{parties[0]}", f"party:{parties[1]}", "mediator"):
            desk.ok(MEDIATOR, mid, "sign", signer=signer, signature=png())
        [(_, day_20)] = [(k, d) for k, d in _armed(desk, mid) if k == "confirmation"]
        with unit_of_work(desk.engine) as session:
            m = session.get(Mediation, mid)
            assert m is not None
            effective = m.agreements[-1].effective_at
        assert effective is not None and day_20 - effective == timedelta(days=20)
        if applied:
            desk.ok(BRANCH, mid, "confirmation", note="2026-12-10 双方共同向区人民法院申请司法确认")
        _run_clock(desk, day_20 + timedelta(minutes=1))
        with unit_of_work(desk.engine) as session:
            reminded.append(sorted(r.kind for r in session.scalars(select(OutboxMessage).where(
                OutboxMessage.topic == "mediation.confirmation_reminder",
                OutboxMessage.payload["mediation_id"].as_integer() == mid))))
    assert reminded == [["notify_party", "notify_party", "notify_unit"], []]
