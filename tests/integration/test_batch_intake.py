"""Batched intake on the real stack: overlapping batches race through gunicorn; one case per event, all dispatched."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.integration.support import Live, submitted_event

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

BATCH = "application/cloudevents-batch+json"


def test_overlapping_batches_give_one_case_per_event_and_all_are_dispatched(live: Live, http_base: str) -> None:
    events = [submitted_event(grid=("XY-01-A-1", "XY-01-A-2")[i % 2]) for i in range(60)]
    # Eight batches of 20 events, each starting 10 later than the one before: every event is in
    # two or three batches, which two gunicorn processes of four threads store at the same time
    # (the unique (source, id) on the inbox decides; the loser looks its events up and answers).
    batches = [[events[(start + k) % 60] for k in range(20)] for start in range(0, 80, 10)]

    with httpx.Client(base_url=http_base, timeout=30, headers={"Content-Type": BATCH}) as client:

        def post(batch: list[dict[str, Any]]) -> tuple[int, Any]:
            response = client.post("/api/v1/events", content=json.dumps(batch, ensure_ascii=False).encode())
            return response.status_code, response.json()

        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(post, batches))

    assert [status for status, _ in answers] == [202] * len(batches), answers
    by_event: dict[str, set[tuple[int, str]]] = {}
    for batch, (_, body) in zip(batches, answers, strict=True):
        assert len(body) == len(batch)
        for event, answer in zip(batch, body, strict=True):
            by_event.setdefault(event["id"], set()).add((answer["case_id"], answer["tracking_code"]))
    # Every copy of an event, in whichever batch, got the same answer.
    assert all(len(seen) == 1 for seen in by_event.values()), by_event
    case_ids = {next(iter(seen))[0] for seen in by_event.values()}
    assert len(case_ids) == 60

    assert live.scalar("SELECT count(*) FROM cases") == 60
    assert live.scalar("SELECT count(*) FROM inbox") == 60
    for case_id in case_ids:
        live.wait_for_state(case_id, "grid_handling")
    live.wait_idle()
    assert live.scalar("SELECT count(*) FROM case_events WHERE kind = 'dispatch'") == 60
    assert live.rows("SELECT status, count(*) AS n FROM inbox GROUP BY status") == [{"status": "done", "n": 60}]
