"""A neighbours' dispute mediated through the JSON API: propose, consent, session, draft, sign, the PDF, visits."""

from __future__ import annotations

import base64
import hashlib
import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from PIL import Image, ImageDraw
from sqlalchemy import Engine, select

from tests.conftest import Published
from tests.unit.helpers import event, post_event, run_worker, token_for
from workflow.base.db import unit_of_work
from workflow.cases.models import CaseEvent, OutboxMessage

LEADER, BRANCH, GENERAL, MEDIATOR, OTHER_MEDIATOR = (
    "xy01a1.leader", "xy01a.secretary", "xy01.secretary", "xy01.mediator", "xy02.mediator")
PARTIES = [{"role": "applicant", "name": "张建国", "phone": "13900001111"},
           {"role": "respondent", "name": "李卫东", "phone": "13700002222"}]


def png() -> str:
    """A finger-drawn signature as the page posts it: a PNG data URL."""
    img = Image.new("RGBA", (300, 100), (255, 255, 255, 0))
    ImageDraw.Draw(img).line([(10, 80), (90, 20), (170, 70), (280, 30)], fill=(0, 0, 0, 255), width=4)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


class Desk:
    """The API as the people of one mediation use it."""

    def __init__(self, client: FlaskClient, engine: Engine, published: Published) -> None:
        self.client, self.engine, self.published = client, engine, published
        self.tokens: dict[str, dict[str, str]] = {}

    def auth(self, user: str) -> dict[str, str]:
        if user not in self.tokens:
            self.tokens[user] = token_for(self.engine, user)
        return self.tokens[user]

    def dispute_at_branch(self, parties: list[dict[str, Any]] | None = None) -> int:
        answer = post_event(self.client, event({"category": "NEI", "description": "楼上漏水,邻里争执",
                                                "parties": PARTIES if parties is None else parties}))
        run_worker(self.engine, self.published.events)
        case_id: int = answer.get_json()["case_id"]
        r = self.client.post(f"/api/v1/cases/{case_id}/actions/escalate", json={"reason": "需支部调解"},
                             headers=self.auth(LEADER))
        assert r.status_code == 200, r.get_json()
        return case_id

    def propose(self, user: str, case_id: int, **body: Any) -> Any:
        return self.client.post(f"/api/v1/cases/{case_id}/mediation", json=body, headers=self.auth(user))

    def act(self, user: str, mediation_id: int, trigger: str, **body: Any) -> Any:
        return self.client.post(f"/api/v1/mediations/{mediation_id}/actions/{trigger}", json=body,
                                headers=self.auth(user))

    def get(self, user: str, mediation_id: int) -> Any:
        return self.client.get(f"/api/v1/mediations/{mediation_id}", headers=self.auth(user))

    def ok(self, user: str, mediation_id: int, trigger: str, **body: Any) -> dict[str, Any]:
        r = self.act(user, mediation_id, trigger, **body)
        assert r.status_code == 200, r.get_json()
        return r.get_json()  # type: ignore[no-any-return]


def _agreed(desk: Desk) -> tuple[int, int, list[int]]:
    case_id = desk.dispute_at_branch()
    r = desk.propose(BRANCH, case_id, mediators=[MEDIATOR])
    assert r.status_code == 201, r.get_json()
    mid = r.get_json()["mediation_id"]
    parties = [p["party_id"] for p in desk.get(BRANCH, mid).get_json()["parties"]]
    desk.ok(BRANCH, mid, "consent", party_id=parties[0], answer="yes", given_as="on_screen")
    after = desk.ok(MEDIATOR, mid, "consent", party_id=parties[1], answer="yes", given_as="oral", witness="王网格员")
    assert after["state"] == "in_session"
    desk.ok(MEDIATOR, mid, "session", held_on="2026-12-03", place="XY-01 调解室", attendees=["张建国", "李卫东"],
            record="双方陈述漏水经过,同意修复并赔偿。")
    desk.ok(MEDIATOR, mid, "draft", facts="李卫东家卫生间漏水,致张建国家天花板受损。",
            responsibility="李卫东承担主要责任。",
            terms=[{"text": "李卫东赔偿张建国维修费人民币800元", "how": "微信转账", "due": "2026-12-20",
                    "party_id": parties[1]},
                   {"text": "双方今后互相谅解,和睦相处", "how": "自觉履行", "due": "2026-12-31"}],
            party_facts=[{"party_id": parties[0], "sex": "male", "birth": "1970-05-01",
                          "id_number": "150402197005011234", "address": "新园小区3号楼2单元501"}])
    return case_id, mid, parties


def test_a_dispute_is_mediated_signed_and_its_pdf_carries_the_masked_names_terms_and_dates(desk: Desk,
                                                                                          engine: Engine) -> None:
    case_id, mid, parties = _agreed(desk)
    desk.ok(MEDIATOR, mid, "sign", signer=f"party:{parties[0]}", signature=png())
    desk.ok(MEDIATOR, mid, "sign", signer=f"party:{parties[1]}", signature=png())
    done = desk.ok(MEDIATOR, mid, "sign", signer="mediator", signature=png())
    assert done["state"] == "agreed"
    agreement = done["agreement"]
    assert agreement["effective_at"] and len(agreement["sha256"]) == 64 and agreement["to_sign"] == []
    assert agreement["visits_due"] == ["2026-12-27", "2027-01-07", "2027-01-30"]

    pdf = desk.client.get(f"/api/v1/mediations/{mid}/agreement.pdf", headers=desk.auth(BRANCH))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert hashlib.sha256(pdf.data).hexdigest() == agreement["sha256"]
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf.data, capture_output=True, check=True).stdout.decode()
    flat = "".join(text.split())
    assert "人民调解协议书" in flat
    assert "张*国" in flat and "李*东" in flat
    assert "当事人1（申请人）：张*国" in flat  # the parties' own lines carry masked names only
    assert "139****1111" in flat and "13900001111" not in flat and "1504**********1234" in flat
    assert "李卫东赔偿张建国维修费人民币800元" in flat and "2026年12月20日" in flat and "2026年12月31日" in flat
    assert "金桂园小区党支部（印章）" in flat  # the mediating unit's name over the seal placeholder

    with unit_of_work(engine) as session:
        kinds = [(e.kind, e.reason) for e in session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq))]
        assert [k for k, _ in kinds if k.startswith("mediation.")] == [
            "mediation.proposed", "mediation.consent", "mediation.consent", "mediation.session", "mediation.draft",
            "mediation.sign", "mediation.sign", "mediation.sign", "mediation.effective"]
        assert any(r and agreement["sha256"] in r for k, r in kinds if k == "mediation.effective")
        sms = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "notify_party")).all()
        assert sorted(m.payload["party_id"] for m in sms) == sorted(parties)
        respondent = next(m for m in sms if m.payload["party_id"] == parties[1])
        assert "800元" in respondent.payload["message"] and "2026-12-20" in respondent.payload["message"]
        applicant = next(m for m in sms if m.payload["party_id"] == parties[0])
        assert "13700002222" not in str(applicant.payload)
    # In effect the agreement is immutable: no more signatures; a correction is a new version.
    assert desk.act(MEDIATOR, mid, "sign", signer="mediator", signature=png()).status_code == 409
    corrected = desk.ok(MEDIATOR, mid, "draft", reason="金额笔误", facts="同上", responsibility="同上",
                        terms=[{"text": "赔偿900元", "how": "转账", "due": "2026-12-21"}])
    assert corrected["state"] == "in_session" and corrected["agreement"]["version"] == 2
    assert corrected["agreement"]["signatures"] == [] and corrected["agreement"]["sha256"] is None


def test_parties_are_masked_until_an_assigned_mediator_reveals_them(desk: Desk) -> None:
    case_id = desk.dispute_at_branch()
    mid = desk.propose(BRANCH, case_id, mediators=[MEDIATOR]).get_json()["mediation_id"]
    seen = desk.get(MEDIATOR, mid).get_json()
    assert {p["name"] for p in seen["parties"]} == {"张*国", "李*东"} and all(p["masked"] for p in seen["parties"])
    assert desk.act(BRANCH, mid, "reveal").status_code == 403  # the unit is not the mediator
    full = desk.ok(MEDIATOR, mid, "reveal")
    assert {p["phone"] for p in full["parties"]} == {"13900001111", "13700002222"}
    assert all(p["masked"] for p in desk.get(BRANCH, mid).get_json()["parties"])


def test_one_refusal_ends_the_mediation_as_failed_with_the_reason(desk: Desk) -> None:
    case_id = desk.dispute_at_branch()
    mid = desk.propose(BRANCH, case_id).get_json()["mediation_id"]
    party = desk.get(BRANCH, mid).get_json()["parties"][1]["party_id"]
    missing = desk.act(BRANCH, mid, "consent", party_id=party, answer="no", given_as="in_writing")
    assert missing.status_code == 422 and missing.get_json()["problems"][0]["field"] == "reason"
    failed = desk.ok(BRANCH, mid, "consent", party_id=party, answer="no", given_as="in_writing", reason="不愿调解,要起诉")
    assert failed["state"] == "failed" and failed["outcome"] == "不愿调解,要起诉"
    assert desk.act(BRANCH, mid, "withdraw", reason="x").status_code == 409
    # Closed: the case may be mediated again.
    assert desk.propose(BRANCH, case_id).status_code == 201


def test_who_may_propose_and_assign(desk: Desk) -> None:
    case_id = desk.dispute_at_branch()
    assert desk.propose(LEADER, case_id).status_code == 403  # the grid no longer holds it
    assert desk.propose(GENERAL, case_id).status_code == 403  # above: takes it over first
    bad = desk.propose(BRANCH, case_id, mediators=[OTHER_MEDIATOR])
    assert bad.status_code == 422 and bad.get_json()["problems"][0]["field"] == "mediators"
    mid = desk.propose(BRANCH, case_id).get_json()["mediation_id"]
    assert desk.propose(BRANCH, case_id).status_code == 409  # one open mediation per case
    assert desk.act(MEDIATOR, mid, "session").status_code in {403}  # not assigned yet
    assert desk.ok(BRANCH, mid, "assign", mediators=[MEDIATOR])["mediators"] == [MEDIATOR]
    assert desk.act(BRANCH, mid, "nonsense").status_code == 404


def test_a_case_with_one_party_is_not_mediated(desk: Desk) -> None:
    case_id = desk.dispute_at_branch(parties=[PARTIES[0]])
    r = desk.propose(BRANCH, case_id)
    assert r.status_code == 409 and "two or more parties" in r.get_json()["message"]


def test_bad_signature_and_stale_version_are_refused(desk: Desk) -> None:
    _, mid, parties = _agreed(desk)
    r = desk.act(MEDIATOR, mid, "sign", signer=f"party:{parties[0]}", signature="bm90IGEgcG5n")
    assert r.status_code == 422 and r.get_json()["problems"][0]["field"] == "signature"
    version = desk.get(MEDIATOR, mid).get_json()["version"]
    assert desk.act(MEDIATOR, mid, "sign", signer="mediator", signature=png(),
                    expected_version=version - 1).status_code == 409
    assert desk.act(MEDIATOR, mid, "sign", signer="party:999999", signature=png()).status_code == 409


def test_visits_after_the_agreement_find_it_performed_or_breached(desk: Desk) -> None:
    _, mid, parties = _agreed(desk)
    for signer in (f"party:{parties[0]}", f"party:{parties[1]}", "mediator"):
        desk.ok(MEDIATOR, mid, "sign", signer=signer, signature=png())
    assert desk.ok(LEADER, mid, "visit", finding="partly", note="已付400元")["state"] == "following_up"
    breached = desk.ok(LEADER, mid, "visit", finding="breached", note="拒付余款")
    assert breached["state"] == "breached"
    with unit_of_work(desk.engine) as session:
        told = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "mediation.breached")).all()
        from workflow.org.models import Unit
        assert sorted(session.get(Unit, m.unit_id).code for m in told) == ["XY-01", "XY-01-A"]  # type: ignore[union-attr]
    assert desk.act(LEADER, mid, "refer", referred_to="court", reason="起诉").status_code == 403
    assert desk.ok(BRANCH, mid, "refer", referred_to="court", reason="建议起诉")["state"] == "referred"


def test_the_api_is_documented(client: FlaskClient) -> None:
    doc = client.get("/openapi.json").get_json()
    assert "/api/v1/cases/{case_id}/mediation" in doc["paths"]
    assert "/api/v1/mediations/{mediation_id}/actions/{trigger}" in doc["paths"]
    assert "/api/v1/mediations/{mediation_id}/agreement.pdf" in doc["paths"]


def test_on_taking_effect_each_party_gets_an_sms_with_their_terms_and_the_right_to_judicial_confirmation(
        desk: Desk, engine: Engine, sms_sink: Path) -> None:
    from workflow.notices.delivery import deliver_due

    _, mid, parties = _agreed(desk)
    for signer in (f"party:{parties[0]}", f"party:{parties[1]}", "mediator"):
        desk.ok(MEDIATOR, mid, "sign", signer=signer, signature=png())
    with unit_of_work(engine) as session:
        deliver_due(session)
    import json
    sent = [json.loads(line) for line in sms_sink.read_text(encoding="utf-8").splitlines()]
    by_phone = {m["target"] if "target" in m else m.get("phone"): m for m in sent}
    assert set(by_phone) >= {"13900001111", "13700002222"}
    respondent = json.dumps(by_phone["13700002222"], ensure_ascii=False)
    assert "800元" in respondent and "2026-12-20" in respondent and "司法确认" in respondent
    applicant = json.dumps(by_phone["13900001111"], ensure_ascii=False)
    assert "800元" not in applicant and "2026-12-31" in applicant and "137" not in applicant


def test_the_mediator_records_a_paper_signature_with_a_photo(desk: Desk) -> None:
    _, mid, parties = _agreed(desk)
    img = Image.new("RGB", (40, 20), (255, 255, 255))
    out = io.BytesIO()
    img.save(out, format="JPEG")
    photo = base64.b64encode(out.getvalue()).decode()
    # A JPEG is a photo of paper, not a drawn signature.
    assert desk.act(MEDIATOR, mid, "sign", signer=f"party:{parties[0]}", signature=photo).status_code == 422
    signed = desk.ok(MEDIATOR, mid, "sign", signer=f"party:{parties[0]}", signature=photo, method="paper_photo")
    assert signed["agreement"]["signatures"][0]["method"] == "paper_photo"
    assert signed["agreement"]["to_sign"] == [f"party:{parties[1]}", "mediator"]


def test_the_case_file_holds_the_case_its_mediation_and_the_agreement_masked_per_reader(desk: Desk) -> None:
    case_id, mid, parties = _agreed(desk)
    for signer in (f"party:{parties[0]}", f"party:{parties[1]}", "mediator"):
        desk.ok(MEDIATOR, mid, "sign", signer=signer, signature=png())
    pdf = desk.client.get(f"/api/v1/cases/{case_id}/file.pdf", headers=desk.auth(LEADER))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert desk.client.get(f"/api/v1/cases/{case_id}/file.pdf",
                           headers=desk.auth("xy02a1.leader")).status_code == 404
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    text = "".join(subprocess.run(["pdftotext", "-", "-"], input=pdf.data, capture_output=True,
                                  check=True).stdout.decode().split())
    assert "案件卷宗" in text and "楼上漏水,邻里争执" in text
    assert "张*国" in text and "13900001111" not in text  # the grid leader does not hold the case
    assert "mediation.effective" in text and "双方陈述漏水经过" in text and "2026-12-20" in text
    full = "".join(subprocess.run(["pdftotext", "-", "-"], input=desk.client.get(
        f"/api/v1/cases/{case_id}/file.pdf", headers=desk.auth(BRANCH)).data, capture_output=True,
        check=True).stdout.decode().split())
    assert "13900001111" in full  # the branch handles it


def test_a_member_off_the_path_gets_the_answer_of_a_mediation_that_does_not_exist(desk: Desk) -> None:
    case_id = desk.dispute_at_branch()
    mid = desk.propose(BRANCH, case_id, mediators=[MEDIATOR]).get_json()["mediation_id"]
    other_grid = "xy01a2.leader"  # a sibling grid's leader: not on this case's path
    unused = mid + 1000
    for answer, missing in ((desk.get(other_grid, mid), desk.get(other_grid, unused)),
                            (desk.act(other_grid, mid, "reveal"),
                             desk.act(other_grid, unused, "reveal"))):
        assert (answer.status_code, missing.status_code) == (404, 404)
        # Byte for byte the same but for the id: nothing tells a used id from an unused one.
        assert answer.get_data(as_text=True).replace(str(mid), "N") == missing.get_data(as_text=True).replace(
            str(unused), "N")
    assert desk.propose(other_grid, case_id).status_code == 404
