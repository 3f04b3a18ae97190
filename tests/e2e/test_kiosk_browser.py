"""The service centre's touch screen at 1080×1920 against ``gridcase up``: the key from ``gridcase kiosk add``,
big buttons, the same steps as /report, the slip to print, and the automatic reset that forgets what was typed
(``GRIDCASE_KIOSK_IDLE`` in seconds for the test). Screenshots in ``SCREENSHOTS/<test name>/``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.harness import GRIDCASE, Up
from tests.e2e.test_browser import browser, shots  # noqa: F401 - fixtures
from tests.unit.reports.helpers import last_code

SCREEN = {"width": 1080, "height": 1920}


def gridcase(up: Up, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BROKER_URL")}
    env["GRIDCASE_HOME"] = str(up.home)
    env["GRIDCASE_PUBLIC_URL"] = f"http://127.0.0.1:{up.port}"
    return subprocess.run([GRIDCASE, *args], env=env, check=True, capture_output=True, text=True).stdout.strip()


def test_the_touch_screen_reports_prints_and_starts_again_by_itself(
        browser: object, up: Up, shots: Path, sms_sink: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setenv("GRIDCASE_KIOSK_IDLE", "6")
    up.start()
    url = gridcase(up, "kiosk", "add", "XY-01", "--label", "新华社区服务站")
    assert "/kiosk/XY-01?k=" in url
    screen = browser.new_context(viewport=SCREEN, locale="zh-CN", has_touch=True)  # type: ignore[attr-defined]
    page = screen.new_page()
    page.goto(url)
    assert page.is_visible("#start-again")
    height = page.evaluate("document.getElementById('send-code').getBoundingClientRect().height")
    assert height >= 56, f"the button is {height}px high: too small for a finger"
    page.screenshot(path=str(shots / "01-kiosk-phone.png"))
    page.fill("#phone", "13955556666")
    page.click("#send-code")
    page.wait_for_selector("#code")
    page.fill("#code", last_code(sms_sink, "13955556666"))
    page.click("#confirm-code")
    page.wait_for_selector("#report-form")
    page.check("input[name=category][value=UTL]")
    page.select_option("#building", label="铁路新村3号楼")
    page.fill("#description", "暖气不热，屋里只有十二度")
    page.fill("#name", "刘")
    page.screenshot(path=str(shots / "02-kiosk-form.png"))
    page.click("#send-report")
    page.wait_for_selector("#slip-code")
    assert page.is_visible("#print-slip") and not page.is_visible("#save-slip")
    page.screenshot(path=str(shots / "03-kiosk-slip.png"))

    # Someone starts typing and walks away: after the idle time the screen is back at the start, empty.
    page.click("#start-again")
    page.wait_for_selector("#phone")
    page.fill("#phone", "13800001111")
    page.wait_for_timeout(8000)
    assert page.input_value("#phone") == "", "what was typed survived the reset"
    assert "/kiosk/XY-01" in page.url
    page.screenshot(path=str(shots / "04-kiosk-after-reset.png"))
    # The confirmed phone is not remembered on the shared screen: the next person is asked for theirs.
    assert page.is_visible("#send-code")

    # A revoked key stops the copied URL.
    key_id = gridcase(up, "kiosk", "list").split("\t")[0]
    gridcase(up, "kiosk", "revoke", key_id)
    assert page.goto(url).status == 403
    screen.close()
