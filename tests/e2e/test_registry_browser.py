"""The registers in a real browser against ``gridcase up``: a grid leader on a phone records a visit that finds
a dispute, which becomes a case in one step; the branch secretary sees the coverage of its grids. Screenshots in
``SCREENSHOTS/<test name>/``.
"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.harness import Up
from tests.e2e.test_browser import PHONE, browser, log_in, passwords, shots  # noqa: F401 - fixtures


def test_a_visit_that_finds_a_dispute_becomes_a_case_and_the_branch_sees_coverage(
        browser: object, up: Up, shots: Path) -> None:  # noqa: F811
    up.start()
    logins = passwords(up)
    base = f"http://127.0.0.1:{up.port}"

    leader = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True)  # type: ignore[attr-defined]
    page = leader.new_page()
    log_in(page, up, "xy01a1.leader", logins["xy01a1.leader"])
    page.click("#nav-registry")
    page.wait_for_load_state()
    assert "金桂园 1号楼 1单元 202" in page.content()
    page.screenshot(path=str(shots / "01-leader-households.png"), full_page=True)
    page.click("text=金桂园 1号楼 1单元 202")
    page.wait_for_load_state()
    assert "孙*军" in page.content()  # masked until shown
    page.screenshot(path=str(shots / "02-household-masked.png"), full_page=True)
    page.click("#record-visit")
    page.wait_for_load_state()
    page.fill("#met", "孙立军")
    page.check("input[name=outcome][value=case]")
    page.fill("#note", "与楼上住户因卫生间漏水发生争执")
    page.select_option("#category", "NEI")
    page.screenshot(path=str(shots / "03-visit-finds-a-dispute.png"), full_page=True)
    page.click("#visit-form button[type=submit]")
    page.wait_for_load_state()
    assert "/cases/" in page.url and "与楼上住户因卫生间漏水发生争执" in page.content()
    page.screenshot(path=str(shots / "04-the-case-it-became.png"), full_page=True)
    leader.close()

    branch = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True)  # type: ignore[attr-defined]
    page = branch.new_page()
    log_in(page, up, "xy01a.secretary", logins["xy01a.secretary"])
    page.goto(f"{base}/registry/coverage")
    assert "已走访 1 / 6 户" in (page.text_content("#coverage-total") or "")
    page.screenshot(path=str(shots / "05-branch-coverage.png"), full_page=True)
    branch.close()
