"""The risk register and the household links in a real browser on a phone, against ``gridcase up``: a grid leader
records a visit that notices a risk, checks it, turns it into a case that links back to the household; the branch
reads the register, its buildings and party members. Every page is checked to fit 390 px; screenshots in
``SCREENSHOTS/<test name>/``.
"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.harness import Up
from tests.e2e.test_browser import PHONE, browser, log_in, passwords, shots  # noqa: F401 - fixtures
from tests.e2e.test_phone_layout import NOT_FITTING


def _fits(page: object, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]
    problems = page.evaluate(NOT_FITTING)  # type: ignore[attr-defined]
    assert problems == [], f"{name}: {problems}"


def test_a_risk_noticed_on_a_visit_is_checked_and_becomes_a_case_linked_to_its_household(
        browser: object, up: Up, shots: Path) -> None:  # noqa: F811
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
    _fits(page, shots, "10-analysis-with-visit-coverage")
    branch.close()
