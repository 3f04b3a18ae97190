"""Address matching (exact, partial, ambiguous, none), routing a complaint by address, the registry API."""

from __future__ import annotations

import json
from io import BytesIO
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, select

from tests.unit.helpers import event, post_event, token_for
from workflow.base.db import unit_of_work
from workflow.base.errors import InvalidInput
from workflow.cases.models import Case
from workflow.registry.addresses import match
from workflow.registry.demo import load_demo_register
from workflow.registry.models import Building, RegistryStep


@pytest.fixture
def registry_engine(engine: Engine) -> Engine:
    with unit_of_work(engine) as session:
        load_demo_register(session)
    return engine


@pytest.mark.parametrize(("text", "grid", "room"), [
    ("金桂园1号楼1单元101", "XY-01-A-1", "101"),          # exact, to the room
    ("金桂园小区 1栋 1单元 101室", "XY-01-A-1", "101"),   # as people write it
    ("金桂园2号楼", "XY-01-A-2", None),                 # partial: the building is enough for the grid
    ("金桂园2号楼9单元999", "XY-01-A-2", None),          # a room not in the register: still that building
    ("金桂园二号楼", "XY-01-A-2", None),                # numbers in Chinese
    ("铁路新村三栋一单元101", "XY-01-B-3", "101"),
])
def test_match(registry_engine: Engine, text: str, grid: str, room: str | None) -> None:
    with unit_of_work(registry_engine) as session:
        found = match(session, text)
        assert found.grid_code == grid
        assert (found.address.room if found.address else None) == room


def test_longest_building_name_wins(registry_engine: Engine) -> None:
    with unit_of_work(registry_engine) as session:
        grid = session.scalars(select(Building).where(Building.name == "1号楼")).first().grid_unit_id  # type: ignore[union-attr]
        session.add(Building(compound="金桂园", name="11号楼", grid_unit_id=grid))
        session.flush()
        assert match(session, "金桂园11号楼").building.name == "11号楼"


def test_ambiguous_and_none(registry_engine: Engine) -> None:
    with unit_of_work(registry_engine) as session:
        other = session.scalars(select(Building).where(Building.compound == "铁路新村")).first()
        assert other is not None
        session.add(Building(compound="金桂园", name="铁路新村3号楼", grid_unit_id=other.grid_unit_id))
        session.add(Building(compound="金桂", name="园1号楼", grid_unit_id=other.grid_unit_id))
        session.flush()
        with pytest.raises(InvalidInput, match="several buildings"):
            match(session, "金桂园1号楼")
    with unit_of_work(registry_engine) as session:
        with pytest.raises(InvalidInput, match="closest: 金桂园 2号楼") as exc:
            match(session, "金桂园8号楼")
        assert exc.value.field == "address"
        with pytest.raises(InvalidInput, match="closest: -"):
            match(session, "火星基地")


def test_a_complaint_by_address_goes_to_that_buildings_grid(registry_engine: Engine, client: Any) -> None:
    body = event({"address": "铁路新村3号楼1单元101"})
    del body["data"]["grid"]
    answer = post_event(client, body)
    assert answer.status_code == 202, answer.get_json()
    with unit_of_work(registry_engine) as session:
        case = session.get(Case, answer.get_json()["case_id"])
        assert case is not None and case.grid_unit.code == "XY-01-B-3"


def test_a_complaint_by_household(registry_engine: Engine, client: Any) -> None:
    body = event({"household": 4})
    del body["data"]["grid"]
    answer = post_event(client, body)
    assert answer.status_code == 202, answer.get_json()
    with unit_of_work(registry_engine) as session:
        case = session.get(Case, answer.get_json()["case_id"])
        assert case is not None and case.grid_unit.code == "XY-01-A-2"


def test_an_unknown_address_is_a_422_with_the_closest(registry_engine: Engine, client: Any) -> None:
    body = event({"address": "金桂园8号楼"})
    del body["data"]["grid"]
    answer = post_event(client, body)
    assert answer.status_code == 422
    problem = answer.get_json()["problems"][0]
    assert problem["field"] == "data.address" and "金桂园 1号楼" in problem["problem"]


def test_no_place_at_all_is_a_422(registry_engine: Engine, client: Any) -> None:
    body = event()
    del body["data"]["grid"]
    answer = post_event(client, body)
    assert answer.status_code == 422 and "grid, address or household" in answer.get_json()["message"]


def test_batch_names_the_event_whose_address_is_unknown(registry_engine: Engine, client: Any) -> None:
    good, bad = event({"address": "金桂园1号楼"}), event({"address": "无名小区"})
    del good["data"]["grid"], bad["data"]["grid"]
    answer = client.post("/api/v1/events", data=json.dumps([good, bad], ensure_ascii=False),
                         content_type="application/cloudevents-batch+json")
    assert answer.status_code == 422 and answer.get_json()["problems"][0]["field"] == "[1].data.address"


def test_addresses_are_searched_in_the_callers_subtree(registry_engine: Engine, client: Any) -> None:
    leader = token_for(registry_engine, "xy01a1.leader")
    found = client.get("/api/v1/addresses?q=金桂园", headers=leader).get_json()["addresses"]
    assert {a["grid"] for a in found} == {"XY-01-A-1"} and len(found) == 3
    street = token_for(registry_engine, "xy.street")
    assert len(client.get("/api/v1/addresses?q=1单元", headers=street).get_json()["addresses"]) == 20
    assert client.get("/api/v1/addresses?q=金桂园").status_code == 401


def test_household_is_masked_and_a_reveal_is_logged(registry_engine: Engine, client: Any) -> None:
    street = token_for(registry_engine, "xy.street")
    masked = client.get("/api/v1/households/1", headers=street).get_json()
    resident = masked["residents"][0]
    assert resident["name"] == "周*芝" and resident["phone"].count("*") == 4
    assert resident["id_number"].startswith("1504**********")
    assert resident["tags"][0] == {"code": "empty_nest", "label": "空巢老人"}
    assert client.get("/api/v1/households/1?reveal=true", headers=street).status_code == 403
    leader = token_for(registry_engine, "xy01a1.leader")
    full = client.get("/api/v1/households/1?reveal=true", headers=leader).get_json()
    assert full["residents"][0]["name"] == "周桂芝" and full["steps"][-1]["kind"] == "reveal"
    assert full["steps"][-1]["actor"] == "xy01a1.leader"
    # Another grid's household is not there for this leader.
    assert client.get("/api/v1/households/4", headers=leader).status_code == 404


def test_export_is_masked_per_role_and_logged(registry_engine: Engine, client: Any) -> None:
    street = token_for(registry_engine, "xy.street")
    answer = client.get("/api/v1/registry/export", headers=street)
    assert answer.status_code == 200
    rows = list(load_workbook(BytesIO(answer.data)).active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert rows[0][:6] == ("小区", "楼栋", "单元", "楼层", "房号", "姓名")
    assert len(rows) == 1 + 12 * 5 and rows[1][5] == "周*芝"
    with unit_of_work(registry_engine) as session:
        step = session.scalars(select(RegistryStep).where(RegistryStep.kind == "export")).one()
        assert (step.actor, step.detail["masked"], step.detail["rows"]) == ("xy.street", True, 60)


def test_routes_are_in_openapi(client: Any) -> None:
    paths = client.get("/openapi.json").get_json()["paths"]
    assert {"/api/v1/addresses", "/api/v1/households/{household_id}", "/api/v1/registry/export", "/api/v1/visits",
            "/api/v1/analysis/coverage", "/api/v1/party-members"} <= set(paths)
