"""Exports (CSV with a BOM, XLSX; masked by role; on record) and the monthly report (sheets, snapshot, CLI)."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import Engine, func, select

from tests.conftest import Published
from tests.unit.helpers import REPORTER_PHONE, event, post_event, run_worker, token_for
from tests.unit.ui_helpers import Browser, csrf_of
from web.cli import main
from workflow.analysis.models import ExportLog, Report
from workflow.analysis.periods import local_today, month_of
from workflow.analysis.refresh import refresh_facts
from workflow.analysis.report import SHEETS, build
from workflow.base.db import unit_of_work
from workflow.cases.models import CaseEvent


def pdf_text(data: bytes) -> str:
    """The text of a PDF, as a reader would copy it (poppler's pdftotext)."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    return subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()


@pytest.fixture
def case_ids(client: FlaskClient, engine: Engine, published: Published) -> list[int]:
    ids = []
    for category in ("NOI", "NOI", "PRO"):
        answer = post_event(client, event({"category": category, "description": f"噪音，联系人{REPORTER_PHONE}"}))
        ids.append(int(answer.get_json()["case_id"]))
    run_worker(engine, published.events)
    with unit_of_work(engine) as session:
        refresh_facts(session)
    return ids


def test_the_queue_exports_to_csv_with_a_bom_in_full_for_the_grid_that_holds_it(
        app: Any, engine: Engine, case_ids: list[int]) -> None:
    answer = Browser(app, engine, "xy01a1.leader").get("/exports/queue.csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert answer.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(answer.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Case", "Grid", "Category"]
    assert sorted(int(r[0]) for r in rows[1:]) == case_ids
    assert rows[1][rows[0].index("Reporter's phone")] == REPORTER_PHONE  # the grid handles these cases
    with unit_of_work(engine) as session:
        logged = session.scalars(select(ExportLog)).one()
        assert (logged.user_name, logged.kind, logged.file_format, logged.case_count) == (
            "xy01a1.leader", "queue", "csv", 3)
        assert sorted(logged.case_ids) == case_ids and logged.unmasked == 3
        # Shown in full, each case has the export on its own timeline, naming it.
        steps = session.scalars(select(CaseEvent).where(CaseEvent.kind == "reveal")).all()
        assert sorted(s.case_id for s in steps) == case_ids
        assert {s.actor for s in steps} == {"xy01a1.leader"} and not any(s.public for s in steps)
        assert all(f"export #{logged.id} (queue, csv)" in (s.reason or "") for s in steps)


def test_a_figure_exports_to_xlsx_masked_for_the_street(app: Any, engine: Engine, case_ids: list[int]) -> None:
    today = local_today().isoformat()
    answer = Browser(app, engine, "xy.street").get(
        f"/exports/figure.xlsx?unit=XY&from={today}&to={today}&kpi=received&part=numerator")
    assert answer.status_code == 200
    sheet = load_workbook(io.BytesIO(answer.data)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    assert len(rows) == 4 and sorted(int(str(r[0])) for r in rows[1:]) == case_ids
    assert {r[header.index("Reporter's phone")] for r in rows[1:]} == {"138****5678"}
    assert {r[header.index("Reporter")] for r in rows[1:]} == {"王*明"}
    assert all(REPORTER_PHONE not in str(r[header.index("Description")]) for r in rows[1:])
    with unit_of_work(engine) as session:
        logged = session.scalars(select(ExportLog)).one()
        assert logged.params["kpi"] == "received" and logged.unmasked == 0
        # Masked throughout: on record, and no case's timeline says anything was shown.
        assert session.scalars(select(CaseEvent).where(CaseEvent.kind == "reveal")).all() == []


def test_the_json_export_api_gives_the_rows_of_the_files_and_is_on_record(
        client: FlaskClient, engine: Engine, case_ids: list[int]) -> None:
    leader = token_for(engine, "xy01a1.leader")
    answer = client.get("/api/v1/analysis/exports/queue", headers={**leader, "Accept-Language": "zh-CN"})
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["kind"] == "queue" and body["count"] == 3 and body["unmasked"] == 3
    assert sorted(r["case"] for r in body["rows"]) == case_ids
    assert {r["reporter_phone"] for r in body["rows"]} == {REPORTER_PHONE}
    assert {r["category"] for r in body["rows"]} == {"噪音", "物业纠纷"}
    today = local_today().isoformat()
    street = token_for(engine, "xy.street")
    figure = client.get(f"/api/v1/analysis/exports/figure?unit=XY&from={today}&to={today}&kpi=received",
                        headers=street).get_json()
    assert figure["count"] == 3 and figure["unmasked"] == 0
    assert {r["reporter_phone"] for r in figure["rows"]} == {"138****5678"}
    assert client.get("/api/v1/analysis/exports/inbox", headers=leader).status_code == 403
    assert client.get("/api/v1/analysis/exports/figure?kpi=received", headers=leader).status_code == 403
    assert client.get("/api/v1/analysis/exports/figure", headers=street).status_code == 422
    assert client.get("/api/v1/analysis/exports/queue").status_code == 401
    with unit_of_work(engine) as session:
        logged = session.scalars(select(ExportLog).order_by(ExportLog.id)).all()
        assert [(e.user_name, e.kind, e.file_format) for e in logged] == [
            ("xy01a1.leader", "queue", "json"), ("xy.street", "figure", "json")]
        assert session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.kind == "reveal")) == 3


def test_exports_refuse_what_the_member_may_not_take(app: Any, engine: Engine) -> None:
    leader = Browser(app, engine, "xy01a1.leader")
    assert leader.get("/exports/inbox.csv").status_code == 403
    assert leader.get("/exports/figure.csv?kpi=received").status_code == 403
    assert leader.get("/exports/queue.pdf").status_code == 404
    secretary = Browser(app, engine, "xy01a.secretary")
    assert secretary.get("/exports/figure.csv?unit=XY&kpi=received").status_code == 403
    assert secretary.get("/exports/figure.csv?kpi=nonsense").status_code == 422
    with unit_of_work(engine) as session:
        assert session.scalars(select(ExportLog)).all() == []


def test_the_monthly_report_is_made_by_a_worker_offered_and_kept(app: Any, engine: Engine,
                                                                 case_ids: list[int]) -> None:
    def make_now(report_id: int, language: str) -> None:  # what the worker's task does
        with unit_of_work(engine) as session:
            report = session.get(Report, report_id)
            assert report is not None
            build(session, report, language)

    app.extensions["gridcase"]["publish_report"] = make_now
    browser = Browser(app, engine, "xy.street")
    page = browser.get("/analysis")
    month = month_of(local_today()).label()
    asked = browser.client.post("/analysis/reports", data={"csrf_token": csrf_of(page.text), "unit": "XY",
                                                           "month": month})
    assert asked.status_code == 302
    shown = browser.get(asked.headers["Location"])
    assert "report-download" in shown.text
    download = browser.get(asked.headers["Location"] + ".xlsx")
    assert download.status_code == 200
    book = load_workbook(io.BytesIO(download.data))
    assert tuple(book.sheetnames) == SHEETS
    summary = {row[0]: row for row in book[SHEETS[0]].iter_rows(values_only=True) if row and row[0]}
    assert summary["received"][2] == 3 and summary["received"][3] == 3
    categories = [row for row in book[SHEETS[2]].iter_rows(values_only=True)]
    assert ("category", "NOI") == categories[1][:2] and categories[1][3] == 2
    with unit_of_work(engine) as session:
        kept = session.scalars(select(Report)).one()
        assert kept.status == "done" and kept.facts_as_of is not None and kept.summary is not None
        assert kept.summary["figures"]["received"] == 3
    # The same snapshot as a page to print and as a PDF, in the reader's language.
    assert 'id="report-pdf"' in shown.text and 'id="report-print"' in shown.text
    printable = browser.get(asked.headers["Location"] + "/print")
    assert printable.status_code == 200
    assert "Cases by category" in printable.text and "Noise" in printable.text
    assert "Mediation success rate" in printable.text and "<svg" in printable.text and "data-print" in printable.text
    pdf = browser.get(asked.headers["Location"] + ".pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    browser.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    assert "调解成功率" in browser.get(asked.headers["Location"] + "/print").text
    words = pdf_text(browser.get(asked.headers["Location"] + ".pdf").data)
    assert "民意分析" in words and "噪音" in words and "受理量" in words and "调解成功率" in words
    assert "Mediation success rate" in pdf_text(pdf.data)
    # Another member outside the street's subtree may not open it.
    other = Browser(app, engine, "xy01a.secretary")
    assert other.get(asked.headers["Location"] + ".xlsx").status_code == 403
    assert other.get(asked.headers["Location"] + ".pdf").status_code == 403
    assert other.get(asked.headers["Location"] + "/print").status_code == 403


def test_the_report_command_writes_the_workbook(engine: Engine, case_ids: list[int], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", str(engine.url))
    out = tmp_path / "report.xlsx"
    month = month_of(local_today()).label()
    done = CliRunner().invoke(main, ["report", "monthly", "--unit", "XY-01", "--month", month, "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert f"XY-01 {month} written to {out}" in done.output
    assert tuple(load_workbook(out).sheetnames) == SHEETS
    bad = CliRunner().invoke(main, ["report", "monthly", "--unit", "XY-01", "--month", "2026-13"])
    assert bad.exit_code == 2 and "month" in bad.output
