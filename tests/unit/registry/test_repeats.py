"""Repeat disputes (重复矛盾) and likely duplicates: matched by the parties' phones and the place, listed per unit."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from tests.conftest import Published
from tests.unit.helpers import event, post_event, run_worker, token_for
from tests.unit.ui_helpers import Browser
from workflow.base.db import unit_of_work
from workflow.cases.models import Case
from workflow.registry.demo import load_demo_register
from workflow.registry.repeats import matches_of, party_key

DISPUTE = {"category": "NEI", "description": "邻里漏水纠纷"}
ZHANG = {"role": "applicant", "name": "张建国", "phone": "13900001111"}
LI = {"role": "respondent", "name": "李卫东", "phone": "13700002222"}


@pytest.fixture
def registry_engine(engine: Engine) -> Engine:
    with unit_of_work(engine) as session:
        load_demo_register(session)
    return engine


def _log(client: FlaskClient, data: dict[str, Any]) -> int:
    body = event({**DISPUTE, **data})
    if "grid" not in data and ("address" in data or "household" in data):
        del body["data"]["grid"]
    answer = post_event(client, body)
    assert answer.status_code == 202, answer.get_json()
    return int(answer.get_json()["case_id"])


def _repeats(client: FlaskClient, engine: Engine, case_id: int, user: str = "xy01a.secretary") -> Any:
    r = client.get(f"/api/v1/cases/{case_id}/repeats", headers=token_for(engine, user))
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_a_phone_is_keyed_the_same_however_it_is_written() -> None:
    key = party_key("13900001111")
    assert key is not None and len(key) == 32 and "13900001111" not in key
    assert party_key("+86 139-0000-1111") == party_key("１３９００００１１１１") == key
    assert party_key("13900001112") != key and party_key(None) is None and party_key("12") is None


def test_a_second_dispute_between_the_same_parties_is_a_repeat_with_a_link(registry_engine: Engine,
                                                                          client: FlaskClient) -> None:
    first = _log(client, {"parties": [ZHANG, LI], "grid": "XY-01-A-1"})
    # Another grid of the same community, the respondent's phone written otherwise, another reporter.
    second = _log(client, {"parties": [{**LI, "phone": "+86 137 0000 2222"}], "grid": "XY-01-B-3",
                           "reporter": {"name": "赵六", "phone": "13600003333"}})
    found = _repeats(client, registry_engine, second, "xy01.secretary")
    assert found["repeat"] is True
    assert [(x["case_id"], x["by"]) for x in found["repeats"]] == [(first, "party")]
    assert found["repeats"][0]["url"] == f"/api/v1/cases/{first}"
    # A link is given only to a case the reader may open: the other compound's branch sees none.
    assert _repeats(client, registry_engine, first, "xy01a.secretary")["repeats"] == []


def test_the_same_household_by_address_or_by_id_is_a_repeat(registry_engine: Engine, client: FlaskClient) -> None:
    first = _log(client, {"address": "金桂园1号楼1单元101", "reporter": {"name": "甲", "phone": "13511112222"}})
    second = _log(client, {"household": 1, "reporter": {"name": "乙", "phone": "13522223333"}})
    other = _log(client, {"address": "金桂园1号楼1单元102", "reporter": {"name": "丙", "phone": "13533334444"}})
    with unit_of_work(registry_engine) as session:
        case = session.get(Case, second)
        assert case is not None
        found = matches_of(session, case)
    assert [(x.case_id, x.by) for x in found.repeats] == [(first, "place")]
    assert other not in [x.case_id for x in found.repeats]


def test_the_same_complaint_from_the_same_reporter_within_48_hours_is_a_likely_duplicate(
        registry_engine: Engine, client: FlaskClient) -> None:
    first = _log(client, {"category": "NOI", "description": "楼上夜间噪音"})
    again = _log(client, {"category": "NOI", "description": "楼上夜里很吵"})
    other_kind = _log(client, {"category": "ENV", "description": "楼道堆放杂物"})
    found = _repeats(client, registry_engine, again, "xy01a1.leader")
    assert [x["case_id"] for x in found["duplicates"]] == [first]
    assert {x["case_id"] for x in found["repeats"]} == {first, other_kind}  # the same reporter: a repeat
    with unit_of_work(registry_engine) as session:
        old = session.get(Case, first)
        assert old is not None
        old.submitted_at -= timedelta(hours=49)
    assert _repeats(client, registry_engine, again, "xy01a1.leader")["duplicates"] == []


def test_a_merged_case_and_a_case_from_another_community_are_not_repeats(registry_engine: Engine,
                                                                         client: FlaskClient) -> None:
    first = _log(client, {"parties": [ZHANG, LI], "grid": "XY-01-A-1"})
    elsewhere = _log(client, {"parties": [ZHANG, LI], "grid": "XY-02-A-1"})
    third = _log(client, {"parties": [ZHANG], "grid": "XY-01-A-1", "reporter": {"name": "丁", "phone": "13544445555"}})
    with unit_of_work(registry_engine) as session:
        case = session.get(Case, first)
        assert case is not None
        assert elsewhere not in [x.case_id for x in matches_of(session, case).repeats]
        assert third in [x.case_id for x in matches_of(session, case).repeats]
        merged = session.get(Case, third)
        assert merged is not None
        merged.state = "merged"
    with unit_of_work(registry_engine) as session:
        case = session.get(Case, first)
        assert case is not None
        assert third not in [x.case_id for x in matches_of(session, case).repeats]


def test_the_branch_lists_the_parties_and_places_with_repeat_disputes_masked(registry_engine: Engine,
                                                                          client: FlaskClient) -> None:
    one = _log(client, {"parties": [ZHANG, LI], "address": "金桂园1号楼1单元101"})
    two = _log(client, {"parties": [ZHANG], "household": 1, "reporter": {"name": "乙", "phone": "13522223333"}})
    r = client.get("/api/v1/repeat-disputes", headers=token_for(registry_engine, "xy01a.secretary"))
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["unit"] == "XY-01-A"
    by = {(g["by"], g["label"]): [c["case_id"] for c in g["cases"]] for g in body["groups"]}
    assert by[("party", "张*国 139****1111")] == [two, one]
    assert by[("place", "金桂园 1号楼 1单元 101")] == [two, one]
    assert "13900001111" not in r.get_data(as_text=True)
    assert client.get("/api/v1/repeat-disputes",
                      headers=token_for(registry_engine, "xy01a1.leader")).status_code == 403
    assert client.get("/api/v1/repeat-disputes?unit=XY-02",
                      headers=token_for(registry_engine, "xy01a.secretary")).status_code == 404
    # The street may look at any unit below it; the administrator runs the system and sees no list.
    street = client.get("/api/v1/repeat-disputes?unit=XY-01-A", headers=token_for(registry_engine, "xy.street"))
    assert street.status_code == 200 and street.get_json()["groups"] == body["groups"]
    assert client.get("/api/v1/repeat-disputes", headers=token_for(registry_engine, "xy.admin")).status_code == 403


def test_the_case_page_the_inbox_and_the_list_page_show_the_repeat(app: Any, registry_engine: Engine,
                                                                   client: FlaskClient, published: Published) -> None:
    one = _log(client, {"parties": [ZHANG, LI], "grid": "XY-01-A-1"})
    two = _log(client, {"parties": [LI], "grid": "XY-01-A-1", "reporter": {"name": "乙", "phone": "13522223333"}})
    run_worker(registry_engine, published.events)
    for case_id in (one, two):
        r = client.post(f"/api/v1/cases/{case_id}/actions/escalate", json={"reason": "需支部调解"},
                        headers=token_for(registry_engine, "xy01a1.leader"))
        assert r.status_code == 200, r.get_json()
    branch = Browser(app, registry_engine, "xy01a.secretary")
    page = branch.get(f"/cases/{two}").text
    assert 'id="repeat"' in page and f'data-repeat="{one}"' in page and "13700002222" not in page
    inbox = branch.get("/inbox").text
    assert inbox.count('class="badge repeat"') == 2
    listing = branch.get("/registry/repeats").text
    assert "李*东 137****2222" in listing and f"/cases/{one}" in listing and "13700002222" not in listing
    assert 'id="repeats-link"' in branch.get("/registry/").text
    leader = Browser(app, registry_engine, "xy01a1.leader")
    assert leader.get("/registry/repeats").status_code == 403


def test_the_cli_lists_the_repeats(registry_engine: Engine, client: FlaskClient, monkeypatch: pytest.MonkeyPatch,
                                   tmp_path: Path) -> None:
    from click.testing import CliRunner

    from web.cli import main

    monkeypatch.setenv("DATABASE_URL", registry_engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("GRIDCASE_HOME", str(tmp_path / "var"))
    one = _log(client, {"parties": [ZHANG, LI], "grid": "XY-01-A-1"})
    two = _log(client, {"parties": [ZHANG], "grid": "XY-01-A-1", "reporter": {"name": "乙", "phone": "13522223333"}})
    result = CliRunner().invoke(main, ["registry", "repeats", "--as", "xy01a.secretary"])
    assert result.exit_code == 0, result.output
    assert f"party\t张*国 139****1111\t2\t#{two} NEI" in result.output and f"#{one} NEI" in result.output
    assert "13900001111" not in result.output
    refused = CliRunner().invoke(main, ["registry", "repeats", "--as", "xy01a1.leader"])
    assert refused.exit_code == 2 and "branch, a general branch or the street" in refused.output


def test_a_nul_in_the_unit_asked_for_is_a_422_naming_it(client: Any, engine: Any) -> None:
    from tests.unit.helpers import token_for

    answer = client.get("/api/v1/repeat-disputes?unit=XY%00", headers=token_for(engine, "xy01a.secretary"))
    assert answer.status_code == 422 and "unit" in answer.get_data(as_text=True)
