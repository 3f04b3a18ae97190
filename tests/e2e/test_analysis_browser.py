"""The analysis dashboard in Chromium on a phone and at a desk, against ``gridcase up`` with a few cases.

Screenshots go to ``SCREENSHOTS/<test name>/``: the phone in Simplified Chinese, the desk in English,
and the desk as printed.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import urllib.request
from pathlib import Path

from openpyxl import load_workbook

from tests.e2e.harness import GRIDCASE, Up
from tests.e2e.test_browser import DESK, PHONE, browser, log_in, passwords, shots  # noqa: F401 (fixtures)
from workflow.analysis.periods import local_today
from workflow.analysis.report import SHEETS

GRIDS = ["XY-01-A-1", "XY-01-A-2", "XY-02-A-1", "XY-03-B-3"]


def _post(up: Up, path: str, body: object, token: str | None = None, kind: str = "application/json") -> object:
    headers = {"Content-Type": kind}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"http://127.0.0.1:{up.port}{path}", data=json.dumps(body).encode(),
                                     headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _cases(up: Up) -> None:
    events = [{"specversion": "1.0", "id": f"dash-{i}", "source": "/e2e", "type": "org.gridcase.case.submitted",
               "data": {"category": ["NOI", "PRO", "ENV"][i % 3], "description": "楼道噪音", "grid": GRIDS[i % 4],
                        "channel": ["hotline", "grid_patrol", "walk_in"][i % 3],
                        "reporter": {"name": "王小明", "phone": "13812345678"}}} for i in range(24)]
    answers = _post(up, "/api/v1/events", events, kind="application/cloudevents-batch+json")
    ids = [a["case_id"] for a in answers]  # type: ignore[attr-defined]
    tokens = dict(line.split("\t") for line in (up.home / "demo-tokens.txt").read_text().splitlines())
    street = tokens["xy.street"]
    up.wait_for(lambda: (up.get(f"/api/v1/cases/{ids[-1]}", {"Authorization": f"Bearer {street}"}) or {}).get(
        "state") == "grid_handling", "the cases to be dispatched")
    for case_id in ids[:12]:
        # The holder works a case (rules by position): the street takes these over, then signs and resolves.
        _post(up, f"/api/v1/cases/{case_id}/actions/take_over", {"reason": "街道直接办理"}, street)
        _post(up, f"/api/v1/cases/{case_id}/actions/accept", {}, street)
        _post(up, f"/api/v1/cases/{case_id}/actions/resolve", {"summary": "已调解"}, street)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BROKER_URL")}
    env["GRIDCASE_HOME"] = str(up.home)
    subprocess.run([GRIDCASE, "analysis", "refresh"], env=env, check=True, capture_output=True)


def test_the_dashboard_on_a_phone_and_at_a_desk(browser: object, up: Up, shots: Path) -> None:  # noqa: F811
    up.start()
    _cases(up)
    logins = passwords(up)
    base = f"http://127.0.0.1:{up.port}"

    phone = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True)  # type: ignore[attr-defined]
    page = phone.new_page()
    log_in(page, up, "xy.street", logins["xy.street"])
    page.click("#nav-analysis")
    page.wait_for_load_state()
    assert page.url.startswith(f"{base}/analysis")
    assert "受理量" in page.text_content("#tile-received") and "24" in page.text_content("#tile-received")
    assert page.locator("svg.chart").count() >= 3
    # Nothing wider than the phone: the wide tables scroll inside their own box.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(shots / "01-dashboard-phone-zh-Hans.png"), full_page=True)
    page.screenshot(path=str(shots / "01a-phone-first-screen.png"))
    for name, selector in (("01b-phone-trend", "section:has(svg.chart)"), ("01c-phone-units", ".units-table"),
                           ("01d-phone-hot-spots", "table.hot-spots")):
        page.locator(selector).first.screenshot(path=str(shots / f"{name}.png"))
    page.click("#tile-response_rate summary")
    page.screenshot(path=str(shots / "02-definition-open-phone.png"))
    phone.close()

    desk = browser.new_context(viewport=DESK, locale="en-GB")  # type: ignore[attr-defined]
    page = desk.new_page()
    log_in(page, up, "xy.street", logins["xy.street"])
    page.goto(f"{base}/analysis?unit=XY&sort=received&dir=desc")
    assert "Cases received" in page.text_content("#tile-received")
    rows = page.locator(".units-table tbody tr")
    assert rows.count() == 3
    page.screenshot(path=str(shots / "03-dashboard-desk-en.png"), full_page=True)
    page.locator("#tile-received .parts a").first.click()
    page.wait_for_load_state()
    assert page.locator("table tbody tr").count() == 24
    page.screenshot(path=str(shots / "04-cases-behind-received.png"), full_page=True)
    # The monthly report: asked for on the page, made by the worker of gridcase up, then offered.
    page.goto(f"{base}/analysis?unit=XY")
    page.click("details.analysis-controls summary")
    page.fill('#report-form input[name="month"]', local_today().strftime("%Y-%m"))
    page.click("#report-form button[type=submit]")
    page.wait_for_selector("#report-download", timeout=90_000)
    page.screenshot(path=str(shots / "05-monthly-report-ready.png"), full_page=True)
    with page.expect_download() as download:
        page.click("#report-download")
    book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert tuple(book.sheetnames) == SHEETS
    # The same report to print, and as a PDF.
    page.click("#report-print")
    page.wait_for_load_state()
    printable = page.url
    assert "Cases by category" in page.text_content("main") and "Mediation success rate" in page.text_content("main")
    page.screenshot(path=str(shots / "07-report-printable-desk-en.png"), full_page=True)
    page.emulate_media(media="print")
    assert page.locator("header nav").is_hidden() and page.locator(".report-actions").is_hidden()
    page.screenshot(path=str(shots / "08-report-as-printed.png"), full_page=True)
    page.emulate_media(media="screen")
    with page.expect_download() as pdf:
        page.click(".report-actions a[href$='.pdf']")
    assert Path(pdf.value.path()).read_bytes().startswith(b"%PDF")
    page.goto(f"{base}/analysis?unit=XY")
    page.emulate_media(media="print")
    assert page.locator("header nav").is_hidden()
    page.screenshot(path=str(shots / "06-dashboard-as-printed.png"), full_page=True)
    desk.close()

    phone = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True)  # type: ignore[attr-defined]
    page = phone.new_page()
    log_in(page, up, "xy.street", logins["xy.street"])
    page.goto(printable)
    assert "按类别的案件" in page.text_content("main") and "调解成功率" in page.text_content("main")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(shots / "09-report-printable-phone-zh-Hans.png"), full_page=True)
    phone.close()
    print(f"\nscreenshots: {shots}")
    assert "Traceback" not in up.log(), up.log()[-3000:]
