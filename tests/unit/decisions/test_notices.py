"""A decision's notice as the street reads it: what happened, which decision, what they may do, the link."""

from __future__ import annotations

from workflow.notices.templates import render

PAYLOAD = {"decision_id": 4, "seq": 1, "title": "金桂园加装电梯", "state": "proposed", "message": "联系 13812345678",
           "category": "GOV", "severity": "P3", "unit": "XY", "community": "新华社区党总支"}


def test_the_street_is_told_of_a_proposal_in_its_language() -> None:
    zh = render("decision.proposed", "zh_Hans", PAYLOAD, "向阳街道", None, "http://x/decisions/4")
    assert zh.title == "社区提出议事事项(四议两公开),报街道"
    assert zh.body.splitlines()[1] == "议事事项 #4 · 金桂园加装电梯 · 新华社区党总支"
    assert "138****5678" in zh.body and "13812345678" not in zh.body
    assert "可在议事页面提出意见" in zh.body and zh.body.endswith("http://x/decisions/4")
    en = render("decision.result_published", "en", PAYLOAD, "Xiangyang", None, None)
    assert en.body.splitlines()[1].startswith("Decision #4")
