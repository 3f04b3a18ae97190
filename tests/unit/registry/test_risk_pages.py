"""The risk register's pages and the case ↔ household link, as a grid leader and a branch secretary use them."""

from __future__ import annotations

import re
from typing import Any

import pytest
import time_machine
from sqlalchemy import Engine, select

from tests.unit.ui_helpers import Browser
from workflow.base.db import unit_of_work
from workflow.cases.models import Case
from workflow.registry.demo import load_demo_register
from workflow.registry.models import CaseHousehold, RiskItem


@pytest.fixture
def registry_engine(engine: Engine) -> Engine:
    with unit_of_work(engine) as session:
        load_demo_register(session)
    return engine


def test_a_risk_noticed_on_a_visit_is_checked_on_its_page_and_warns_when_late(app: Any,
                                                                              registry_engine: Engine) -> None:
    with time_machine.travel("2026-11-20T02:00:00+00:00", tick=False):
        leader = Browser(app, registry_engine, "xy01a1.leader")
        saved = leader.post_form("/registry/households/2/visit", "/registry/households/2/visit", {
            "visited_on": "2026-11-20", "outcome": "risk", "note": "楼上楼下因漏水积怨", "next_check_on": "2026-11-23"},
            follow_redirects=True)
        assert saved.status_code == 200 and "the risk is on the risk register" in saved.text
        assert "on time" in saved.text and "2026-11-23" in saved.text
        past = leader.post_form("/registry/households/2/visit", "/registry/households/2/visit", {
            "visited_on": "2026-11-20", "outcome": "risk", "note": "x", "next_check_on": "2026-11-01"})
        assert past.status_code == 422 and "the next check cannot be in the past" in past.text
    with unit_of_work(registry_engine) as session:
        risk_id = session.scalars(select(RiskItem.id)).one()
    with time_machine.travel("2026-11-24T02:00:00+00:00", tick=False):
        leader = Browser(app, registry_engine, "xy01a1.leader")
        queue = leader.get("/queue").text
        assert 'id="overdue-risks"' in queue and "risk of the register is past its check date" in queue
        listed = leader.get("/registry/risks").text
        assert f"/registry/risks/{risk_id}" in listed and "check overdue: grid leader warned" in listed
    with time_machine.travel("2026-11-26T02:00:00+00:00", tick=False):
        leader = Browser(app, registry_engine, "xy01a1.leader")
        branch = Browser(app, registry_engine, "xy01a.secretary")
        assert "check overdue: branch warned" in branch.get(f"/registry/risks/{risk_id}").text
        checked = leader.post_form(f"/registry/risks/{risk_id}", f"/registry/risks/{risk_id}", {
            "outcome": "ongoing", "note": "已协调物业维修", "next_check_on": "2026-12-03"}, follow_redirects=True)
        assert checked.status_code == 200 and "Check recorded." in checked.text and "已协调物业维修" in checked.text
        assert "on time" in checked.text and 'id="overdue-risks"' not in leader.get("/queue").text
        household = leader.get("/registry/households/2").text
        assert f"/registry/risks/{risk_id}" in household and "risk checked" in household


def test_a_check_that_logs_a_case_opens_it_and_the_case_links_to_the_household(app: Any,
                                                                              registry_engine: Engine) -> None:
    with time_machine.travel("2026-11-20T02:00:00+00:00", tick=False):
        leader = Browser(app, registry_engine, "xy01a1.leader")
        leader.post_form("/registry/households/2/visit", "/registry/households/2/visit", {
            "visited_on": "2026-11-20", "outcome": "risk", "note": "婆媳矛盾"})
        with unit_of_work(registry_engine) as session:
            risk_id = session.scalars(select(RiskItem.id)).one()
        no_category = leader.post_form(f"/registry/risks/{risk_id}", f"/registry/risks/{risk_id}", {
            "outcome": "case", "note": "矛盾激化"})
        assert no_category.status_code == 422 and "needs its category" in no_category.text
        opened = leader.post_form(f"/registry/risks/{risk_id}", f"/registry/risks/{risk_id}", {
            "outcome": "case", "note": "矛盾激化", "category": "FAM"}, follow_redirects=True)
        assert opened.status_code == 200 and "the problem is logged as a case" in opened.text
        assert 'id="case-household"' in opened.text and "/registry/households/2" in opened.text
        household = leader.get("/registry/households/2").text
        with unit_of_work(registry_engine) as session:
            case_id = session.scalars(select(Case.id)).one()
        assert f"/cases/{case_id}" in household and "Cases about this household" in household
        # A second case from the staff form, picked from the household's page, shows the first as another case.
        form = leader.get("/cases/new?household=2").text
        assert re.search(r'name="address"[^>]*value="金桂园 1号楼 1单元 202"', form) or \
            'value="金桂园 1号楼 1单元 202"' in form
        new = leader.post_form("/cases/new?household=2", "/cases/new", {
            "category": "NOI", "grid": "XY-01-A-1", "address": "金桂园 1号楼 1单元 202", "description": "夜间噪音"},
            follow_redirects=True)
        assert new.status_code == 200 and f"/cases/{case_id}" in new.text and "Its other cases" in new.text
    with unit_of_work(registry_engine) as session:
        assert {link.household_id for link in session.scalars(select(CaseHousehold))} == {2}
    # A level that sees the case but not this part of the register gets no household link.
    other = Browser(app, registry_engine, "xy01a2.leader")
    assert other.get(f"/cases/{case_id}").status_code == 404  # another grid: answered as a missing case


def test_the_risk_page_is_not_shown_outside_the_subtree(app: Any, registry_engine: Engine) -> None:
    with time_machine.travel("2026-11-20T02:00:00+00:00", tick=False):
        leader = Browser(app, registry_engine, "xy01a1.leader")
        leader.post_form("/registry/households/2/visit", "/registry/households/2/visit", {
            "visited_on": "2026-11-20", "outcome": "risk", "note": "x"})
    with unit_of_work(registry_engine) as session:
        risk_id = session.scalars(select(RiskItem.id)).one()
    other = Browser(app, registry_engine, "xy01a2.leader")
    assert other.get(f"/registry/risks/{risk_id}").status_code == 404
    street = Browser(app, registry_engine, "xy.street")
    assert street.get(f"/registry/risks/{risk_id}").status_code == 200
    assert street.post_form(f"/registry/risks/{risk_id}", f"/registry/risks/{risk_id}",
                            {"outcome": "resolved", "note": "x"}).status_code == 403


def test_a_central_household_visits_the_homes_it_looks_after_and_only_those(app: Any,
                                                                          registry_engine: Engine) -> None:
    with time_machine.travel("2026-11-20T02:00:00+00:00", tick=False):
        central = Browser(app, registry_engine, "xy01a1h1.household")  # 蒋家 looks after building 1's homes
        listed = central.get("/registry/").text
        assert listed.count("/registry/households/") == 3 and "金桂园 1号楼 1单元 202" in listed
        saved = central.post_form("/registry/households/2/visit", "/registry/households/2/visit", {
            "visited_on": "2026-11-20", "outcome": "risk", "note": "老人独居，行动不便"}, follow_redirects=True)
        assert saved.status_code == 200 and "the risk is on the risk register" in saved.text
        assert "/registry/risks/" in central.get("/registry/risks").text
        assert central.get("/registry/households/4").status_code == 404  # building 2: another central household's
