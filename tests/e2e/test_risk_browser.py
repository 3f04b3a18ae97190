"""The risk register and the household links in a real browser on a phone, against ``gridcase up``: a grid leader
records a visit that notices a risk, checks it, turns it into a case that links back to the household; the branch
reads the register, its buildings and party members. Every page is checked to fit 390 px; screenshots in
``SCREENSHOTS/<test name>/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from tests.e2e.harness import Up
from tests.e2e.test_browser import PHONE, browser, log_in, passwords, shots  # noqa: F401 - fixtures
from tests.e2e.test_phone_layout import NOT_FITTING
from tests.unit.registry.test_importer import HEADER, good_rows


def _fits(page: object, folder: Path, name: str, scrollers_allowed: bool = False) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]
    problems = page.evaluate(NOT_FITTING)  # type: ignore[attr-defined]
    if scrollers_allowed:
        # The dashboard's side-by-side table of child units scrolls in its own box on purpose.
        problems = [p for p in problems if not p.startswith("div.overflow-auto ")]
    assert problems == [], f"{name}: {problems}"


def test_a_risk_noticed_on_a_visit_is_checked_and_becomes_a_case_linked_to_its_household(
        browser: object, up: Up, shots: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setenv("GRIDCASE_IMPORT_INLINE_ROWS", "1")  # so that a small 台账 goes to the Celery worker
    up.start()
    logins = passwords(up)
    base = f"http://127.0.0.1:{up.port}"

    leader = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True)  # type: ignore[attr-defined]
    page = leader.new_page()
    log_in(page, up, "xy01a1.leader", logins["xy01a1.leader"])
    page.goto(f"{base}/registry/households/2/visit")
    page.check("input[name=outcome][value=risk]")
    page.fill("#note", "婆媳因赡养费争吵，邻居反映多次")
    _fits(page, shots, "01-visit-notices-a-risk")
    page.click("#visit-form button[type=submit]")
    page.wait_for_load_state()
    assert "/registry/risks/" in page.url and "未到期" in page.content()
    _fits(page, shots, "02-the-risk-on-the-register")
    page.check("input[name=outcome][value=case]")
    page.fill("#note", "矛盾激化，需支部调解")
    page.select_option("#category", "FAM")
    page.click("#check-form button[type=submit]")
    page.wait_for_load_state()
    assert "/cases/" in page.url and page.locator("#case-household").count() == 1
    _fits(page, shots, "03-the-case-links-to-its-household")
    page.click("#case-household a")
    page.wait_for_load_state()
    assert page.locator("#household-cases li").count() == 1 and page.locator("#household-risks li").count() == 1
    _fits(page, shots, "04-household-with-its-case-and-risk")
    page.goto(f"{base}/registry/risks?status=resolved")
    _fits(page, shots, "05-resolved-risks")
    # A 台账 upload past the inline limit: the worker imports it, the page follows its progress.
    ledger = tmp_path / "台账.xlsx"
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    for row in good_rows()[:2]:
        sheet.append(row)
    book.save(ledger)
    page.goto(f"{base}/registry/import")
    page.set_input_files("#file", str(ledger))
    page.uncheck("#dry_run")
    page.click("#registry-import button[type=submit]")
    page.wait_for_load_state()
    assert "/registry/import/jobs/" in page.url
    page.wait_for_selector("#import-report", timeout=60_000)  # swapped in by the page's poll once the task is done
    assert "已保存" in page.content() or "Stored" in page.content()
    _fits(page, shots, "05b-import-done-by-a-worker")
    leader.close()

    branch = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True)  # type: ignore[attr-defined]
    page = branch.new_page()
    log_in(page, up, "xy01a.secretary", logins["xy01a.secretary"])
    page.goto(f"{base}/registry/")
    _fits(page, shots, "06-branch-households")
    page.goto(f"{base}/registry/buildings")
    assert "金桂园 1号楼" in page.content()
    _fits(page, shots, "07-branch-buildings")
    page.goto(f"{base}/registry/party-members")
    _fits(page, shots, "08-branch-party-members")
    page.goto(f"{base}/registry/coverage")
    _fits(page, shots, "09-branch-coverage")
    page.goto(f"{base}/analysis")
    assert page.locator("#tile-visit-coverage").count() == 1
    _fits(page, shots, "10-analysis-with-visit-coverage", scrollers_allowed=True)
    branch.close()
