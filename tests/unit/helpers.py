"""Small helpers the SQLite suites share: building events, running the worker's service in-process."""

from __future__ import annotations

import itertools
import json
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine, select

from workflow.base.db import unit_of_work
from workflow.cases.handling import handle_inbox_event
from workflow.notices.delivery import deliver_due
from workflow.org.members import create_token
from workflow.org.models import User

_ids = itertools.count(1)
GRID = "XY-01-A-1"
REPORTER_PHONE = "13812345678"


def event(data: dict[str, Any] | None = None, **attrs: Any) -> dict[str, Any]:
    """Return a structured ``case.submitted`` CloudEvent with sensible defaults."""
    body: dict[str, Any] = {
        "specversion": "1.0", "id": f"evt-{next(_ids)}", "source": "/tests", "type": "org.gridcase.case.submitted",
        "data": {"category": "NOI", "description": "楼上夜间噪音", "grid": GRID,
                 "reporter": {"name": "王小明", "phone": REPORTER_PHONE}},
    }
    if data:
        body["data"].update(data)
    body.update(attrs)
    return body


def post_event(client: FlaskClient, body: dict[str, Any]) -> Any:
    """POST a structured CloudEvent."""
    return client.post("/api/v1/events", data=json.dumps(body, ensure_ascii=False),
                       content_type="application/cloudevents+json")


def run_worker(engine: Engine, inbox_ids: list[int]) -> None:
    """Handle the published inbox rows and deliver their notices, as a worker would."""
    while inbox_ids:
        inbox_id = inbox_ids.pop(0)
        with unit_of_work(engine) as session:
            handle_inbox_event(session, inbox_id)
        with unit_of_work(engine) as session:
            deliver_due(session)


def token_for(engine: Engine, user: str) -> dict[str, str]:
    """Return the Authorization header of a fresh token for a demo member."""
    with unit_of_work(engine) as session:
        assert session.scalars(select(User).where(User.name == user)).one()
        return {"Authorization": f"Bearer {create_token(session, user)}"}
