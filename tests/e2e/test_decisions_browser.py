"""A community decision (四议两公开) in a real browser on a phone (Debian's Chromium, Playwright, ``gridcase up``).

The community's committee proposes a lift for a building (reported to the street), records the
joint meeting, the party members' meeting (one attempt short of its quorum, refused with the
numbers) and the residents' meeting, and publishes the resolution; a resident objects on the
public page (name and phone never shown), which pauses the period; the committee answers and the
answer is published; the clock ends the period (a short one by policy), the committee carries it
out and publishes the result, and the clock closes it. A screenshot of each step, committee and public.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.harness import Up
from tests.e2e.test_browser import PHONE, browser, log_in, passwords, shots  # noqa: F401
from tests.e2e.test_mediation_browser import open_action, submit
from workflow.clock.policy import DEFAULT_POLICY_FILE

OBJECTOR, OBJECTOR_PHONE = "赵桂芳", "13912345678"


def names(n: int, prefix: str) -> str:
    return "，".join(f"{prefix}{i}" for i in range(1, n + 1))


def record_meeting(page: object, action: str, entitled: int, present: int, votes_for: int | None) -> None:
    form = open_action(page, action)
    form.locator('input[name="held_on"]').fill("2026-12-03")
    form.locator('input[name="place"]').fill("新华社区议事厅")
    who = "居民" if action == "residents_meeting" else "党员"
    form.locator('textarea[name="entitled"]').fill(names(entitled, who))
    form.locator('textarea[name="present"]').fill(names(present, who))
    if votes_for is not None:
        form.locator('input[name="votes_for"]').fill(str(votes_for))
        form.locator('input[name="votes_against"]').fill(str(present - votes_for))
        form.locator('input[name="votes_abstaining"]').fill("0")
    form.locator('textarea[name="minutes"]').fill("讨论1号楼加装电梯方案及费用分摊。")
    submit(page, form)


def wait_for_step(page: object, kind: str, seconds: int = 90) -> None:
    for _ in range(seconds):
        if page.locator(f'#timeline li[data-kind="{kind}"]').count():  # type: ignore[attr-defined]
            return
        page.wait_for_timeout(1000)  # type: ignore[attr-defined]
        page.reload()  # type: ignore[attr-defined]
    raise AssertionError(f"no '{kind}' step on the timeline")


def test_a_community_decision_from_proposal_to_published_result(browser: object, up: Up,  # noqa: F811
                                                                shots: Path,  # noqa: F811
                                                                tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # Publication periods of 20 seconds, so the clock's part happens within the test.
    policy = tmp_path / "policy.yaml"
    policy.write_text(DEFAULT_POLICY_FILE.read_text(encoding="utf-8").replace(
        "publication: P5D working", "publication: PT20S calendar"), encoding="utf-8")
    monkeypatch.setenv("GRIDCASE_POLICY", str(policy))
    monkeypatch.setenv("GRIDCASE_SWEEP_INTERVAL", "2")
    up.start()
    logins = passwords(up)
    base = f"http://127.0.0.1:{up.port}"

    committee_context = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True)  # type: ignore[attr-defined]
    committee = committee_context.new_page()
    errors: list[str] = []
    committee.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(committee, up, "xy01.secretary", logins["xy01.secretary"])
    committee.click("#nav-decisions")
    committee.click("#new-decision")
    committee.fill('input[name="title"]', "金桂园1号楼加装电梯")
    committee.fill('textarea[name="matter"]', "1号楼加装电梯一部，费用由政府补贴和住户分摊。")
    committee.fill('textarea[name="reasons"]', "楼内老年住户多，上下楼困难。")
    committee.fill('textarea[name="options"]', "政府补贴＋住户按楼层分摊\n暂缓加装")
    committee.fill('input[name="budget"]', "约60万元")
    committee.click("#propose")
    committee.wait_for_load_state()
    decision_url = committee.url
    did = re.search(r"/decisions/(\d+)$", decision_url).group(1)  # type: ignore[union-attr]
    assert committee.get_attribute("#decision-state", "data-state") == "proposed"
    committee.screenshot(path=str(shots / "01-proposed-and-reported-to-the-street.png"), full_page=True)

    record_meeting(committee, "joint_meeting", 9, 8, None)
    assert committee.get_attribute("#decision-state", "data-state") == "discussed"
    record_meeting(committee, "party_meeting", 30, 19, 15)  # one short of two thirds
    refusal = committee.inner_text("#action-error")
    assert "30" in refusal and "20" in refusal and "19" in refusal
    committee.screenshot(path=str(shots / "02-party-meeting-without-quorum-refused.png"), full_page=True)
    record_meeting(committee, "party_meeting", 30, 20, 15)
    record_meeting(committee, "residents_meeting", 40, 21, 18)
    assert committee.get_attribute("#decision-state", "data-state") == "resolved"
    form = open_action(committee, "publish")
    form.locator('textarea[name="text"]').fill("经居民代表会议表决通过：1号楼加装电梯，费用按楼层分摊，一楼住户不分摊。")
    submit(committee, form)
    assert committee.get_attribute("#decision-state", "data-state") == "resolution_published"
    committee.screenshot(path=str(shots / "03-three-meetings-and-the-resolution-published.png"), full_page=True)

    resident_context = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True)  # type: ignore[attr-defined]
    resident = resident_context.new_page()
    resident.goto(f"{base}/community/XY-01/decisions")
    resident.screenshot(path=str(shots / "04-public-list.png"), full_page=True)
    resident.click(f'article[data-decision="{did}"] a')
    resident.fill('input[name="name"]', OBJECTOR)
    resident.fill('input[name="phone"]', OBJECTOR_PHONE)
    resident.fill('textarea[name="text"]', "二楼住户也很少用电梯，分摊比例应再降低。")
    resident.click("#send-objection")
    resident.wait_for_load_state()
    public_text = resident.content()
    assert "分摊比例应再降低" in public_text
    assert OBJECTOR not in public_text and OBJECTOR_PHONE not in public_text
    resident.screenshot(path=str(shots / "05-public-objection-raised-period-paused.png"), full_page=True)

    committee.goto(decision_url)
    assert "赵*芳" in committee.content() and "139****5678" in committee.content()
    form = open_action(committee, "answer")
    form.locator('textarea[name="text"]').fill("二楼住户分摊比例由15%调整为10%，已在方案中修改。")
    submit(committee, form)
    committee.screenshot(path=str(shots / "06-objection-answered.png"), full_page=True)
    resident.reload()
    assert "调整为10%" in resident.content()

    wait_for_step(committee, "period_over")  # the clock ended the period and told the committee
    submit(committee, open_action(committee, "carry_out"))
    form = open_action(committee, "publish_result")
    form.locator('textarea[name="text"]').fill("电梯已于12月完工，经验收合格并投入使用。")
    submit(committee, form)
    assert committee.get_attribute("#decision-state", "data-state") == "result_published"
    for _ in range(90):
        committee.reload()
        if committee.get_attribute("#decision-state", "data-state") == "closed":
            break
        committee.wait_for_timeout(1000)
    assert committee.get_attribute("#decision-state", "data-state") == "closed"
    committee.screenshot(path=str(shots / "07-result-published-and-closed.png"), full_page=True)
    width = committee.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the decision's page scrolls sideways ({width} px)"
    committee.goto(f"{base}/decisions")
    committee.screenshot(path=str(shots / "08-committee-list.png"), full_page=True)

    resident.reload()
    assert "验收合格" in resident.content()
    resident.screenshot(path=str(shots / "09-public-result.png"), full_page=True)
    english = browser.new_context(viewport=PHONE, locale="en-GB", is_mobile=True)  # type: ignore[attr-defined]
    page = english.new_page()
    page.goto(f"{base}/community/XY-01/decisions/{did}")
    page.screenshot(path=str(shots / "10-public-page-in-english.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the public page scrolls sideways ({width} px)"
    traditional = browser.new_context(viewport=PHONE, locale="zh-TW", is_mobile=True)  # type: ignore[attr-defined]
    page = traditional.new_page()
    page.goto(f"{base}/community/XY-01/decisions/{did}")
    page.screenshot(path=str(shots / "11-public-page-in-traditional-chinese.png"), full_page=True)
    assert errors == []
