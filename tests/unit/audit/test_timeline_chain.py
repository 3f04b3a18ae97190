"""The tamper-evident timeline: every step chained to the one before; `gridcase audit verify` names the first break."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import Engine, delete, select, text, update

from tests.conftest import Published
from tests.unit.cases.test_lifecycle import BRANCH, LEADER, Desk
from web.cli import main
from workflow.audit.chain import GENESIS, link
from workflow.base import wallclock
from workflow.base.db import make_engine, unit_of_work
from workflow.base.schema import alembic_config
from workflow.cases.chain import check_chains, step_values, verify_timelines
from workflow.cases.models import Case, CaseEvent
from workflow.clock.models import Heartbeat


@pytest.fixture
def desk(client: FlaskClient, engine: Engine, published: Published) -> Desk:
    return Desk(client, engine, published)


def _worked_case(desk: Desk) -> int:
    """A case submitted, dispatched, signed for, noted, escalated and taken by the branch: six steps."""
    case_id = int(desk.submit()["case_id"])
    for user, trigger, body in ((LEADER, "accept", {}), (LEADER, "note", {"message": "上门了解"}),
                                (LEADER, "escalate", {"reason": "需支部调解"}), (BRANCH, "accept", {})):
        assert desk.act(user, case_id, trigger, **body).status_code == 200, trigger
    return case_id


def _steps(engine: Engine, case_id: int) -> list[CaseEvent]:
    with unit_of_work(engine) as session:
        return list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq)))


def test_each_step_links_to_the_one_before_and_its_hash_covers_its_content(desk: Desk, engine: Engine) -> None:
    case_id = _worked_case(desk)
    steps = _steps(engine, case_id)
    assert [s.kind for s in steps] == ["submitted", "dispatch", "accept", "note", "escalate", "accept"]
    assert steps[0].prev_hash == GENESIS
    for before, step in zip(steps, steps[1:], strict=False):
        assert step.prev_hash == before.row_hash
    for step in steps:
        assert step.row_hash == link(step_values(step), step.prev_hash or "")
    with unit_of_work(engine) as session:
        found = verify_timelines(session)
    assert (found.cases, found.steps, found.broken) == (1, 6, [])


def test_a_changed_reason_is_named_at_its_step_and_other_cases_still_hold(desk: Desk, engine: Engine) -> None:
    case_id, other = _worked_case(desk), _worked_case(desk)
    with unit_of_work(engine) as session:
        session.execute(update(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.seq == 4)
                        .values(reason="从未上门"))
    with unit_of_work(engine) as session:
        found = verify_timelines(session)
        alone = verify_timelines(session, other)
    assert [(b.chain, b.seq, b.problem) for b in found.broken] == [(f"case {case_id}", 4, "hash")]
    assert alone.broken == [] and alone.cases == 1


def test_a_removed_middle_step_breaks_the_next_link_and_a_removed_last_step_the_tail(
        desk: Desk, engine: Engine) -> None:
    middle, last = _worked_case(desk), _worked_case(desk)
    with unit_of_work(engine) as session:
        session.execute(delete(CaseEvent).where(CaseEvent.case_id == middle, CaseEvent.seq == 3))
        session.execute(delete(CaseEvent).where(CaseEvent.case_id == last, CaseEvent.seq == 6))
    with unit_of_work(engine) as session:
        found = verify_timelines(session)
    assert [(b.chain, b.seq, b.problem) for b in found.broken] == [(f"case {middle}", 4, "link"),
                                                                   (f"case {last}", 5, "tail")]


def test_a_step_rewritten_with_a_fresh_hash_still_breaks_the_next_link(desk: Desk, engine: Engine) -> None:
    case_id = _worked_case(desk)
    with unit_of_work(engine) as session:
        step = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.seq == 3)).one()
        step.actor = "xy.street"
        step.row_hash = link(step_values(step), step.prev_hash or "")
    with unit_of_work(engine) as session:
        found = verify_timelines(session)
    assert [(b.seq, b.problem) for b in found.broken] == [(4, "link")]


def test_the_cli_exits_non_zero_naming_the_case_and_step(desk: Desk, engine: Engine,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", str(engine.url))
    case_id = _worked_case(desk)
    runner = CliRunner()
    good = runner.invoke(main, ["audit", "verify"])
    assert good.exit_code == 0, good.output
    assert "checked 1 case timelines (6 steps)" in good.output and "every chain holds" in good.output
    with unit_of_work(engine) as session:
        session.execute(update(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.seq == 5)
                        .values(to_level="street"))
    bad = runner.invoke(main, ["audit", "verify", "--case", str(case_id)])
    assert bad.exit_code == 1
    assert f"case {case_id}: broken at step 5: the row's content no longer matches its hash" in bad.output
    as_json = json.loads(runner.invoke(main, ["audit", "verify", "--json"]).output)
    assert as_json["broken"] == 1 and as_json["first_breaks"][0] == {
        "chain": f"case {case_id}", "seq": 5, "problem": "hash",
        "detail": "the row's content no longer matches its hash (changed after it was written)"}
    assert runner.invoke(main, ["audit", "verify", "--case", "999"]).exit_code == 2


def test_the_periodic_check_shows_on_healthz_and_metrics(desk: Desk, engine: Engine, client: FlaskClient) -> None:
    case_id = _worked_case(desk)
    with unit_of_work(engine) as session:
        detail = check_chains(session, wallclock.now())
    assert detail["broken"] == 0 and detail["steps"] == 6
    health = client.get("/healthz").get_json()
    assert health["chains"]["found"]["broken"] == 0
    assert not any("hash chains" in p for p in health["problems"])
    with unit_of_work(engine) as session:
        session.execute(update(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.seq == 2)
                        .values(actor="someone else"))
        check_chains(session, wallclock.now())
        beat = session.get(Heartbeat, "chains")
        assert beat is not None and beat.detail["first_breaks"][0]["seq"] == 2
    answer = client.get("/healthz")
    assert answer.status_code == 503
    assert "hash chains broken: 1 case timelines; run `gridcase audit verify`" in answer.get_json()["problems"]
    assert "gridcase_chains_broken 1.0" in client.get("/metrics").text


def test_the_migration_chains_the_steps_already_stored(tmp_path: Path) -> None:
    """A database with cases from before the chain: upgrading fills it, and verify finds it whole."""
    from alembic import command

    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    with engine.connect() as conn:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0010_mediation")
        conn.execute(text("INSERT INTO units (id, code, name, level) VALUES (1, 'G', 'grid', 'grid')"))
        for case_id in (1, 2):
            conn.execute(text(
                "INSERT INTO cases (id, tracking_code, state, level, grid_unit_id, holding_unit_id, category, severity,"
                " channel, description, submitted_at, state_entered_at, updated_at, reopen_count, supervised, version,"
                " clock_token, filed_by_integrator) VALUES (:id, :code, 'grid_handling', 'grid', 1, 1, 'NOI', 'P2',"
                " 'hotline', '噪音', '2026-01-01 00:00:00', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 0, 0, 3, 0,"
                " 0)"), {"id": case_id, "code": f"T{case_id}"})
            for seq, kind in ((1, "submitted"), (2, "dispatch"), (3, "note")):
                conn.execute(text(
                    "INSERT INTO case_events (case_id, seq, kind, actor, to_state, to_level, reason, public, at)"
                    " VALUES (:c, :s, :k, 'system', 'grid_handling', 'grid', :r, 1, '2026-01-01 00:00:0' || :s)"),
                    {"c": case_id, "s": seq, "k": kind, "r": "电话13812345678" if kind == "note" else None})
        conn.commit()
        command.upgrade(cfg, "head")
        conn.commit()
    with unit_of_work(engine) as session:
        found = verify_timelines(session)
        first = session.scalars(select(CaseEvent).where(CaseEvent.case_id == 2, CaseEvent.seq == 1)).one()
        assert session.get(Case, 2) is not None
    assert (found.cases, found.steps, found.broken) == (2, 6, [])
    assert first.prev_hash == GENESIS and first.row_hash
    engine.dispose()
