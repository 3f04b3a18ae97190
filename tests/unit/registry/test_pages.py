"""The registers' pages: the list and search, a household masked then revealed, the upload, the export."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
import time_machine
from openpyxl import Workbook, load_workbook
from sqlalchemy import Engine, select

from tests.unit.registry.test_importer import HEADER, good_rows
from tests.unit.ui_helpers import Browser
from workflow.base.db import unit_of_work
from workflow.cases.models import Case
from workflow.registry.demo import load_demo_register
from workflow.registry.models import RegistryStep, Resident, Visit


@pytest.fixture
def registry_engine(engine: Engine) -> Engine:
    with unit_of_work(engine) as session:
        load_demo_register(session)
    return engine


def xlsx(rows: list[list[object]]) -> BytesIO:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    out = BytesIO()
    book.save(out)
    out.seek(0)
    return out


def test_list_search_and_household(app: Any, registry_engine: Engine) -> None:
    leader = Browser(app, registry_engine, "xy01a1.leader")
    page = leader.get("/registry/")
    assert page.status_code == 200 and page.text.count("/registry/households/") == 3
    assert "金桂园 1号楼 1单元 101" in leader.get("/registry/?q=1单元101").text
    masked = leader.get("/registry/households/1").text
    assert "周*芝" in masked and "周桂芝" not in masked and "Show full details" in masked
    shown = leader.post_form("/registry/households/1", "/registry/households/1/reveal", {}).text
    assert "周桂芝" in shown and "details shown" in shown
    assert leader.get("/registry/households/4").status_code == 404


def test_a_street_member_sees_masked_only(app: Any, registry_engine: Engine) -> None:
    street = Browser(app, registry_engine, "xy.street")
    assert "Show full details" not in street.get("/registry/households/1").text
    assert street.post_form("/registry/households/1", "/registry/households/1/reveal", {}).status_code == 403


def test_upload_refuses_then_stores_good_rows_only(app: Any, registry_engine: Engine, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDCASE_HOME", str(tmp_path))
    leader = Browser(app, registry_engine, "xy01a1.leader")
    rows = good_rows()  # the third row is another grid's building: unknown to this leader
    answer = leader.post_form("/registry/import", "/registry/import",
                              {"file": (xlsx(rows), "台账.xlsx"), "dry_run": ""},
                              content_type="multipart/form-data")
    assert answer.status_code == 200
    assert "Nothing was stored" in answer.text and "no building &#39;3号楼&#39; in compound &#39;铁路新村&#39;" in answer.text
    link = answer.text.split('href="/registry/import/refused/')[1].split('"')[0]
    refused = load_workbook(BytesIO(leader.get(f"/registry/import/refused/{link}").data)).active
    assert refused is not None and list(refused.iter_rows(values_only=True))[1][:2] == (4, "楼栋")
    answer = leader.post_form("/registry/import", "/registry/import",
                              {"file": (xlsx(rows), "台账.xlsx"), "good_rows_only": "y"},
                              content_type="multipart/form-data")
    assert "Stored." in answer.text
    with unit_of_work(registry_engine) as session:
        assert [r for r in session.scalars(select(Resident)) if r.name == "吴国庆"]


def test_export_page_is_logged(app: Any, registry_engine: Engine) -> None:
    leader = Browser(app, registry_engine, "xy01a1.leader")
    answer = leader.get("/registry/export.xlsx")
    rows = list(load_workbook(BytesIO(answer.data)).active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert len(rows) == 1 + 5 and rows[1][5] == "周桂芝"  # a grid leader's export has full details
    with unit_of_work(registry_engine) as session:
        assert session.scalars(select(RegistryStep.actor).where(RegistryStep.kind == "export")).one() == "xy01a1.leader"


@time_machine.travel("2026-11-20T02:00:00+00:00", tick=False)
def test_a_visit_from_the_phone_that_finds_a_dispute_becomes_a_case(app: Any, registry_engine: Engine) -> None:
    leader = Browser(app, registry_engine, "xy01a1.leader")
    assert "Record a visit" in leader.get("/registry/households/2").text
    page = "/registry/households/2/visit"
    missing = leader.post_form(page, page, {"outcome": "case", "note": "与楼上因漏水争执", "category": ""})
    assert missing.status_code == 422 and "needs its category" in missing.text
    answer = leader.post_form(page, page, {"outcome": "case", "met": "孙立军", "note": "与楼上因漏水争执",
                                           "category": "NEI", "visited_on": "2026-11-19"})
    assert answer.status_code == 302 and "/cases/" in answer.headers["Location"]
    with unit_of_work(registry_engine) as session:
        visit = session.scalars(select(Visit)).one()
        case = session.get(Case, visit.case_id)
        assert case is not None and (case.channel, case.description) == ("grid_patrol", "与楼上因漏水争执")
    history = leader.get("/registry/households/2").text
    assert "visited" in history
    branch = Browser(app, registry_engine, "xy01a.secretary")
    coverage = branch.get("/registry/coverage?month=2026-11").text
    assert "1 of 6 households visited in 2026-11 (1 visits)." in coverage and "金桂园 1号楼 1单元 101" in coverage


def test_the_new_case_form_takes_an_address_of_my_subtree(app: Any, registry_engine: Engine) -> None:
    branch = Browser(app, registry_engine, "xy01a.secretary")
    form = branch.get("/cases/new").text
    assert '<option value="金桂园 2号楼 1单元 101">' in form  # the address picker offers the register's rooms
    data = {"category": "NOI", "grid": "XY-01-A-1", "severity": "", "description": "楼上夜间装修噪音"}
    answer = branch.post_form("/cases/new", "/cases/new", {**data, "address": "金桂园2号楼1单元101"})
    assert answer.status_code == 302, answer.text
    with unit_of_work(registry_engine) as session:
        case = session.get(Case, int(answer.headers["Location"].rsplit("/", 1)[1]))
        assert case is not None and case.grid_unit.code == "XY-01-A-2"
    unknown = branch.post_form("/cases/new", "/cases/new", {**data, "address": "铁路新村3号楼"})
    assert unknown.status_code == 422 and "No building of the register matches" not in unknown.text
    assert "no building of the register matches" in unknown.text  # another branch's building is not offered
