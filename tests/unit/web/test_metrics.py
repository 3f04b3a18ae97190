"""``GET /metrics`` after real events: the counters moved, the gauges show the stored state, strangers are refused."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from tests.conftest import Published
from tests.unit.helpers import event, post_event, run_worker
from tests.unit.ui_helpers import csrf_of, give_password


def scrape(client: FlaskClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = client.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.content_type.startswith("text/plain; version=0.0.4")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(answer.text) for s in family.samples}


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_counters_and_gauges_move_with_real_events(client: FlaskClient, engine: Engine, published: Published) -> None:
    before = scrape(client)
    assert post_event(client, event()).status_code == 202
    batch = [event(), event()]
    assert client.post("/api/v1/events", data=json.dumps(batch), content_type="application/cloudevents-batch+json"
                       ).status_code == 202
    assert post_event(client, event({"category": "???"})).status_code == 422
    assert client.post("/api/v1/events", data="{", content_type="application/cloudevents+json").status_code == 400

    waiting = scrape(client)
    assert value(waiting, "gridcase_events_accepted_total") - value(before, "gridcase_events_accepted_total") == 3
    refused = {labels: v - value(before, name, **dict(labels)) for (name, labels), v in waiting.items()
               if name == "gridcase_events_refused_total"}
    assert refused[(("reason", "invalid"),)] == 1 and sum(refused.values()) == 2
    assert value(waiting, "gridcase_pending_rows", table="inbox") == 3
    assert value(waiting, "gridcase_cases", state="collected", level="grid") == 3
    assert value(waiting, "gridcase_database_up") == 1

    run_worker(engine, published.events)
    after = scrape(client)
    assert value(after, "gridcase_pending_rows", table="inbox") == 0
    assert value(after, "gridcase_pending_oldest_seconds", table="inbox") == 0
    assert value(after, "gridcase_cases", state="grid_handling", level="grid") == 3
    assert value(after, "gridcase_cases", state="collected", level="grid") == 0
    handled = value(after, "gridcase_events_handled_total", outcome="done") - value(
        before, "gridcase_events_handled_total", outcome="done")
    assert handled == 3
    assert value(after, "gridcase_intake_to_dispatch_seconds_count") - value(
        before, "gridcase_intake_to_dispatch_seconds_count") == 3
    # The demo tree tells the grid's members (by SMS, as they have no email): each attempt counted.
    def attempts(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> float:
        return sum(v for (name, labels), v in samples.items()
                   if name == "gridcase_deliveries_total" and ("result", "sent") in labels)
    assert attempts(after) - attempts(before) >= 3
    assert value(after, "gridcase_deadlines_overdue") == 0
    assert ("gridcase_heartbeat_age_seconds", (("periodic", "sweeper"),)) not in after  # no sweep ran in this test


def test_failed_logins_and_rate_limited_lookups_are_counted(
        client: FlaskClient, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    before = scrape(client)
    give_password(engine, "xy01a1.leader")
    page = client.get("/login")
    wrong = client.post("/login", data={"name": "xy01a1.leader", "password": "nope", "csrf_token": csrf_of(page.text)})
    assert wrong.status_code == 401
    assert client.get("/api/v1/cases/1", headers={"Authorization": "Bearer wrong"}).status_code == 401
    monkeypatch.setenv("GRIDCASE_TRACK_LIMIT", "2 per minute")
    statuses = []
    for _ in range(4):
        form = client.get("/track")
        statuses.append(client.post("/track", data={"code": "ABCD-EFGH-JKMN-PQRS", "phone_last4": "0000",
                                                    "csrf_token": csrf_of(form.text)}).status_code)
    assert 429 in statuses
    after = scrape(client)
    assert value(after, "gridcase_login_failures_total", via="page") - value(
        before, "gridcase_login_failures_total", via="page") == 1
    assert value(after, "gridcase_login_failures_total", via="token") - value(
        before, "gridcase_login_failures_total", via="token") == 1
    assert value(after, "gridcase_rate_limited_total", endpoint="resident.lookup") - value(
        before, "gridcase_rate_limited_total", endpoint="resident.lookup") == statuses.count(429)


def test_metrics_are_refused_to_other_addresses_unless_listed_or_with_the_token(
        client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    far = {"REMOTE_ADDR": "10.1.2.3"}
    refused = client.get("/metrics", environ_base=far)
    assert refused.status_code == 403 and "GRIDCASE_METRICS_ALLOW" in refused.get_json()["message"]
    monkeypatch.setenv("GRIDCASE_METRICS_TOKEN", "s3cret-token")
    assert client.get("/metrics", environ_base=far, headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.get("/metrics", environ_base=far, headers={"Authorization": "Bearer s3cret-token"}
                      ).status_code == 200
    monkeypatch.setenv("GRIDCASE_METRICS_ALLOW", "10.0.0.0/8")
    assert client.get("/metrics", environ_base=far).status_code == 200
    assert client.get("/metrics").status_code == 403  # loopback is no longer listed
