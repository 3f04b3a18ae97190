"""``gridcase registry import|export``: the report, the refused rows file, exit codes, re-import, export."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import time_machine
from click.testing import CliRunner
from openpyxl import load_workbook

from tests.unit.registry.test_importer import good_rows, workbook
from web.cli import main
from workflow.base.db import engine_for, unit_of_work
from workflow.org.members import user_by_name
from workflow.registry.demo import load_demo_register
from workflow.registry.risks import open_risk


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("GRIDCASE_HOME", str(tmp_path / "var"))
    runner = CliRunner()
    assert runner.invoke(main, ["org", "import", "workflow/org/demo/org.yaml"]).exit_code == 0
    with unit_of_work(engine_for(url)) as session:
        load_demo_register(session)
    return runner


def test_import_dry_run_then_store_then_again(runner: CliRunner, tmp_path: Path) -> None:
    path = workbook(tmp_path, good_rows())
    dry = runner.invoke(main, ["registry", "import", str(path), "--dry-run", "--sheet", "住户台账"])
    assert dry.exit_code == 0, dry.output
    assert "residents added 3" in dry.output and "dry run: nothing stored" in dry.output
    stored = runner.invoke(main, ["registry", "import", str(path), "--as", "xy01a1.leader"])
    assert stored.exit_code == 0 and "stored" in stored.output and "residents added 3" in stored.output
    again = runner.invoke(main, ["registry", "import", str(path)])
    assert "residents added 0, changed 0, unchanged 3" in again.output


def test_refused_rows_exit_1_and_go_to_a_workbook(runner: CliRunner, tmp_path: Path) -> None:
    rows = good_rows()
    rows[1][10] = "150404196502020021"
    path = workbook(tmp_path, rows)
    result = runner.invoke(main, ["registry", "import", str(path)])
    assert result.exit_code == 1, result.output
    assert "row 4, 身份证号: fails the GB 11643 checksum" in result.output
    refused = load_workbook(tmp_path / "ledger.refused.xlsx").active
    assert refused is not None and list(refused.iter_rows(values_only=True))[1] == (
        4, "身份证号", "fails the GB 11643 checksum")
    good_only = runner.invoke(main, ["registry", "import", str(path), "--good-rows-only"])
    assert good_only.exit_code == 0 and "residents added 2" in good_only.output


def test_unknown_sheet_and_export(runner: CliRunner, tmp_path: Path) -> None:
    path = workbook(tmp_path, good_rows())
    missing = runner.invoke(main, ["registry", "import", str(path), "--sheet", "Sheet9"])
    assert missing.exit_code == 2 and "no sheet 'Sheet9'" in missing.output
    out = tmp_path / "export.xlsx"
    exported = runner.invoke(main, ["registry", "export", str(out), "--as", "xy01.secretary"])
    assert exported.exit_code == 0 and "20 rows" in exported.output  # 4 buildings, 5 residents each
    rows = list(load_workbook(out).active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert rows[1][5] == "周*芝"  # a general branch secretary's export is masked


@time_machine.travel("2026-11-20T02:00:00+00:00", tick=False)
def test_risks_lists_the_register_of_a_members_subtree(runner: CliRunner, tmp_path: Path) -> None:
    with unit_of_work(engine_for(f"sqlite:///{tmp_path / 'cli.sqlite3'}")) as session:
        leader = user_by_name(session, "xy01a1.leader")
        open_risk(session, leader, 2, kind="tension", description="邻里因停车争执", next_check_on=date(2026, 11, 27))
    listed = runner.invoke(main, ["registry", "risks", "--as", "xy01a.secretary"])
    assert listed.exit_code == 0, listed.output
    assert "on_time\t2026-11-27\tXY-01-A-1\t金桂园 1号楼 1单元 202\t邻里因停车争执" in listed.output
    assert "1 risks" in listed.output
    assert "0 risks" in runner.invoke(main, ["registry", "risks", "--as", "xy01a2.leader"]).output
    assert "0 risks" in runner.invoke(main, ["registry", "risks", "--as", "xy01a.secretary", "--overdue"]).output
    assert runner.invoke(main, ["registry", "risks", "--as", "nobody"]).exit_code == 2
