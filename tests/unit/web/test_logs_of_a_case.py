"""A case with a name, a phone, an ID number and a tracking code goes through the engine; its logs keep none in full."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from tests.conftest import Published
from tests.logcapture import Captured
from tests.unit.helpers import event, post_event, run_worker, token_for
from workers import observe
from workers.app import app as celery_app
from workflow.base import logs

NAME, OTHER_NAME = "欧阳晓明", "司马青云"
PHONE, OTHER_PHONE = "13812345678", "13987654321"
ID_NUMBER = "110101199003071234"
LEADER, STREET = "xy01a1.leader", "xy.street"


def _case_with_personal_data(client: FlaskClient, engine: Engine, published: Published) -> tuple[int, str, str]:
    body = event({"description": f"邻居{OTHER_NAME}深夜噪音,身份证{ID_NUMBER},电话{OTHER_PHONE}",
                  "reporter": {"name": NAME, "phone": PHONE},
                  "parties": [{"role": "respondent", "name": OTHER_NAME, "phone": OTHER_PHONE}]})
    answer = post_event(client, body)
    assert answer.status_code == 202, answer.get_json()
    run_worker(engine, published.events)
    submitted = answer.get_json()
    return submitted["case_id"], submitted["tracking_code"], answer.headers["X-Request-Id"]


def test_no_name_phone_id_number_or_tracking_code_in_full_in_any_line(
        client: FlaskClient, engine: Engine, published: Published, captured_logs: Captured) -> None:
    case_id, code, _ = _case_with_personal_data(client, engine, published)
    leader, street = token_for(engine, LEADER), token_for(engine, STREET)
    for user, trigger, body in ((leader, "accept", {}), (leader, "escalate", {"reason": f"{NAME}要求上报"}),
                                (leader, "note", {"reason": f"联系{PHONE}"})):
        client.post(f"/api/v1/cases/{case_id}/actions/{trigger}", json=body, headers=user)
    client.post(f"/api/v1/cases/{case_id}/actions/take_over", json={"reason": "街道接手"}, headers=street)
    client.post(f"/api/v1/cases/{case_id}/actions/resolve", json={"summary": "已调解"}, headers=street)
    client.post(f"/api/v1/cases/{case_id}/actions/report_back", json={"message": f"{NAME}您好"}, headers=street)
    run_worker(engine, published.events)  # the resident's SMS with the tracking link goes out here
    client.get(f"/api/v1/track/{code}")
    client.get(f"/api/v1/track/{code.replace('-', '').lower()}")
    client.post(f"/api/v1/track/{code}/evaluation", json={"phone_last4": "0000", "resolved": "yes", "satisfaction": 5})
    client.get(f"/track?code={code}")

    text = captured_logs.text
    lines = captured_logs.lines()
    assert any(line.get("path", "").startswith("/api/v1/track/") for line in lines), "the lookups were logged"
    stored_code = code.replace("-", "")
    for secret in (NAME, OTHER_NAME, PHONE, OTHER_PHONE, ID_NUMBER, code, stored_code, stored_code.lower()):
        assert secret not in text, f"{secret} is in the logs"
    # Masked forms are there, so the lines still say which case and which request they are about.
    assert any(line.get("case_id") == case_id and "accepted" in line["event"] for line in lines)
    assert any(line["event"].startswith("GET /api/v1/track/" + code[:4] + "-****") for line in lines)


def test_every_line_of_a_request_carries_its_id_which_comes_back_in_a_header(
        client: FlaskClient, engine: Engine, published: Published, captured_logs: Captured) -> None:
    case_id, _, request_id = _case_with_personal_data(client, engine, published)
    request_lines = [line for line in captured_logs.lines() if line.get("request_id") == request_id]
    assert {line["event"].split(" ")[0] for line in request_lines} >= {"case", "POST"}
    assert all(line["case_id"] == case_id for line in request_lines if line["event"].startswith("case "))

    answer = client.get(f"/api/v1/cases/{case_id}", headers={**token_for(engine, LEADER),
                                                            "X-Request-Id": "proxy-id-0001"})
    assert answer.headers["X-Request-Id"] == "proxy-id-0001"
    [line] = [line for line in captured_logs.lines() if line.get("request_id") == "proxy-id-0001"]
    assert line["case_id"] == case_id and line["status"] == 200
    odd = client.get("/api/v1/units", headers={"X-Request-Id": "x" * 200 + "<>"})
    assert odd.headers["X-Request-Id"] != "x" * 200 and len(odd.headers["X-Request-Id"]) == 36


def test_every_line_inside_a_task_carries_the_task_id_and_the_inbox_id(
        client: FlaskClient, engine: Engine, published: Published, captured_logs: Captured,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from workers import tasks

    monkeypatch.setenv("DATABASE_URL", str(engine.url))
    sent: list[Any] = []
    monkeypatch.setattr(tasks, "publish_notices", sent.append)
    monkeypatch.setattr(tasks, "publish_event", lambda *a, **k: sent.append(a))
    with client.application.test_request_context():
        logs.bind(request_id="req-from-web-1")
        headers: dict[str, Any] = {}
        observe._carry_request_id(headers=headers)
        logs.clear()
    answer = post_event(client, event())
    inbox_id = published.events.pop()
    result = tasks.handle_event.apply(args=(inbox_id,), task_id="task-0001", headers=headers)
    assert result.successful(), result.traceback
    task_lines = [line for line in captured_logs.lines() if line.get("task_id") == "task-0001"]
    step = [line for line in task_lines if line["event"].startswith(f"case {answer.get_json()['case_id']}: dispatch")]
    assert step and all(line["inbox_id"] == inbox_id for line in step)
    assert all(line["task"] == "gridcase.handle_event" for line in task_lines)
    assert all(line.get("request_id") == "req-from-web-1" for line in task_lines)
    # After the task, nothing of it sticks to the next lines.
    celery_app.log.get_default_logger().info("after")
    assert "task_id" not in captured_logs.lines()[-1]
