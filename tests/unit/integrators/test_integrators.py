"""Integrator keys: made, listed, revoked; CloudEvents intake with a key; a key's webhook hears its cases."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, text

from tests.conftest import Published
from tests.unit.helpers import event, post_event, run_worker, token_for
from tests.unit.open311.helpers import BASE, make_key, post
from web.cli import main
from workflow.base.db import unit_of_work
from workflow.base.errors import InvalidInput, NotFound
from workflow.cases.models import Case, InboxEvent
from workflow.integrators.keys import add_integrator, authenticate, listing, revoke
from workflow.integrators.models import IntegratorRequest
from workflow.notices.channels.webhook import signature
from workflow.notices.delivery import deliver_due
from workflow.org.tree import DEMO_ORG_FILE

# ------------------------------------------------------------------ keys


def test_a_key_is_shown_once_and_only_its_hash_is_kept(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        made, key = add_integrator(session, "hotline", ["submit", "read"])
        assert made.source == "/integrators/hotline" and made.rate == "60/minute"
    with engine.connect() as conn:
        dumped = json.dumps([list(r) for r in conn.execute(text("SELECT * FROM integrators"))], default=str)
    assert key.startswith("gck_") and key not in dumped
    with unit_of_work(engine) as session:
        holder = authenticate(session, key)
        assert holder is not None and holder.name == "hotline" and holder.scopes == ("submit", "read")
        assert authenticate(session, key + "x") is None
        revoke(session, "hotline")
    with unit_of_work(engine) as session:
        assert authenticate(session, key) is None
        assert listing(session)[0].revoked_at is not None


@pytest.mark.parametrize(("scopes", "options", "names"), [
    (["submit", "admin"], {}, "scopes"),
    ([], {}, "scopes"),
    (["submit"], {"rate": "lots"}, "rate"),
    (["webhook"], {}, "webhook"),
    (["webhook"], {"webhook_url": "ftp://x"}, "webhook"),
    (["submit"], {"answer": "later"}, "answer"),
])
def test_bad_keys_are_refused_naming_what_is_wrong(engine: Engine, scopes: list[str], options: dict[str, Any],
                                                   names: str) -> None:
    with unit_of_work(engine) as session, pytest.raises(InvalidInput) as refused:
        add_integrator(session, "x", scopes, **options)
    assert refused.value.field == names


def test_names_and_sources_are_unique(engine: Engine) -> None:
    make_key(engine, "hotline", source="/hotline")
    with unit_of_work(engine) as session, pytest.raises(InvalidInput, match="exists"):
        add_integrator(session, "hotline", ["submit"])
    with unit_of_work(engine) as session, pytest.raises(InvalidInput, match="source"):
        add_integrator(session, "other", ["submit"], source="/hotline")
    with unit_of_work(engine) as session, pytest.raises(NotFound):
        revoke(session, "nobody")


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.setenv("GRIDCASE_HOME", str(tmp_path / "var"))
    runner = CliRunner()
    assert runner.invoke(main, ["org", "import", str(DEMO_ORG_FILE)]).exit_code == 0
    return runner


def test_cli_adds_lists_and_revokes_integrators(runner: CliRunner) -> None:
    added = runner.invoke(main, ["integrator", "add", "hotline", "--scopes", "submit,read,webhook", "--rate",
                                 "30/minute", "--source", "/hotline-12345", "--webhook", "https://hook.example/in"])
    assert added.exit_code == 0, added.output
    key = added.stdout.strip().splitlines()[0]
    assert key.startswith("gck_") and "webhook secret" in added.stderr
    listed = runner.invoke(main, ["integrator", "list"])
    assert "hotline" in listed.output and "/hotline-12345" in listed.output and key not in listed.output
    assert key[:10] in listed.output and "active" in listed.output
    assert runner.invoke(main, ["integrator", "revoke", "hotline"]).exit_code == 0
    assert "revoked" in runner.invoke(main, ["integrator", "list"]).output
    bad = runner.invoke(main, ["integrator", "add", "x", "--scopes", "everything"])
    assert bad.exit_code == 2 and "scopes" in bad.output
    unknown = runner.invoke(main, ["integrator", "revoke", "nobody"])
    assert unknown.exit_code == 2 and "nobody" in unknown.output


# ------------------------------------------------------------------ CloudEvents intake with a key


def test_a_keys_source_becomes_the_source_of_what_it_submits(client: FlaskClient, engine: Engine) -> None:
    key = make_key(engine, "hotline", source="/hotline-12345")
    for headers in ({"X-Api-Key": key}, {"Authorization": f"Bearer {key}"}):
        body = event(source="/claims-to-be-someone-else")
        answer = client.post("/api/v1/events", data=json.dumps(body), headers=headers,
                             content_type="application/cloudevents+json")
        assert answer.status_code == 202, answer.get_data(as_text=True)
        with unit_of_work(engine) as session:
            case_id = answer.get_json()["case_id"]
            inbox = session.scalars(select(InboxEvent).where(InboxEvent.case_id == case_id)).one()
            assert inbox.source == "/hotline-12345"
            assert session.get(Case, case_id).events[0].actor == "/hotline-12345"  # type: ignore[union-attr]
            filed = session.scalars(select(IntegratorRequest).where(IntegratorRequest.case_id == case_id)).one()
            assert filed.via == "cloudevents" and filed.integrator.name == "hotline"


def test_a_batch_with_a_key_is_filed_under_its_source(client: FlaskClient, engine: Engine) -> None:
    key = make_key(engine, "import", source="/import")
    batch = [event(), event()]
    answer = client.post("/api/v1/events", data=json.dumps(batch), headers={"X-Api-Key": key},
                         content_type="application/cloudevents-batch+json")
    assert answer.status_code == 202
    with unit_of_work(engine) as session:
        sources = set(session.scalars(select(InboxEvent.source)))
        filed = list(session.scalars(select(IntegratorRequest.case_id)))
    assert sources == {"/import"} and sorted(filed) == sorted(a["case_id"] for a in answer.get_json())


def test_a_bad_key_on_intake_is_refused_and_a_setting_makes_one_required(client: FlaskClient, engine: Engine,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    refused = client.post("/api/v1/events", data=json.dumps(event()), headers={"X-Api-Key": "gck_wrong"},
                          content_type="application/cloudevents+json")
    assert refused.status_code == 403 and "not valid" in refused.get_json()["message"]
    assert post_event(client, event()).status_code == 202  # no key, none required: as before
    monkeypatch.setenv("GRIDCASE_EVENTS_REQUIRE_KEY", "1")
    missing = post_event(client, event())
    assert missing.status_code == 401 and "api_key" in missing.get_json()["message"]
    reader = make_key(engine, "dashboard", scopes=("read",))
    wrong_scope = client.post("/api/v1/events", data=json.dumps(event()), headers={"X-Api-Key": reader},
                              content_type="application/cloudevents+json")
    assert wrong_scope.status_code == 403


def test_intake_keys_are_rate_limited(client: FlaskClient, engine: Engine) -> None:
    key = make_key(engine, "burst", rate="1/minute")
    first = client.post("/api/v1/events", data=json.dumps(event()), headers={"X-Api-Key": key},
                        content_type="application/cloudevents+json")
    second = client.post("/api/v1/events", data=json.dumps(event()), headers={"X-Api-Key": key},
                         content_type="application/cloudevents+json")
    assert first.status_code == 202 and second.status_code == 429 and "Retry-After" in second.headers


# ------------------------------------------------------------------ events out


class Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append(({k: v for k, v in self.headers.items()}, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.received = []
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()
    server.server_close()


def test_a_keys_webhook_hears_every_step_of_the_cases_it_filed_signed(client: FlaskClient, engine: Engine,
                                                                      published: Published,
                                                                      receiver: str) -> None:
    key = make_key(engine, "hotline", scopes=("submit", "webhook"), webhook_url=receiver, webhook_secret="s3cret",
                   language="en")
    other = make_key(engine, "quiet", scopes=("submit",))
    filed = post(client, "json", key, service_code="ENV", address_id="XY-01-A-1", description="楼道堆物")
    case_id = int(filed.get_json()[0]["service_request_id"])
    post(client, "json", other, service_code="ENV", address_id="XY-01-A-1", description="不相干")
    post_event(client, event())  # without a key: nobody's webhook
    run_worker(engine, published.events)
    leader, branch = token_for(engine, "xy01a1.leader"), token_for(engine, "xy01a.secretary")
    for who, trigger, body in ((leader, "accept", {}), (leader, "escalate", {"reason": "需支部处理"}),
                               (branch, "resolve", {"summary": "已清理"})):
        assert client.post(f"/api/v1/cases/{case_id}/actions/{trigger}", json=body, headers=who).status_code == 200
        with unit_of_work(engine) as session:  # the delivery task the action published
            deliver_due(session)
    events = []
    for headers, raw in Receiver.received:
        assert headers["X-Gridcase-Signature"] == signature("s3cret", headers["X-Gridcase-Timestamp"], raw)
        assert headers["Content-Type"] == "application/cloudevents+json"
        events.append(json.loads(raw))
    assert [e["type"] for e in events] == ["org.gridcase.case.dispatched", "org.gridcase.case.escalated",
                                           "org.gridcase.case.resolved"]
    assert {e["data"]["case_id"] for e in events} == {case_id}
    assert events[-1]["data"]["title"] == "Case resolved" and events[-1]["data"]["language"] == "en"
    assert len({e["id"] for e in events}) == 3


def test_a_revoked_key_hears_nothing_more(client: FlaskClient, engine: Engine, published: Published,
                                          receiver: str) -> None:
    key = make_key(engine, "hotline", scopes=("submit", "webhook"), webhook_url=receiver)
    post(client, "json", key, service_code="ENV", address_id="XY-01-A-1")
    with unit_of_work(engine) as session:
        revoke(session, "hotline")
    run_worker(engine, published.events)
    assert Receiver.received == []
    filed = client.get(f"{BASE}/requests.json").get_json()
    assert len(filed) == 1  # what it filed stays
