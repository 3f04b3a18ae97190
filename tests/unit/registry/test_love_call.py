"""The 爱心呼叫 one-tap link: a card for vulnerable residents only, a tap is a P1 love_call case, a double tap one case."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from sqlalchemy import Engine, select, update

from tests.unit.helpers import event, post_event, run_worker
from tests.unit.ui_helpers import Browser, csrf_of
from workflow.base import wallclock
from workflow.base.db import unit_of_work
from workflow.cases.models import Case, OutboxMessage
from workflow.notices.delivery import deliver_due
from workflow.notices.models import Delivery
from workflow.org.models import User
from workflow.registry.demo import load_demo_register
from workflow.registry.models import CaseHousehold, Resident


@pytest.fixture
def registry_engine(engine: Engine) -> Engine:
    with unit_of_work(engine) as session:
        load_demo_register(session)
    return engine


def resident_id(engine: Engine, name: str) -> int:
    with unit_of_work(engine) as session:
        # Names are encrypted: compared after reading, not in SQL.
        return next((r.id for r in session.scalars(select(Resident)) if r.name == name), 0)


@time_machine.travel("2026-11-20T02:00:00+00:00", tick=False)
def test_a_tap_is_one_p1_love_call_case_at_the_address(app: Any, registry_engine: Engine, published: Any) -> None:
    leader = Browser(app, registry_engine, "xy01a1.leader")
    household = leader.get("/registry/households/1").text
    assert "Love call card" in household  # 周桂芝 is tagged 空巢老人 and 独居
    alone = resident_id(registry_engine, "周桂芝")
    card = leader.get(f"/registry/residents/{alone}/love-card")
    assert card.status_code == 200 and "<svg" in card.text
    link = re.search(r"(/love/[A-Za-z0-9_.\-]+)", card.text)
    assert link is not None
    resident = Browser(app, None)
    page = resident.get(link.group(1))
    assert page.status_code == 200 and "Tap here to ask for help" in page.text
    token = csrf_of(page.text)
    first = resident.client.post(link.group(1), data={"csrf_token": token})
    again = resident.client.post(link.group(1), data={"csrf_token": token})
    assert "Your call is logged" in first.text and "Your call is logged" in again.text
    with unit_of_work(registry_engine) as session:
        case = session.scalars(select(Case)).one()  # the double tap is the same case
        assert (case.channel, case.severity, case.grid_unit.code) == ("love_call", "P1", "XY-01-A-1")
        assert case.description == "爱心呼叫：金桂园 1号楼 1单元 101，周*芝"
    assert len(published.events) == 1


def test_no_card_for_residents_not_tagged_vulnerable_and_no_forged_links(app: Any, registry_engine: Engine) -> None:
    leader = Browser(app, registry_engine, "xy01a1.leader")
    assert leader.get(f"/registry/residents/{resident_id(registry_engine, '孙立军')}/love-card").status_code == 404
    street = Browser(app, registry_engine, "xy.street")
    assert street.get(f"/registry/residents/{resident_id(registry_engine, '周桂芝')}/love-card").status_code == 403
    assert Browser(app, None).get("/love/eyJyIjoxfQ.forged").status_code == 404


SHANGHAI_NIGHT = "2026-11-20T15:30:00+00:00"  # 23:30 in Shanghai


def _tap(app: Any, engine: Engine, name: str = "周桂芝") -> None:
    leader = Browser(app, engine, "xy01a1.leader")
    card = leader.get(f"/registry/residents/{resident_id(engine, name)}/love-card")
    link = re.search(r"(/love/[A-Za-z0-9_.\-]+)", card.text)
    assert link is not None
    resident = Browser(app, None)
    page = resident.get(link.group(1))
    assert "Your call is logged" in resident.client.post(link.group(1), data={"csrf_token": csrf_of(page.text)}).text


@time_machine.travel(SHANGHAI_NIGHT, tick=False)
def test_a_call_reaches_the_central_household_and_grid_leader_at_once_even_in_quiet_hours(
        app: Any, registry_engine: Engine, published: Any) -> None:
    with unit_of_work(registry_engine) as session:
        session.execute(update(User).where(User.name.in_(["xy01a1.leader", "xy01a1h1.household"]))
                        .values(quiet_hours="22:00-07:00"))
    _tap(app, registry_engine)
    assert len(published.notices) == 1  # the direct notice is queued with the call
    run_worker(registry_engine, published.events)  # the case is dispatched to its grid as any case
    with unit_of_work(registry_engine) as session:
        case = session.scalars(select(Case)).one()
        assert session.get(CaseHousehold, case.id) is not None  # the case is about 周桂芝's household
        rows = list(session.scalars(select(Delivery).where(Delivery.case_id == case.id).order_by(Delivery.id)))
        direct = {(d.outbox.topic, session.get(User, d.user_id).name, d.status)  # type: ignore[union-attr]
                  for d in rows if d.outbox.topic == "case.love_call"}
        assert direct == {("case.love_call", "xy01a1.leader", "sent"), ("case.love_call", "xy01a1h1.household", "sent")}
        # The ordinary dispatch notice still waits for the morning.
        assert {d.status for d in rows if d.outbox.topic == "case.dispatched"} == {"pending"}
    # A second tap in the same minute is the same case and no second notice.
    _tap(app, registry_engine)
    with unit_of_work(registry_engine) as session:
        assert len(session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "case.love_call")).all()) == 1


@time_machine.travel("2026-11-20T02:00:00+00:00", tick=False)
def test_a_call_goes_first_in_the_notice_queue_and_in_the_grid_leaders_queue(
        app: Any, client: Any, registry_engine: Engine, published: Any) -> None:
    earlier = post_event(client, event({"category": "NOI"}))
    assert earlier.status_code == 202
    run_worker(registry_engine, list(published.events))  # dispatched: the case is in the queue
    with unit_of_work(registry_engine) as session:
        # The earlier case is overdue: without the call it would head the queue.
        session.execute(update(Case).values(deadline_at=datetime(2026, 11, 19, tzinfo=UTC)))
        # A backlog of ordinary notices, older than the call.
        session.add_all(OutboxMessage(kind="notify_unit", topic="case.urged", case_id=earlier.get_json()["case_id"],
                                      unit_id=session.scalar(select(User.unit_id).where(User.name == "xy01a1.leader")),
                                      payload={"case_id": earlier.get_json()["case_id"]}, created_at=wallclock.now(),
                                      dedupe_key=f"backlog-{i}") for i in range(3))
    published.events.clear()
    _tap(app, registry_engine)
    with unit_of_work(registry_engine) as session:
        deliver_due(session, batch=1)
    with unit_of_work(registry_engine) as session:
        done = list(session.scalars(select(OutboxMessage.topic).where(OutboxMessage.status == "done")
                                    .order_by(OutboxMessage.id)))
        assert done[-1] == "case.love_call" and "case.urged" not in done
    queue = Browser(app, registry_engine, "xy01a1.leader").get("/queue").text
    rows = re.findall(r'data-case="(\d+)"', queue)
    with unit_of_work(registry_engine) as session:
        love = session.scalars(select(Case.id).where(Case.channel == "love_call")).one()
    assert rows[0] == str(love) and "love-call" in queue
