"""Residents reporting for themselves in a real browser against ``gridcase up``: ``/report`` on a phone with the
SMS code read from the SMS file, in the three languages; the grid leader finds the case in the queue.
Screenshots in ``SCREENSHOTS/<test name>/``.
"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.harness import Up
from tests.e2e.test_browser import PHONE, browser, log_in, passwords, shots  # noqa: F401 - fixtures
from tests.unit.reports.helpers import last_code


def confirm_phone(page: object, base: str, sms: Path, phone: str) -> None:
    page.goto(f"{base}/report")  # type: ignore[attr-defined]
    page.fill("#phone", phone)  # type: ignore[attr-defined]
    page.click("#send-code")  # type: ignore[attr-defined]
    page.wait_for_selector("#code")  # type: ignore[attr-defined]
    page.fill("#code", last_code(sms, phone))  # type: ignore[attr-defined]
    page.click("#confirm-code")  # type: ignore[attr-defined]
    page.wait_for_selector("#report-form")  # type: ignore[attr-defined]


def no_sideways_scroll(page: object) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")  # type: ignore[attr-defined]
    assert width <= PHONE["width"], f"the page scrolls sideways: {width}px"


def test_a_resident_reports_from_the_phone_and_the_grid_sees_it(
        browser: object, up: Up, shots: Path, sms_sink: Path) -> None:  # noqa: F811
    up.start()
    base = f"http://127.0.0.1:{up.port}"
    resident = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True)  # type: ignore[attr-defined]
    page = resident.new_page()
    page.goto(f"{base}/report")
    assert "110" in page.content() and "发送验证码" in page.content()
    page.screenshot(path=str(shots / "01-zh_Hans-phone.png"), full_page=True)
    page.fill("#phone", "13912345678")
    page.click("#send-code")
    page.wait_for_selector("#code")
    assert "139****5678" in (page.text_content("#code-sent") or "")
    page.screenshot(path=str(shots / "02-zh_Hans-code.png"), full_page=True)
    page.fill("#code", last_code(sms_sink, "13912345678"))
    page.click("#confirm-code")
    page.wait_for_selector("#report-form")
    page.check("input[name=category][value=NEI]")
    page.select_option("#compound", "金桂园")
    # The building list follows the compound.
    assert page.eval_on_selector("#building option:text-is('铁路新村3号楼')", "o => o.disabled")
    page.select_option("#building", label="金桂园1号楼")
    page.fill("#description", "楼上卫生间漏水，我家天花板在滴水")
    page.fill("#name", "王先生")
    no_sideways_scroll(page)
    page.screenshot(path=str(shots / "03-zh_Hans-form.png"), full_page=True)
    page.click("#send-report")
    page.wait_for_selector("#slip-code")
    code = (page.text_content("#slip-code") or "").strip()
    assert "有进展时我们会发短信通知您" in page.content() and page.is_visible("#save-slip")
    no_sideways_scroll(page)
    page.screenshot(path=str(shots / "04-zh_Hans-slip.png"), full_page=True)
    with page.expect_download() as saved:
        page.click("#save-slip")
    assert saved.value.suggested_filename.endswith(".png")
    # Back in the same browser: the phone is not asked again.
    page.goto(f"{base}/report")
    assert page.is_visible("#report-form") and "139****5678" in (page.text_content("#confirmed-phone") or "")
    # Same problem, same building: offered as an addition.
    page.check("input[name=category][value=NEI]")
    page.select_option("#building", label="金桂园1号楼")
    page.fill("#description", "今天水更多了")
    page.fill("#name", "王先生")
    page.click("#send-report")
    page.wait_for_selector("#duplicate-offer")
    page.screenshot(path=str(shots / "05-zh_Hans-duplicate-offer.png"), full_page=True)
    page.click("#add-to-existing")
    page.wait_for_selector("#slip-code")
    assert (page.text_content("#slip-code") or "").strip() == code
    resident.close()

    for n, (locale, language, send) in enumerate((("zh-TW", "zh_Hant", "發送驗證碼"), ("en-US", "en", "Send me a code"))):
        other = browser.new_context(viewport=PHONE, locale=locale, is_mobile=True)  # type: ignore[attr-defined]
        page = other.new_page()
        page.goto(f"{base}/report")
        assert send in page.content()
        page.screenshot(path=str(shots / f"{6 + 2 * n:02d}-{language}-phone.png"), full_page=True)
        confirm_phone(page, base, sms_sink, f"1370000000{n}")
        page.check("input[name=category][value=NOI]")
        page.check("#danger")
        assert "urgent" in (page.get_attribute("#danger-call", "class") or "")  # the numbers to call first
        no_sideways_scroll(page)
        page.screenshot(path=str(shots / f"{7 + 2 * n:02d}-{language}-form.png"), full_page=True)
        other.close()

    # The grid leader of 金桂园1号楼 finds it in the queue once the worker has dispatched it.
    leader = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True)  # type: ignore[attr-defined]
    page = leader.new_page()
    log_in(page, up, "xy01a1.leader", passwords(up)["xy01a1.leader"])
    up.wait_for(lambda: (page.goto(f"{base}/queue") and "天花板在滴水" in page.content()), "the case in the queue")
    page.screenshot(path=str(shots / "10-leader-queue.png"), full_page=True)
    leader.close()
