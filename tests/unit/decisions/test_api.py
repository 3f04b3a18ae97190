"""A community decision through the JSON API: proposed, three meetings, published, objected, answered, closed."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select

from tests.conftest import Published
from tests.unit.helpers import event, post_event, run_worker, token_for
from workflow.base import wallclock
from workflow.base.db import unit_of_work
from workflow.cases.models import CaseEvent, OutboxMessage
from workflow.notices.delivery import deliver_due
from workflow.notices.models import Delivery
from workflow.org.models import Unit, User
from workflow.registry.models import PartyMember

GENERAL, BRANCH, STREET, OTHER, LEADER = ("xy01.secretary", "xy01a.secretary", "xy.street", "xy02.secretary",
                                          "xy01a1.leader")
# Monday 7 December 2026, 09:00 in Beijing: five working days later is Monday the 14th, 09:00.
MONDAY = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
PROPOSAL = {"title": "金桂园加装电梯", "reasons": "老年住户多,上下楼困难", "matter": "1号楼加装电梯一部",
            "options": ["政府补贴+住户分摊", "暂缓"], "budget": "约60万元"}


class Clock:
    """The domain's wall clock, moved by the test."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.at = MONDAY
        monkeypatch.setattr(wallclock, "now", lambda: self.at)


class Desk:
    """The API as the committee, the street and residents use it."""

    def __init__(self, client: FlaskClient, engine: Engine, published: Published) -> None:
        self.client, self.engine, self.published = client, engine, published
        self.tokens: dict[str, dict[str, str]] = {}

    def auth(self, user: str) -> dict[str, str]:
        if user not in self.tokens:
            self.tokens[user] = token_for(self.engine, user)
        return self.tokens[user]

    def act(self, user: str, decision_id: int, trigger: str, **body: Any) -> Any:
        return self.client.post(f"/api/v1/decisions/{decision_id}/actions/{trigger}", json=body,
                                headers=self.auth(user))

    def ok(self, user: str, decision_id: int, trigger: str, **body: Any) -> dict[str, Any]:
        r = self.act(user, decision_id, trigger, **body)
        assert r.status_code == 200, r.get_json()
        return r.get_json()  # type: ignore[no-any-return]

    def propose(self, user: str = GENERAL, **body: Any) -> int:
        r = self.client.post("/api/v1/decisions", json=PROPOSAL | body, headers=self.auth(user))
        assert r.status_code == 201, r.get_json()
        return r.get_json()["decision_id"]  # type: ignore[no-any-return]


@pytest.fixture
def desk(client: FlaskClient, engine: Engine, published: Published) -> Desk:
    return Desk(client, engine, published)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


def names(n: int, prefix: str) -> list[str]:
    return [f"{prefix}{i}" for i in range(1, n + 1)]


def meeting(entitled: list[str], present: int, votes_for: int | None, against: int = 0, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"held_on": "2026-12-07", "place": "社区会议室", "minutes": "讨论加装电梯方案",
                            "entitled": entitled, "present": entitled[:present]}
    if votes_for is not None:
        body |= {"votes_for": votes_for, "votes_against": against, "votes_abstaining": present - votes_for - against}
    return body | extra


def through_meetings(desk: Desk, decision_id: int) -> None:
    desk.ok(GENERAL, decision_id, "joint_meeting", **meeting(names(9, "委员"), 8, None))
    desk.ok(GENERAL, decision_id, "party_meeting", **meeting(names(30, "党员"), 20, 11, against=9))
    desk.ok(GENERAL, decision_id, "residents_meeting", **meeting(names(40, "代表"), 21, 11, against=10))


def test_the_whole_way_with_an_objection(desk: Desk, clock: Clock, engine: Engine) -> None:
    decision_id = desk.propose()
    through_meetings(desk, decision_id)
    refused = desk.act(GENERAL, decision_id, "publish", text="经居民代表会议通过,联系电话13812345678")
    assert refused.status_code == 422
    assert refused.get_json()["problems"][0]["field"] == "text"
    view = desk.ok(GENERAL, decision_id, "publish", text="经居民代表会议表决通过:1号楼加装电梯,费用按楼层分摊。")
    assert view["state"] == "resolution_published"
    assert view["period"]["ends_at"].startswith("2026-12-14T01:00")

    # Wednesday: a resident objects; the period stops with three working days left.
    clock.at = MONDAY + timedelta(days=2)
    r = desk.client.post(f"/api/v1/communities/XY-01/decisions/{decision_id}/objections",
                         json={"name": "赵桂芳", "phone": "13912345678", "text": "一楼住户不应分摊"})
    assert r.status_code == 201, r.get_json()
    objection_id = r.get_json()["objection_id"]
    public = desk.client.get("/api/v1/communities/XY-01/decisions").get_json()
    shown = public["decisions"][0]
    assert shown["period"]["paused"] is True and shown["period"]["ends_at"] is None
    assert "赵桂芳" not in str(public) and "13912345678" not in str(public)
    assert desk.act(GENERAL, decision_id, "carry_out").status_code == 409

    # The next Monday the committee answers: the three working days left run from then.
    clock.at = MONDAY + timedelta(days=7)
    view = desk.ok(GENERAL, decision_id, "answer", objection_id=objection_id,
                   text="一楼住户不分摊费用,方案已按此修改。")
    assert view["period"]["paused"] is False
    assert view["period"]["ends_at"].startswith("2026-12-17T01:00")
    assert view["objections"][0]["name"] == "赵*芳" and view["objections"][0]["phone"] == "139****5678"
    public = desk.client.get(f"/api/v1/communities/XY-01/decisions/{decision_id}").get_json()
    assert public["objections"][0]["answer"] == "一楼住户不分摊费用,方案已按此修改。"

    clock.at = datetime(2026, 12, 17, 0, 59, tzinfo=UTC)
    refused = desk.act(GENERAL, decision_id, "carry_out")
    assert refused.status_code == 409 and "runs until" in refused.get_json()["message"]
    clock.at = datetime(2026, 12, 17, 1, 0, tzinfo=UTC)
    desk.ok(GENERAL, decision_id, "carry_out")
    late = desk.client.post(f"/api/v1/communities/XY-01/decisions/{decision_id}/objections",
                            json={"name": "钱", "phone": "13912340000", "text": "晚了"})
    assert late.status_code == 409
    view = desk.ok(GENERAL, decision_id, "publish_result", text="电梯已于12月完工并通过验收。")
    assert view["state"] == "result_published"
    clock.at += timedelta(days=7)
    view = desk.ok(GENERAL, decision_id, "close")
    assert view["state"] == "closed"
    kinds = [e["kind"] for e in view["timeline"]]
    assert kinds[:2] == ["proposed", "reported"]
    assert kinds.count("reported") == 2  # 两报告: the proposal before the meetings, the result at the end
    assert "object" in kinds and "answer" in kinds

    # The notices went through the shared outbox to the street and the committee.
    with unit_of_work(engine) as session:
        topics = sorted(session.scalars(select(OutboxMessage.topic).where(OutboxMessage.case_id.is_(None))))
        assert topics == ["decision.objected", "decision.proposed", "decision.result_published"]
        deliver_due(session)
    with unit_of_work(engine) as session:
        street = session.scalars(select(User.id).where(User.name == STREET)).one()
        report = session.scalars(select(OutboxMessage.id).where(OutboxMessage.topic == "decision.proposed")).one()
        told = session.scalars(select(Delivery).where(Delivery.outbox_id == report)).all()
        assert street in {d.user_id for d in told}
        assert all(d.status == "sent" for d in told)


def test_quorum_refusal_says_why_with_the_numbers(desk: Desk, clock: Clock) -> None:
    decision_id = desk.propose()
    desk.ok(GENERAL, decision_id, "joint_meeting", **meeting(names(9, "委员"), 8, None))
    r = desk.act(GENERAL, decision_id, "party_meeting", **meeting(names(30, "党员"), 19, 19))
    assert r.status_code == 422
    assert "needs two thirds of the 30 entitled present, 20, and 19 were present" in r.get_json()["message"]
    r = desk.act(GENERAL, decision_id, "party_meeting", **meeting(names(30, "党员"), 20, 10, against=10))
    assert r.status_code == 422 and r.get_json()["problems"][0]["field"] == "if_not_passed"
    view = desk.ok(GENERAL, decision_id, "party_meeting",
                   **meeting(names(30, "党员"), 20, 10, against=10, if_not_passed="rework"))
    assert view["state"] == "proposed"
    assert view["meetings"][-1]["passed"] is False
    assert "10 for" in view["timeline"][-1]["reason"]


def test_party_members_meeting_takes_the_register(desk: Desk, clock: Clock, engine: Engine) -> None:
    with unit_of_work(engine) as session:
        branch = session.scalars(select(Unit).where(Unit.code == "XY-01-A")).one()
        session.add_all(PartyMember(name=f"党员{i}", branch_unit_id=branch.id, phone=f"1390000{i:04d}")
                        for i in range(1, 7))
    decision_id = desk.propose()
    desk.ok(GENERAL, decision_id, "joint_meeting", **meeting(names(9, "委员"), 8, None))
    body = meeting(names(6, "党员"), 4, 3)
    del body["entitled"]
    view = desk.ok(GENERAL, decision_id, "party_meeting", **body)
    assert view["state"] == "reviewed"
    assert view["meetings"][-1]["entitled_from"] == "register"
    assert view["meetings"][-1]["entitled_count"] == 6


def test_who_may_do_what(desk: Desk, clock: Clock) -> None:
    decision_id = desk.propose(BRANCH)
    assert desk.act(STREET, decision_id, "joint_meeting", **meeting(names(9, "委员"), 8, None)).status_code == 403
    assert desk.ok(STREET, decision_id, "comment", text="请先征求一楼住户意见")["state"] == "proposed"
    assert desk.client.get(f"/api/v1/decisions/{decision_id}", headers=desk.auth(OTHER)).status_code == 403
    r = desk.client.post("/api/v1/decisions", json=PROPOSAL, headers=desk.auth(LEADER))
    assert r.status_code == 403
    # Not yet published: nothing on the public page.
    assert desk.client.get("/api/v1/communities/XY-01/decisions").get_json()["decisions"] == []
    assert desk.client.get(f"/api/v1/communities/XY-01/decisions/{decision_id}").status_code == 404


def test_a_gov_case_becomes_a_proposal_linked_both_ways(desk: Desk, clock: Clock, engine: Engine) -> None:
    answer = post_event(desk.client, event({"category": "GOV", "description": "小区停车位不足,建议划线"}))
    run_worker(engine, desk.published.events)
    case_id = answer.get_json()["case_id"]
    noise = post_event(desk.client, event({"category": "NOI"}))
    run_worker(engine, desk.published.events)
    refused = desk.client.post("/api/v1/decisions", json=PROPOSAL | {"case_id": noise.get_json()["case_id"]},
                               headers=desk.auth(GENERAL))
    assert refused.status_code == 422
    decision_id = desk.propose(title="规划停车位", matter=None, case_id=case_id)
    view = desk.client.get(f"/api/v1/decisions/{decision_id}", headers=desk.auth(GENERAL)).get_json()
    assert view["case_id"] == case_id and view["matter"] == "小区停车位不足,建议划线"
    with unit_of_work(engine) as session:
        steps = session.scalars(select(CaseEvent.reason).where(CaseEvent.case_id == case_id,
                                                               CaseEvent.kind == "decision.proposed")).all()
    assert steps == [f"#{decision_id} 规划停车位"]


def test_a_plan_attached_as_pdf_is_kept_and_listed(desk: Desk, clock: Clock, monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Any) -> None:
    monkeypatch.setenv("GRIDCASE_HOME", str(tmp_path / "home"))
    decision_id = desk.propose()
    pdf = b"%PDF-1.4\n" + b"0" * 200_000 + b"\n%%EOF"  # larger than the 64 KiB cap of other JSON bodies
    view = desk.ok(GENERAL, decision_id, "attach", kind="plan", title="加装电梯方案",
                   file=base64.b64encode(pdf).decode(), content_type="application/pdf")
    assert [(a["kind"], a["title"], a["size"]) for a in view["attachments"]] == [("plan", "加装电梯方案", len(pdf))]
    fake = desk.act(GENERAL, decision_id, "attach", kind="budget", file=base64.b64encode(b"hello").decode(),
                    content_type="application/pdf")
    assert fake.status_code == 422 and fake.get_json()["problems"][0]["field"] == "file"


def test_the_operator_lists_and_shows_decisions(desk: Desk, clock: Clock, engine: Engine,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from web.cli import main

    decision_id = desk.propose()
    through_meetings(desk, decision_id)
    desk.ok(GENERAL, decision_id, "publish", text="决议:加装电梯。")
    desk.client.post(f"/api/v1/communities/XY-01/decisions/{decision_id}/objections",
                     json={"name": "赵桂芳", "phone": "13912345678", "text": "不同意"})
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    listed = CliRunner().invoke(main, ["decisions", "list", "--state", "resolution_published"])
    assert listed.exit_code == 0, listed.output
    assert listed.output.startswith(f"{decision_id}\tXY-01\tresolution_published\tresolution paused\t1 open")
    shown = CliRunner().invoke(main, ["decisions", "show", str(decision_id)])
    assert "meeting party 2026-12-07: 20 of 30 present, 11 for / 9 against / 0 abstaining, passed" in shown.output
    assert "赵*芳 139****5678: OPEN" in shown.output and "13912345678" not in shown.output
    assert CliRunner().invoke(main, ["decisions", "show", "999"]).exit_code == 1


def _sweep_and_handle(engine: Engine, now: datetime) -> tuple[int, int]:
    from workflow.cases.handling import handle_inbox_event
    from workflow.cases.overdue import sweep

    with unit_of_work(engine) as session:
        swept = sweep(session, now)
    for inbox_id in swept.inbox_ids:
        with unit_of_work(engine) as session:
            assert handle_inbox_event(session, inbox_id, batch=1).status == "done"
    return swept.fired, swept.stale


def test_the_clock_ends_the_periods_and_an_objection_makes_the_first_end_stale(desk: Desk, clock: Clock,
                                                                               engine: Engine) -> None:
    from workflow.clock.models import Deadline

    decision_id = desk.propose()
    through_meetings(desk, decision_id)
    desk.ok(GENERAL, decision_id, "publish", text="决议:加装电梯。")
    with unit_of_work(engine) as session:
        rows = session.scalars(select(Deadline).where(Deadline.subject == "decision")).all()
        assert [(d.subject_id, d.kind, d.case_id, d.due_at.isoformat()) for d in rows] == \
            [(decision_id, "publication", None, "2026-12-14T01:00:00+00:00")]
    clock.at = MONDAY + timedelta(days=2)
    r = desk.client.post(f"/api/v1/communities/XY-01/decisions/{decision_id}/objections",
                         json={"name": "赵桂芳", "phone": "13912345678", "text": "一楼不应分摊"})
    objection_id = r.get_json()["objection_id"]
    # The first end passes while the objection waits: stale, nothing happens.
    clock.at = datetime(2026, 12, 14, 2, 0, tzinfo=UTC)
    assert _sweep_and_handle(engine, clock.at) == (0, 1)
    assert desk.client.get(f"/api/v1/decisions/{decision_id}", headers=desk.auth(GENERAL)).get_json()[
        "period"]["paused"] is True
    desk.ok(GENERAL, decision_id, "answer", objection_id=objection_id, text="一楼住户不分摊。")
    # Three working days were left: Monday 14th 10:00 Beijing + 3 working days.
    clock.at = datetime(2026, 12, 17, 2, 1, tzinfo=UTC)
    assert _sweep_and_handle(engine, clock.at) == (1, 0)
    view = desk.client.get(f"/api/v1/decisions/{decision_id}", headers=desk.auth(GENERAL)).get_json()
    assert view["state"] == "resolution_published" and view["timeline"][-1]["kind"] == "period_over"
    assert "carry_out" in view["actions"]
    desk.ok(GENERAL, decision_id, "carry_out")
    desk.ok(GENERAL, decision_id, "publish_result", text="电梯已完工。")
    clock.at += timedelta(days=8)
    assert _sweep_and_handle(engine, clock.at) == (1, 0)
    view = desk.client.get(f"/api/v1/decisions/{decision_id}", headers=desk.auth(GENERAL)).get_json()
    assert view["state"] == "closed" and view["timeline"][-1]["actor"] == "system"
    with unit_of_work(engine) as session:
        topics = session.scalars(select(OutboxMessage.topic).where(OutboxMessage.case_id.is_(None))
                                 .order_by(OutboxMessage.id)).all()
    assert topics == ["decision.proposed", "decision.objected", "decision.period_over", "decision.result_published"]


def test_an_objection_with_a_number_in_it_is_published_masked(desk: Desk, clock: Clock) -> None:
    decision_id = desk.propose()
    through_meetings(desk, decision_id)
    desk.ok(GENERAL, decision_id, "publish", text="决议:加装电梯。")
    r = desk.client.post(f"/api/v1/communities/XY-01/decisions/{decision_id}/objections",
                         json={"name": "赵桂芳", "phone": "13912345678", "text": "请打我电话13912345678商量"})
    assert r.status_code == 201
    shown = desk.client.get(f"/api/v1/communities/XY-01/decisions/{decision_id}").get_json()
    assert shown["objections"][0]["text"] == "请打我电话139****5678商量"
    refused = desk.act(GENERAL, decision_id, "answer", objection_id=r.get_json()["objection_id"],
                       text="已回电 13912345678")
    assert refused.status_code == 422 and refused.get_json()["problems"][0]["field"] == "text"
