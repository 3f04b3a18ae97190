"""The dashboard page: tiles, charts, child units, hot spots (small cells hidden), lists, refusals."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from schemas.api import EvaluationRequest
from tests.conftest import Published
from tests.unit.helpers import REPORTER_PHONE, event, post_event, run_worker, token_for
from tests.unit.ui_helpers import Browser
from workflow.analysis.refresh import refresh_facts
from workflow.base.db import unit_of_work
from workflow.cases.actions import evaluate


def _case(client: FlaskClient, engine: Engine, published: Published, grid: str, category: str) -> int:
    case_id = int(post_event(client, event({"grid": grid, "category": category})).get_json()["case_id"])
    run_worker(engine, published.events)
    return case_id


@pytest.fixture
def cases(client: FlaskClient, engine: Engine, published: Published) -> dict[str, Any]:
    ids = [_case(client, engine, published, "XY-01-A-1", "NOI") for _ in range(5)]
    ids += [_case(client, engine, published, "XY-02-A-1", "PRO") for _ in range(2)]
    grid = token_for(engine, "xy01a1.leader")  # the grid holding the case works it
    unhappy = ids[0]
    for trigger, body in (("accept", {}), ("resolve", {"summary": "已协调"}), ("report_back", {"message": "已处理"})):
        assert client.post(f"/api/v1/cases/{unhappy}/actions/{trigger}", json=body, headers=grid).status_code == 200
    with unit_of_work(engine) as session:
        evaluate(session, unhappy, EvaluationRequest(phone_last4=REPORTER_PHONE[-4:], resolved="partly",
                                                     satisfaction=1, comment="楼上还是很吵"))
    with unit_of_work(engine) as session:
        refresh_facts(session)
    return {"ids": ids, "unhappy": unhappy}


def test_the_street_sees_tiles_charts_units_hot_spots_and_lists(app: Any, engine: Engine,
                                                                cases: dict[str, Any]) -> None:
    page = Browser(app, engine, "xy.street").get("/analysis")
    assert page.status_code == 200
    html = page.text
    assert 'id="tile-received"' in html and 'id="tile-composite"' in html
    assert "How it is counted" in html and "signed for in time ÷ due for response" in html
    assert html.count("<svg") >= 3 and "<script" not in html.split("</head>")[1]
    assert "Figures last brought up to date" in html
    # The communities side by side, the worst marked; the hot spot of 5 shown, the cell of 2 hidden.
    assert all(name in html for name in ("XY-01", "XY-02", "XY-03")) and "worst-mark" in html
    hot = re.findall(r'<td class="hot">(\d+)</td>', html)
    assert hot == ["5"]
    assert ">2</td>" not in html.split("hot-spots")[1].split("</table>")[0]
    # The dissatisfied list carries the resident's comment; no phone or name appears anywhere.
    assert "楼上还是很吵" in html and f'/cases/{cases["unhappy"]}' in html
    assert REPORTER_PHONE not in html and "王小明" not in html


def test_the_cases_behind_a_figure_open_as_a_list(app: Any, engine: Engine, cases: dict[str, Any]) -> None:
    browser = Browser(app, engine, "xy.street")
    html = browser.get("/analysis").text
    link = re.search(r'href="(/analysis/cases\?[^"]*kpi=received[^"]*part=numerator[^"]*)"', html)
    assert link, "the received tile links to its cases"
    listed = browser.get(link.group(1).replace("&amp;", "&"))
    assert listed.status_code == 200
    assert all(f"/cases/{case_id}" in listed.text for case_id in cases["ids"])


def test_the_units_table_sorts_by_a_column(app: Any, engine: Engine, cases: dict[str, Any]) -> None:
    browser = Browser(app, engine, "xy.street")
    up = browser.get("/analysis?unit=XY&sort=received&dir=asc").text
    down = browser.get("/analysis?unit=XY&sort=received&dir=desc").text

    def order(html: str) -> list[str]:
        table = html.split("units-table")[1].split("</table>")[0]
        return re.findall(r"unit=(XY-0\d)", table)

    assert order(down)[0] == "XY-01" and order(up)[-1] == "XY-01"


def test_the_dashboard_refuses_other_roles_units_and_bad_dates(app: Any, engine: Engine) -> None:
    assert Browser(app, engine, "xy01a1.leader").get("/analysis").status_code == 403
    secretary = Browser(app, engine, "xy01a.secretary")
    assert secretary.get("/analysis").status_code == 200
    outside = secretary.get("/analysis?unit=XY")
    assert outside.status_code == 403 and "You may not do this." in outside.text
    bad = secretary.get("/analysis?from=2026-02-30")
    assert bad.status_code == 422 and "Please check what you entered." in bad.text
    assert Browser(app, engine).get("/analysis").status_code == 302  # to the login page
