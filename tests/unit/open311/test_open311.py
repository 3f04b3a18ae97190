"""Open311 GeoReport v2: every method in JSON and XML, every error, the filters, paging and attributes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select

from schemas.vocabulary import Category
from tests.conftest import Published
from tests.unit.helpers import run_worker, token_for
from tests.unit.open311.helpers import BASE, IN_XY01A1, IN_XY02A1, NOWHERE, make_key, post, read
from workflow.base.db import unit_of_work
from workflow.cases.models import Case, InboxEvent
from workflow.integrators.keys import revoke

FORMATS = ["json", "xml"]
NEI = {"attribute[OTHER_PARTY]": "李大成", "attribute[MEDIATION]": "yes"}


@pytest.fixture
def key(engine: Engine) -> str:
    return make_key(engine)


def file(client: FlaskClient, key: str, fmt: str = "json", **fields: Any) -> Any:
    body = {"service_code": "NEI", "lat": IN_XY01A1[0], "long": IN_XY01A1[1],
            "description": "楼上漏水，找李大成（13912345678）不理", "first_name": "小明", "last_name": "王",
            "phone": "13812345678"}
    if fields.get("service_code", "NEI") == "NEI":
        body.update(NEI)  # the dispute's required answers; other services ask other things
    body.update(fields)
    return post(client, fmt, key, **{k: v for k, v in body.items() if v is not None})


def errors_of(response: Any, fmt: str) -> list[dict[str, Any]]:
    body = read(response, fmt)
    assert isinstance(body, list) and body, body
    for error in body:
        assert set(error) == {"code", "description"} and error["description"]
    return body


# ------------------------------------------------------------------ discovery and services


@pytest.mark.parametrize("fmt", FORMATS)
def test_discovery_names_the_endpoint_its_formats_and_contact(client: FlaskClient, fmt: str) -> None:
    response = client.get(f"{BASE}/discovery.{fmt}")
    assert response.status_code == 200
    body = read(response, fmt)
    assert body["changeset"] and body["contact"] and body["key_service"]
    endpoint = body["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2") and endpoint["type"] == "production"
    assert set(endpoint["formats"]) == {"text/xml", "application/json"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_services_list_one_per_category_named_in_the_language_asked(client: FlaskClient, fmt: str) -> None:
    body = read(client.get(f"{BASE}/services.{fmt}?locale=en"), fmt)
    assert [s["service_code"] for s in body] == [c.value for c in Category]
    nei = next(s for s in body if s["service_code"] == "NEI")
    env = next(s for s in body if s["service_code"] == "ENV")
    assert nei["service_name"] == "Neighbour dispute" and nei["type"] == "realtime"
    assert str(nei["metadata"]).lower() == "true" and str(env["metadata"]).lower() == "false"
    assert nei["group"] != env["group"]
    hant = read(client.get(f"{BASE}/services.{fmt}", headers={"Accept-Language": "zh-TW,zh;q=0.8"}), fmt)
    assert next(s for s in hant if s["service_code"] == "NEI")["service_name"] == "鄰里糾紛"
    hans = read(client.get(f"{BASE}/services.{fmt}"), fmt)
    assert next(s for s in hans if s["service_code"] == "NEI")["service_name"] == "邻里纠纷"


@pytest.mark.parametrize("fmt", FORMATS)
def test_dispute_definition_asks_for_the_other_party_and_mediation(client: FlaskClient, fmt: str) -> None:
    body = read(client.get(f"{BASE}/services/NEI.{fmt}?locale=en"), fmt)
    assert body["service_code"] == "NEI"
    attributes = {a["code"]: a for a in body["attributes"]}
    assert list(attributes) == ["OTHER_PARTY", "OTHER_PARTY_PHONE", "MEDIATION", "STARTED", "TRIED", "PRIVACY"]
    assert str(attributes["OTHER_PARTY"]["required"]).lower() == "true"
    assert attributes["MEDIATION"]["datatype"] == "singlevaluelist"
    assert [v["key"] for v in attributes["MEDIATION"]["values"]] == ["yes", "no", "unsure"]
    assert attributes["MEDIATION"]["values"][0]["name"] == "Yes"
    assert str(attributes["PRIVACY"]["variable"]).lower() == "false"
    assert [str(a["order"]) for a in body["attributes"]] == ["1", "2", "3", "4", "6", "7"]
    money = read(client.get(f"{BASE}/services/LAB.{fmt}"), fmt)
    assert {a["datatype"] for a in money["attributes"]} >= {"string", "number", "datetime", "text",
                                                             "singlevaluelist"}
    noise = read(client.get(f"{BASE}/services/NOI.{fmt}"), fmt)
    assert noise["attributes"][0]["datatype"] == "multivaluelist"


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_service_is_a_404_in_the_spec_error_format(client: FlaskClient, fmt: str) -> None:
    response = client.get(f"{BASE}/services/POTHOLE.{fmt}")
    assert response.status_code == 404
    assert errors_of(response, fmt)[0]["code"] in (404, "404")


# ------------------------------------------------------------------ POST requests


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_request_becomes_a_case_through_intake_with_the_keys_source(client: FlaskClient, engine: Engine,
                                                                     published: Published, key: str,
                                                                     fmt: str) -> None:
    response = file(client, key, fmt)
    assert response.status_code == 201, response.get_data(as_text=True)
    created = read(response, fmt)[0]
    case_id = int(created["service_request_id"])
    assert "token" not in created
    with unit_of_work(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None and case.grid_unit.code == "XY-01-A-1" and case.category == "NEI"
        assert {(p.role, p.name) for p in case.parties} == {("reporter", "王小明"), ("respondent", "李大成")}
        inbox = session.scalars(select(InboxEvent).where(InboxEvent.case_id == case_id)).one()
        assert inbox.source == "/integrators/hotline" and inbox.type == "org.gridcase.case.submitted"
        assert created["service_notice"].find(case.tracking_code[:4]) >= 0
    assert published.events == [inbox.id]


def test_the_same_content_from_the_same_key_is_one_case(client: FlaskClient, engine: Engine, key: str) -> None:
    first = file(client, key)
    again = file(client, key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert read(first, "json")[0]["service_request_id"] == read(again, "json")[0]["service_request_id"]
    other = file(client, key, description="另一件事")
    assert read(other, "json")[0]["service_request_id"] != read(first, "json")[0]["service_request_id"]
    second_key = make_key(engine, "city-app")
    elsewhere = file(client, second_key)
    assert read(elsewhere, "json")[0]["service_request_id"] != read(first, "json")[0]["service_request_id"]
    with unit_of_work(engine) as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 3


def test_the_same_content_after_the_retry_window_is_a_new_case(client: FlaskClient, key: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDCASE_OPEN311_RETRY_WINDOW", "60")
    with time_machine.travel(datetime(2026, 12, 1, 10, 0, tzinfo=UTC), tick=False) as traveller:
        first = read(file(client, key), "json")[0]["service_request_id"]
        traveller.shift(timedelta(seconds=59))
        assert read(file(client, key), "json")[0]["service_request_id"] == first
        traveller.shift(timedelta(seconds=2))
        assert read(file(client, key), "json")[0]["service_request_id"] != first


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_without_a_valid_key_is_a_403(client: FlaskClient, engine: Engine, key: str, fmt: str) -> None:
    assert post(client, fmt, None, service_code="NOI", address_id="XY-01-A-1").status_code == 403
    bad = post(client, fmt, "gck_not-a-key", service_code="NOI", address_id="XY-01-A-1")
    assert bad.status_code == 403 and "not valid" in errors_of(bad, fmt)[0]["description"]
    reader = make_key(engine, "dashboard", scopes=("read",))
    assert post(client, fmt, reader, service_code="NOI", address_id="XY-01-A-1").status_code == 403
    with unit_of_work(engine) as session:
        revoke(session, "hotline")
    assert file(client, key, fmt).status_code == 403
    with unit_of_work(engine) as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 0


def test_the_key_may_come_as_a_header(client: FlaskClient, key: str) -> None:
    response = client.post(f"{BASE}/requests.json", data={"service_code": "ENV", "address_id": "XY-01-A-2"},
                           headers={"X-Api-Key": key})
    assert response.status_code == 201


def test_each_key_is_rate_limited(client: FlaskClient, engine: Engine) -> None:
    key = make_key(engine, "slow", rate="2/minute")
    for n in range(2):
        assert file(client, key, description=f"第{n}件").status_code == 201
    limited = file(client, key, description="第三件")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert errors_of(limited, "json")[0]["code"] == 429


@pytest.mark.parametrize(("fields", "status", "names"), [
    ({"service_code": None}, 400, "service_code"),
    ({"service_code": "POTHOLE"}, 404, "service_code"),
    ({"lat": None, "long": None}, 400, "location"),
    ({"long": None}, 400, "long"),
    ({"lat": "north"}, 400, "lat"),
    ({"lat": NOWHERE[0], "long": NOWHERE[1]}, 400, "lat"),
    ({"lat": None, "long": None, "address_string": "月球基地"}, 400, "address_string"),
    ({"address_id": "XY-01"}, 400, "address_id"),
    ({"address_id": "NOPE"}, 400, "address_id"),
    ({"phone": "call me"}, 400, "phone"),
    ({"media_url": "file:///etc/passwd"}, 400, "media_url"),
    ({"email": "not an email"}, 400, "email"),
    ({"description": "x" * 4001}, 400, "description"),
])
@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_requests_are_refused_naming_the_field(client: FlaskClient, engine: Engine, key: str, fmt: str,
                                                   fields: dict[str, Any], status: int, names: str) -> None:
    response = file(client, key, fmt, **fields)
    assert response.status_code == status, response.get_data(as_text=True)
    assert names in errors_of(response, fmt)[0]["description"]
    with unit_of_work(engine) as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 0


@pytest.mark.parametrize(("attributes", "names"), [
    ({"attribute[MEDIATION]": None}, "attribute[MEDIATION]"),
    ({"attribute[OTHER_PARTY]": None}, "attribute[OTHER_PARTY]"),
    ({"attribute[MEDIATION]": "maybe"}, "attribute[MEDIATION]"),
    ({"attribute[STARTED]": "2026-11-05 20:00"}, "attribute[STARTED]"),
    ({"attribute[COLOUR]": "red"}, "attribute[COLOUR]"),
    ({"attribute[OTHER_PARTY]": "x" * 65}, "attribute[OTHER_PARTY]"),
])
def test_attribute_answers_are_checked_against_the_definition(client: FlaskClient, key: str,
                                                              attributes: dict[str, Any], names: str) -> None:
    response = file(client, key, **attributes)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert names in errors_of(response, "json")[0]["description"]


def test_typed_answers_reach_the_case(client: FlaskClient, engine: Engine, key: str) -> None:
    response = file(client, key, service_code="LAB", **NEI, **{"attribute[AMOUNT]": "3000",
                                                               "attribute[STARTED]": "2026-10-01T09:00:00+08:00"})
    assert response.status_code == 201
    assert file(client, key, service_code="LAB", description="欠薪", **NEI,
                **{"attribute[AMOUNT]": "lots"}).status_code == 400
    with unit_of_work(engine) as session:
        case = session.get(Case, int(read(response, "json")[0]["service_request_id"]))
        assert case is not None and case.occurred_at == datetime(2026, 10, 1, 1, 0, tzinfo=UTC)
        # What staff must read beyond the parties and the start comes with the description.
        assert case.description.endswith("是否同意调解：同意\n涉及金额（元）：3000")


def test_a_multivaluelist_takes_several_values(client: FlaskClient, key: str) -> None:
    ok = client.post(f"{BASE}/requests.json", data={
        "api_key": key, "service_code": "NOI", "address_id": "XY-01-A-1-H1",
        "attribute[NOISE_WHEN][]": ["night", "weekend"]})
    assert ok.status_code == 201, ok.get_data(as_text=True)
    wrong = file(client, key, "json", service_code="NOI", **{"attribute[NOISE_WHEN][]": ["night", "lunch"]})
    assert wrong.status_code == 400 and "lunch" in errors_of(wrong, "json")[0]["description"]


def test_location_by_lon_by_building_and_by_address(client: FlaskClient, engine: Engine, key: str) -> None:
    by_lon = client.post(f"{BASE}/requests.json", data={"api_key": key, "service_code": "ENV", "lat": IN_XY02A1[0],
                                                         "lon": IN_XY02A1[1]})
    by_building = file(client, key, service_code="ENV", lat=None, long=None, address_id="XY-01-B-3-H1")
    by_address = file(client, key, service_code="ENV", lat=None, long=None,
                      address_string="金桂园2号楼党小组 3单元")
    grids = []
    with unit_of_work(engine) as session:
        for response in (by_lon, by_building, by_address):
            assert response.status_code == 201, response.get_data(as_text=True)
            case = session.get(Case, int(read(response, "json")[0]["service_request_id"]))
            assert case is not None
            grids.append(case.grid_unit.code)
    assert grids == ["XY-02-A-1", "XY-01-B-3", "XY-01-A-2"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_batch_key_answers_a_token_that_leads_to_the_request(client: FlaskClient, engine: Engine,
                                                              fmt: str) -> None:
    key = make_key(engine, "kiosk", answer="batch")
    created = read(file(client, key, fmt), fmt)[0]
    assert "service_request_id" not in created
    found = read(client.get(f"{BASE}/tokens/{created['token']}.{fmt}"), fmt)
    found = found[0] if isinstance(found, list) else found["request"]
    assert found["token"] == created["token"] and int(found["service_request_id"]) >= 1
    missing = client.get(f"{BASE}/tokens/nope.{fmt}")
    assert missing.status_code == 404 and errors_of(missing, fmt)


# ------------------------------------------------------------------ GET requests


def _only(body: Any) -> dict[str, Any]:
    if isinstance(body, dict):  # XML: <service_requests><request>…</request></service_requests>
        return body["request"]  # type: ignore[no-any-return]
    assert len(body) == 1
    return body[0]  # type: ignore[no-any-return]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_request_follows_every_step_of_its_case(client: FlaskClient, engine: Engine, published: Published,
                                                  key: str, fmt: str) -> None:
    case_id = read(file(client, key, media_url="https://img.example/1.jpg"), "json")[0]["service_request_id"]
    url = f"{BASE}/requests/{case_id}.{fmt}?locale=en"
    collected = _only(read(client.get(url), fmt))
    assert collected["status"] == "open" and collected["service_code"] == "NEI"
    run_worker(engine, published.events)
    handling = _only(read(client.get(url), fmt))
    assert handling["agency_responsible"] == "金桂园1号楼党小组"
    assert handling["expected_datetime"] and handling["status_notes"] == "Handled by the grid"
    assert float(handling["lat"]) == float(IN_XY01A1[0]) and handling["media_url"] == "https://img.example/1.jpg"
    assert "13912345678" not in handling["description"] and "李大成" not in handling["description"]
    assert "139****5678" in handling["description"] and "李*成" in handling["description"]
    leader = token_for(engine, "xy01a1.leader")
    client.post(f"/api/v1/cases/{case_id}/actions/escalate", json={"reason": "需支部调解"}, headers=leader)
    run_worker(engine, published.events)
    assert _only(read(client.get(url), fmt))["agency_responsible"] == "金桂园小区党支部"
    branch = token_for(engine, "xy01a.secretary")
    client.post(f"/api/v1/cases/{case_id}/actions/resolve", json={"summary": "双方和解"}, headers=branch)
    run_worker(engine, published.events)
    resolved = _only(read(client.get(url), fmt))
    assert resolved["status"] == "closed" and resolved["status_notes"] == "Resolved"
    assert not resolved["expected_datetime"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_request_is_a_404(client: FlaskClient, fmt: str) -> None:
    for ref in ("999", "abc"):
        response = client.get(f"{BASE}/requests/{ref}.{fmt}")
        assert response.status_code == 404 and errors_of(response, fmt)


def _ids(client: FlaskClient, query: str, fmt: str = "json") -> list[str]:
    response = client.get(f"{BASE}/requests.{fmt}?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = read(response, fmt)
    if fmt == "xml":
        body = body.get("request", []) if isinstance(body, dict) else body
        body = [body] if isinstance(body, dict) else body
    return [r["service_request_id"] for r in body]


@pytest.mark.parametrize("fmt", FORMATS)
def test_requests_filter_by_id_service_status_and_dates(client: FlaskClient, engine: Engine,
                                                        published: Published, key: str, fmt: str) -> None:
    with time_machine.travel(datetime(2026, 8, 1, 2, 0, tzinfo=UTC), tick=False):
        old = read(file(client, key, description="旧事"), "json")[0]["service_request_id"]
    with time_machine.travel(datetime(2026, 11, 20, 2, 0, tzinfo=UTC), tick=False):
        nei = read(file(client, key), "json")[0]["service_request_id"]
        env = read(file(client, key, service_code="ENV"), "json")[0]["service_request_id"]
        run_worker(engine, published.events)
        leader = token_for(engine, "xy01a1.leader")
        client.post(f"/api/v1/cases/{env}/actions/resolve", json={"summary": "已清理"}, headers=leader)
        run_worker(engine, published.events)
        assert _ids(client, "", fmt) == [env, nei]  # the last 90 days, most recent first
        assert _ids(client, f"service_request_id={old},{env}&service_code=NEI", fmt) == [env, old]
        assert _ids(client, "service_code=env", fmt) == [env]
        assert _ids(client, "status=open", fmt) == [nei]
        assert _ids(client, "status=closed", fmt) == [env]
        assert _ids(client, "status=open,closed", fmt) == [env, nei]
        assert _ids(client, "start_date=2026-07-15T00:00:00Z&end_date=2026-09-01T00:00:00Z", fmt) == [old]
        assert _ids(client, "start_date=2026-07-20T00:00:00%2B08:00", fmt) == [old]  # and the 90 days after
        assert _ids(client, "end_date=2026-10-01T00:00:00Z", fmt) == [old]  # and the 90 days before
        assert _ids(client, "start_date=2026-08-02T00:00:00Z", fmt) == []


@pytest.mark.parametrize(("query", "names"), [
    ("start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z", "90 days"),
    ("start_date=yesterday", "start_date"),
    ("end_date=2026-01-01T00:00:00", "end_date"),
    ("start_date=2026-02-01T00:00:00Z&end_date=2026-01-01T00:00:00Z", "end_date"),
    ("status=pending", "status"),
    ("service_code=POTHOLE", "service_code"),
    ("service_request_id=1,x", "service_request_id"),
    ("page=0", "page"),
    ("page_size=1001", "page_size"),
])
@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_filters_are_a_400_naming_them(client: FlaskClient, fmt: str, query: str, names: str) -> None:
    response = client.get(f"{BASE}/requests.{fmt}?{query}")
    assert response.status_code == 400
    assert names in errors_of(response, fmt)[0]["description"]


def test_requests_page_through_with_page_and_page_size(client: FlaskClient, key: str) -> None:
    made = [read(file(client, key, description=f"第{n}件"), "json")[0]["service_request_id"] for n in range(5)]
    newest_first = list(reversed(made))
    assert _ids(client, "page_size=2") == newest_first[:2]
    assert _ids(client, "page_size=2&page=2") == newest_first[2:4]
    assert _ids(client, "page_size=2&page=3") == newest_first[4:]
    assert _ids(client, "page_size=2&page=4") == []


def test_nothing_returned_shows_the_reporters_name_or_phone(client: FlaskClient, key: str) -> None:
    case_id = read(file(client, key, description="王小明报：13812345678"), "json")[0]["service_request_id"]
    for fmt in FORMATS:
        for url in (f"{BASE}/requests/{case_id}.{fmt}", f"{BASE}/requests.{fmt}"):
            text = client.get(url).get_data(as_text=True)
            assert "王小明" not in text and "13812345678" not in text and "5678" in text


def test_reads_may_require_a_read_key(client: FlaskClient, engine: Engine, key: str,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDCASE_OPEN311_READ_KEY", "1")
    assert client.get(f"{BASE}/requests.json").status_code == 403
    assert client.get(f"{BASE}/requests.json?api_key={key}").status_code == 200
    assert client.get(f"{BASE}/services.json").status_code == 200  # services stay public


# ------------------------------------------------------------------ the rest


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_paths_and_methods_answer_in_the_spec_error_format(client: FlaskClient, fmt: str) -> None:
    missing = client.get(f"{BASE}/potholes.{fmt}")
    assert missing.status_code == 404 and errors_of(missing, fmt)
    wrong_method = client.delete(f"{BASE}/requests.{fmt}")
    assert wrong_method.status_code == 405 and errors_of(wrong_method, fmt)
    assert set(wrong_method.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert client.get(f"{BASE}/services.yaml").status_code == 404


def test_the_open311_routes_are_in_the_openapi_document(client: FlaskClient) -> None:
    doc = client.get("/openapi.json").get_json()
    paths = {p for p in doc["paths"] if p.startswith("/open311/v2/")}
    assert paths == {"/open311/v2/discovery.{fmt}", "/open311/v2/services.{fmt}",
                     "/open311/v2/services/{service_code}.{fmt}", "/open311/v2/requests.{fmt}",
                     "/open311/v2/tokens/{token_id}.{fmt}", "/open311/v2/requests/{service_request_id}.{fmt}"}
    assert "post" in doc["paths"]["/open311/v2/requests.{fmt}"]
    for name in ("ServiceRequests", "ServiceDefinition", "Open311Errors", "Discovery"):
        assert name in doc["components"]["schemas"]


def test_notices_and_questions_come_in_the_language_asked(client: FlaskClient, key: str) -> None:
    hant = read(file(client, key, locale="zh_Hant"), "json")[0]
    assert hant["service_notice"].startswith("已受理並轉交金桂园1号楼党小组")
    en = read(file(client, key, description="another", locale="en"), "json")[0]
    assert en["service_notice"].startswith("Received and sent to")
    question = read(client.get(f"{BASE}/services/NEI.json", headers={"Accept-Language": "zh-HK"}), "json")
    assert question["attributes"][2]["description"] == "雙方是否同意由社區調解？"
    detail = read(client.get(f"{BASE}/requests/{en['service_request_id']}.json?locale=zh_Hans"), "json")[0]
    assert detail["status_notes"] == "已受理" and detail["service_name"] == "邻里纠纷"
