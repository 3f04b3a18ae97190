"""A case's whole life through the HTTP API, with the real worker doing the dispatch and the notices."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.integration.support import REPORTER_PHONE, SOURCE, Live, submitted_event

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def _kinds(timeline: list[dict[str, Any]]) -> list[str]:
    return [step["kind"] for step in timeline]


def _sent_notices(live: Live, case_id: int) -> list[tuple[str, str, str | None]]:
    """Wait until the worker sent every notice of the case; return (step kind, topic, unit) of each."""
    return [(n["step_kind"], n["topic"], n["unit_code"]) for n in live.wait_notices_sent(case_id)]


def test_whole_lifecycle_through_the_http_api(live: Live) -> None:
    api = live.api
    accepted = api.submit(submitted_event())
    case_id, code = accepted["case_id"], accepted["tracking_code"]
    assert accepted["status_url"].endswith(f"/api/v1/track/{code}")

    # The worker, not the request, dispatches the case to its grid.
    live.wait_for_state(case_id, "grid_handling")
    view = api.case("xy01a1.leader", case_id)
    assert (view["state"], view["level"], view["holding_unit"]["code"]) == ("grid_handling", "grid", "XY-01-A-1")
    # The leader of another grid neither sees nor works it, nor tells it from a case that does not exist.
    assert api.client.get(f"/api/v1/cases/{case_id}", headers=api._auth("xy01a2.leader")).status_code == 404

    view = api.act("xy01a1.leader", case_id, "escalate", reason="双方拒绝调解，需支部出面",
                   expected_version=view["version"])
    assert (view["state"], view["holding_unit"]["code"]) == ("branch_handling", "XY-01-A")
    # The grid no longer holds it: it may not act any more.
    refused = api.act_raw("xy01a1.leader", case_id, "resolve", summary="已解决")
    assert refused.status_code == 403, refused.get_data(as_text=True)

    view = api.act("xy01a.secretary", case_id, "escalate", reason="涉及物业，需社区协调")
    assert (view["state"], view["holding_unit"]["code"]) == ("general_branch_handling", "XY-01")
    view = api.act("xy01.secretary", case_id, "escalate", reason="需街道协调执法部门")
    assert (view["state"], view["holding_unit"]["code"]) == ("street_handling", "XY")
    view = api.act("xy.street", case_id, "resolve", summary="街道组织联合调解，双方签订协议")
    assert view["state"] == "resolved"
    report = "您反映的噪音问题已调解，双方签订协议，晚十点后不再施工"
    view = api.act("xy.street", case_id, "report_back", message=report)
    assert view["state"] == "reported_back"

    # The resident follows the case by the tracking code alone, and sees no phone number.
    tracked = api.track(code)
    assert (tracked["state"], tracked["level"], tracked["awaiting_evaluation"]) == ("reported_back", "street", True)
    assert _kinds(tracked["timeline"]) == [
        "submitted", "dispatch", "escalate", "escalate", "escalate", "resolve", "report_back"]
    assert tracked["timeline"][-1]["message"] == report
    assert all(step["message"] is None for step in tracked["timeline"][:-1])  # staff reasons stay inside
    raw = json.dumps(tracked, ensure_ascii=False)
    for phone in (REPORTER_PHONE, "13700001111"):
        assert phone not in raw and phone[3:] not in raw
    assert "王小明" not in raw and "李大山" not in raw

    result = api.evaluate(code, "yes", 5)
    assert result == {"state": "closed", "level": "street"}
    assert api.track(code)["awaiting_evaluation"] is False

    timeline = api.case("xy.street", case_id)["timeline"]
    assert _kinds(timeline) == [
        "submitted", "dispatch", "escalate", "escalate", "escalate", "resolve", "report_back", "confirm"]
    assert [step["seq"] for step in timeline] == list(range(1, 9))
    assert [(step["from_state"], step["to_state"]) for step in timeline] == [
        (None, "collected"),
        ("collected", "grid_handling"),
        ("grid_handling", "branch_handling"),
        ("branch_handling", "general_branch_handling"),
        ("general_branch_handling", "street_handling"),
        ("street_handling", "resolved"),
        ("resolved", "reported_back"),
        ("reported_back", "closed"),
    ]
    assert [(step["actor"], step["actor_unit"]) for step in timeline] == [
        (SOURCE, None),
        ("system", None),
        ("xy01a1.leader", "XY-01-A-1"),
        ("xy01a.secretary", "XY-01-A"),
        ("xy01.secretary", "XY-01"),
        ("xy.street", "XY"),
        ("xy.street", "XY"),
        ("resident", None),
    ]
    assert timeline[2]["reason"] == "双方拒绝调解，需支部出面"
    assert [s["to_level"] for s in timeline[1:5]] == ["grid", "branch", "general_branch", "street"]
    assert api.case("xy.street", case_id)["version"] == 8
    assert live.rows("SELECT resolved, satisfaction FROM evaluations WHERE case_id = :id", id=case_id) == [
        {"resolved": "yes", "satisfaction": 5}]

    # Each level the case reached heard of it, and the resident of the report back: all delivered.
    assert _sent_notices(live, case_id) == [
        ("dispatch", "case.dispatched", "XY-01-A-1"),
        ("escalate", "case.escalated", "XY-01-A"),
        ("escalate", "case.escalated", "XY-01"),
        ("escalate", "case.escalated", "XY"),
        ("report_back", "case.reported_back", None),
    ]
    live.wait_idle()
    assert live.scalar("SELECT count(*) FROM inbox") == 1
    assert live.scalar("SELECT status FROM inbox") == "done"


def test_a_resident_not_satisfied_reopens_at_the_resolving_level_then_one_higher(live: Live) -> None:
    api = live.api
    accepted = api.submit(submitted_event())
    case_id, code = accepted["case_id"], accepted["tracking_code"]
    live.wait_for_state(case_id, "grid_handling")
    api.act("xy01a1.leader", case_id, "escalate", reason="网格调解无果")

    api.act("xy01a.secretary", case_id, "resolve", summary="支部约谈双方")
    api.act("xy01a.secretary", case_id, "report_back", message="已约谈双方")
    # Only the reporter may answer: the last four digits of the phone they gave must match
    # (wrong digits answer like an unknown code: 404).
    wrong = api.client.post(f"/api/v1/track/{code}/evaluation",
                            json={"phone_last4": "0000", "resolved": "no", "satisfaction": 1})
    assert wrong.status_code == 404, wrong.get_data(as_text=True)
    # First "no": back to the branch, which resolved it (not to the grid it started at).
    assert api.evaluate(code, "no", 1) == {"state": "branch_handling", "level": "branch"}

    api.act("xy01a.secretary", case_id, "resolve", summary="支部再次调解")
    api.act("xy01a.secretary", case_id, "report_back", message="已再次调解")
    # Second "no": one level higher than the one that resolved it.
    assert api.evaluate(code, "no", 2) == {"state": "general_branch_handling", "level": "general_branch"}

    view = api.case("xy01.secretary", case_id)
    assert (view["holding_unit"]["code"], view["reopen_count"]) == ("XY-01", 2)
    timeline = view["timeline"]
    assert _kinds(timeline) == ["submitted", "dispatch", "escalate", "resolve", "report_back", "reopen",
                                "resolve", "report_back", "reopen"]
    assert [step["seq"] for step in timeline] == list(range(1, 10))
    reopens = [step for step in timeline if step["kind"] == "reopen"]
    assert [(s["from_state"], s["to_state"], s["actor"]) for s in reopens] == [
        ("reported_back", "branch_handling", "resident"),
        ("reported_back", "general_branch_handling", "resident"),
    ]
    assert live.scalar("SELECT count(*) FROM evaluations WHERE case_id = :id AND resolved = 'no'",
                       id=case_id) == 2
    reopened = [(unit, topic) for kind, topic, unit in _sent_notices(live, case_id) if kind == "reopen"]
    # The second "no" tells the branch that resolved the case too, not only the level that now holds it
    # (issue 11, item 5: a "no" notifies the unit that resolved the case, with the comment).
    assert reopened == [("XY-01-A", "case.reopened"), ("XY-01-A", "case.reopened"), ("XY-01", "case.reopened")]


def test_an_emergency_goes_straight_to_the_street_and_every_level_hears_of_it(live: Live) -> None:
    accepted = live.api.submit(submitted_event(category="SAF", severity="P0",
                                               description="3号楼燃气泄漏，楼道有明显气味"))
    case_id = accepted["case_id"]
    live.wait_for_state(case_id, "street_handling")

    view = live.api.case("xy.street", case_id)
    assert (view["level"], view["holding_unit"]["code"], view["severity"]) == ("street", "XY", "P0")
    assert [(s["kind"], s["from_state"], s["to_state"], s["actor"]) for s in view["timeline"]] == [
        ("submitted", None, "collected", SOURCE),
        ("emergency", "collected", "street_handling", "system"),
    ]
    entered = datetime.fromisoformat(view["timeline"][-1]["at"])
    # The street's clock starts at once, under the suite's policy (fast-policy.yaml: P0 resolve PT4S).
    assert datetime.fromisoformat(view["deadline_at"]) - entered == timedelta(seconds=4)

    notices = _sent_notices(live, case_id)
    assert sorted(unit for _, _, unit in notices if unit) == ["XY", "XY-01", "XY-01-A", "XY-01-A-1"]
    assert {(kind, topic) for kind, topic, _ in notices} == {("emergency", "case.emergency")}
    assert len(notices) == 4
