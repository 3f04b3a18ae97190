"""The pages in a real browser (Debian's Chromium driven by Playwright) against ``gridcase up``.

A grid leader logs a case on a phone, escalates it; the branch secretary finds it in the inbox,
resolves it and reports back; the resident opens the status page, answers, and the case closes.
A leader of another grid cannot open it. Each step leaves a screenshot in ``SCREENSHOTS``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import GRIDCASE, Up
from tests.services import services_required

CHROMIUM = os.environ.get("GRIDCASE_CHROMIUM", "/usr/bin/chromium")
# Where the screenshots go: a folder of the repository's var/ (ignored by git), printed at the end.
SCREENSHOTS = Path(os.environ.get("GRIDCASE_SCREENSHOTS", Path(__file__).resolve().parents[2] / "var" / "screenshots"))
# Flags for a headless Chromium on a machine with no network and no GPU, running as root.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 900}
REPORTER_PHONE = "13812345678"

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        message = f"no Chromium at {CHROMIUM}: apt-get install chromium fonts-wqy-microhei"
        if services_required():
            pytest.fail(message)
        pytest.skip(message)
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Path:
    folder: Path = SCREENSHOTS / str(request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def passwords(up: Up) -> dict[str, str]:
    lines = (up.home / "demo-passwords.txt").read_text(encoding="utf-8").splitlines()
    return dict(line.split("\t") for line in lines)


def set_password(up: Up, name: str, password: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BROKER_URL")}
    env["GRIDCASE_HOME"] = str(up.home)
    subprocess.run([GRIDCASE, "user", "password", name], input=f"{password}\n{password}\n", text=True, env=env,
                   check=True, capture_output=True)


def log_in(page: object, up: Up, name: str, password: str) -> None:
    page.goto(f"http://127.0.0.1:{up.port}/login")  # type: ignore[attr-defined]
    page.fill("#name", name)  # type: ignore[attr-defined]
    page.fill("#password", password)  # type: ignore[attr-defined]
    page.click("form button[type=submit]:not(.secondary)")  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]


def do_action(page: object, action: str, field: str | None = None, text: str = "") -> None:
    page.click(f'summary[data-action="{action}"]')  # type: ignore[attr-defined]
    form = page.locator(f'form[action$="/actions/{action}"]')  # type: ignore[attr-defined]
    if field:
        form.locator(f'textarea[name="{field}"]').fill(text)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()  # type: ignore[attr-defined]


def test_a_case_from_the_stairwell_to_the_residents_answer(browser: object, up: Up, shots: Path) -> None:
    up.start()
    logins = passwords(up)
    base = f"http://127.0.0.1:{up.port}"

    # The grid leader, on a phone, in Simplified Chinese.
    leader = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True)  # type: ignore[attr-defined]
    page = leader.new_page()
    log_in(page, up, "xy01a1.leader", logins["xy01a1.leader"])
    assert page.url == f"{base}/queue"
    page.click("#nav-new-case")
    page.select_option("#category", "NOI")
    assert page.input_value("#severity") == "P2"  # suggested from the category
    page.fill("#description", "楼上夜间装修噪音，已持续一周")
    page.fill("#reporter_name", "王小明")
    page.fill("#reporter_phone", REPORTER_PHONE)
    page.fill("#other_name", "赵大海")
    page.screenshot(path=str(shots / "01-leader-logs-a-case.png"), full_page=True)
    page.click("#new-case button[type=submit]")
    page.wait_for_load_state()
    case_url = page.url
    case_id = int(case_url.rsplit("/", 1)[1])
    assert "138****5678" in page.content() and REPORTER_PHONE not in page.content()
    # The worker dispatches it to the grid within seconds; the page shows it after a reload.
    for _ in range(40):
        if "网格处置" in page.text_content("#case-state"):
            break
        page.wait_for_timeout(500)
        page.reload()
    assert "网格处置" in page.text_content("#case-state")
    page.screenshot(path=str(shots / "02-case-page-on-the-phone.png"), full_page=True)
    page.goto(f"{base}/queue")
    assert page.locator(f'tr[data-case="{case_id}"]').count() == 1
    page.screenshot(path=str(shots / "03-leaders-queue.png"), full_page=True)

    page.goto(f"{case_url}/slip")
    code = page.text_content("#slip-code").strip()
    assert page.locator(".qr svg").count() == 1
    page.screenshot(path=str(shots / "04-slip-for-the-resident.png"), full_page=True)

    page.goto(case_url)
    do_action(page, "escalate", "reason", "楼上住户拒不配合，需支部协调")
    assert "小区处置" in page.text_content("#case-state")  # one word per level (issue 11, item 15)
    page.screenshot(path=str(shots / "05-escalated.png"), full_page=True)

    # A leader of another grid may not open it, nor tell it from a case that does not exist.
    set_password(up, "xy01a2.leader", "another grid's password")
    other = browser.new_context(viewport=PHONE, locale="zh-CN")  # type: ignore[attr-defined]
    other_page = other.new_page()
    log_in(other_page, up, "xy01a2.leader", "another grid's password")
    response = other_page.goto(case_url)
    assert response is not None and response.status == 404
    other_page.screenshot(path=str(shots / "06-other-grid-refused.png"), full_page=True)
    other.close()

    # The branch secretary, at a desk, in Traditional Chinese.
    desk = browser.new_context(viewport=DESK, locale="zh-TW")  # type: ignore[attr-defined]
    secretary = desk.new_page()
    log_in(secretary, up, "xy01a.secretary", logins["xy01a.secretary"])
    assert secretary.url == f"{base}/inbox"
    row = secretary.locator(f'tr[data-case="{case_id}"]')
    assert row.count() == 1 and "小區處置" in row.text_content()  # the ladder's word (issue 11, item 15)
    secretary.screenshot(path=str(shots / "07-branch-inbox.png"), full_page=True)
    row.locator("a").first.click()
    secretary.wait_for_load_state()
    do_action(secretary, "resolve", "summary", "支部上门调解，双方约定晚十点后停止施工")
    do_action(secretary, "report_back", "message", "已协调：楼上住户承诺晚十点后不再施工。")
    assert "已回饋" in secretary.text_content("#case-state")
    secretary.screenshot(path=str(shots / "08-resolved-and-reported-back.png"), full_page=True)
    desk.close()

    # The resident, on a phone, in English.
    resident_context = browser.new_context(viewport=PHONE, locale="en-GB", is_mobile=True)  # type: ignore[attr-defined]
    resident = resident_context.new_page()
    resident.goto(f"{base}/track?code={code}")
    assert resident.input_value("#code") == code
    resident.fill("#phone_last4", REPORTER_PHONE[-4:])
    resident.click("main button[type=submit]")
    resident.wait_for_load_state()
    assert "Reported back to you" in resident.text_content("#track-state")
    content = resident.content()
    assert "晚十点后不再施工" in content and REPORTER_PHONE not in content and "赵大海" not in content
    assert "楼上住户拒不配合" not in content  # the escalation reason is internal
    resident.screenshot(path=str(shots / "09-resident-status-page.png"), full_page=True)
    resident.check('input[name="resolved"][value="yes"]')
    resident.check('input[name="satisfaction"][value="5"]')
    resident.click("#evaluation button[type=submit]")
    resident.wait_for_load_state()
    assert "Closed" in resident.text_content("#track-state")
    assert resident.locator("#evaluation").count() == 0
    resident.screenshot(path=str(shots / "10-case-closed.png"), full_page=True)
    resident_context.close()

    # Back on the leader's phone the timeline holds every step, in order.
    page.goto(case_url)
    kinds = page.locator(".timeline li").evaluate_all("items => items.map(i => i.dataset.kind)")
    assert list(reversed(kinds)) == ["submitted", "dispatch", "escalate", "resolve", "report_back", "confirm"]
    leader.close()
    assert len(list(shots.glob("*.png"))) == 10
    print(f"\nscreenshots: {shots}")
    assert not re.search(r"Traceback", up.log()), up.log()[-3000:]


def test_the_residents_no_reaches_staff_and_each_unit_is_offered_its_own_actions(browser: object, up: Up,
                                                                                shots: Path) -> None:
    """Issue 11, items 5, 8, 9 and 15: positions, the resident's comment, words and times."""
    up.start()
    logins = passwords(up)
    base = f"http://127.0.0.1:{up.port}"
    leader = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True)  # type: ignore[attr-defined]
    page = leader.new_page()
    log_in(page, up, "xy01a1.leader", logins["xy01a1.leader"])
    page.click("#nav-new-case")
    page.select_option("#category", "NOI")
    page.fill("#description", "楼上夜间装修噪音")
    page.fill("#reporter_name", "王小明")
    page.fill("#reporter_phone", REPORTER_PHONE)
    page.click("#new-case button[type=submit]")
    page.wait_for_load_state()
    case_url = page.url
    for _ in range(40):
        if "网格处置" in page.text_content("#case-state"):
            break
        page.wait_for_timeout(500)
        page.reload()
    code = page.text_content("dl.facts code").strip()

    # The street, above the grid holding the case: it takes over, urges, supervises or notes; no more.
    desk = browser.new_context(viewport=DESK, locale="zh-CN")  # type: ignore[attr-defined]
    street = desk.new_page()
    set_password(up, "xy.street", "the street's password")
    log_in(street, up, "xy.street", "the street's password")
    street.goto(case_url)
    offered = street.locator("summary[data-action]").evaluate_all("items => items.map(i => i.dataset.action)")
    assert sorted(offered) == ["note", "supervise", "take_over", "urge"]
    street.screenshot(path=str(shots / "01-street-offered-what-it-may-do.png"), full_page=True)
    desk.close()

    do_action(page, "resolve", "summary", "已上门劝说")
    do_action(page, "report_back", "message", "已协调,晚十点后不再施工")

    # The resident says no, in Traditional Chinese, with a comment.
    resident_context = browser.new_context(viewport=PHONE, locale="zh-TW", is_mobile=True)  # type: ignore[attr-defined]
    resident = resident_context.new_page()
    resident.goto(f"{base}/track?code={code}")
    resident.fill("#phone_last4", REPORTER_PHONE[-4:])
    resident.click("main button[type=submit]")
    resident.wait_for_load_state()
    resident.check('input[name="resolved"][value="no"]')
    resident.check('input[name="satisfaction"][value="1"]')
    resident.fill('textarea[name="comment"]', "晚上十一點還在施工")
    resident.click("#evaluation button[type=submit]")
    resident.wait_for_load_state()
    resident_context.close()

    # The grid leader reads what the resident wrote, on the page and on the timeline.
    page.goto(case_url)
    assert "晚上十一點還在施工" in page.text_content("#last-evaluation")
    assert "未解决" in page.text_content("#last-evaluation")
    reopen = page.locator('.timeline li[data-kind="reopen"]')
    assert "居民评价:未解决;非常不满意(1/5)。" in reopen.text_content()
    assert "晚上十一點還在施工" in reopen.text_content()
    assert "resolved=no" not in page.content()
    page.screenshot(path=str(shots / "02-leader-reads-the-residents-no.png"), full_page=True)

    # A refusal reads in Chinese: a stale page's action.
    page.evaluate("document.querySelectorAll('input[name=expected_version]').forEach(i => i.value = '1')")
    do_action(page, "note", "message", "再次上门")
    error = page.text_content("#action-error")
    assert "请刷新后重试" in error and "reload" not in error
    page.screenshot(path=str(shots / "03-refusal-in-chinese.png"), full_page=True)

    # Traditional Chinese times on the 24-hour clock, like every language.
    page.goto(f"{base}/lang/zh_Hant?next=/cases/{case_url.rsplit('/', 1)[1]}")
    assert not re.search(r"(清晨|凌晨|上午|下午|晚上|中午)\d", page.text_content(".timeline"))
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", page.text_content(".timeline"))
    page.screenshot(path=str(shots / "04-zh-hant-24-hour-times.png"), full_page=True)
    leader.close()
    assert len(list(shots.glob("*.png"))) == 4
    assert not re.search(r"Traceback", up.log()), up.log()[-3000:]
