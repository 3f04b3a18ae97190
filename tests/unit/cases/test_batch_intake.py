"""Intake in batched mode: a JSON array of CloudEvents, all stored in one transaction or none at all."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select

from tests.conftest import Published
from tests.unit.helpers import event, post_event
from web.api.cloudevents import MAX_BATCH_BODY_BYTES
from workflow.base.db import unit_of_work
from workflow.cases.intake import MAX_BATCH_EVENTS
from workflow.cases.models import Case, CaseEvent, CaseParty, InboxEvent

BATCH = "application/cloudevents-batch+json"


def post_batch(client: FlaskClient, events: list[Any]) -> Any:
    """POST a batch of structured CloudEvents."""
    return client.post("/api/v1/events", data=json.dumps(events, ensure_ascii=False), content_type=BATCH)


def counts(engine: Engine) -> tuple[int, int, int, int]:
    with unit_of_work(engine) as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) or 0  # type: ignore[return-value]
                     for t in (Case, InboxEvent, CaseEvent, CaseParty))


def test_a_batch_becomes_cases_in_order_with_one_task(client: FlaskClient, engine: Engine,
                                                      published: Published) -> None:
    events = [event({"parties": [{"role": "respondent", "name": "李四", "phone": "13900001111"}]}),
              event({"category": "LAB"}), event({"grid": "XY-02-A-1", "reporter": None})]
    response = post_batch(client, events)
    assert response.status_code == 202, response.get_json()
    answers = response.get_json()
    assert isinstance(answers, list) and len(answers) == 3
    assert all(set(a) == {"case_id", "tracking_code", "status_url"} for a in answers)
    assert all(a["status_url"].endswith(f"/api/v1/track/{a['tracking_code']}") for a in answers)
    assert len({a["case_id"] for a in answers}) == 3
    with unit_of_work(engine) as s:
        cases = [s.get(Case, a["case_id"]) for a in answers]
        assert [c.severity for c in cases if c] == ["P2", "P1", "P2"]
        assert [c.grid_unit.code for c in cases if c] == ["XY-01-A-1", "XY-01-A-1", "XY-02-A-1"]
        assert [[p.role for p in c.parties] for c in cases if c] == [["reporter", "respondent"], ["reporter"], []]
        assert [[e.kind for e in c.events] for c in cases if c] == [["submitted"]] * 3
        inbox = s.scalars(select(InboxEvent).order_by(InboxEvent.id)).all()
        assert [(r.event_id, r.case_id, r.status) for r in inbox] == [
            (e["id"], a["case_id"], "pending") for e, a in zip(events, answers, strict=True)]
    assert counts(engine) == (3, 3, 3, 3)
    # One task for the whole batch: it drains every pending row.
    assert len(published.events) == 1


def test_a_batch_answers_as_single_mode_would(client: FlaskClient, engine: Engine) -> None:
    events = [event(), event()]
    answers = post_batch(client, events).get_json()
    # Each event sent again alone gets the same answer as in the batch.
    for body, answer in zip(events, answers, strict=True):
        assert post_event(client, body).get_json() == answer


def test_one_invalid_event_refuses_the_batch_naming_its_index_and_stores_nothing(
    client: FlaskClient, engine: Engine, published: Published,
) -> None:
    events = [event(), event(), event(), event({"category": "XXX"}), event()]
    response = post_batch(client, events)
    assert response.status_code == 422
    body = response.get_json()
    assert [p["field"] for p in body["problems"]] == ["[3].data.category"]
    assert body["message"].startswith("[3].data.category: ")
    assert counts(engine) == (0, 0, 0, 0)
    assert published.events == []


BAD: list[tuple[str, Any, str]] = [
    ("unknown grid (checked against the database)", event({"grid": "NOPE"}), "[1].data.grid"),
    ("grid is a branch", event({"grid": "XY-01-A"}), "[1].data.grid"),
    ("bad phone", event({"reporter": {"name": "王", "phone": "call me"}}), "[1].data.reporter.phone"),
    ("bad party role", event({"parties": [{"role": "judge", "name": "X"}]}), "[1].data.parties.0.role"),
    ("wrong specversion", event(specversion="0.3"), "[1].specversion"),
    ("unknown type", event(type="org.example.other"), "[1].type"),
    ("internal type", event(type="org.gridcase.case.action_requested"), "[1].type"),
    ("not an object", "an event", "[1]"),
]


@pytest.mark.parametrize(("why", "bad", "field"), BAD, ids=[b[0] for b in BAD])
def test_each_kind_of_invalid_event_is_named_by_index(
    client: FlaskClient, engine: Engine, published: Published, why: str, bad: Any, field: str,
) -> None:
    response = post_batch(client, [event(), bad, event()])
    assert response.status_code == 422, response.get_json()
    assert field in [p["field"] for p in response.get_json()["problems"]]
    assert counts(engine) == (0, 0, 0, 0)
    assert published.events == []


def test_every_invalid_event_is_named(client: FlaskClient, engine: Engine) -> None:
    events = [event({"category": "XXX"}), event(), event({"grid": "NOPE"}), event({"description": " "})]
    response = post_batch(client, events)
    assert response.status_code == 422
    fields = {p["field"] for p in response.get_json()["problems"]}
    # The grid is looked up only once every event is well-formed.
    assert fields == {"[0].data.category", "[3].data.description"}
    assert counts(engine) == (0, 0, 0, 0)


def test_an_empty_batch_is_refused(client: FlaskClient, engine: Engine, published: Published) -> None:
    response = post_batch(client, [])
    assert response.status_code == 422
    assert "at least one event" in response.get_json()["message"]
    assert published.events == []


def test_a_batch_must_be_an_array(client: FlaskClient, engine: Engine) -> None:
    response = client.post("/api/v1/events", data=json.dumps(event()), content_type=BATCH)
    assert response.status_code == 400
    assert "array" in response.get_json()["message"]
    response = client.post("/api/v1/events", data=b"[{", content_type=BATCH)
    assert response.status_code == 400
    assert "JSON" in response.get_json()["message"]
    assert counts(engine) == (0, 0, 0, 0)


def test_more_events_than_the_cap_are_refused_saying_the_cap(client: FlaskClient, engine: Engine,
                                                            published: Published) -> None:
    response = post_batch(client, [event() for _ in range(MAX_BATCH_EVENTS + 1)])
    assert response.status_code == 413
    body = response.get_json()
    assert body["error"] == "batch_too_large"
    assert f"at most {MAX_BATCH_EVENTS} events" in body["message"]
    assert counts(engine) == (0, 0, 0, 0)
    assert published.events == []


def test_the_cap_itself_is_accepted_and_may_exceed_the_single_event_body_cap(
    client: FlaskClient, engine: Engine, published: Published,
) -> None:
    # 100 events of ~1.5 KiB each: over the 64 KiB of one event, under the batch's 1 MiB.
    events = [event({"description": "很" * 500}) for _ in range(MAX_BATCH_EVENTS)]
    size = len(json.dumps(events, ensure_ascii=False).encode())
    assert 64 * 1024 < size < MAX_BATCH_BODY_BYTES
    response = post_batch(client, events)
    assert response.status_code == 202, response.get_json()
    assert len(response.get_json()) == MAX_BATCH_EVENTS
    assert counts(engine)[:2] == (MAX_BATCH_EVENTS, MAX_BATCH_EVENTS)
    assert len(published.events) == 1


def test_an_oversized_batch_body_is_a_413_and_stores_nothing(client: FlaskClient, engine: Engine) -> None:
    events = [event({"description": "很" * 3900}) for _ in range(MAX_BATCH_EVENTS)]
    assert len(json.dumps(events, ensure_ascii=False).encode()) > MAX_BATCH_BODY_BYTES
    response = post_batch(client, events)
    assert response.status_code == 413
    body = response.get_json()
    assert body["error"] == "request_entity_too_large"
    assert "1024 KiB" in body["message"]
    assert counts(engine) == (0, 0, 0, 0)


def test_an_event_over_64_kib_refuses_the_batch_naming_it_even_in_an_extension(
        client: FlaskClient, engine: Engine, published: Published) -> None:
    events = [event(), event(bigattr="x" * 70_000), event({"description": "很" * 23_000})]
    response = post_batch(client, events)
    assert response.status_code == 413
    body = response.get_json()
    assert body["error"] == "event_too_large"
    assert [p["field"] for p in body["problems"]] == ["[1]", "[2]"]
    assert "64 KiB" in body["message"]
    assert counts(engine) == (0, 0, 0, 0)
    assert published.events == []


@pytest.mark.parametrize("batched", [False, True])
def test_an_extension_attribute_too_large_to_drop_silently_is_refused(
        client: FlaskClient, engine: Engine, batched: bool) -> None:
    small, large = event(traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01"), event(note="很" * 2_000)
    if batched:
        response = post_batch(client, [small, large])
        assert response.status_code == 422
        assert response.get_json()["problems"][0]["field"] == "[1]"
    else:
        assert post_event(client, small).status_code == 202
        response = post_event(client, large)
        assert response.status_code == 422
    assert "extension attribute 'note'" in response.get_json()["message"]
    assert counts(engine)[0] == (0 if batched else 1)


def test_a_repeat_inside_the_batch_gets_the_first_answer_and_one_case(
    client: FlaskClient, engine: Engine, published: Published,
) -> None:
    first, other = event(), event()
    response = post_batch(client, [first, other, dict(first)])
    assert response.status_code == 202
    answers = response.get_json()
    assert answers[2] == answers[0]
    assert answers[1] != answers[0]
    assert counts(engine)[:2] == (2, 2)
    assert len(published.events) == 1


def test_a_repeat_of_a_stored_event_gets_its_original_answer(
    client: FlaskClient, engine: Engine, published: Published,
) -> None:
    alone = event()
    original = post_event(client, alone).get_json()
    batch = [event(), alone, event()]
    answers = post_batch(client, batch).get_json()
    assert answers[1] == original
    assert counts(engine)[:2] == (3, 3)
    # The whole batch sent again: the same answers, no new case, nothing published.
    published.events.clear()
    again = post_batch(client, batch)
    assert again.status_code == 202
    assert again.get_json() == answers
    assert counts(engine)[:2] == (3, 3)
    assert published.events == []


def test_a_batch_of_only_repeats_publishes_nothing(client: FlaskClient, engine: Engine,
                                                   published: Published) -> None:
    body = event()
    original = post_event(client, body).get_json()
    published.events.clear()
    assert post_batch(client, [body, body]).get_json() == [original, original]
    assert published.events == []


def test_an_id_reused_for_other_content_refuses_the_batch(client: FlaskClient, engine: Engine) -> None:
    post_event(client, event(id="x1"))
    response = post_batch(client, [event(), event({"description": "另一件事"}, id="x1")])
    assert response.status_code == 409
    assert response.get_json()["problems"][0]["field"] == "[1].id"
    assert counts(engine)[:2] == (1, 1)


def test_an_id_reused_for_other_content_inside_the_batch_refuses_it(client: FlaskClient, engine: Engine) -> None:
    response = post_batch(client, [event(id="y1"), event(), event({"description": "另一件事"}, id="y1")])
    assert response.status_code == 409
    assert response.get_json()["problems"][0]["field"] == "[2].id"
    assert counts(engine) == (0, 0, 0, 0)


def test_the_openapi_document_describes_the_batch_mode(client: FlaskClient) -> None:
    doc: dict[str, Any] = client.get("/openapi.json").get_json()
    intake = doc["paths"]["/api/v1/events"]["post"]
    batch = intake["requestBody"]["content"][BATCH]["schema"]
    assert batch["maxItems"] == MAX_BATCH_EVENTS and batch["items"]["$ref"].endswith("/CaseSubmittedEvent")
    answer = intake["responses"]["202"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert {s["$ref"].rsplit("/", 1)[1] for s in doc["components"]["schemas"][answer]["anyOf"]} == {
        "SubmitAccepted", "SubmitAcceptedBatch"}
