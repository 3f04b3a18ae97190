"""A follow-up visit that finds the agreement breached sends the case back to the unit that mediated."""

from __future__ import annotations

from sqlalchemy import select

from tests.unit.mediation.test_api import BRANCH, LEADER, MEDIATOR, Desk, _agreed, png
from workflow.base.db import unit_of_work
from workflow.cases.models import Case, CaseEvent, OutboxMessage
from workflow.org.models import Unit


def _signed(desk: Desk) -> tuple[int, int]:
    case_id, mid, parties = _agreed(desk)
    for signer in (f"party:{parties[0]}", f"party:{parties[1]}", "mediator"):
        desk.ok(MEDIATOR, mid, "sign", signer=signer, signature=png())
    return case_id, mid


def _case(desk: Desk, case_id: int) -> dict[str, object]:
    r = desk.client.get(f"/api/v1/cases/{case_id}", headers=desk.auth(BRANCH))
    assert r.status_code == 200
    return r.get_json()  # type: ignore[no-any-return]


def test_a_breach_after_the_case_was_resolved_and_reported_back_reopens_it_at_the_branch(desk: Desk) -> None:
    case_id, mid = _signed(desk)
    for trigger, body in (("resolve", {"summary": "已达成调解协议"}), ("report_back", {"message": "已调解"})):
        r = desk.client.post(f"/api/v1/cases/{case_id}/actions/{trigger}", json=body, headers=desk.auth(BRANCH))
        assert r.status_code == 200, r.get_json()
    assert _case(desk, case_id)["state"] == "reported_back"

    assert desk.ok(LEADER, mid, "visit", finding="breached", note="拒付余款")["state"] == "breached"

    case = _case(desk, case_id)
    assert case["state"] == "branch_handling" and case["deadline_at"]
    with unit_of_work(desk.engine) as session:
        steps = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq)).all()
        assert [s.kind for s in steps][-2:] == ["mediation.visit", "reopen_dispute"]
        assert steps[-1].from_state == "reported_back" and "拒付余款" in (steps[-1].reason or "")
        told = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "case.dispute_reopened")).all()
        assert [session.get(Unit, m.unit_id).code for m in told] == ["XY-01-A"]  # type: ignore[union-attr]
    # The mediating unit may now mediate again, the case being back in its hands.
    assert desk.ok(BRANCH, mid, "mediate_again", reason="双方愿再调")["state"] == "proposed"


def test_a_breach_while_the_branch_still_handles_the_case_leaves_the_case_where_it_is(desk: Desk) -> None:
    case_id, mid = _signed(desk)
    desk.ok(LEADER, mid, "visit", finding="breached", note="拒付余款")
    with unit_of_work(desk.engine) as session:
        case = session.get(Case, case_id)
        assert case is not None and case.state == "branch_handling"
        kinds = session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case_id)).all()
        assert "reopen_dispute" not in kinds and "mediation.visit" in kinds


def test_a_breach_after_the_case_was_taken_up_to_the_general_branch_brings_it_back_down(desk: Desk) -> None:
    case_id, mid = _signed(desk)
    r = desk.client.post(f"/api/v1/cases/{case_id}/actions/escalate", json={"reason": "需社区协调"},
                         headers=desk.auth(BRANCH))
    assert r.status_code == 200, r.get_json()
    desk.ok(LEADER, mid, "visit", finding="breached", note="拒付余款")
    case = _case(desk, case_id)
    assert case["state"] == "branch_handling" and case["level"] == "branch"


def test_a_performed_visit_does_not_touch_the_case(desk: Desk) -> None:
    case_id, mid = _signed(desk)
    desk.ok(LEADER, mid, "visit", finding="performed", note="已付清")
    with unit_of_work(desk.engine) as session:
        kinds = session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case_id)).all()
        assert "reopen_dispute" not in kinds
