"""Retention: a dry run changes nothing; a run anonymises only the cases due, logs it, and keeps the KPIs."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from PIL import Image
from sqlalchemy import Engine, select, text

from tests.unit.helpers import REPORTER_PHONE, token_for
from tests.unit.mediation.test_api import BRANCH, MEDIATOR, Desk, _agreed, png
from web.cli import main
from workflow.analysis.refresh import refresh_facts
from workflow.audit.models import AdminAuditEntry
from workflow.base import wallclock
from workflow.base.db import engine_for, unit_of_work
from workflow.cases.attachments import add_photo, upload_dir
from workflow.cases.chain import verify_timelines
from workflow.cases.models import Case, CaseEvent, CaseParty, Evaluation, InboxEvent
from workflow.mediation.models import Mediation
from workflow.retention.anonymise import KIND, run

ID_NUMBER = "150402197005011234"
TABLES = ("cases", "case_parties", "case_events", "inbox", "outbox", "deliveries", "evaluations", "attachments",
          "mediations", "mediation_parties", "mediation_sessions", "agreements", "agreement_signatures")


def _snapshot(engine: Engine) -> dict[str, list[Any]]:
    with engine.connect() as connection:
        return {t: [tuple(r) for r in connection.execute(text(f"SELECT * FROM {t} ORDER BY id"))] for t in TABLES}


def _closed(desk: Desk, with_phone_in_text: bool) -> int:
    """A mediated dispute, resolved, reported back and confirmed by the resident: closed."""
    case_id, mediation_id, parties = _agreed(desk)
    for signer in (f"party:{parties[0]}", f"party:{parties[1]}", "mediator"):
        desk.ok(MEDIATOR, mediation_id, "sign", signer=signer, signature=png())
    words = "张建国(电话13900001111)家天花板已修好" if with_phone_in_text else "已修好"
    for trigger, body in (("resolve", {"summary": words}), ("report_back", {"message": words})):
        r = desk.client.post(f"/api/v1/cases/{case_id}/actions/{trigger}", json=body, headers=desk.auth(BRANCH))
        assert r.status_code == 200, r.get_json()
    with unit_of_work(desk.engine) as session:
        code = session.get(Case, case_id).tracking_code  # type: ignore[union-attr]
    answer = desk.client.post(f"/api/v1/track/{code}/evaluation",
                              json={"phone_last4": REPORTER_PHONE[-4:], "resolved": "yes", "satisfaction": 5,
                                    "comment": "谢谢,我的电话13812345678"})
    assert answer.status_code == 200 and answer.get_json()["state"] == "closed", answer.get_json()
    return case_id


def _kpis(desk: Desk) -> dict[str, Any]:
    with unit_of_work(desk.engine) as session:
        refresh_facts(session)
    r = desk.client.get("/api/v1/analysis/kpis?unit=XY", headers=token_for(desk.engine, "xy.street"))
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    return {"unit": body["unit"]["figures"], "children": [c["figures"] for c in body["children"]]}


@pytest.fixture
def desk(client: Any, engine: Engine, published: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Desk:
    monkeypatch.setenv("GRIDCASE_HOME", str(tmp_path / "var"))
    monkeypatch.setenv("GRIDCASE_PHOTO_KEEP_ORIGINAL", "1")
    return Desk(client, engine, published)


def _photo(engine: Engine, case_id: int) -> str:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(out, format="PNG")
    with unit_of_work(engine) as session:
        row = add_photo(session, session.get(Case, case_id), out.getvalue(), "xy01a1.leader")  # type: ignore[arg-type]
        assert row.original_file_name
        return row.original_file_name


def test_dry_run_changes_nothing_and_a_run_anonymises_only_what_is_due_keeping_the_kpis(desk: Desk) -> None:
    old, recent = _closed(desk, True), _closed(desk, False)
    open_case = desk.dispute_at_branch()
    original = _photo(desk.engine, old)
    assert (upload_dir() / original).is_file()
    # The old case closed four years ago; the others stay within the period (and one is open).
    with unit_of_work(desk.engine) as session:
        for case_id in (old, open_case):
            session.get(Case, case_id).state_entered_at -= timedelta(days=4 * 365)  # type: ignore[union-attr]
    kpis_before = _kpis(desk)
    before = _snapshot(desk.engine)
    with unit_of_work(desk.engine) as session:
        head_before = session.scalars(select(CaseEvent.row_hash).where(CaseEvent.case_id == old)
                                      .order_by(CaseEvent.seq.desc())).first()
    with unit_of_work(desk.engine) as session:
        signed = session.scalars(select(Mediation).where(Mediation.case_id == old)).one().agreements[0]
        assert signed.pdf and len(signed.signatures) == 3 and signed.party_facts[0]["id_number"] == ID_NUMBER

    dry = run(desk.engine, dry_run=True)
    assert [d.case_id for d in dry.cases] == [old]
    assert dry.cases[0].parties == 3 and dry.cases[0].originals == [original]
    assert _snapshot(desk.engine) == before and (upload_dir() / original).is_file()

    done = run(desk.engine)
    assert [d.case_id for d in done.cases] == [old] and done.cases[0].texts == dry.cases[0].texts
    assert not (upload_dir() / original).exists()
    with unit_of_work(desk.engine) as session:
        parties = session.scalars(select(CaseParty).where(CaseParty.case_id == old)).all()
        assert {(p.name, p.phone) for p in parties} == {("某某", None)}
        events = session.scalars(select(CaseEvent).where(CaseEvent.case_id == old).order_by(CaseEvent.seq)).all()
        assert events[-1].kind == KIND and events[-1].actor == "retention" and not events[-1].public
        assert "3 parties" in (events[-1].reason or "")  # the reporter and the two sides
        texts = json.dumps([e.reason for e in events] + [session.get(Case, old).description]  # type: ignore[union-attr]
                           + [e.comment for e in session.scalars(select(Evaluation).where(Evaluation.case_id == old))]
                           + [i.data for i in session.scalars(select(InboxEvent).where(InboxEvent.case_id == old))],
                           ensure_ascii=False)
        for secret in ("13900001111", "13812345678", "张建国", "王小明"):
            assert secret not in texts, secret
        mediation = session.scalars(select(Mediation).where(Mediation.case_id == old)).one()
        agreement = mediation.agreements[0]
        assert agreement.pdf is None and all(set(f) == {"party_id"} for f in agreement.party_facts)
        assert "张建国" not in agreement.facts and "张建国" not in json.dumps(agreement.terms, ensure_ascii=False)
        assert mediation.sessions[0].attendees == ["某某", "某某"]
        assert all(p.witness is None for p in mediation.parties)
        assert [s.image for s in agreement.signatures] == [b"", b"", b""]
        assert [s.signer_name for s in agreement.signatures][:2] == ["某某", "某某"]
        # The answer the figures count stays.
        answer = session.scalars(select(Evaluation).where(Evaluation.case_id == old)).one()
        assert (answer.resolved, answer.satisfaction) == ("yes", 5)
        # The recent case is untouched.
        kept = session.scalars(select(CaseParty).where(CaseParty.case_id == recent)).all()
        assert {p.name for p in kept} >= {"张建国", "李卫东"}
        assert KIND not in {e.kind for e in session.get(Case, recent).events}  # type: ignore[union-attr]
    assert ID_NUMBER not in json.dumps(_snapshot(desk.engine), ensure_ascii=False, default=str)
    assert _kpis(desk) == kpis_before
    # The timeline shows the step to the staff, in their language.
    page = desk.client.get(f"/api/v1/cases/{old}", headers=desk.auth(BRANCH)).get_json()
    assert page["timeline"][-1]["kind"] == KIND
    # The rewritten timeline chains again, and the chained admin log keeps the head it had before.
    with unit_of_work(desk.engine) as session:
        assert verify_timelines(session).broken == []
        [entry] = [e for e in session.scalars(select(AdminAuditEntry)) if e.action == KIND]
        assert entry.target == f"case {old}" and entry.detail["old_head"] == head_before
    # Done once: a second run finds nothing due.
    assert run(desk.engine).cases == []


def test_the_period_is_a_setting(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    case_id = _closed(desk, False)
    now = wallclock.now()
    monkeypatch.setenv("GRIDCASE_RETENTION_DAYS", "30")
    assert run(desk.engine, dry_run=True, now=now + timedelta(days=29)).cases == []
    assert [d.case_id for d in run(desk.engine, dry_run=True, now=now + timedelta(days=31)).cases] == [case_id]
    monkeypatch.delenv("GRIDCASE_RETENTION_DAYS")
    assert run(desk.engine, dry_run=True, now=now + timedelta(days=1095)).cases == []
    assert len(run(desk.engine, dry_run=True, now=now + timedelta(days=1097)).cases) == 1


def test_gridcase_retention_run_dry_run_then_for_real(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("GRIDCASE_HOME", str(tmp_path / "var"))
    runner = CliRunner()
    assert runner.invoke(main, ["org", "import", "workflow/org/demo/org.yaml"]).exit_code == 0
    engine = engine_for(url)
    with engine.begin() as connection:
        grid = connection.scalar(text("SELECT id FROM units WHERE code = 'XY-01-A-1'"))
    with unit_of_work(engine) as session:
        long_ago = wallclock.now() - timedelta(days=2000)
        case = Case(tracking_code="T" * 12, state="withdrawn", level="grid", grid_unit_id=grid, holding_unit_id=grid,
                    category="NOI", severity="P3", channel="hotline", description="王小明 13812345678",
                    submitted_at=long_ago, state_entered_at=long_ago, updated_at=long_ago, version=1)
        case.parties.append(CaseParty(role="reporter", name="王小明", phone="13812345678"))
        session.add(case)
        session.flush()  # a step is chained to its stored case (workflow/cases/chain.py)
        case.events.append(CaseEvent(seq=1, kind="submitted", actor="/tests", to_state="withdrawn", to_level="grid",
                                     at=long_ago))
    dry = runner.invoke(main, ["retention", "run", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would anonymise case 1" in dry.output and "1 cases" in dry.output and "nothing changed" in dry.output
    with unit_of_work(engine) as session:
        assert session.scalars(select(CaseParty)).one().name == "王小明"
    real = runner.invoke(main, ["retention", "run"])
    assert "anonymised case 1" in real.output and "1 cases" in real.output
    with unit_of_work(engine) as session:
        assert session.scalars(select(CaseParty)).one().name == "某某"
        assert session.get(Case, 1).description == "某某 138****5678"  # type: ignore[union-attr]


def test_beat_runs_retention_hourly_and_the_task_anonymises(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    from workers.app import app
    from workers.retention import retention

    assert app.conf.beat_schedule["retention"] == {"task": "gridcase.retention", "schedule": 3600.0}
    monkeypatch.setenv("DATABASE_URL", desk.engine.url.render_as_string(hide_password=False))
    case_id = _closed(desk, False)
    assert retention() == 0  # closed just now: not due
    with unit_of_work(desk.engine) as session:
        session.get(Case, case_id).state_entered_at -= timedelta(days=1100)  # type: ignore[union-attr]
    assert retention() == 1
    with unit_of_work(desk.engine) as session:
        assert session.get(Case, case_id).events[-1].kind == KIND  # type: ignore[union-attr]
