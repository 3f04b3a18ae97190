"""Every trigger of the case machine x every kind of demo member, through the API and the case page.

Generated from the machine's data, not written by hand: the triggers and the states each
applies from come from ``TRANSITIONS``, who may fire it from ``RULES`` (actor kinds and
positions) and ``CASE_ROLES``, the members from the demo org tree (one per role, level and
relation to the case: on its path, below its grid, or in another subtree). For each trigger,
for each state it applies from, a case is put in that state and every member tries the
trigger through ``POST /api/v1/cases/{id}/actions/{trigger}`` and through the case page's
form; the answer must agree with the rules: 200 (the API) or a redirect to the case (the
page) when allowed, otherwise 403 or 404 with the case unchanged, and, for a member off
the case's path, nothing of the case in the answer. The case page offers a trigger's form
exactly when the rules allow it. A reveal is not an action (404 on the actions route); its
own route follows the same rule.

One SQLite database and one login per member serve the whole module, so the matrix (about
4,000 requests) runs in CI time (about a minute of CPU).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select

from schemas.events import CaseSubmittedEvent
from schemas.vocabulary import HANDLING_STATE, Level, State
from tests.unit.helpers import event
from tests.unit.ui_helpers import Browser, csrf_of
from web import create_app
from workflow.base import wallclock
from workflow.base.db import make_engine, unit_of_work
from workflow.cases.actions import STAFF_ACTIONS
from workflow.cases.handling import handle_inbox_event
from workflow.cases.intake import submit_case
from workflow.cases.machine import CASE_ROLES, RULES, TRANSITIONS, Actor, Position, level_of_state, position_of
from workflow.cases.models import Case, CaseEvent
from workflow.org.members import create_token
from workflow.org.models import Unit, User
from workflow.org.tree import ancestors, cached_ladder, forget_cached_units

GRID = "XY-01-A-1"
DESCRIPTION = "矩阵测试：楼上漏水"
REPORTER, REPORTER_PHONE = "王小明", "13812345678"
BODY = {"reason": "原因", "summary": "已处理", "message": "说明", "extend_by": "P3D"}


# --- the matrix, from the machine's data --------------------------------------------------------

def _sources(trigger: str) -> list[str]:
    states: list[str] = []
    for t in TRANSITIONS:
        if t["trigger"] == trigger:
            src = t["source"]
            states += [s for s in ([src] if isinstance(src, str) else src) if s not in states]
    return states


def _levels(state: str) -> list[Level]:
    """The levels a case in ``state`` may be held at: its handling level, or for the rest grid and a level above."""
    handling = level_of_state(state)
    if handling is not None:
        return [handling]
    return [Level.GRID] if state == State.COLLECTED else [Level.GRID, Level.GENERAL_BRANCH]


SETUPS = [(trigger, state, level) for trigger in sorted(RULES) for state in _sources(trigger) for level in _levels(state)]
TRIGGERS = sorted({t for t, _, _ in SETUPS})


@dataclass(frozen=True)
class Member:
    """A demo member and where their unit stands relative to the case's grid."""

    name: str
    role: str
    level: Level
    relation: str  # "path" (the grid or above), "below" (under the grid), "outside" (another subtree)


def expected_allowed(member: Member, trigger: str, level: Level) -> bool:
    """Say whether the rules let ``member`` fire ``trigger`` on a case held at ``level``."""
    rule = RULES[trigger]
    if member.relation != "path" or member.role not in CASE_ROLES or Actor.STAFF not in rule.actors:
        return False
    return position_of(member.level, level) in rule.positions


# --- one database, one app and one login per member for the module ------------------------------

@dataclass
class World:
    """The module's app, database and members."""

    engine: Engine
    app: Any
    api: FlaskClient
    members: list[Member]
    tokens: dict[str, dict[str, str]]
    browsers: dict[str, Browser]
    merge_target: int

    def browser(self, name: str) -> Browser:
        """The member's browser, logged in once for the module."""
        if name not in self.browsers:
            self.browsers[name] = Browser(self.app, self.engine, name)
        return self.browsers[name]


def _roster(engine: Engine) -> list[Member]:
    """One member per (role, level, relation to the case's grid), from the demo tree."""
    with unit_of_work(engine) as session:
        grid = session.scalars(select(Unit).where(Unit.code == GRID)).one()
        on_path = {u.id for u in ancestors(grid)}
        chosen: dict[tuple[str, str, str], Member] = {}
        for user in session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)):
            relation = ("path" if user.unit_id in on_path
                        else "below" if grid.id in {u.id for u in ancestors(user.unit)} else "outside")
            key = (user.role, user.unit.level, relation)
            chosen.setdefault(key, Member(user.name, user.role, Level(user.unit.level), relation))
    return list(chosen.values())


@pytest.fixture(scope="module")
def world(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    path = tmp_path_factory.mktemp("matrix") / "gridcase.sqlite3"
    shutil.copy(sqlite_template, path)
    forget_cached_units()
    engine = make_engine(f"sqlite:///{path}")
    app = create_app({"ENGINE": engine, "DATABASE_URL": str(engine.url), "PUBLISH_EVENT": lambda _id: None,
                      "PUBLISH_NOTICES": lambda _ids: None, "RATELIMIT_ENABLED": False})
    members = _roster(engine)
    with unit_of_work(engine) as session:
        tokens = {m.name: {"Authorization": f"Bearer {create_token(session, m.name)}"} for m in members}
    world = World(engine, app, app.test_client(), members, tokens, {}, 0)
    world.merge_target = _case_at(world, State.GRID_HANDLING.value, Level.GRID, None)
    yield world
    engine.dispose()


def _case_at(world: World, state: str, level: Level, trigger: str | None) -> int:
    """A case of the demo grid put in ``state`` at ``level``, with what ``trigger`` needs to apply."""
    with unit_of_work(world.engine) as session:
        accepted = submit_case(session, CaseSubmittedEvent.model_validate(
            event({"description": DESCRIPTION, "reporter": {"name": REPORTER, "phone": REPORTER_PHONE}})))
    if state != State.COLLECTED:
        with unit_of_work(world.engine) as session:
            handle_inbox_event(session, accepted.inbox_id)
    with unit_of_work(world.engine) as session:
        case = session.get(Case, accepted.case_id)
        assert case is not None
        ladder = cached_ladder(session, case.grid_unit_id)
        case.state, case.level, case.holding_unit_id = state, level.value, ladder[level].id
        if state in (State.RESOLVED, State.REPORTED_BACK):
            case.resolved_level = level.value
        if trigger and trigger.startswith(("approve_", "refuse_")):
            # A request of the holder, waiting for a unit above it.
            case.request = {"kind": trigger.split("_", 1)[1], "level": level.value, "reason": "需要时间",
                            "extend_by": "P3D", "by": "test"}
        if trigger == "resume":
            case.paused_at, case.paused_left = wallclock.now(), 3600.0
        return case.id


def _snapshot(world: World, case_id: int) -> tuple[int, int]:
    with unit_of_work(world.engine) as session:
        case = session.get(Case, case_id)
        assert case is not None
        steps = session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case_id))
        return case.version, int(steps or 0)


def _tracking_code(world: World, case_id: int) -> str:
    with unit_of_work(world.engine) as session:
        case = session.get(Case, case_id)
        assert case is not None
        return case.tracking_code


def _no_leak(text: str, case_id: int, world: World) -> None:
    """An answer to someone off the case's path tells nothing of the case."""
    secrets = [DESCRIPTION, REPORTER, REPORTER_PHONE, _tracking_code(world, case_id), "金桂园1号楼党小组",
               *[s.value for s in State if s in HANDLING_STATE.values()]]
    leaked = [s for s in secrets if s in text]
    # The grid's code, but not as the start of the household's own unit code (XY-01-A-1-H1).
    leaked += re.findall(rf"{re.escape(GRID)}(?![-\w])", text)
    assert not leaked, f"the refusal tells an outsider {leaked}: {text[:300]}"


MISSING = 2_000_000_000  # a case id nobody has


def _same_as_missing(answer: Any, missing: Any, case_id: int) -> None:
    """An outsider cannot tell a case of another area from one that does not exist."""
    assert answer.status_code == missing.status_code, (answer.status_code, missing.status_code)
    def plain(text: str, ident: int) -> str:
        return re.sub(rf"(?<![\w-]){ident}(?!\w)", "N", re.sub(r'name="csrf_token" value="[^"]*"', "", text))

    assert plain(answer.text, case_id) == plain(missing.text, MISSING)


def _offered(html: str, case_id: int) -> set[str]:
    return set(re.findall(rf'action="/cases/{case_id}/actions/([a-z_]+)"', html))


def _body(trigger: str, world: World) -> dict[str, Any]:
    return {**BODY, "merge_into": world.merge_target} if trigger == "merge" else dict(BODY)


@pytest.mark.parametrize("trigger", TRIGGERS)
def test_api_answers_each_member_as_the_rules_say(world: World, trigger: str) -> None:
    checked = 0
    for _t, state, level in [s for s in SETUPS if s[0] == trigger]:
        case_id = _case_at(world, state, level, trigger)
        for member in world.members:
            before = _snapshot(world, case_id)
            if trigger == "reveal":
                party = _first_party(world, case_id)
                answer = world.api.post(f"/api/v1/cases/{case_id}/parties/{party}/reveal",
                                        headers=world.tokens[member.name])
                # Not an action: the actions route has no reveal, for anyone.
                assert world.api.post(f"/api/v1/cases/{case_id}/actions/reveal", json=dict(BODY),
                                      headers=world.tokens[member.name]).status_code == 404
            else:
                answer = world.api.post(f"/api/v1/cases/{case_id}/actions/{trigger}", json=_body(trigger, world),
                                        headers=world.tokens[member.name])
            allowed = expected_allowed(member, trigger, level)
            where = f"{trigger} on {state}@{level.value} by {member.name} ({member.role}, {member.relation})"
            if allowed:
                assert answer.status_code == 200, f"{where}: {answer.status_code} {answer.text[:300]}"
                case_id = _case_at(world, state, level, trigger)  # the next member meets a fresh case
            else:
                assert answer.status_code in (403, 404), f"{where}: {answer.status_code} {answer.text[:300]}"
                assert _snapshot(world, case_id) == before, f"{where}: a refusal changed the case"
                if member.relation != "path":
                    _no_leak(answer.text, case_id, world)
                    if trigger != "reveal":
                        missing = world.api.post(f"/api/v1/cases/{MISSING}/actions/{trigger}",
                                                 json=_body(trigger, world), headers=world.tokens[member.name])
                        _same_as_missing(answer, missing, case_id)
            checked += 1
    assert checked == len([s for s in SETUPS if s[0] == trigger]) * len(world.members)


def _page_members(world: World) -> list[Member]:
    """Everyone on the path, and one member below the grid and one outside: off the path the page
    refuses before it looks at the role (the API's half of the matrix tries every one)."""
    off: dict[str, Member] = {}
    for m in world.members:
        if m.relation != "path":
            off.setdefault(m.relation, m)
    return [m for m in world.members if m.relation == "path"] + list(off.values())


@pytest.mark.parametrize("trigger", TRIGGERS)
def test_case_page_offers_and_accepts_each_member_as_the_rules_say(world: World, trigger: str) -> None:
    for _t, state, level in [s for s in SETUPS if s[0] == trigger]:
        case_id = _case_at(world, state, level, trigger)
        for member in _page_members(world):
            browser = world.browser(member.name)
            before = _snapshot(world, case_id)
            allowed = expected_allowed(member, trigger, level)
            where = f"page: {trigger} on {state}@{level.value} by {member.name} ({member.role}, {member.relation})"
            page = browser.get(f"/cases/{case_id}")
            if member.relation != "path":
                assert page.status_code in (403, 404), where
                _no_leak(page.text, case_id, world)
                _same_as_missing(page, browser.get(f"/cases/{MISSING}"), case_id)
            else:
                assert page.status_code == 200, where
                if trigger in STAFF_ACTIONS:
                    assert (trigger in _offered(page.text, case_id)) == allowed, f"{where}: offered wrongly"
            token = csrf_of(page.text)  # the refusal page carries the logout form's token too
            if trigger == "reveal":
                party = _first_party(world, case_id)
                answer = browser.client.post(f"/cases/{case_id}/parties/{party}/reveal", data={"csrf_token": token})
                ok = answer.status_code == 200 and "action-error" not in answer.text
            else:
                answer = browser.client.post(f"/cases/{case_id}/actions/{trigger}",
                                             data={"csrf_token": token, **_body(trigger, world)})
                ok = answer.status_code == 302 and answer.headers["Location"].endswith(f"/cases/{case_id}")
            if allowed:
                assert ok, f"{where}: {answer.status_code} {answer.text[:300]}"
                case_id = _case_at(world, state, level, trigger)
            else:
                assert answer.status_code in (403, 404), f"{where}: {answer.status_code}"
                assert _snapshot(world, case_id) == before, f"{where}: a refusal changed the case"
                if member.relation != "path":
                    _no_leak(answer.text, case_id, world)


def _first_party(world: World, case_id: int) -> int:
    with unit_of_work(world.engine) as session:
        case = session.get(Case, case_id)
        assert case is not None
        return case.parties[0].id


def test_the_matrix_covers_every_trigger_and_every_position() -> None:
    """100 % of the machine's triggers, and members standing holder, above and below for some of them."""
    assert set(TRIGGERS) == set(RULES)
    positions = {position_of(lvl, level) for lvl in (Level.GRID, Level.BRANCH, Level.GENERAL_BRANCH, Level.STREET)
                 for _t, _s, level in SETUPS}
    assert positions == set(Position)


def test_every_timeline_the_matrix_wrote_still_chains(world: World) -> None:
    """Run last: every step of every trigger above, by the API and the pages, is chained to the one before."""
    from workflow.cases.chain import verify_timelines

    with unit_of_work(world.engine) as session:
        found = verify_timelines(session)
    assert found.cases >= 1 and found.broken == []
