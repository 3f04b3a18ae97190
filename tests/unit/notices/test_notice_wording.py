"""Every notice says what happened and what its reader may do, in the reader's language."""

from __future__ import annotations

import pytest

from workflow.base.labels import LANGUAGES
from workflow.cases.outbox import _TO_RESIDENT
from workflow.notices.subscriptions import TOPICS
from workflow.notices.templates import LEADS, NEXT, RESIDENT_LEADS, render

PAYLOAD = {"case_id": 7, "category": "NOI", "severity": "P2", "level": "grid"}
EVALUATE = ("评价", "評價", "是否解决", "是否解決", "evaluate", "tell us if")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("topic", TOPICS)
def test_each_staff_notice_says_what_happened_and_what_to_do(topic: str, language: str) -> None:
    index = LANGUAGES.index(language)
    notice = render(topic, language, PAYLOAD, "金桂园1号楼党小组", None, "http://x/cases/7")
    assert notice.title == LEADS[topic][index].format(unit="金桂园1号楼党小组")
    assert NEXT[topic][index] in notice.body
    assert not any(word in notice.body for word in EVALUATE), notice.body  # staff evaluate nothing


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("topic", sorted(set(_TO_RESIDENT.values())))
def test_each_resident_notice_has_the_residents_wording(topic: str, language: str) -> None:
    notice = render(topic, language, PAYLOAD, None, None, "http://x/track?code=AB", resident=True)
    assert notice.title == RESIDENT_LEADS[topic][LANGUAGES.index(language)]
    asks_for_answer = any(word in notice.body for word in EVALUATE)
    # Only report back asks whether it was solved; an extension is not the end of the case.
    assert asks_for_answer is (topic == "case.reported_back"), notice.body
    if topic != "case.rejected":
        assert "http://x/track?code=AB" in notice.body


def test_an_approved_extension_tells_the_resident_it_needs_more_time_not_to_evaluate() -> None:
    notice = render("case.extended", "zh_Hans", PAYLOAD, None, None, "http://x/track?code=AB", resident=True)
    assert notice.title == "您的案件需要更多时间办理,期限已延长"
    assert "可在此查看进展:http://x/track?code=AB" in notice.body and "评价" not in notice.body


def test_a_reopen_notice_quotes_the_resident() -> None:
    notice = render("case.reopened", "zh_Hans", {**PAYLOAD, "message": "噪音还在,晚上11点后最吵"}, "网格", None, None)
    assert "居民说: 噪音还在,晚上11点后最吵" in notice.body
