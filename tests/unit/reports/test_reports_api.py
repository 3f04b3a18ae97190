"""The residents' report API: a code, then the report with it; 4xx that say what is wrong; in /openapi.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from tests.unit.reports.helpers import last_code
from workflow.base.db import unit_of_work
from workflow.cases.models import Case

PHONE = "13912345678"


def body(**over: Any) -> dict[str, Any]:
    return {"phone": PHONE, "category": "NOI", "building": "gXY-01-A-1", "description": "楼上装修到深夜",
            "name": "王先生", **over}


def cases(engine: Engine) -> int:
    with unit_of_work(engine) as session:
        return int(session.scalar(select(func.count()).select_from(Case)) or 0)


def test_a_code_then_a_report_makes_a_case(client: Any, engine: Engine, sms_sink: Path, published: Any) -> None:
    sent = client.post("/api/v1/reports/code", json={"phone": PHONE, "language": "en"})
    assert sent.status_code == 202 and sent.json == {"sent": True, "valid_seconds": 600, "tries": 3}
    assert "Your code is" in sms_sink.read_text(encoding="utf-8")
    wrong = client.post("/api/v1/reports", json=body(code="000000" if last_code(sms_sink, PHONE) != "000000"
                                                     else "111111"))
    assert wrong.status_code == 422 and wrong.json["message"] == "wrong code; 2 tries left"
    assert wrong.json["problems"] == [{"field": "code", "problem": "wrong code; 2 tries left"}]
    assert cases(engine) == 0
    code = last_code(sms_sink, PHONE)
    made = client.post("/api/v1/reports", json=body(code=code, submission_id="0b5c3c8e-6f7e-4c47-9a55-5f0d4a2b1c3d"))
    assert made.status_code == 201, made.json
    assert made.json["tracking_code"] in made.json["status_url"] and made.json["added"] is False
    again = client.post("/api/v1/reports", json=body(code=code, submission_id="0b5c3c8e-6f7e-4c47-9a55-5f0d4a2b1c3d"))
    assert again.status_code == 200 and again.json["case_id"] == made.json["case_id"]  # sent twice: one case
    # The same problem again within 48 hours: asked, then added.
    asked = client.post("/api/v1/reports", json=body(code=code, description="又开始了"))
    assert asked.status_code == 409 and asked.json["error"] == "duplicate"
    assert made.json["tracking_code"] in asked.json["message"]
    added = client.post("/api/v1/reports", json=body(code=code, description="又开始了", duplicate="add"))
    assert added.status_code == 200 and added.json["added"] is True and added.json["case_id"] == made.json["case_id"]
    assert cases(engine) == 1 and len(published.events) == 1
    with unit_of_work(engine) as session:
        assert session.scalars(select(Case.channel)).one() == "web"


def test_refusals_name_what_is_wrong(client: Any, engine: Engine, sms_sink: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    no_code = client.post("/api/v1/reports", json=body(code="123456"))
    assert no_code.status_code == 422 and "ask for a code first" in no_code.json["message"]
    landline = client.post("/api/v1/reports/code", json={"phone": "010 1234 5678"})
    assert landline.status_code == 422 and landline.json["problems"][0]["field"] == "phone"
    assert client.post("/api/v1/reports/code", json={"phone": PHONE}).status_code == 202
    soon = client.post("/api/v1/reports/code", json={"phone": PHONE})
    assert soon.status_code == 429 and int(soon.headers["Retry-After"]) > 0 and "wait" in soon.json["message"]
    code = last_code(sms_sink, PHONE)
    nowhere = client.post("/api/v1/reports", json=body(code=code, building="gXY-99"))
    assert nowhere.status_code == 422 and nowhere.json["problems"][0]["field"] == "building"
    monkeypatch.setenv("GRIDCASE_REPORT_DAILY_CAP", "1")
    assert client.post("/api/v1/reports", json=body(code=code)).status_code == 201
    capped = client.post("/api/v1/reports", json=body(code=code, category="ENV"))
    assert capped.status_code == 429 and "the most allowed" in capped.json["message"]


def test_the_danger_flag_is_p0_and_a_card_is_its_channel(client: Any, engine: Engine, sms_sink: Path) -> None:
    client.post("/api/v1/reports/code", json={"phone": PHONE})
    made = client.post("/api/v1/reports", json=body(code=last_code(sms_sink, PHONE), danger=True, from_card=True,
                                                    category="SAF"))
    assert made.status_code == 201
    with unit_of_work(engine) as session:
        case = session.scalars(select(Case)).one()
        assert (case.severity, case.channel) == ("P0", "service_card")


def test_the_places_and_the_routes_are_documented(client: Any) -> None:
    found = client.get("/api/v1/reports/places").json["places"]
    assert {"key": "gXY-01-A-1", "compound": "金桂园小区", "building": "金桂园1号楼"} in found
    paths = client.get("/openapi.json").json["paths"]
    assert {"202", "422", "429"} <= set(paths["/api/v1/reports/code"]["post"]["responses"])
    assert {"201", "409", "422", "429"} <= set(paths["/api/v1/reports"]["post"]["responses"])
