"""The web app does not ping the database before each request: a connection lost with a restart costs at most a 503."""

from __future__ import annotations

import pytest

from tests.integration.support import Live, submitted_event

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def drop_every_other_connection(live: Live) -> int:
    """End every server process of the test database but this one, as a PostgreSQL restart would."""
    return int(live.scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"))


def test_intake_after_the_database_dropped_its_connections_is_accepted_once(live: Live) -> None:
    first = live.api.submit(submitted_event())  # the app's pool now holds a connection
    assert drop_every_other_connection(live) >= 1

    event = submitted_event()
    again = live.api.submit_raw(event)

    # The dead connection was replaced and the event stored, in the same request.
    assert again.status_code == 202, again.get_data(as_text=True)
    answer = again.get_json()
    assert answer["case_id"] != first["case_id"]
    assert live.scalar("SELECT count(*) FROM inbox WHERE event_id = :id", id=event["id"]) == 1
    live.wait_for_state(answer["case_id"], "grid_handling")


def test_a_read_on_a_dropped_connection_answers_503_then_the_next_succeeds(live: Live) -> None:
    code = live.api.submit(submitted_event())["tracking_code"]
    assert drop_every_other_connection(live) >= 1

    refused = live.api.track_raw(code)

    # Never a 500: the client is told to come back, and the pool has been renewed meanwhile.
    assert refused.status_code == 503, refused.get_data(as_text=True)
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.get_json()["error"] == "unavailable"
    assert live.api.track_raw(code).status_code == 200
