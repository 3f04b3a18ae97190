"""``gridcase up`` as a newcomer runs it: no servers, one command, and a restart loses nothing."""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.harness import Up


def submit(up: Up, event_id: str) -> dict[str, Any]:
    body = {"specversion": "1.0", "id": event_id, "source": "/e2e", "type": "org.gridcase.case.submitted",
            "data": {"category": "NEI", "description": "邻居漏水", "grid": "XY-02-A-1",
                     "reporter": {"name": "王小明", "phone": "13812345678"}}}
    answer = up.request("POST", "/api/v1/events", body, {"Content-Type": "application/cloudevents+json"})
    assert answer is not None and "case_id" in answer, up.log()[-3000:]
    return dict(answer)


def state_of(up: Up, case_id: int) -> str | None:
    # Polled through the staff API: the resident's lookups are limited per code (README: the API).
    tokens = dict(line.split("\t") for line in (up.home / "demo-tokens.txt").read_text().splitlines())
    answer = up.get(f"/api/v1/cases/{case_id}", {"Authorization": f"Bearer {tokens['xy.street']}"})
    return answer["state"] if answer else None


def test_up_serves_dispatches_and_keeps_everything_across_a_restart(up: Up) -> None:
    up.start()
    assert "XY-01-A-1" in json.dumps(up.get("/api/v1/units"))
    tokens = dict(line.split("\t") for line in (up.home / "demo-tokens.txt").read_text().splitlines())
    first = submit(up, "before-restart")
    up.wait_for(lambda: state_of(up, first["case_id"]) == "grid_handling", "the first case to be dispatched")

    up.stop()
    assert "worker stopped" in up.log() and "web stopped" in up.log()
    up.start()
    # The second start finds the database and demo tree in place: no new tree, no new tokens.
    assert "demo staff tokens" not in up.log()
    assert len((up.home / "demo-tokens.txt").read_text().splitlines()) == len(tokens) == 4
    second = submit(up, "after-restart")
    up.wait_for(lambda: state_of(up, second["case_id"]) == "grid_handling", "the second case")
    assert state_of(up, first["case_id"]) == "grid_handling"
    again = submit(up, "before-restart")
    assert again == first

    leader = {"Authorization": f"Bearer {tokens['xy01a1.leader']}"}
    assert up.get(f"/api/v1/cases/{first['case_id']}", leader) is None  # another community's grid: 403
    street = {"Authorization": f"Bearer {tokens['xy.street']}"}
    view = up.get(f"/api/v1/cases/{first['case_id']}", street)
    assert [step["kind"] for step in view["timeline"]] == ["submitted", "dispatch"]
    # The resident follows it with the code and the last four digits of the phone they gave.
    tracked = up.get(f"/api/v1/track/{first['tracking_code']}", {"X-Phone-Last4": "5678"})
    assert tracked is not None and tracked["state"] == "grid_handling"
