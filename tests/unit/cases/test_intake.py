"""Intake: CloudEvents in both modes, idempotency, and refusals that name the field and store nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select

from tests.conftest import Published
from tests.unit.helpers import event, post_event
from workflow.base.db import unit_of_work
from workflow.cases.models import Case, CaseEvent, CaseParty, InboxEvent


def counts(engine: Engine) -> tuple[int, int, int, int]:
    with unit_of_work(engine) as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) or 0  # type: ignore[return-value]
                     for t in (Case, InboxEvent, CaseEvent, CaseParty))


def test_structured_event_becomes_a_collected_case(client: FlaskClient, engine: Engine,
                                                    published: Published) -> None:
    response = post_event(client, event({"parties": [{"role": "respondent", "name": "李四", "phone": "13900001111"}]}))
    assert response.status_code == 202
    body = response.get_json()
    assert set(body) == {"case_id", "tracking_code", "status_url"}
    assert body["status_url"].endswith(f"/api/v1/track/{body['tracking_code']}")
    with unit_of_work(engine) as s:
        case = s.get(Case, body["case_id"])
        assert case is not None
        assert (case.state, case.level, case.severity, case.holding_unit.code) == ("collected", "grid", "P2", "XY-01-A-1")
        assert [p.role for p in case.parties] == ["reporter", "respondent"]
        assert [e.kind for e in case.events] == ["submitted"]
    assert published.events == [1]


def test_binary_mode_event_is_accepted(client: FlaskClient) -> None:
    data = event()["data"]
    response = client.post("/api/v1/events", data=json.dumps(data), content_type="application/json", headers={
        "ce-specversion": "1.0", "ce-id": "bin-1", "ce-source": "/hotline", "ce-type": "org.gridcase.case.submitted",
        "ce-time": "2026-11-26T08:00:00+08:00",
    })
    assert response.status_code == 202, response.get_json()


def test_same_event_again_gets_the_same_answer_and_one_case(client: FlaskClient, engine: Engine,
                                                             published: Published) -> None:
    body = event()
    answers = [post_event(client, body) for _ in range(5)]
    assert {a.status_code for a in answers} == {202}
    assert len({json.dumps(a.get_json(), sort_keys=True) for a in answers}) == 1
    assert counts(engine)[:2] == (1, 1)
    assert len(published.events) == 1


def test_same_id_from_another_source_is_another_event(client: FlaskClient, engine: Engine) -> None:
    first = post_event(client, event(id="shared"))
    second = post_event(client, event(id="shared", source="/other"))
    assert first.get_json()["case_id"] != second.get_json()["case_id"]


def test_same_id_with_other_content_is_a_conflict(client: FlaskClient, engine: Engine) -> None:
    post_event(client, event(id="x1"))
    response = post_event(client, event({"description": "另一件事"}, id="x1"))
    assert response.status_code == 409
    assert response.get_json()["problems"][0]["field"] == "id"
    assert counts(engine)[0] == 1


def test_severity_defaults_from_the_category(client: FlaskClient, engine: Engine) -> None:
    case_id = post_event(client, event({"category": "LAB"})).get_json()["case_id"]
    with unit_of_work(engine) as s:
        assert s.get(Case, case_id).severity == "P1"  # type: ignore[union-attr]


BAD: list[tuple[str, dict[str, Any], int, str]] = [
    ("unknown category", event({"category": "XXX"}), 422, "data.category"),
    ("empty description", event({"description": "  "}), 422, "data.description"),
    ("unknown grid", event({"grid": "NOPE"}), 422, "data.grid"),
    ("grid is a branch", event({"grid": "XY-01-A"}), 422, "data.grid"),
    ("bad severity", event({"severity": "P9"}), 422, "data.severity"),
    ("numeric timestamp", event({"occurred_at": 0}), 422, "data.occurred_at"),
    ("naive timestamp", event({"occurred_at": "2026-11-26T08:00:00"}), 422, "data.occurred_at"),
    ("bad phone", event({"reporter": {"name": "王", "phone": "call me"}}), 422, "data.reporter.phone"),
    ("unknown field", event({"colour": "red"}), 422, "data.colour"),
    ("bad party role", event({"parties": [{"role": "judge", "name": "X"}]}), 422, "data.parties.0.role"),
    ("wrong specversion", event(specversion="0.3"), 422, "specversion"),
    ("missing id", {k: v for k, v in event().items() if k != "id"}, 422, "id"),
    ("unknown type", event(type="org.example.other"), 422, "type"),
    ("internal type", event(type="org.gridcase.case.action_requested"), 422, "type"),
]


@pytest.mark.parametrize(("why", "body", "status", "field"), BAD, ids=[b[0] for b in BAD])
def test_bad_event_is_refused_naming_the_field_and_nothing_is_stored(
    client: FlaskClient, engine: Engine, published: Published, why: str, body: dict[str, Any], status: int,
    field: str,
) -> None:
    response = post_event(client, body)
    assert response.status_code == status
    answer = response.get_json()
    assert field in [p["field"] for p in answer["problems"]], answer
    assert answer["message"]
    assert counts(engine) == (0, 0, 0, 0)
    assert published.events == []


def test_malformed_json_is_a_400(client: FlaskClient, engine: Engine) -> None:
    response = client.post("/api/v1/events", data=b"{not json", content_type="application/cloudevents+json")
    assert response.status_code == 400
    assert "JSON" in response.get_json()["message"]
    assert counts(engine)[0] == 0


def test_plain_json_without_ce_headers_is_a_415(client: FlaskClient) -> None:
    response = client.post("/api/v1/events", json=event())
    assert response.status_code == 415
    assert response.get_json()["problems"][0]["field"] == "ce-specversion"


def test_oversized_body_is_a_413_and_stores_nothing(client: FlaskClient, engine: Engine) -> None:
    response = post_event(client, event({"description": "很" * 70_000}))
    assert response.status_code == 413
    assert response.get_json()["error"] == "request_entity_too_large"
    assert counts(engine)[0] == 0


def test_units_are_public_and_carry_no_members(client: FlaskClient) -> None:
    units = client.get("/api/v1/units").get_json()["units"]
    street = next(u for u in units if u["code"] == "XY")
    assert street == {"code": "XY", "name": "向阳街道区域党委", "level": "street", "parent": None}
    assert {u["level"] for u in units} == {"street", "general_branch", "branch", "grid", "household"}
    assert sum(u["level"] == "general_branch" for u in units) == 3
    assert "138" not in json.dumps(units)


def test_database_away_is_a_503_with_a_retry_hint(tmp_path: Any) -> None:
    from web import create_app
    from workflow.base.db import make_engine

    # A database file in a folder that does not exist: every connection fails.
    engine = make_engine(f"sqlite:///{tmp_path / 'missing' / 'db.sqlite3'}")
    app = create_app({"ENGINE": engine, "DATABASE_URL": str(engine.url), "PUBLISH_EVENT": lambda _: None})
    response = post_event(app.test_client(), event())
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "retry" in response.get_json()["message"]
