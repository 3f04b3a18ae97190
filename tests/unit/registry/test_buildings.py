"""The building register: a list of buildings and their grids imported, checked first, re-import idempotent; pages."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from openpyxl import Workbook
from sqlalchemy import Engine, select

from tests.unit.ui_helpers import Browser
from web.cli import main
from workflow.base.db import engine_for, unit_of_work
from workflow.registry.demo import load_demo_register
from workflow.registry.models import Building, RegistryStep

HEADER = ["小区名称", "楼号", "所属网格"]  # aliases of 小区, 楼栋, 网格编码


def workbook(rows: list[list[str]]) -> BytesIO:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["楼栋台账"])  # a title row above the header, as communities keep them
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    out = BytesIO()
    book.save(out)
    out.seek(0)
    return out


@pytest.fixture
def registry_engine(engine: Engine) -> Engine:
    with unit_of_work(engine) as session:
        load_demo_register(session)
    return engine


def test_a_branch_imports_its_buildings_then_again_changes_nothing(app: Any, registry_engine: Engine) -> None:
    branch = Browser(app, registry_engine, "xy01a.secretary")
    page = branch.get("/registry/buildings")
    assert page.status_code == 200 and "金桂园 1号楼" in page.text and "3 households" in page.text
    rows = [["金桂园", "3号楼", "XY-01-A-2"], ["金桂园", "1号楼", "XY-01-A-2"]]  # a new one, one moved
    checked = branch.post_form("/registry/buildings", "/registry/buildings",
                               {"file": (workbook(rows), "buildings.xlsx"), "dry_run": "y"},
                               content_type="multipart/form-data")
    assert checked.status_code == 200 and "1 buildings to add, 1 to move" in checked.text
    assert "Checked only: nothing was stored." in checked.text
    stored = branch.post_form("/registry/buildings", "/registry/buildings",
                              {"file": (workbook(rows), "buildings.xlsx")}, content_type="multipart/form-data")
    assert stored.status_code == 200 and "Stored." in stored.text and "金桂园 3号楼" in stored.text
    again = branch.post_form("/registry/buildings", "/registry/buildings",
                             {"file": (workbook(rows), "buildings.xlsx")}, content_type="multipart/form-data")
    assert "0 buildings to add, 0 to move to another grid, 2 unchanged" in again.text
    with unit_of_work(registry_engine) as session:
        moved = session.scalars(select(Building).where(Building.compound == "金桂园", Building.name == "1号楼")).one()
        assert moved.grid.code == "XY-01-A-2"
        assert len(session.scalars(select(RegistryStep).where(RegistryStep.kind == "building")).all()) == 2


def test_refused_rows_store_nothing(app: Any, registry_engine: Engine) -> None:
    branch = Browser(app, registry_engine, "xy01a.secretary")
    rows = [["金桂园", "5号楼", "XY-01-B-3"], ["", "6号楼", "XY-01-A-1"], ["金桂园", "7号楼", "XY-01-A-1"],
            ["金桂园", "7号楼", "XY-01-A-2"]]
    answer = branch.post_form("/registry/buildings", "/registry/buildings",
                              {"file": (workbook(rows), "buildings.xlsx")}, content_type="multipart/form-data")
    assert answer.status_code == 422 and "Nothing was stored" in answer.text
    assert "no grid with code &#39;XY-01-B-3&#39; in your subtree" in answer.text  # another branch's grid
    assert "this column is required" in answer.text and "the same building is already on row 5" in answer.text
    with unit_of_work(registry_engine) as session:
        assert session.scalars(select(Building).where(Building.name == "7号楼")).first() is None
    street = Browser(app, registry_engine, "xy.street")
    assert street.post_form("/registry/buildings", "/registry/buildings",
                            {"file": (workbook(rows), "b.xlsx")}, content_type="multipart/form-data").status_code == 403


def test_party_members_page_shows_the_central_household_and_its_homes(app: Any, registry_engine: Engine) -> None:
    page = Browser(app, registry_engine, "xy01a.secretary").get("/registry/party-members")
    assert page.status_code == 200 and "central household" in page.text
    assert "金桂园 1号楼 1单元 101" in page.text and "fewer than 5 households" in page.text  # the demo cares for 3
    masked = Browser(app, registry_engine, "xy.street").get("/registry/party-members")
    assert masked.status_code == 200


def test_cli_imports_buildings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("GRIDCASE_HOME", str(tmp_path / "var"))
    runner = CliRunner()
    assert runner.invoke(main, ["org", "import", "workflow/org/demo/org.yaml"]).exit_code == 0
    with unit_of_work(engine_for(url)) as session:
        load_demo_register(session)
    path = tmp_path / "b.xlsx"
    path.write_bytes(workbook([["铁路新村", "9号楼", "XY-01-B-3"]]).getvalue())
    dry = runner.invoke(main, ["registry", "buildings", str(path), "--as", "xy01.secretary", "--dry-run"])
    assert dry.exit_code == 0 and "1 buildings added" in dry.output and "nothing stored (dry run)" in dry.output
    stored = runner.invoke(main, ["registry", "buildings", str(path), "--as", "xy01.secretary"])
    assert stored.exit_code == 0 and "stored" in stored.output
    refused = runner.invoke(main, ["registry", "buildings", str(path), "--as", "xy01a.secretary"])
    assert refused.exit_code == 1 and "no grid with code 'XY-01-B-3' in your subtree" in refused.output
    party = tmp_path / "party.xlsx"
    party.write_bytes(party_workbook([["刘明", "XY-01-B", "13904769999", "否", "", "是", "义务理发"]]).getvalue())
    added = runner.invoke(main, ["registry", "party", str(party), "--as", "xy01.secretary"])
    assert added.exit_code == 0 and "1 members added" in added.output and "stored" in added.output
    outside = runner.invoke(main, ["registry", "party", str(party), "--as", "xy01a.secretary"])
    assert outside.exit_code == 1 and "no branch with code 'XY-01-B'" in outside.output


PARTY_HEADER = ["党员姓名", "支部编码", "手机号", "是否中心户", "中心户编码", "在职党员", "服务内容"]


def party_workbook(rows: list[list[str]]) -> BytesIO:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(PARTY_HEADER)
    for row in rows:
        sheet.append(row)
    out = BytesIO()
    book.save(out)
    out.seek(0)
    return out


def test_a_branch_secretary_imports_its_party_members(app: Any, registry_engine: Engine) -> None:
    secretary = Browser(app, registry_engine, "xy01a.secretary")
    rows = [["蒋家党员", "XY-01-A", "13804700990", "是", "XY-01-A-1-H1", "否", ""],  # the demo's: unchanged
            ["刘明", "XY-01-A", "13904769999", "否", "", "是", "法律咨询"]]
    stored = secretary.post_form("/registry/party-members", "/registry/party-members",
                                 {"file": (party_workbook(rows), "党员.xlsx")}, content_type="multipart/form-data")
    assert stored.status_code == 200, stored.text
    assert "1 members to add, 0 to change, 1 unchanged" in stored.text and "Stored." in stored.text
    assert "法律咨询" in stored.text and "in-service member" in stored.text
    again = secretary.post_form("/registry/party-members", "/registry/party-members",
                                {"file": (party_workbook(rows), "党员.xlsx")}, content_type="multipart/form-data")
    assert "0 members to add, 0 to change, 2 unchanged" in again.text
    bad = [["王五", "XY-01-B", "", "否", "", "否", ""], ["赵六", "XY-01-A", "12345", "是", "", "也许", ""]]
    refused = secretary.post_form("/registry/party-members", "/registry/party-members",
                                  {"file": (party_workbook(bad), "党员.xlsx")}, content_type="multipart/form-data")
    assert refused.status_code == 422 and "Nothing was stored" in refused.text
    assert "no branch with code &#39;XY-01-B&#39; in your subtree" in refused.text
    assert "neither an 11-digit mobile number" in refused.text and "write 是 or 否" in refused.text
    assert "a central household needs the code of its unit" in refused.text
    leader = Browser(app, registry_engine, "xy01a1.leader")
    assert leader.post_form("/registry/party-members", "/registry/party-members",
                            {"file": (party_workbook(rows), "党员.xlsx")},
                            content_type="multipart/form-data").status_code == 403
