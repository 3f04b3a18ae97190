"""The decision pages through Flask's test client: propose, meetings with a refused quorum said with its
numbers, publication, a resident's objection on the public page, the answer published; a GOV case linked."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import Engine

from tests.conftest import Published
from tests.unit.decisions.test_api import Clock
from tests.unit.helpers import event, post_event, run_worker
from tests.unit.ui_helpers import Browser

GENERAL, STREET = "xy01.secretary", "xy.street"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Clock:
    monkeypatch.setenv("GRIDCASE_HOME", str(tmp_path / "home"))  # the documents go to a data folder of the test
    return Clock(monkeypatch)


def people(n: int, prefix: str) -> str:
    return ", ".join(f"{prefix}{i}" for i in range(1, n + 1))


def meeting(entitled: int, present: int, votes_for: int | None, **extra: Any) -> dict[str, Any]:
    body = {"held_on": "2026-12-07", "place": "社区会议室", "minutes": "讨论方案", "entitled": people(entitled, "人"),
            "present": people(present, "人")}
    if votes_for is not None:
        body |= {"votes_for": str(votes_for), "votes_against": str(present - votes_for), "votes_abstaining": "0"}
    return body | extra


def test_a_decision_is_run_from_the_pages(app: Any, engine: Engine, clock: Clock) -> None:
    committee = Browser(app, engine, GENERAL)
    assert 'id="nav-decisions"' in committee.get("/decisions").text
    r = committee.post_form("/decisions/new", "/decisions/new",
                            {"title": "金桂园加装电梯", "matter": "1号楼加装电梯", "reasons": "老人上下楼难",
                             "options": "补贴\n暂缓"})
    assert r.status_code == 303, r.text[r.text.find("form-error"):][:300]
    url = r.headers["Location"]
    did = int(url.rsplit("/", 1)[1])
    page = committee.get(url).text
    assert "reported to the street" in page and 'data-action="joint_meeting"' in page
    act = f"/decisions/{did}/actions/"
    r = committee.post_form(url, act + "joint_meeting", meeting(9, 8, None))
    assert r.status_code == 303, r.text[r.text.find("action-error"):][:300]
    refused = committee.post_form(url, act + "party_meeting", meeting(30, 19, 19))
    assert refused.status_code == 422
    assert "two thirds of the 30 entitled present, 20, and 19 were present" in refused.text
    assert committee.post_form(url, act + "party_meeting", meeting(30, 20, 11)).status_code == 303
    assert committee.post_form(url, act + "residents_meeting", meeting(40, 21, 11)).status_code == 303
    photo = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(photo, "JPEG")
    photo.seek(0)
    r = committee.post_form(url, act + "attach", {"kind": "notice_photo", "title": "公示栏照片",
                                                  "file": (photo, "notice.jpg", "image/jpeg")})
    assert r.status_code == 303
    page = committee.get(url).text
    assert "公示栏照片" in page and "20 of 30 entitled present" in page
    document = committee.get(page.split('data-document="')[0].rsplit('href="', 1)[1].split('"')[0])
    assert document.status_code == 200 and document.mimetype == "image/jpeg"
    document.close()
    refused = committee.post_form(url, act + "publish", {"text": "联系人 13812345678"})
    assert refused.status_code == 422 and "phone, ID or bank card number" in refused.text
    assert committee.post_form(url, act + "publish", {"text": "决议:加装电梯,费用按楼层分摊。"}).status_code == 303

    resident = Browser(app, None)
    listing = resident.get("/community/XY-01/decisions").text
    assert "金桂园加装电梯" in listing and "open for objections" in listing
    public = f"/community/XY-01/decisions/{did}"
    r = resident.post_form(public, public + "/objection", {"name": "赵桂芳", "phone": "13912345678",
                                                          "text": "一楼不应分摊"})
    assert r.status_code == 303
    page = resident.get(public).text
    assert "一楼不应分摊" in page and "Publication paused" in page
    assert "赵桂芳" not in page and "13912345678" not in page and "人1" not in page

    staff_page = committee.get(url).text
    assert "赵*芳" in staff_page and "139****5678" in staff_page
    objection = staff_page.split('data-objection="')[1].split('"')[0]
    assert committee.post_form(url, act + "answer", {"objection_id": objection,
                                                     "text": "一楼住户不分摊。"}).status_code == 303
    assert "一楼住户不分摊。" in resident.get(public).text


def test_a_gov_case_page_offers_the_proposal(app: Any, client: FlaskClient, engine: Engine,
                                             published: Published, clock: Clock) -> None:
    answer = post_event(client, event({"category": "GOV", "description": "建议规划停车位"}))
    run_worker(engine, published.events)
    case_id = answer.get_json()["case_id"]
    committee = Browser(app, engine, GENERAL)
    page = committee.get(f"/cases/{case_id}").text
    assert 'id="make-decision"' in page
    r = committee.post_form(f"/decisions/new?case_id={case_id}", "/decisions/new",
                            {"title": "规划停车位", "reasons": "车位不足", "case_id": str(case_id)})
    assert r.status_code == 303
    did = r.headers["Location"].rsplit("/", 1)[1]
    assert f'data-decision="{did}"' in committee.get(f"/cases/{case_id}").text
    street = Browser(app, engine, STREET)
    page = street.get(f"/decisions/{did}").text
    assert 'data-action="comment"' in page and 'data-action="joint_meeting"' not in page
