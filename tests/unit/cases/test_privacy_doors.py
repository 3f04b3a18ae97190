"""Issue 12: numbers in free text, the resident's door, merges across grids, reveals, and malformed requests."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select

from tests.conftest import Published
from tests.unit.cases.test_lifecycle import BRANCH, LEADER, OTHER_LEADER, STREET, Desk
from tests.unit.helpers import REPORTER_PHONE, event, post_event
from workflow.base.db import unit_of_work
from workflow.cases.models import Case, CaseEvent

MOBILE, ID_NUMBER = "13998765432", "11010119900307123X"
WITH_NUMBERS = f"对方电话{MOBILE}，身份证{ID_NUMBER}"
LAST4 = {"X-Phone-Last4": REPORTER_PHONE[-4:]}


@pytest.fixture
def desk(client: FlaskClient, engine: Engine, published: Published) -> Desk:
    return Desk(client, engine, published)


def _kinds(engine: Engine, case_id: int) -> list[str]:
    with unit_of_work(engine) as session:
        return list(session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case_id)
                                    .order_by(CaseEvent.seq)))


def _reported_back(desk: Desk, message: str, **data: Any) -> dict[str, Any]:
    submitted = desk.submit(**data)
    desk.act(LEADER, submitted["case_id"], "resolve", summary="已调解")
    assert desk.act(LEADER, submitted["case_id"], "report_back", message=message).status_code == 200
    return submitted


# --- 1. free text leaks numbers ----------------------------------------------------------------

def test_public_tracking_masks_numbers_in_report_back_and_rejection(desk: Desk, client: FlaskClient) -> None:
    code = _reported_back(desk, f"已联系物业{WITH_NUMBERS}")["tracking_code"]
    shown = client.get(f"/api/v1/track/{code}", headers=LAST4)
    assert shown.status_code == 200
    assert MOBILE not in shown.text and ID_NUMBER not in shown.text
    assert "139****5432" in shown.text and "1101**********123X" in shown.text
    rejected = desk.submit()
    desk.act(LEADER, rejected["case_id"], "reject", reason=f"请拨打{MOBILE}咨询")
    text = client.get(f"/api/v1/track/{rejected['tracking_code']}", headers=LAST4).text
    assert MOBILE not in text and "139****5432" in text


def test_description_numbers_are_masked_above_the_holder_and_whole_for_it(desk: Desk) -> None:
    case_id = desk.submit(description=f"楼上噪音，{WITH_NUMBERS}")["case_id"]
    desk.act(LEADER, case_id, "note", message=f"已联系{MOBILE}")
    holder = desk.case(LEADER, case_id).get_json()
    assert WITH_NUMBERS in holder["description"] and any(MOBILE in (e["reason"] or "") for e in holder["timeline"])
    for viewer in (BRANCH, STREET, "xy.admin"):
        view = desk.case(viewer, case_id)
        assert view.status_code == 200, viewer
        assert MOBILE not in view.text and ID_NUMBER not in view.text, viewer
        assert "139****5432" in view.get_json()["description"], viewer


# --- 2. the resident API ------------------------------------------------------------------------

def test_wrong_code_and_wrong_digits_answer_alike(desk: Desk, client: FlaskClient) -> None:
    code = _reported_back(desk, "已处理")["tracking_code"]
    answer = {"phone_last4": "0000", "resolved": "no", "satisfaction": 1}
    wrong_digits = client.post(f"/api/v1/track/{code}/evaluation", json=answer)
    wrong_code = client.post("/api/v1/track/AAAA-BBBB-CCCC-DDDD/evaluation", json=answer)
    assert wrong_digits.status_code == wrong_code.status_code == 404
    assert wrong_digits.get_json() == wrong_code.get_json()
    look_digits = client.get(f"/api/v1/track/{code}", headers={"X-Phone-Last4": "0000"})
    look_code = client.get("/api/v1/track/AAAA-BBBB-CCCC-DDDD", headers={"X-Phone-Last4": "0000"})
    assert look_digits.status_code == look_code.status_code == 404
    assert look_digits.get_json() == look_code.get_json()


def test_following_a_case_needs_the_digits(desk: Desk, client: FlaskClient) -> None:
    code = desk.submit()["tracking_code"]
    missing = client.get(f"/api/v1/track/{code}")
    assert missing.status_code == 422 and "X-Phone-Last4" in missing.text
    assert client.get(f"/api/v1/track/{code}", headers=LAST4).status_code == 200


def test_five_wrong_digits_lock_the_code_whatever_the_digits(desk: Desk, client: FlaskClient,
                                                             engine: Engine) -> None:
    submitted = _reported_back(desk, "已处理")
    code = submitted["tracking_code"]
    right = {"phone_last4": REPORTER_PHONE[-4:], "resolved": "no", "satisfaction": 1}
    for guess in range(5):
        wrong = client.post(f"/api/v1/track/{code}/evaluation", json={**right, "phone_last4": f"{guess:04d}"})
        assert wrong.status_code == 404
    locked = client.post(f"/api/v1/track/{code}/evaluation", json=right)
    assert locked.status_code == 429 and "grid leader" in locked.get_json()["message"]
    assert 0 < int(locked.headers["Retry-After"]) <= 900
    assert client.get(f"/api/v1/track/{code}", headers=LAST4).status_code == 429
    with unit_of_work(engine) as session:
        case = session.get(Case, submitted["case_id"])
        assert case is not None and case.state == "reported_back"  # not reopened by the guesser
    # An unknown code locks the same way, so the lock tells nothing of which codes exist.
    for guess in range(5):
        client.get("/api/v1/track/AAAA-BBBB-CCCC-DDDD", headers={"X-Phone-Last4": f"{guess:04d}"})
    assert client.get("/api/v1/track/AAAA-BBBB-CCCC-DDDD", headers=LAST4).status_code == 429


def test_tracking_api_is_rate_limited_per_address(client: FlaskClient) -> None:
    statuses = [client.get(f"/api/v1/track/AAAA-BBBB-CCCC-{i:04d}", headers=LAST4).status_code for i in range(21)]
    assert statuses[:20] == [404] * 20 and statuses[20] == 429


def test_page_and_api_share_one_count_per_address(app: Any, client: FlaskClient) -> None:
    page = app.test_client()
    form = page.get("/track").text
    token = form.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    for i in range(10):
        looked = page.post("/track", data={"csrf_token": token, "code": f"AAAA-BBBB-CCCC-{i:04d}", "phone_last4": "5678"})
        assert looked.status_code == 404
    statuses = [client.get(f"/api/v1/track/AAAA-BBBB-DDDD-{i:04d}", headers=LAST4).status_code for i in range(11)]
    assert statuses[:10] == [404] * 10 and statuses[10] == 429


def test_tracking_api_is_rate_limited_per_code(desk: Desk, app: Any) -> None:
    code = desk.submit()["tracking_code"]
    # Ten right lookups a minute from anywhere; the eleventh waits (each client its own address).
    statuses = []
    for i in range(11):
        visitor = app.test_client()
        visitor.environ_base["REMOTE_ADDR"] = f"10.0.0.{i + 1}"
        statuses.append(visitor.get(f"/api/v1/track/{code}", headers=LAST4).status_code)
    assert statuses[:10] == [200] * 10 and statuses[10] == 429


# --- 3. merging into another grid's case -------------------------------------------------------

def test_merge_into_a_case_of_another_grid_is_refused_like_a_missing_one(desk: Desk) -> None:
    mine = desk.submit()["case_id"]
    theirs = desk.submit(grid="XY-01-A-2")["case_id"]
    other_grid = desk.act(LEADER, mine, "merge", merge_into=theirs)
    missing = desk.act(LEADER, mine, "merge", merge_into=999)
    assert other_grid.status_code == missing.status_code == 422
    assert other_grid.get_json()["message"].replace(str(theirs), "N") == missing.get_json()["message"].replace(
        "999", "N")
    assert desk.case(LEADER, mine).get_json()["state"] == "grid_handling"
    # Their own leader may merge a duplicate of their grid into it.
    duplicate = desk.submit(grid="XY-01-A-2")["case_id"]
    assert desk.act(OTHER_LEADER, duplicate, "merge", merge_into=theirs).get_json()["state"] == "merged"


# --- 4. and 5. reveals ---------------------------------------------------------------------------

def test_api_masks_parties_for_the_holder_until_a_logged_reveal(desk: Desk, engine: Engine) -> None:
    case_id = desk.submit(parties=[{"role": "respondent", "name": "李大山", "phone": "13900001111"}])["case_id"]
    view = desk.case(LEADER, case_id).get_json()
    assert [(p["name"], p["phone"], p["masked"]) for p in view["parties"]] == [
        ("王*明", "138****5678", True), ("李*山", "139****1111", True)]
    assert "reveal" not in _kinds(engine, case_id)
    respondent = view["parties"][1]["id"]
    shown = desk.client.post(f"/api/v1/cases/{case_id}/parties/{respondent}/reveal", headers=desk.auth(LEADER))
    assert shown.status_code == 200
    assert shown.get_json() == {"id": respondent, "role": "respondent", "name": "李大山", "phone": "13900001111",
                                "masked": False}
    step = desk.case(LEADER, case_id).get_json()["timeline"][-1]
    assert step["kind"] == "reveal" and step["actor"] == LEADER and not step["public"]
    assert step["reason"] == f"respondent #{respondent} (李*山): name and phone shown in full"
    assert "13812345678" not in desk.case(LEADER, case_id).text  # the next read is masked again


def test_a_unit_above_cannot_write_a_reveal_without_seeing(desk: Desk, engine: Engine) -> None:
    case_id = desk.submit()["case_id"]
    party = desk.case(BRANCH, case_id).get_json()["parties"][0]["id"]
    as_action = desk.act(BRANCH, case_id, "reveal", reason="I looked")
    assert as_action.status_code == 404 and "parties" in as_action.get_json()["message"]
    by_holder_as_action = desk.act(LEADER, case_id, "reveal", reason="I looked")
    assert by_holder_as_action.status_code == 404
    above = desk.client.post(f"/api/v1/cases/{case_id}/parties/{party}/reveal", headers=desk.auth(BRANCH))
    assert above.status_code == 403 and REPORTER_PHONE not in above.text
    assert "reveal" not in _kinds(engine, case_id)


# --- 8. malformed requests -----------------------------------------------------------------------

def test_deeply_nested_json_is_a_400_naming_it(desk: Desk, client: FlaskClient) -> None:
    case_id = desk.submit()["case_id"]
    nested = "[" * 20000 + "]" * 20000
    for path, content_type in (("/api/v1/events", "application/cloudevents+json"),
                               ("/api/v1/events", "application/cloudevents-batch+json"),
                               (f"/api/v1/cases/{case_id}/actions/note", "application/json")):
        # Intake takes no staff token (a bearer there is an integrator key): only the action needs one.
        headers = desk.auth(LEADER) if "/cases/" in path else {}
        answer = client.post(path, data=nested, content_type=content_type, headers=headers)
        assert answer.status_code == 400, (path, answer.text)
        assert "nested too deeply" in answer.get_json()["message"]


def test_an_id_too_large_for_the_database_is_a_422(desk: Desk) -> None:
    case_id = desk.submit()["case_id"]
    too_big = desk.case(LEADER, 9223372036854775808)
    assert too_big.status_code == 422 and too_big.get_json()["problems"][0]["field"] == "case_id"
    merge = desk.act(LEADER, case_id, "merge", merge_into=9223372036854775808)
    assert merge.status_code == 422 and merge.get_json()["problems"][0]["field"] == "merge_into"


def test_nul_bytes_are_refused_and_named(desk: Desk, client: FlaskClient, engine: Engine) -> None:
    in_description = post_event(client, event({"description": "噪音\x00"}))
    in_id = post_event(client, event(id="evt\x00-1"))
    for answer, field in ((in_description, "data.description"), (in_id, "id")):
        assert answer.status_code == 422 and answer.get_json()["problems"][0]["field"] == field
        assert "NUL" in answer.get_json()["message"]
    case_id = desk.submit()["case_id"]
    note = desk.act(LEADER, case_id, "note", message="a\x00b")
    assert note.status_code == 422 and note.get_json()["problems"][0]["field"] == "message"
    with unit_of_work(engine) as session:
        assert session.scalars(select(Case.id)).all() == [case_id]


def test_undeclared_method_is_a_405_with_allow(client: FlaskClient) -> None:
    answer = client.put("/api/v1/events", data=json.dumps({}))
    assert answer.status_code == 405 and set(answer.headers["Allow"].replace(" ", "").split(",")) >= {"POST"}


def test_openapi_documents_the_reveal_and_the_residents_digits(client: FlaskClient) -> None:
    doc = client.get("/openapi.json").get_json()
    reveal = doc["paths"]["/api/v1/cases/{case_id}/parties/{party_id}/reveal"]["post"]
    assert reveal["security"] == [{"bearer": []}] and "403" in reveal["responses"]
    track = doc["paths"]["/api/v1/track/{tracking_code}"]["get"]
    header = next(p for p in track["parameters"] if p["in"] == "header")
    assert (header["name"], header["required"]) == ("X-Phone-Last4", True)
    assert {"404", "429"} <= set(track["responses"])
