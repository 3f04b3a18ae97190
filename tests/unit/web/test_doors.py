"""Doors that stay shut: intake limited per address, nothing personal cached, refusals that tell no more."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from tests.conftest import Published
from tests.unit.helpers import REPORTER_PHONE, event, post_event, run_worker, token_for
from tests.unit.ui_helpers import Browser
from web import create_app

LEADER, OTHER_LEADER = "xy01a1.leader", "xy01a2.leader"


def _submit(client: FlaskClient, engine: Engine, published: Published) -> dict[str, Any]:
    answer = post_event(client, event()).get_json()
    run_worker(engine, published.events)
    return answer  # type: ignore[no-any-return]


def test_intake_beyond_the_limit_per_address_is_429_with_retry_after(
        engine: Engine, published: Published, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDCASE_INTAKE_LIMIT", "3 per minute")
    app = create_app({"ENGINE": engine, "DATABASE_URL": str(engine.url),
                      "PUBLISH_EVENT": published.events.append, "PUBLISH_NOTICES": published.notices.extend})
    client = app.test_client()
    assert [post_event(client, event()).status_code for _ in range(3)] == [202, 202, 202]
    refused = post_event(client, event())
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.get_json()["error"] == "too_many_requests"
    # Another address is counted apart.
    other = client.post("/api/v1/events", json=None, data=b"{}", content_type="application/cloudevents+json",
                        environ_base={"REMOTE_ADDR": "10.0.0.7"})
    assert other.status_code == 422
    assert len(published.events) == 3


def test_the_intake_limit_is_documented_in_openapi(client: FlaskClient) -> None:
    responses = client.get("/openapi.json").get_json()["paths"]["/api/v1/events"]["post"]["responses"]
    assert "429" in responses


def test_pages_and_json_with_personal_data_are_not_cached(
        client: FlaskClient, engine: Engine, published: Published, app: Any) -> None:
    answer = _submit(client, engine, published)
    case = client.get(f"/api/v1/cases/{answer['case_id']}", headers=token_for(engine, LEADER))
    assert case.status_code == 200 and case.headers["Cache-Control"] == "no-store"
    track = client.get(f"/api/v1/track/{answer['tracking_code']}")
    assert track.headers["Cache-Control"] == "no-store"
    page = Browser(app, engine, LEADER).get(f"/cases/{answer['case_id']}")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    resident = Browser(app, None)
    looked_up = resident.post_form("/track", "/track", {"code": answer["tracking_code"],
                                                         "phone_last4": REPORTER_PHONE[-4:]},
                                   follow_redirects=True)
    assert looked_up.status_code == 200 and looked_up.headers["Cache-Control"] == "no-store"
    # The vendored stylesheet holds nothing personal and may be cached.
    with client.get("/static/app.css") as css:
        assert css.status_code == 200 and "no-store" not in css.headers.get("Cache-Control", "")


def test_a_refusal_does_not_name_the_grid_a_case_belongs_to(
        client: FlaskClient, engine: Engine, published: Published, app: Any) -> None:
    answer = _submit(client, engine, published)
    refused = client.get(f"/api/v1/cases/{answer['case_id']}", headers=token_for(engine, OTHER_LEADER))
    # Not even that the case exists: the answer of an unused id (the authorization matrix checks every trigger).
    assert refused.status_code == 404
    assert "XY-01-A-1" not in refused.get_data(as_text=True)
    page = Browser(app, engine, OTHER_LEADER).get(f"/cases/{answer['case_id']}")
    assert page.status_code == 404 and "XY-01-A-1" not in page.text


def test_json_answers_carry_the_pages_security_headers_every_time(client: FlaskClient) -> None:
    page = client.get("/login")
    answers = [post_event(client, event()) for _ in range(3)]
    assert [a.status_code for a in answers] == [202] * 3
    for answer in answers:
        for name in ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy"):
            assert answer.headers[name] == page.headers[name], name
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
        assert "Strict-Transport-Security" not in answer.headers  # plain HTTP: no HSTS


def test_over_https_json_answers_add_hsts_and_plain_http_is_sent_there(
        engine: Engine, published: Published, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDCASE_HTTPS", "1")
    app = create_app({"ENGINE": engine, "DATABASE_URL": str(engine.url),
                      "PUBLISH_EVENT": published.events.append, "PUBLISH_NOTICES": published.notices.extend})
    client = app.test_client()
    body = json.dumps(event(), ensure_ascii=False)
    for _ in range(2):
        secure = client.post("/api/v1/events", data=body, content_type="application/cloudevents+json",
                             base_url="https://localhost")
        assert secure.status_code == 202
        assert secure.headers["Strict-Transport-Security"].startswith("max-age=")
        assert secure.headers["X-Frame-Options"] == "DENY"
    plain = client.post("/api/v1/events", data=body, content_type="application/cloudevents+json")
    assert plain.status_code in (301, 302) and plain.headers["Location"].startswith("https://")
    assert "Strict-Transport-Security" not in plain.headers
