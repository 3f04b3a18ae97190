"""Who hears of what, in which language, when, and what a failing channel does (SQLite, in-process)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, update

from schemas.org import SubscriptionSpec
from tests.conftest import Published
from tests.unit.helpers import REPORTER_PHONE, event, post_event, run_worker, token_for
from workflow.base.db import unit_of_work
from workflow.notices.channels import REGISTRY, DeliveryError, Message, get
from workflow.notices.delivery import deliver_due
from workflow.notices.models import Delivery
from workflow.notices.subscriptions import add
from workflow.notices.templates import LEADS, render
from workflow.org.models import User

SHANGHAI = ZoneInfo("Asia/Shanghai")


def deliveries(engine: Engine, case_id: int) -> list[Delivery]:
    with unit_of_work(engine) as s:
        rows = list(s.scalars(select(Delivery).where(Delivery.case_id == case_id).order_by(Delivery.id)))
        for r in rows:
            _ = r.outbox.topic
        return rows


def submit(client: FlaskClient, engine: Engine, published: Published, **data: Any) -> int:
    case_id = int(post_event(client, event(data)).get_json()["case_id"])
    run_worker(engine, published.events)
    return case_id


def test_every_topic_has_text_in_three_languages() -> None:
    for topic, texts in LEADS.items():
        assert len(texts) == 3 and all(texts), topic
    payload = {"case_id": 7, "category": "NOI", "severity": "P2", "level": "branch",
               "message": "当事人王五电话13812345678,身份证150404199001011234"}
    hans = render("case.escalated", "zh_Hans", payload, "金桂园小区党支部", None, "http://x/7")
    hant = render("case.escalated", "zh_Hant", payload, "金桂園小區黨支部", None, "http://x/7")
    en = render("case.escalated", "en", payload, "Jingui branch", None, "http://x/7")
    assert hans.title == "案件已升级到金桂园小区党支部" and "噪音" in hans.body and "小区" in hans.body
    assert hant.title.startswith("案件已升級") and "小區" in hant.body
    assert en.title == "Case escalated to Jingui branch" and "Noise" in en.body
    for text in (hans.body, hant.body, en.body):
        assert "13812345678" not in text and "138****5678" in text
        assert "150404199001011234" not in text and "1504**********1234" in text


def test_dispatch_reaches_the_grid_members_by_sms_in_the_demo_tree(client: FlaskClient, engine: Engine,
                                                                    published: Published, sms_sink: Path) -> None:
    case_id = submit(client, engine, published)
    [d] = deliveries(engine, case_id)
    assert (d.channel, d.status, d.outbox.topic) == ("sms", "sent", "case.dispatched")
    [line] = [json.loads(x) for x in sms_sink.read_text(encoding="utf-8").splitlines()]
    assert line["text"].startswith("【网格】新案件已派到金桂园1号楼党小组")
    with unit_of_work(engine) as s:
        leader = s.scalars(select(User).where(User.name == "xy01a1.leader")).one()
        assert line["phone"] == leader.phone


def test_subtree_subscription_with_filters(client: FlaskClient, engine: Engine, published: Published) -> None:
    with unit_of_work(engine) as s:
        add(s, "XY", SubscriptionSpec(topics=["case.dispatched"], subtree=True, severities=["P1"], channel="sms",
                                      target="13700000000"))
    p2 = submit(client, engine, published, category="NOI")
    p1 = submit(client, engine, published, category="LAB")
    assert "13700000000" not in {d.target for d in deliveries(engine, p2)}
    assert "13700000000" in {d.target for d in deliveries(engine, p1)}


def test_the_resident_is_told_on_report_back_with_a_link(client: FlaskClient, engine: Engine,
                                                         published: Published, sms_sink: Path) -> None:
    case_id = submit(client, engine, published)
    auth = token_for(engine, "xy01a1.leader")
    client.post(f"/api/v1/cases/{case_id}/actions/resolve", json={"summary": "调解"}, headers=auth)
    client.post(f"/api/v1/cases/{case_id}/actions/report_back", json={"message": "已协调楼上住户"}, headers=auth)
    with unit_of_work(engine) as s:
        deliver_due(s)
    texts = [json.loads(x) for x in sms_sink.read_text(encoding="utf-8").splitlines()]
    mine = [t for t in texts if t["phone"] == REPORTER_PHONE]
    assert len(mine) == 1
    assert "已协调楼上住户" in mine[0]["text"] and "/track?code=" in mine[0]["text"]


def test_quiet_hours_hold_a_notice_but_not_an_emergency(client: FlaskClient, engine: Engine,
                                                        published: Published) -> None:
    with unit_of_work(engine) as s:
        s.execute(update(User).where(User.name == "xy01a1.leader").values(quiet_hours="22:00-07:00"))
    with time_machine.travel(datetime(2026, 11, 26, 23, 30, tzinfo=SHANGHAI), tick=False):
        night = submit(client, engine, published)
        [held] = deliveries(engine, night)
        assert held.status == "pending"
        assert held.next_attempt_at.astimezone(SHANGHAI) == datetime(2026, 11, 27, 7, 0, tzinfo=SHANGHAI)
        fire = submit(client, engine, published, category="SAF", severity="P0")
        leader_notices = [d for d in deliveries(engine, fire) if d.outbox.payload.get("unit") == "XY-01-A-1"]
        assert [d.status for d in leader_notices] == ["sent"]


class Broken:
    name = "broken"
    rate = None

    def __init__(self) -> None:
        self.calls = 0

    def send(self, message: Message) -> None:
        self.calls += 1
        raise DeliveryError("mailbox full", retryable=False)


def test_a_dead_first_channel_falls_back_to_the_next(client: FlaskClient, engine: Engine, published: Published,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    broken = Broken()
    get("sms")  # load the channel modules first
    monkeypatch.setitem(REGISTRY, "email", broken)
    with unit_of_work(engine) as s:
        s.execute(update(User).where(User.name == "xy01a1.leader").values(email="leader@example.org",
                                                                          channels=["email", "sms"]))
    case_id = submit(client, engine, published)
    with unit_of_work(engine) as s:
        deliver_due(s)
    rows = deliveries(engine, case_id)
    assert [(d.channel, d.status) for d in rows] == [("email", "dead"), ("sms", "sent")]
    assert rows[0].errors[0]["error"] == "mailbox full" and broken.calls == 1


def test_retry_backs_off_exponentially_up_to_the_cap(client: FlaskClient, engine: Engine, published: Published,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    class Flaky(Broken):
        def send(self, message: Message) -> None:
            self.calls += 1
            raise DeliveryError("timeout")

    flaky = Flaky()
    get("sms")
    monkeypatch.setitem(REGISTRY, "sms", flaky)
    monkeypatch.setenv("GRIDCASE_RETRY_BASE", "10")
    monkeypatch.setenv("GRIDCASE_RETRY_MAX", "3")
    start = datetime(2026, 11, 26, 10, 0, tzinfo=SHANGHAI)
    with time_machine.travel(start, tick=False) as traveller:
        case_id = submit(client, engine, published)  # the first attempt goes with the dispatch
        waits = []
        for _ in range(2):
            [d] = deliveries(engine, case_id)
            assert d.last_attempt_at is not None
            waits.append((d.next_attempt_at - d.last_attempt_at).total_seconds())
            traveller.move_to(d.next_attempt_at + timedelta(seconds=1))
            with unit_of_work(engine) as s:
                deliver_due(s)
    [d] = deliveries(engine, case_id)
    assert (d.status, d.attempts, len(d.errors)) == ("dead", 3, 3)
    assert waits == [10.0, 20.0]
    assert flaky.calls == 3
