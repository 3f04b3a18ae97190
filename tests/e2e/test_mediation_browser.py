"""A neighbours' dispute mediated in a real browser on a phone (Debian's Chromium, Playwright, ``gridcase up``).

The grid leader logs a two-party dispute and escalates it; the branch proposes mediation and
assigns the community's mediator; the mediator shows both parties in full (logged), records
both consents, a session and its record, drafts the agreement, has both parties sign with a
finger on the screen and signs; the PDF downloads and its text holds the masked names, the
terms and the dates, and a reader of Traditional Chinese gets it in Traditional; the branch resolves
and reports back the case; the grid leader's follow-up visit finds the agreement breached and the
case is back with the branch. A second dispute with the same party is marked as a repeat dispute
(重复矛盾) on its page, in the branch's inbox and in the branch's list. A screenshot of each step.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Up
from tests.e2e.test_browser import PHONE, browser, log_in, passwords, set_password, shots  # noqa: F401

REPORTER_PHONE, OTHER_PHONE = "13812345678", "13700002222"


def open_action(page: object, action: str) -> Any:
    page.click(f'summary[data-action="{action}"]')  # type: ignore[attr-defined]
    return page.locator(f'form[action$="/actions/{action}"]')  # type: ignore[attr-defined]


def submit(page: object, form: object) -> None:
    form.locator("button[type=submit]").click()  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]


def sign_with_a_finger(page: object, form: object) -> None:
    canvas = form.locator("canvas")  # type: ignore[attr-defined]
    canvas.scroll_into_view_if_needed()  # the mouse moves in the viewport's coordinates
    box = canvas.bounding_box()
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x + 0.1 * w, y + 0.7 * h)  # type: ignore[attr-defined]
    page.mouse.down()  # type: ignore[attr-defined]
    for i in range(1, 9):
        page.mouse.move(x + (0.1 + 0.1 * i) * w, y + (0.3 if i % 2 else 0.7) * h, steps=3)  # type: ignore[attr-defined]
    page.mouse.up()  # type: ignore[attr-defined]


def test_a_neighbours_dispute_is_mediated_signed_on_a_phone_and_followed_up(browser: object, up: Up,  # noqa: F811
                                                                            shots: Path) -> None:  # noqa: F811
    up.start()
    logins = passwords(up)
    set_password(up, "xy01.mediator", "mediator's password")
    base = f"http://127.0.0.1:{up.port}"

    leader_context = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True)  # type: ignore[attr-defined]
    leader = leader_context.new_page()
    log_in(leader, up, "xy01a1.leader", logins["xy01a1.leader"])
    leader.click("#nav-new-case")
    leader.select_option("#category", "NEI")
    leader.fill("#description", "楼上卫生间漏水，楼下天花板受损，双方争执")
    leader.fill("#reporter_name", "张建国")
    leader.fill("#reporter_phone", REPORTER_PHONE)
    leader.fill("#other_name", "李卫东")
    leader.fill("#other_phone", OTHER_PHONE)
    leader.click("#new-case button[type=submit]")
    leader.wait_for_load_state()
    case_url = leader.url
    for _ in range(40):
        if leader.locator('summary[data-action="escalate"]').count():
            break
        leader.wait_for_timeout(500)
        leader.reload()
    leader.click('summary[data-action="escalate"]')
    form = leader.locator('form[action$="/actions/escalate"]')
    form.locator('textarea[name="reason"]').fill("邻里漏水纠纷，需支部调解")
    submit(leader, form)
    leader.screenshot(path=str(shots / "01-dispute-logged-and-escalated.png"), full_page=True)

    branch_context = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True)  # type: ignore[attr-defined]
    branch = branch_context.new_page()
    log_in(branch, up, "xy01a.secretary", logins["xy01a.secretary"])
    branch.goto(case_url)
    branch.click("#propose-mediation")
    branch.wait_for_load_state()
    mediation_url = branch.url
    assert re.search(r"/mediations/\d+$", mediation_url)
    assert branch.get_attribute("#mediation-state", "data-state") == "proposed"
    form = open_action(branch, "assign")
    form.locator('input[value="xy01.mediator"]').check()
    submit(branch, form)
    branch.screenshot(path=str(shots / "02-branch-proposes-and-assigns.png"), full_page=True)

    mediator_context = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True)  # type: ignore[attr-defined]
    mediator = mediator_context.new_page()
    errors: list[str] = []
    mediator.on("pageerror", lambda exc: errors.append(str(exc)))
    mediator.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    log_in(mediator, up, "xy01.mediator", "mediator's password")
    mediator.goto(mediation_url)
    assert "张*国" in mediator.content() and REPORTER_PHONE not in mediator.content()
    submit(mediator, open_action(mediator, "reveal"))
    assert REPORTER_PHONE in mediator.content() and OTHER_PHONE in mediator.content()
    mediator.screenshot(path=str(shots / "03-mediator-sees-both-parties-logged.png"), full_page=True)
    for _ in range(2):
        form = open_action(mediator, "consent")
        form.locator('select[name="given_as"]').select_option("on_screen")
        submit(mediator, form)
    assert mediator.get_attribute("#mediation-state", "data-state") == "in_session"
    mediator.screenshot(path=str(shots / "04-both-parties-consent.png"), full_page=True)

    form = open_action(mediator, "session")
    form.locator('input[name="held_on"]').fill("2026-12-03")
    form.locator('input[name="place"]').fill("金桂园社区调解室")
    form.locator('input[name="attendees"]').fill("张建国，李卫东")
    form.locator('textarea[name="record"]').fill("双方陈述漏水经过；李卫东同意修复并赔偿。")
    submit(mediator, form)
    mediator.screenshot(path=str(shots / "05-session-and-its-record.png"), full_page=True)

    form = open_action(mediator, "draft")
    form.locator('textarea[name="facts"]').fill("李卫东家卫生间漏水，致张建国家天花板受损。")
    form.locator('textarea[name="responsibility"]').fill("李卫东承担全部责任。")
    form.locator('textarea[name="term_text_0"]').fill("李卫东赔偿维修费人民币800元")
    form.locator('input[name="term_how_0"]').fill("微信转账")
    form.locator('input[name="term_due_0"]').fill("2026-12-20")
    form.locator('select[name="term_party_0"]').select_option(index=2)
    submit(mediator, form)
    mediator.screenshot(path=str(shots / "06-agreement-drafted.png"), full_page=True)

    for number in range(3):
        form = open_action(mediator, "sign")
        sign_with_a_finger(mediator, form)
        if number == 0:
            mediator.screenshot(path=str(shots / "07-party-signs-with-a-finger.png"), full_page=True)
        submit(mediator, form)
    assert mediator.get_attribute("#mediation-state", "data-state") == "agreed", (errors, mediator.text_content("#action-error"))
    mediator.screenshot(path=str(shots / "08-agreement-in-effect.png"), full_page=True)

    with mediator.expect_download() as download:
        mediator.click("#download-pdf")
    pdf = Path(download.value.path())
    shutil.copy(pdf, shots / "agreement.pdf")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    text = "".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True, text=True)
                   .stdout.split())
    assert "人民调解协议书" in text and "张*国" in text and "李*东" in text
    assert "李卫东赔偿维修费人民币800元" in text and "2026年12月20日" in text
    assert REPORTER_PHONE not in text and OTHER_PHONE not in text

    # A reader of Traditional Chinese downloads the same agreement laid out in Traditional.
    mediator.goto(f"{base}/lang/zh_Hant?next=" + mediation_url.replace(base, ""))
    with mediator.expect_download() as download:
        mediator.click("#download-pdf")
    hant = Path(download.value.path())
    shutil.copy(hant, shots / "agreement-zh_Hant.pdf")
    hant_text = "".join(subprocess.run(["pdftotext", str(hant), "-"], capture_output=True, check=True, text=True)
                        .stdout.split())
    assert "人民調解協議書" in hant_text and "申請司法確認" in hant_text and "李卫东赔偿维修费人民币800元" in hant_text
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", "1", "-l", "1", str(hant),
                        str(shots / "09-agreement-pdf-zh_Hant")], check=True)

    # The branch resolves the case with the agreement and reports back; the case waits for the resident.
    branch.goto(case_url)
    for action, field, text in (("resolve", "summary", "双方达成调解协议，李卫东赔偿800元"),
                                ("report_back", "message", "已调解，协议已生效")):
        branch.click(f'summary[data-action="{action}"]')
        form = branch.locator(f'form[action$="/actions/{action}"]')
        form.locator(f'textarea[name="{field}"]').fill(text)
        submit(branch, form)
    assert branch.locator('summary[data-action="resolve"]').count() == 0

    # The grid leader's queue holds the follow-up visit (回访) the clock armed: a week after the payment date.
    leader.goto(f"{base}/queue")
    mediation_id = mediation_url.rsplit("/", 1)[1]
    assert leader.locator(f'#visit-tasks li[data-mediation="{mediation_id}"]').count() == 1
    assert "2026-12-27" in leader.text_content("#visit-tasks")
    leader.locator("#visit-tasks").scroll_into_view_if_needed()
    leader.screenshot(path=str(shots / "09b-grid-leader-queue-has-the-visit.png"), full_page=True)

    leader.goto(mediation_url)
    form = open_action(leader, "visit")
    form.locator('select[name="finding"]').select_option("breached")
    form.locator('textarea[name="note"]').fill("到期未付赔偿款")
    submit(leader, form)
    assert leader.get_attribute("#mediation-state", "data-state") == "breached"
    leader.screenshot(path=str(shots / "10-visit-finds-a-breach.png"), full_page=True)
    leader.goto(case_url)
    kinds = leader.locator(".timeline li").evaluate_all("items => items.map(i => i.dataset.kind)")
    assert "mediation.effective" in kinds and "mediation.visit" in kinds and "reopen_dispute" in kinds
    leader.screenshot(path=str(shots / "11-case-timeline-reopened-at-the-branch.png"), full_page=True)
    # The breach put the case back in the branch's hands: it can resolve it again, or mediate again.
    branch.goto(case_url)
    assert branch.locator('summary[data-action="resolve"]').count() == 1
    branch.screenshot(path=str(shots / "12-branch-holds-the-case-again.png"), full_page=True)

    # A second dispute with the same respondent is a repeat dispute (重复矛盾).
    leader.click("#nav-new-case")
    leader.select_option("#category", "NEI")
    leader.fill("#description", "李卫东家装修噪音扰民")
    leader.fill("#reporter_name", "王芳")
    leader.fill("#reporter_phone", "13600003333")
    leader.fill("#other_name", "李卫东")
    leader.fill("#other_phone", OTHER_PHONE)
    leader.click("#new-case button[type=submit]")
    leader.wait_for_load_state()
    for _ in range(40):
        if leader.locator("#repeat").count():
            break
        leader.wait_for_timeout(500)
        leader.reload()
    first_id = case_url.rsplit("/", 1)[1]
    assert leader.locator(f'#repeat a[data-repeat="{first_id}"]').count() == 1
    leader.locator("#repeat").scroll_into_view_if_needed()
    leader.screenshot(path=str(shots / "13-second-dispute-is-a-repeat.png"), full_page=True)
    branch.goto(f"{base}/inbox")
    assert branch.locator(f'tr[data-case="{first_id}"] .badge.repeat').count() == 1
    branch.screenshot(path=str(shots / "14-branch-inbox-marks-the-repeat.png"), full_page=True)
    branch.goto(f"{base}/registry/repeats")
    assert "李*东 137****2222" in branch.content() and OTHER_PHONE not in branch.content()
    branch.screenshot(path=str(shots / "15-branch-list-of-repeat-disputes.png"), full_page=True)
    for context in (leader_context, branch_context, mediator_context):
        context.close()
    print(f"\nscreenshots: {shots}")
    assert not re.search(r"Traceback", up.log()), up.log()[-3000:]
    assert base
