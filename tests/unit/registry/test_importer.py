"""The 台账 importer on workbooks made here with openpyxl: good rows, every kind of bad row, re-import, dry run."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import Engine, func, select

from workflow.base.db import unit_of_work
from workflow.base.errors import InvalidInput
from workflow.base.vault import blind
from workflow.registry import idnumber
from workflow.registry.demo import load_demo_register
from workflow.registry.importer import import_rows, problems_workbook, read_rows
from workflow.registry.models import Household, RegistryStep, Resident

HEADER = ["小区", "楼栋", "单元", "楼层", "房号", "名字", "与户主关系", "性别", "出生日期", "手机号", "身份证号码", "标签"]
ID_A = idnumber.make("15040419600101001")
ID_B = idnumber.make("15040419650202002")
ID_C = idnumber.make("15040419900303003")


def good_rows() -> list[list[object]]:
    return [
        ["金桂园", "1号楼", "3单元", 5, "501", "吴国庆", "户主", "男", "1960-01-01", "13904761111", ID_A, "空巢老人、独居"],
        ["金桂园", "1号楼", "3单元", 5, "501", "郑淑芬", "配偶", "女", "1965-02-02", "13904762222", ID_B, ""],
        ["铁路新村", "3号楼", "1单元", 6, "601", "冯小军", "户主", "男", "1990-03-03", "0476-8123456", ID_C, "低保"],
    ]


def workbook(tmp_path: Path, rows: list[list[object]], title: bool = True, name: str = "ledger.xlsx") -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "住户台账"
    if title:
        sheet.append(["新华社区住户台账（2026年）"])  # a title row above the header, as communities make them
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    path = tmp_path / name
    book.save(path)
    return path


@pytest.fixture
def registry_engine(engine: Engine) -> Engine:
    with unit_of_work(engine) as session:
        load_demo_register(session)
    return engine


def run(engine: Engine, path: Path, dry_run: bool = False, good_rows_only: bool = False) -> Any:
    with unit_of_work(engine) as session:
        return import_rows(session, read_rows(path), "tester", dry_run=dry_run, good_rows_only=good_rows_only)


def count(engine: Engine, model: type) -> int:
    with unit_of_work(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_good_rows_are_stored_with_a_step_per_household(registry_engine: Engine, tmp_path: Path) -> None:
    before = count(registry_engine, Resident)
    report = run(registry_engine, workbook(tmp_path, good_rows()))
    assert report.problems == [] and report.stored
    assert report.households_added == 2 and report.residents_added == 3
    assert count(registry_engine, Resident) == before + 3
    with unit_of_work(registry_engine) as session:
        wu = session.scalars(select(Resident).where(Resident.id_number_index == blind(ID_A, "id_number"))).one()
        assert (wu.phone, wu.sex, wu.tags, str(wu.birth_date)) == (
            "13904761111", "M", ["empty_nest", "alone"], "1960-01-01")
        assert wu.household.address.building.grid.code == "XY-01-A-1"
        steps = session.scalars(select(RegistryStep).where(RegistryStep.household_id == wu.household_id)).all()
        assert [(s.kind, s.actor) for s in steps] == [("import", "tester")]


def test_reimporting_the_same_file_changes_nothing(registry_engine: Engine, tmp_path: Path) -> None:
    path = workbook(tmp_path, good_rows())
    run(registry_engine, path)
    residents, households, steps = (count(registry_engine, m) for m in (Resident, Household, RegistryStep))
    report = run(registry_engine, path)
    assert (report.residents_added, report.residents_changed, report.residents_unchanged) == (0, 0, 3)
    assert (count(registry_engine, Resident), count(registry_engine, Household),
            count(registry_engine, RegistryStep)) == (residents, households, steps)


def test_a_changed_phone_is_one_step(registry_engine: Engine, tmp_path: Path) -> None:
    run(registry_engine, workbook(tmp_path, good_rows()))
    rows = good_rows()
    rows[0][9] = "13904769999"
    report = run(registry_engine, workbook(tmp_path, rows, name="v2.xlsx"))
    assert report.residents_changed == 1
    with unit_of_work(registry_engine) as session:
        wu = session.scalars(select(Resident).where(Resident.id_number_index == blind(ID_A, "id_number"))).one()
        assert wu.phone == "13904769999"
        last = session.scalars(select(RegistryStep).where(RegistryStep.household_id == wu.household_id)
                               .order_by(RegistryStep.id.desc())).first()
        assert last is not None and last.detail == {"rows": [{"changed": "吴国庆", "fields": ["phone"]}]}


BAD = [
    # (what to change in a good row, the column named, a word of the problem)
    ({9: "1390476"}, "联系电话", "11-digit"),
    ({10: ID_A[:-1] + ("0" if ID_A[-1] != "0" else "1")}, "身份证号", "checksum"),
    ({10: "15040419601301001X"}, "身份证号", "birth date"),
    ({10: "1504041960"}, "身份证号", "18 characters"),
    ({10: 150404196001010010}, "身份证号", "as a number"),
    ({1: "99号楼"}, "楼栋", "no building '99号楼'"),
    ({5: ""}, "姓名", "empty"),
    ({7: "未知"}, "性别", "男 or 女"),
    ({8: "去年"}, "出生日期", "not a date"),
    ({11: "富裕"}, "标签", "unknown tag"),
]


@pytest.mark.parametrize(("change", "column", "word"), BAD)
def test_a_bad_row_blocks_the_whole_file(registry_engine: Engine, tmp_path: Path, change: dict[int, object],
                                         column: str, word: str) -> None:
    rows = good_rows()
    for position, value in change.items():
        rows[2][position] = value
    before = count(registry_engine, Resident)
    report = run(registry_engine, workbook(tmp_path, rows))
    assert [(p.row, p.column) for p in report.problems] == [(5, column)]
    assert word in report.problems[0].text
    assert not report.stored and count(registry_engine, Resident) == before


def test_good_rows_only_stores_the_others(registry_engine: Engine, tmp_path: Path) -> None:
    rows = good_rows()
    rows[2][9] = "12345"
    before = count(registry_engine, Resident)
    report = run(registry_engine, workbook(tmp_path, rows), good_rows_only=True)
    assert report.stored and report.refused_rows == 1
    assert count(registry_engine, Resident) == before + 2


def test_the_same_person_twice(registry_engine: Engine, tmp_path: Path) -> None:
    rows = good_rows()
    rows.append(["铁路新村", "3号楼", "1单元", 6, "602", "吴国庆", "户主", "男", "", "", ID_A, ""])
    rows.append(list(rows[1]))  # the same name in the same room again
    rows[-1][10] = ""
    report = run(registry_engine, workbook(tmp_path, rows))
    assert [(p.row, p.column, p.text) for p in report.problems] == [
        (6, "身份证号", "the same person as row 3"), (7, "姓名", "the same person as row 4")]


def test_a_person_registered_elsewhere_is_refused(registry_engine: Engine, tmp_path: Path) -> None:
    run(registry_engine, workbook(tmp_path, good_rows()))
    moved = [["铁路新村", "3号楼", "1单元", 6, "602", "吴国庆", "户主", "男", "", "", ID_A, ""]]
    report = run(registry_engine, workbook(tmp_path, moved, name="moved.xlsx"))
    assert report.problems[0].text == "this person is already registered at another address"


def test_dry_run_stores_nothing_and_says_what_it_would_do(registry_engine: Engine, tmp_path: Path) -> None:
    before = count(registry_engine, Resident)
    report = run(registry_engine, workbook(tmp_path, good_rows()), dry_run=True)
    assert (report.residents_added, report.stored) == (3, False)
    assert count(registry_engine, Resident) == before


def test_csv_in_gbk_with_the_same_headers(registry_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "ledger.csv"
    lines = [",".join(HEADER)] + [",".join(str(c) for c in row) for row in good_rows()]
    path.write_bytes("\n".join(lines).encode("gb18030"))
    report = run(registry_engine, path)
    assert report.stored and report.residents_added == 3


def test_a_file_without_the_required_headers_is_refused(registry_engine: Engine, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["小区", "楼栋", "姓名"])
    path = tmp_path / "short.xlsx"
    book.save(path)
    with pytest.raises(InvalidInput, match="lacks the columns 房号、与户主关系"):
        run(registry_engine, path)


def test_the_refused_rows_report_is_a_workbook(registry_engine: Engine, tmp_path: Path) -> None:
    rows = good_rows()
    rows[0][9] = "1"
    report = run(registry_engine, workbook(tmp_path, rows))
    sheet = load_workbook(BytesIO(problems_workbook(report.problems))).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == ("行", "列", "问题") and values[1][:2] == (3, "联系电话")


def test_an_interrupted_import_stores_nothing_and_runs_again_whole(registry_engine: Engine, tmp_path: Path) -> None:
    path = workbook(tmp_path, good_rows())
    before = count(registry_engine, Resident)

    def stop_at_row_4(number: int) -> None:
        if number == 4:
            raise KeyboardInterrupt  # Ctrl-C, or a worker killed, half-way through the file

    with pytest.raises(KeyboardInterrupt), unit_of_work(registry_engine) as session:
        import_rows(session, read_rows(path), "tester", progress=stop_at_row_4)
    assert count(registry_engine, Resident) == before
    report = run(registry_engine, path)
    assert report.stored and report.residents_added == 3 and count(registry_engine, Resident) == before + 3
