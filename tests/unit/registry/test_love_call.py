"""The 爱心呼叫 one-tap link: a card for vulnerable residents only, a tap is a P1 love_call case, a double tap one case."""

from __future__ import annotations

import re
from typing import Any

import pytest
import time_machine
from sqlalchemy import Engine, select

from tests.unit.ui_helpers import Browser, csrf_of
from workflow.base.db import unit_of_work
from workflow.cases.models import Case
from workflow.registry.demo import load_demo_register
from workflow.registry.models import Resident


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
