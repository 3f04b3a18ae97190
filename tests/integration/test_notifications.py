"""Notices reach the right people once, over real SMTP and HTTP receivers, through a real worker."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from schemas.org import SubscriptionSpec
from tests.integration.support import SMTP_PORT, Live, ManagedProcess, submitted_event, wait_until
from web.cli import main
from workflow.base.db import unit_of_work
from workflow.notices.subscriptions import add, listing, remove

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
SECRET = "whsec-test"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """A local HTTP server standing in for the robots and a webhook receiver."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    failures_left: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def on(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path.split("?")[0] == path]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            path = self.path.split("?")[0]
            with state.lock:
                state.received.append(Received(self.path, dict(self.headers), body, time.monotonic()))
                failing = state.failures_left.get(path, 0)
                if failing:
                    state.failures_left[path] = failing - 1
            if path == "/always-down" or failing:
                self.send_response(503)
                self.end_headers()
                return
            answer = {"errcode": 0, "errmsg": "ok"}
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps(answer).encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=SMTP_PORT)
    controller.start()
    yield box
    controller.stop()


@pytest.fixture
def subscribe(live: Live) -> Iterator[Any]:
    made: list[int] = []

    def make(unit: str, **spec: Any) -> None:
        with unit_of_work(live.engine) as session:
            made.append(add(session, unit, SubscriptionSpec.model_validate(spec)).id)

    yield make
    with unit_of_work(live.engine) as session:
        for sub_id in made:
            remove(session, sub_id)


def escalate_one(live: Live) -> int:
    case_id = live.api.submit(submitted_event(category="NOI"))["case_id"]
    live.wait_for_state(case_id, "grid_handling")
    live.api.act("xy01a1.leader", case_id, "escalate", reason="需支部协调,当事人电话13912345678")
    return int(case_id)


def test_the_right_people_get_the_right_message_once(live: Live, receiver: Receiver, mailbox: Mailbox,
                                                      beat: ManagedProcess, subscribe: Any) -> None:
    subscribe("XY-01-A", topics=["case.escalated"], channel="email", target="branch@example.org")
    subscribe("XY-01-A", topics=["case.escalated"], channel="wecom", target=receiver.url("/wecom?key=k1"))
    subscribe("XY-01-A", topics=["case.escalated"], channel="dingtalk", target=receiver.url("/ding?access_token=t"),
              secret="SEC123")
    subscribe("XY-01", topics=["case.escalated"], subtree=True, channel="webhook", target=receiver.url("/hook"),
              secret=SECRET, language="en")
    subscribe("XY-01-A-2", topics=["case.escalated"], channel="wecom", target=receiver.url("/other-grid"))
    case_id = escalate_one(live)
    wait_until(lambda: len(mailbox.messages) >= 1 and receiver.on("/wecom") and receiver.on("/ding")
               and receiver.on("/hook"), "the escalation notice on every channel")
    time.sleep(2)  # a second copy, if any, would come within the relay's period
    assert len(mailbox.messages) == 1
    mail = mailbox.messages[0]
    subject = str(make_header(decode_header(mail["Subject"])))
    assert subject == "案件已升级到金桂园小区党支部"
    text = mail.get_payload(decode=True).decode("utf-8")
    assert f"#{case_id}" in text and "139****5678" in text and "13912345678" not in text
    [wecom] = receiver.on("/wecom")
    assert json.loads(wecom.body)["msgtype"] == "markdown"
    assert "案件已升级" in json.loads(wecom.body)["markdown"]["content"]
    [ding] = receiver.on("/ding")
    assert "timestamp=" in ding.path and "sign=" in ding.path
    [hook] = receiver.on("/hook")
    timestamp = hook.headers["X-Gridcase-Timestamp"]
    expected = "sha256=" + hmac.new(SECRET.encode(), timestamp.encode() + b"." + hook.body, hashlib.sha256).hexdigest()
    assert hook.headers["X-Gridcase-Signature"] == expected
    event = json.loads(hook.body)
    assert (event["type"], event["data"]["case_id"], event["data"]["language"]) == (
        "org.gridcase.case.escalated", case_id, "en")
    assert event["data"]["title"].startswith("Case escalated to")
    assert receiver.on("/other-grid") == []  # a unit that is not on the case's path hears nothing
    shown = live.api.case("xy.street", case_id)["notifications"]
    channels = {(n["topic"], n["unit"], n["channel"], n["status"]) for n in shown}
    assert ("case.escalated", "XY-01-A", "email", "sent") in channels
    assert ("case.escalated", "XY-01-A", "wecom", "sent") in channels
    assert all("k1" not in n["to"] for n in shown)  # the robot's key is a secret


def test_a_receiver_that_fails_three_times_gets_the_notice_once(live: Live, receiver: Receiver,
                                                                 beat: ManagedProcess, subscribe: Any) -> None:
    receiver.failures_left["/flaky"] = 3
    subscribe("XY-01-A", topics=["case.escalated"], channel="wecom", target=receiver.url("/flaky"))
    case_id = escalate_one(live)
    wait_until(lambda: live.scalar("SELECT count(*) FROM deliveries WHERE case_id = :id AND channel = 'wecom' "
                                   "AND status = 'sent'", id=case_id), "the flaky robot to get it at last")
    [row] = live.rows("SELECT attempts, errors, status FROM deliveries WHERE case_id = :id AND channel = 'wecom'",
                      id=case_id)
    assert (row["status"], row["attempts"], len(row["errors"])) == ("sent", 4, 3)
    assert len(receiver.on("/flaky")) == 4  # three refused, one delivered: delivered once


def test_a_receiver_that_always_fails_ends_dead_and_listed(live: Live, receiver: Receiver, beat: ManagedProcess,
                                                            subscribe: Any, pg_url: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    subscribe("XY-01-A", topics=["case.escalated"], channel="webhook", target=receiver.url("/always-down"))
    case_id = escalate_one(live)
    wait_until(lambda: live.scalar("SELECT count(*) FROM deliveries WHERE case_id = :id AND status = 'dead'",
                                   id=case_id), "the delivery to be given up")
    assert len(receiver.on("/always-down")) == 4  # GRIDCASE_RETRY_MAX
    monkeypatch.setenv("DATABASE_URL", pg_url)
    stuck = CliRunner().invoke(main, ["outbox", "stuck"])
    assert stuck.exit_code == 0 and f"case {case_id}" in stuck.output and "dead" in stuck.output
    dead = [n for n in live.api.case("xy.street", case_id)["notifications"] if n["status"] == "dead"]
    assert dead and "503" in dead[0]["last_error"]
    delivery_id = live.scalar("SELECT id FROM deliveries WHERE case_id = :id AND status = 'dead'", id=case_id)
    assert CliRunner().invoke(main, ["outbox", "retry", str(delivery_id)]).exit_code == 0
    wait_until(lambda: len(receiver.on("/always-down")) > 4, "the operator's retry to be sent")


def test_a_burst_to_one_robot_respects_its_limit_and_all_arrive(live: Live, receiver: Receiver,
                                                                beat: ManagedProcess, subscribe: Any) -> None:
    subscribe("XY-01-A", topics=["case.escalated"], channel="wecom", target=receiver.url("/burst"))
    burst = 40
    case_ids = [live.api.submit(submitted_event(category="NOI"))["case_id"] for _ in range(burst)]
    for case_id in case_ids:
        live.wait_for_state(case_id, "grid_handling")
    for case_id in case_ids:
        live.api.act("xy01a1.leader", case_id, "escalate", reason="burst")
    wait_until(lambda: len(receiver.on("/burst")) >= burst, f"all {burst} notices at the robot", timeout=60)
    times = sorted(r.at for r in receiver.on("/burst"))
    assert len(times) == burst
    # "10 per 2 seconds" (GRIDCASE_ROBOT_RATE in the suite): no 2-second window holds more than 10.
    assert max(sum(1 for t in times if start <= t < start + 2.0) for start in times) <= 10
    assert times[-1] - times[0] >= 2.0 * (burst // 10 - 1)


def test_subscriptions_can_be_listed_and_removed_from_the_command_line(live: Live, pg_url: str,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", pg_url)
    runner = CliRunner()
    added = runner.invoke(main, ["subscription", "add", "XY-02", "--topics", "case.escalated,case.supervision_flagged",
                                 "--subtree", "--channel", "dingtalk", "--target", "https://oapi.dingtalk.com/robot/"
                                 "send?access_token=T", "--severity", "P1"])
    assert added.exit_code == 0, added.output
    sub_id = int(added.output.split()[1].rstrip(":"))
    listed = runner.invoke(main, ["subscription", "list", "--unit", "XY-02"])
    assert "dingtalk" in listed.output and "access_token" not in listed.output and "severities=P1" in listed.output
    bad = runner.invoke(main, ["subscription", "add", "XY-02", "--topics", "case.nonsense"])
    assert bad.exit_code == 2 and "unknown topic" in bad.output
    assert runner.invoke(main, ["subscription", "remove", str(sub_id)]).exit_code == 0
    with unit_of_work(live.engine) as session:
        assert sub_id not in {s.id for s in listing(session)}
