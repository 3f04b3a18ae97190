"""At-least-once delivery, exactly-once effect: the same event or task many times makes one case, one step."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from schemas.events import CaseSubmittedEvent
from tests.integration.support import STRUCTURED, Live, submitted_event
from workers.publish import publish_event
from workflow.base.db import unit_of_work
from workflow.cases.intake import submit_case

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def test_same_event_sent_100_times_gives_one_case(live: Live, http_base: str) -> None:
    event = submitted_event()
    body = json.dumps(event, ensure_ascii=False).encode()

    with httpx.Client(base_url=http_base, timeout=30, headers={"Content-Type": STRUCTURED}) as client:

        def post(_: int) -> tuple[int, dict[str, Any]]:
            response = client.post("/api/v1/events", content=body)
            return response.status_code, response.json()

        # The first 60 arrive together at two gunicorn processes of four threads: they race to
        # store the event first. The last 40 come one after the other, once it is stored.
        with ThreadPoolExecutor(max_workers=12) as pool:
            answers = list(pool.map(post, range(60)))
        answers += [post(i) for i in range(40)]

        # The same id from the same source with other content is a conflict, not a new case.
        other = dict(event, data=dict(event["data"], description="另一件事"))
        conflict = client.post("/api/v1/events", content=json.dumps(other).encode())
        assert conflict.status_code == 409, conflict.text
        assert conflict.json()["error"] == "event_conflict"

    statuses = [status for status, _ in answers]
    assert statuses == [202] * 100, [a for s, a in answers if s != 202][:3]
    assert len({(a["case_id"], a["tracking_code"]) for _, a in answers}) == 1
    case_id = answers[0][1]["case_id"]

    assert live.scalar("SELECT count(*) FROM cases") == 1
    assert live.scalar("SELECT count(*) FROM inbox") == 1
    # The copies that lost the race took their case (and its parties) back with them.
    assert live.scalar("SELECT count(*) FROM case_parties") == 2

    live.wait_for_state(case_id, "grid_handling")
    live.wait_idle()
    assert [(s["seq"], s["kind"]) for s in live.steps(case_id)] == [(1, "submitted"), (2, "dispatch")]
    assert live.scalar("SELECT count(*) FROM case_events") == 2
    inbox = live.rows("SELECT status, attempts, case_id FROM inbox")
    assert inbox == [{"status": "done", "attempts": 1, "case_id": case_id}]
    assert [(n["topic"], n["status"]) for n in live.wait_notices_sent(case_id)] == [("case.dispatched", "done")]


def test_a_task_delivered_five_times_dispatches_the_case_once(live: Live) -> None:
    with unit_of_work(live.engine) as session:
        accepted = submit_case(session, CaseSubmittedEvent.model_validate(submitted_event()))
    assert accepted.case_id is not None

    # Five copies of the message, as a broker redelivering or a relay racing the web would send.
    for _ in range(5):
        assert publish_event(accepted.inbox_id)
    live.wait_for_state(accepted.case_id, "grid_handling")
    live.wait_idle()

    assert [s["kind"] for s in live.steps(accepted.case_id)] == ["submitted", "dispatch"]
    inbox = live.rows("SELECT status, attempts, error FROM inbox WHERE id = :id", id=accepted.inbox_id)
    assert inbox == [{"status": "done", "attempts": 1, "error": None}]
    notices = live.wait_notices_sent(accepted.case_id)
    assert [(n["topic"], n["unit_code"], n["attempts"]) for n in notices] == [("case.dispatched", "XY-01-A-1", 1)]
