"""A large 台账 upload goes to a worker: the page follows a progress bar the worker feeds, then shows the report."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, select

from tests.unit.registry.test_importer import good_rows
from tests.unit.registry.test_pages import xlsx
from tests.unit.ui_helpers import Browser
from workers.registry import registry_import
from workflow.base.db import unit_of_work
from workflow.registry.demo import load_demo_register
from workflow.registry.models import ImportJob, Resident


@pytest.fixture
def registry_engine(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    with unit_of_work(engine) as session:
        load_demo_register(session)
    monkeypatch.setenv("DATABASE_URL", str(engine.url))  # the worker's task opens the configured database
    monkeypatch.setenv("GRIDCASE_IMPORT_INLINE_ROWS", "2")  # anything above two rows goes to the worker
    return engine


def test_a_large_upload_is_imported_by_a_worker_with_progress(app: Any, registry_engine: Engine,
                                                             tmp_path: Path) -> None:
    queued: list[int] = []
    app.extensions["gridcase"]["publish_import"] = queued.append
    leader = Browser(app, registry_engine, "xy01a1.leader")
    rows = good_rows()[:2]  # the grid leader's own building
    sent = leader.post_form("/registry/import", "/registry/import",
                            {"file": (xlsx(rows), "台账.xlsx"), "dry_run": ""}, content_type="multipart/form-data")
    assert sent.status_code == 302 and "/registry/import/jobs/" in sent.headers["Location"]
    [job_id] = queued
    waiting = leader.get(sent.headers["Location"])
    assert waiting.status_code == 200 and 'id="import-bar"' in waiting.text and "hx-trigger=\"every 1s\"" in waiting.text
    assert f"0 of {len(rows) + 1} rows checked" in waiting.text  # the header row counts
    with unit_of_work(registry_engine) as session:
        job = session.get(ImportJob, job_id)
        assert job is not None and job.status == "pending" and Path(job.path).exists()
        upload = Path(job.path)
    assert registry_import(job_id) == job_id  # what the worker does
    done = leader.get(f"/registry/import/jobs/{job_id}/progress")
    assert done.status_code == 200 and "import-bar" not in done.text and "every 1s" not in done.text
    assert "Stored." in done.text and "residents added: 2" in done.text
    assert not upload.exists()  # the upload was kept for the worker only
    with unit_of_work(registry_engine) as session:
        # Names are encrypted at rest: compare them as loaded, not in SQL.
        assert good_rows()[0][5] in {r.name for r in session.scalars(select(Resident))}
    # Another member cannot follow someone else's upload.
    assert Browser(app, registry_engine, "xy01a.secretary").get(sent.headers["Location"]).status_code == 404


def test_a_worker_import_with_refused_rows_offers_them_as_a_workbook(app: Any, registry_engine: Engine) -> None:
    queued: list[int] = []
    app.extensions["gridcase"]["publish_import"] = queued.append
    leader = Browser(app, registry_engine, "xy01a1.leader")
    rows = good_rows()[:2]
    rows[1][10] = "150404197809210011"  # a wrong check character
    leader.post_form("/registry/import", "/registry/import", {"file": (xlsx(rows), "台账.xlsx"), "dry_run": ""},
                     content_type="multipart/form-data")
    registry_import(queued[0])
    page = leader.get(f"/registry/import/jobs/{queued[0]}").text
    assert "Nothing was stored" in page and f"/registry/import/jobs/{queued[0]}/refused.xlsx" in page
    refused = leader.get(f"/registry/import/jobs/{queued[0]}/refused.xlsx")
    book = load_workbook(BytesIO(refused.data))
    sheet = book.active
    assert sheet is not None and sheet.max_row == 2  # the heading and the one refused row


def test_a_small_upload_is_still_imported_while_the_page_waits(app: Any, registry_engine: Engine,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDCASE_IMPORT_INLINE_ROWS", "2000")
    queued: list[int] = []
    app.extensions["gridcase"]["publish_import"] = queued.append
    leader = Browser(app, registry_engine, "xy01a1.leader")
    answer = leader.post_form("/registry/import", "/registry/import", {"file": (xlsx(good_rows()[:2]), "台账.xlsx")},
                              content_type="multipart/form-data")
    assert answer.status_code == 200 and 'id="import-report"' in answer.text and queued == []
