"""Every page on a 390-pixel phone, in the three languages: nothing scrolls sideways.

Also, in a real browser: a photo from an iPhone (HEIC) goes in with the new case, the new case's page
follows it to its grid without a reload, and the slip links to the port actually served.
Screenshots of every page in every language go to ``SCREENSHOTS/<test name>/``.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from tests.e2e.harness import Up
from tests.e2e.test_browser import PHONE, REPORTER_PHONE, browser, do_action, log_in, passwords, shots, sync_api

__all__ = ["browser", "shots"]  # fixtures, imported for pytest

LANGUAGES = ("zh_Hans", "zh_Hant", "en")
LEADER, SECRETARY, ADMIN = "xy01a1.leader", "xy01a.secretary", "xy.admin"
# What does not fit a phone: the page scrolling sideways, a box whose content scrolls or is cut off
# inside it (a table in a scroller, a language name in its switch), a table cell squeezed to a
# character or two per line. Evaluated through the DevTools protocol, which the CSP does not govern.
NOT_FITTING = """() => {
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  const problems = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > window.innerWidth) problems.push(`the page: ${doc.scrollWidth} > ${window.innerWidth} px`);
  for (const el of document.querySelectorAll('body *')) {
    if (['INPUT', 'TEXTAREA', 'SELECT', 'OPTION', 'svg'].includes(el.tagName) || el.closest('svg')) continue;
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden' || el.clientWidth <= 1) continue;
    if (style.overflowX !== 'visible' && el.scrollWidth > el.clientWidth + 1) {
      problems.push(`${name(el)} is cut off or scrolls inside: ${el.scrollWidth} > ${el.clientWidth} px`);
    }
    if (el.tagName === 'SUMMARY' && el.scrollHeight > el.clientHeight + 1) {
      problems.push(`${name(el)} "${el.textContent.trim().slice(0, 12)}" spills out of its box`);
    }
    const width = el.getBoundingClientRect().width;
    if ((el.tagName === 'TD' || el.tagName === 'TH') && width < 60 && el.textContent.trim().length > 3) {
      problems.push(`${name(el)} "${el.textContent.trim().slice(0, 12)}" is squeezed to ${Math.round(width)} px`);
    }
  }
  return problems;
}"""


def heic_photo() -> bytes:
    """An iPhone-style HEIC picture."""
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", (1200, 900), (90, 140, 90)).save(out, "HEIF", quality=60)
    return out.getvalue()


def tokens(up: Up) -> dict[str, str]:
    lines = (up.home / "demo-tokens.txt").read_text(encoding="utf-8").splitlines()
    return dict(line.split("\t") for line in lines)


def phone(browser: Any, locale: str) -> Any:
    return browser.new_context(viewport=PHONE, locale=locale, is_mobile=True, has_touch=True)


class Fit:
    """Opens pages and records each one that is wider than the screen."""

    def __init__(self, base: str, shots: Path) -> None:
        self.base, self.shots, self.seen = base, shots, 0
        self.wide: list[str] = []

    def check(self, page: Any, path: str, language: str, who: str) -> None:
        page.goto(f"{self.base}/lang/{language}?next={path}")
        page.wait_for_load_state("networkidle")
        name = re.sub(r"[^a-z0-9]+", "-", f"{language}-{who}-{path}".lower()).strip("-")
        page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)
        self.seen += 1
        self.wide += [f"{language} {who} {path}: {problem}" for problem in page.evaluate(NOT_FITTING)]
        # Every disclosure open at once (the actions' forms, the notices, the language switch).
        page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
        problems = page.evaluate(NOT_FITTING)
        if problems:
            self.wide += [f"{language} {who} {path}, disclosures open: {problem}" for problem in problems]
            page.screenshot(path=str(self.shots / f"{name}-open.png"), full_page=True)


def test_no_page_scrolls_sideways_on_a_phone_in_any_language(browser: Any, up: Up, shots: Path) -> None:
    up.start()
    logins = passwords(up)
    base = f"http://127.0.0.1:{up.port}"

    # The grid leader logs a case on the phone, with an iPhone photo.
    leader_context = phone(browser, "zh-CN")
    leader = leader_context.new_page()
    log_in(leader, up, LEADER, logins[LEADER])
    leader.goto(f"{base}/cases/new")
    assert leader.input_value("#category") == ""  # no category chosen for the leader
    leader.select_option("#category", "NEI")
    leader.fill("#description", "3号楼2单元楼上卫生间漏水，楼下天花板发霉，双方多次协商未果，要求网格员上门查看并协调维修费用分担")
    leader.fill("#reporter_name", "王小明")
    leader.fill("#reporter_phone", REPORTER_PHONE)
    leader.fill("#other_name", "赵大海")
    photo = heic_photo()
    # Seven photos are one too many: the page says so before sending anything, and keeps the form.
    leader.set_input_files("#photo", files=[{"name": f"IMG_00{n}.HEIC", "mimeType": "image/heic", "buffer": photo}
                                            for n in range(7)])
    leader.click("#new-case button[type=submit]")
    assert "6" in leader.text_content("#photo-check") and leader.url == f"{base}/cases/new"
    assert leader.input_value("#reporter_phone") == REPORTER_PHONE
    leader.screenshot(path=str(shots / "00-seven-photos-refused-before-sending.png"), full_page=True)
    leader.set_input_files("#photo", files=[{"name": "IMG_0042.HEIC", "mimeType": "image/heic", "buffer": photo}])
    leader.click("#new-case button[type=submit]")
    leader.wait_for_load_state()
    case_url = leader.url
    case_id = int(case_url.rsplit("/", 1)[1])
    # No reload: the page follows the case until the worker has dispatched it to the grid.
    sync_api.expect(leader.locator("#case-state")).to_contain_text("网格处置", timeout=30_000)
    assert leader.locator('summary[data-action="escalate"]').count() == 1
    assert leader.locator("img.photo").count() == 1
    leader.screenshot(path=str(shots / "00-followed-to-the-grid-without-a-reload.png"), full_page=True)
    leader.goto(f"{case_url}/slip")
    assert f":{up.port}/track?code=" in leader.text_content("#slip-address")
    code = leader.text_content("#slip-code").strip()
    leader.goto(case_url)
    do_action(leader, "resolve", "summary", "网格员上门查看，楼上已更换防水层，维修费按七三分担，电话13912345678可联系物业")
    do_action(leader, "report_back", "message", "已协调：楼上已修好防水层，费用双方按约定分担。")

    # A second case, escalated, so the branch's inbox has a row.
    token = tokens(up)[LEADER]
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    second = up.request("POST", "/api/v1/events", {
        "specversion": "1.0", "id": "phone-layout-2", "source": "/tests", "type": "org.gridcase.case.submitted",
        "data": {"category": "PRO", "description": "物业费争议，业主拒交两年物业费，物业公司停止电梯维保",
                 "grid": "XY-01-A-1", "reporter": {"name": "李四", "phone": "13700001111"}}},
        headers={"Content-Type": "application/cloudevents+json"})
    second_id = second["case_id"]
    up.wait_for(lambda: (up.get(f"/api/v1/cases/{second_id}", headers=auth) or {}).get("state") == "grid_handling",
                "the second case to reach its grid")
    assert up.request("POST", f"/api/v1/cases/{second_id}/actions/escalate", {"reason": "需支部协调"}, headers=auth)

    secretary_context = phone(browser, "zh-CN")
    secretary = secretary_context.new_page()
    log_in(secretary, up, SECRETARY, logins[SECRETARY])
    admin_context = phone(browser, "zh-CN")
    admin = admin_context.new_page()
    log_in(admin, up, ADMIN, logins[ADMIN])
    resident_context = phone(browser, "zh-CN")
    resident = resident_context.new_page()
    resident.goto(f"{base}/track?code={code}")
    resident.fill("#phone_last4", REPORTER_PHONE[-4:])
    resident.click("main button[type=submit]")
    resident.wait_for_load_state()
    assert "139****5678" in resident.content() and "13912345678" not in resident.content()
    visitor_context = phone(browser, "zh-CN")
    visitor = visitor_context.new_page()

    fit = Fit(base, shots)
    pages = [
        (visitor, "visitor", ["/", "/login", "/track", "/community/XY-01/decisions", "/report"]),
        (resident, "resident", [f"/track/{code}"]),
        (leader, "leader", ["/queue", "/cases/new", case_url.removeprefix(base), f"/cases/{case_id}/slip",
                            "/account"]),
        (secretary, "secretary", ["/inbox", f"/cases/{second_id}", "/queue", "/decisions", "/decisions/new"]),
        (admin, "admin", ["/admin/org", "/admin/units/XY-01-A", f"/admin/members/{LEADER}", "/admin/members/new",
                          "/admin/subscriptions", "/admin/policy", "/admin/residents", "/admin/audit"]),
    ]
    for language in LANGUAGES:
        for page, who, paths in pages:
            for path in paths:
                fit.check(page, path, language, who)
    # The resident answers; the page then shows the answer, and must still fit.
    resident.goto(f"{base}/lang/en?next=/track/{code}")
    resident.check('input[name="resolved"][value="partly"]')
    resident.check('input[name="satisfaction"][value="4"]')
    resident.fill("#comment", "Mostly fixed; the ceiling still needs painting.")
    resident.click("#evaluation button[type=submit]")
    resident.wait_for_load_state()
    assert "the ceiling still needs painting" in resident.text_content("#your-answer")
    for language in LANGUAGES:
        fit.check(resident, f"/track/{code}", language, "resident-answered")
    for context in (leader_context, secretary_context, admin_context, resident_context, visitor_context):
        context.close()
    print(f"\nscreenshots of {fit.seen} pages: {shots}")
    assert not fit.wide, "what does not fit a 390-pixel phone:\n" + "\n".join(sorted(set(fit.wide)))
