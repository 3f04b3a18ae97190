"""Patrol visits: recorded by a grid leader, a problem becomes a case in one step, monthly coverage per grid."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from sqlalchemy import Engine, select

from tests.unit.helpers import token_for
from workflow.base.db import unit_of_work
from workflow.cases.models import Case
from workflow.registry.demo import load_demo_register
from workflow.registry.models import RegistryStep, Visit

NOW = "2026-11-20T02:00:00+00:00"


@pytest.fixture
def registry_engine(engine: Engine) -> Engine:
    with unit_of_work(engine) as session:
        load_demo_register(session)
    return engine


@time_machine.travel(NOW, tick=False)
def test_a_visit_that_finds_a_dispute_becomes_a_case(registry_engine: Engine, client: Any, published: Any) -> None:
    leader = token_for(registry_engine, "xy01a1.leader")
    answer = client.post("/api/v1/visits", headers=leader, json={
        "household": 2, "met": "孙立军", "outcome": "case", "note": "与楼上因漏水争执",
        "case": {"category": "NEI"}})
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert body["case_id"] and body["tracking_code"]
    assert published.events  # the case's handling was queued
    with unit_of_work(registry_engine) as session:
        case = session.get(Case, body["case_id"])
        assert case is not None
        assert (case.grid_unit.code, case.channel, case.category, case.description) == (
            "XY-01-A-1", "grid_patrol", "NEI", "与楼上因漏水争执")
        visit = session.scalars(select(Visit)).one()
        assert (visit.case_id, visit.visitor, visit.visited_on.isoformat()) == (case.id, "xy01a1.leader", "2026-11-20")
        step = session.scalars(select(RegistryStep).where(RegistryStep.kind == "visit")).one()
        assert step.household_id == 2 and step.detail["case"] == case.id


@time_machine.travel(NOW, tick=False)
def test_visit_refusals(registry_engine: Engine, client: Any) -> None:
    leader = token_for(registry_engine, "xy01a1.leader")
    no_category = client.post("/api/v1/visits", headers=leader, json={"household": 2, "outcome": "case"})
    assert no_category.status_code == 422 and no_category.get_json()["problems"][0]["field"] == "case.category"
    other_grid = client.post("/api/v1/visits", headers=leader, json={"household": 4, "outcome": "nothing"})
    assert other_grid.status_code == 404
    future = client.post("/api/v1/visits", headers=leader,
                         json={"household": 1, "outcome": "nothing", "visited_on": "2026-12-01"})
    assert future.status_code == 422
    secretary = token_for(registry_engine, "xy01a.secretary")
    assert client.post("/api/v1/visits", headers=secretary,
                       json={"household": 1, "outcome": "nothing"}).status_code == 403
    with unit_of_work(registry_engine) as session:
        assert session.scalars(select(Visit)).first() is None and session.scalars(select(Case)).first() is None


@time_machine.travel(NOW, tick=False)
def test_monthly_coverage_per_grid(registry_engine: Engine, client: Any) -> None:
    leader = token_for(registry_engine, "xy01a1.leader")
    for household, day in ((1, "2026-11-03"), (1, "2026-11-10"), (2, "2026-11-12"), (3, "2026-10-30")):
        assert client.post("/api/v1/visits", headers=leader, json={
            "household": household, "outcome": "nothing", "visited_on": day}).status_code == 201
    branch = token_for(registry_engine, "xy01a.secretary")
    answer = client.get("/api/v1/analysis/coverage?unit=XY-01-A&month=2026-11", headers=branch)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert (body["households"], body["visited"], body["visits"]) == (6, 2, 3)
    first, second = body["grids"]
    assert (first["grid"], first["visited"], first["coverage"]) == ("XY-01-A-1", 2, 0.6667)
    assert [h["address"] for h in first["not_visited"]] == ["金桂园 1号楼 2单元 301"]
    assert (second["grid"], second["coverage"]) == ("XY-01-A-2", 0.0)
    october = client.get("/api/v1/analysis/coverage?unit=XY-01-A-1&month=2026-10", headers=branch).get_json()
    assert october["visited"] == 1
    assert client.get("/api/v1/analysis/coverage?unit=XY-01-A&month=2026-11", headers=leader).status_code == 404
    assert client.get("/api/v1/analysis/coverage?unit=XY-01-A&month=2026-13", headers=branch).status_code == 422


@time_machine.travel(NOW, tick=False)
def test_tagged_households_are_due_by_their_own_cycle(registry_engine: Engine, client: Any) -> None:
    leader = token_for(registry_engine, "xy01a1.leader")
    # Household 1: 周桂芝, empty-nest and living alone (weekly); 3: 马秀兰, disabled (every 14 days); 2: no tag.
    for household, day in ((1, "2026-11-03"), (3, "2026-11-10"), (2, "2026-11-01")):
        assert client.post("/api/v1/visits", headers=leader, json={
            "household": household, "outcome": "nothing", "visited_on": day}).status_code == 201
    grid = client.get("/api/v1/analysis/coverage?unit=XY-01-A-1&month=2026-11", headers=leader).get_json()["grids"][0]
    assert grid["coverage"] == 1.0  # every household was visited in the month…
    assert grid["due_by_tag"] == [  # …but the one living alone not in the last week
        {"id": 1, "address": "金桂园 1号楼 1单元 101", "every_days": 7, "last_visited": "2026-11-03"}]
    other = client.get("/api/v1/analysis/coverage?unit=XY-01-A-2&month=2026-11", headers=leader)
    assert other.status_code == 404
    branch = token_for(registry_engine, "xy01a.secretary")
    never = client.get("/api/v1/analysis/coverage?unit=XY-01-A-2&month=2026-11", headers=branch).get_json()
    assert [(h["every_days"], h["last_visited"]) for h in never["grids"][0]["due_by_tag"]] == [(7, None), (14, None)]


@time_machine.travel(NOW, tick=False)
def test_the_analysis_dashboard_shows_visit_coverage(app: Any, registry_engine: Engine, client: Any) -> None:
    from tests.unit.ui_helpers import Browser

    leader = token_for(registry_engine, "xy01a1.leader")
    for household, day in ((1, "2026-11-03"), (2, "2026-11-12"), (1, "2026-10-20")):
        client.post("/api/v1/visits", headers=leader, json={"household": household, "outcome": "nothing",
                                                            "visited_on": day})
    page = Browser(app, registry_engine, "xy01a.secretary").get("/analysis?period=month").text
    tile = page[page.index('id="tile-visit-coverage"'):]
    tile = tile[:tile.index("</article>")]
    assert "2026-11" in tile and "33.3%" in tile and "2/6" in tile and "16.7%" in tile  # October: 1 of 6
