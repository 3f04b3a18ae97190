"""The relay: a lost broker message delays work but never loses it."""

from __future__ import annotations

import time

import pytest
from celery import Celery

from schemas.events import CaseSubmittedEvent
from tests.integration.support import Live, submitted_event
from workflow.base.db import unit_of_work
from workflow.cases.handling import handle_inbox_event
from workflow.cases.intake import submit_case

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

GRACE = 2.0  # GRIDCASE_RELAY_GRACE of the worker (support.env_for_children)


def test_an_event_whose_message_was_lost_is_relayed_and_handled(live: Live, broker: Celery) -> None:
    # Stored, but its task never published: as if the web died between commit and publish.
    with unit_of_work(live.engine) as session:
        accepted = submit_case(session, CaseSubmittedEvent.model_validate(submitted_event()))
    committed = time.monotonic()
    case_id = accepted.case_id
    assert case_id is not None

    # A relay within the grace leaves a fresh row alone: its own message may still be on the way.
    broker.send_task("gridcase.relay")
    live.wait_idle()
    if time.monotonic() - committed < GRACE - 0.5:
        row = live.rows("SELECT status, last_published_at FROM inbox WHERE id = :id", id=accepted.inbox_id)
        assert row == [{"status": "pending", "last_published_at": None}]

    # Nothing else publishes it (no beat, the web never saw it): it waits.
    time.sleep(max(0.0, GRACE + 0.5 - (time.monotonic() - committed)))
    assert live.state(case_id) == "collected"

    broker.send_task("gridcase.relay")
    live.wait_for_state(case_id, "grid_handling")
    live.wait_idle()
    relayed = live.rows("SELECT status, attempts, last_published_at FROM inbox WHERE id = :id",
                        id=accepted.inbox_id)[0]
    assert (relayed["status"], relayed["attempts"]) == ("done", 1)
    assert relayed["last_published_at"] is not None
    assert [s["kind"] for s in live.steps(case_id)] == ["submitted", "dispatch"]
    assert [n["topic"] for n in live.wait_notices_sent(case_id)] == ["case.dispatched"]


def test_a_notice_whose_message_was_lost_is_relayed_and_sent(live: Live, broker: Celery) -> None:
    # Handled here, in the test process, and its notice never published: as if the worker died
    # between its commit and publishing the delivery task.
    with unit_of_work(live.engine) as session:
        accepted = submit_case(session, CaseSubmittedEvent.model_validate(submitted_event()))
    with unit_of_work(live.engine) as session:
        outcome = handle_inbox_event(session, accepted.inbox_id)
    assert outcome.status == "done" and len(outcome.notice_ids) == 1
    assert accepted.case_id is not None
    assert live.state(accepted.case_id) == "grid_handling"

    time.sleep(GRACE + 0.5)
    assert live.rows("SELECT status FROM outbox") == [{"status": "pending"}]
    broker.send_task("gridcase.relay")
    notices = live.wait_notices_sent(accepted.case_id)
    assert [(n["id"], n["topic"], n["attempts"]) for n in notices] == [
        (outcome.notice_ids[0], "case.dispatched", 1)]
    assert notices[0]["last_published_at"] is not None
