"""The decision pages: the committee's list and one page per decision; the community's public pages."""

from __future__ import annotations

import base64
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import ValidationError

from schemas.decisions import DecisionActionRequest, ObjectionRequest, ProposeDecisionRequest
from web.session import db_session, publish_notices
from web.ui.accounts import login_required, member_row
from web.ui.errors import explain, html_errors, status_of
from web.ui.security import protect_forms
from web.ui.tracking_guard import address_limit
from workflow.base.errors import DomainError
from workflow.decisions.machine import DState
from workflow.decisions.steps import (
    MAX_DOCUMENT_BYTES,
    act,
    attachment_file,
    check_can_see,
    decision_of_case,
    decisions_for,
    get_decision,
    object_publicly,
    party_register,
    propose,
    public_decision,
    public_decisions,
)
from workflow.decisions.views import decision_view, public_view

bp = Blueprint("decisions", __name__)


@bp.before_request
def _room_for_documents() -> None:
    # Before the CSRF check reads the form: the app's 64 KiB cap is for JSON, not for a plan or a photo.
    if request.endpoint == "decisions.do" and (request.view_args or {}).get("trigger") == "attach":
        request.max_content_length = MAX_DOCUMENT_BYTES + 1024 * 1024


protect_forms(bp)  # after the document allowance: the CSRF check reads the form
html_errors(bp)

STATE_LABELS = {
    "proposed": _l("proposed"), "discussed": _l("discussed at the joint meeting"),
    "reviewed": _l("reviewed by the party members' meeting"),
    "resolved": _l("resolved by the residents' meeting"), "resolution_published": _l("resolution published"),
    "carrying_out": _l("being carried out"), "result_published": _l("result published"), "closed": _l("closed"),
    "rejected": _l("rejected"), "withdrawn": _l("withdrawn"),
}
ACTION_LABELS = {
    "joint_meeting": _l("Record the joint meeting (两委联席会议)"),
    "party_meeting": _l("Record the party members' meeting"),
    "residents_meeting": _l("Record the residents' (representatives') meeting"),
    "publish": _l("Publish the resolution"), "answer": _l("Answer an objection"),
    "carry_out": _l("Start carrying it out"), "publish_result": _l("Publish the result"), "close": _l("Close"),
    "attach": _l("Add a document"), "comment": _l("Comment (street)"), "rework": _l("Send back for rework"),
    "reject": _l("Reject"), "withdraw": _l("Withdraw"),
}
MEETING_LABELS = {"joint": _l("Joint meeting of the two committees"), "party": _l("Party members' meeting"),
                  "residents": _l("Residents' (representatives') meeting")}
DOCUMENT_LABELS = {"plan": _l("plan"), "budget": _l("budget"), "notice_photo": _l("photo of the posted notice"),
                   "other": _l("other document")}
# What happened, not what to do: the timeline reads as a record (the action labels only where no record word exists).
STEP_LABELS = {**ACTION_LABELS,
               "proposed": _l("proposed"), "reported": _l("reported to the street"),
               "object": _l("objection raised"), "answer": _l("objection answered"),
               "period_over": _l("publication period over"), "comment": _l("street's comment"),
               "attach": _l("document added"),
               "publish": _l("resolution published"), "publish_result": _l("result published"),
               "carry_out": _l("being carried out"), "close": _l("closed"), "reject": _l("rejected"),
               "withdraw": _l("withdrawn"), "joint_meeting": _l("Joint meeting of the two committees"),
               "party_meeting": _l("Party members' meeting"),
               "residents_meeting": _l("Residents' (representatives') meeting")}


def _label(table: dict[str, Any], key: str | None) -> str:
    return str(table.get(key or "", key or ""))


@bp.app_context_processor
def _globals() -> dict[str, Any]:
    return {"decision_of_case": _decision_of_case, "decision_state_label": lambda s: _label(STATE_LABELS, s)}


def _decision_of_case(case_id: int) -> dict[str, Any] | None:
    with db_session() as session:
        found = decision_of_case(session, case_id)
        return {"id": found.id, "state": found.state} if found else None


def _labels() -> dict[str, Any]:
    return {"state_label": lambda s: _label(STATE_LABELS, s), "action_labels": ACTION_LABELS,
            "meeting_label": lambda k: _label(MEETING_LABELS, k),
            "document_label": lambda k: _label(DOCUMENT_LABELS, k),
            "step_label": lambda k: _label(STEP_LABELS, k), "documents": DOCUMENT_LABELS}


@bp.get("/decisions")
@login_required
def index() -> ResponseReturnValue:
    """The decisions of the member's community (or the communities below), by state."""
    wanted = request.args.get("state") or None
    if wanted not in {s.value for s in DState}:
        wanted = None
    with db_session() as session:
        user = member_row(session)
        rows = [{"id": d.id, "title": d.title, "state": d.state, "community": d.unit.name,
                 "proposed_at": d.proposed_at} for d in decisions_for(session, user)]
    counts = {s.value: sum(1 for r in rows if r["state"] == s.value) for s in DState}
    shown = [r for r in rows if wanted is None or r["state"] == wanted]
    return render_template("decisions.html", rows=shown, counts=counts, wanted=wanted, **_labels())


@bp.route("/decisions/new", methods=["GET", "POST"])
@login_required
def new() -> ResponseReturnValue:
    """Propose a decision (a branch or the general branch); from a GOV case when ``case_id`` is given."""
    case_id = request.values.get("case_id", "")
    if request.method == "GET":
        return render_template("decision_new.html", case_id=case_id, form={}, error=None)
    form = request.form
    body = {"title": form.get("title", "").strip() or None, "reasons": form.get("reasons", "").strip() or None,
            "matter": form.get("matter", "").strip() or None, "budget": form.get("budget", "").strip() or None,
            "options": [o.strip() for o in form.get("options", "").splitlines() if o.strip()],
            "case_id": int(case_id) if case_id.isdigit() else None}
    try:
        parsed = ProposeDecisionRequest.model_validate({k: v for k, v in body.items() if v is not None})
        with db_session() as session:
            done = propose(session, member_row(session), parsed.model_dump(exclude={"case_id"}), parsed.case_id)
            decision_id, notice_ids = done.decision.id, done.notice_ids
    except DomainError as exc:
        return render_template("decision_new.html", case_id=case_id, form=form, error=explain(exc)), status_of(exc)
    except ValidationError as exc:
        fields = ", ".join(str(e["loc"][0]) for e in exc.errors())
        return render_template("decision_new.html", case_id=case_id, form=form,
                               error=_("Please fill in: %(fields)s", fields=fields)), 422
    publish_notices(notice_ids)
    flash(_("Decision proposed and reported to the street."), "success")
    return redirect(url_for("decisions.show", decision_id=decision_id), 303)


def render_decision(decision_id: int, *, error: str | None = None, status: int = 200) -> ResponseReturnValue:
    """Render a decision's page for the logged-in member (403 outside its community and the levels above)."""
    with db_session() as session:
        user = member_row(session)
        decision = get_decision(session, decision_id)
        check_can_see(user, decision)
        view = decision_view(session, decision, user)
        register_size = len(party_register(session, decision))
    return render_template("decision.html", d=view, error=error, register_size=register_size, **_labels()), status


@bp.get("/decisions/<int:decision_id>")
@login_required
def show(decision_id: int) -> ResponseReturnValue:
    """The decision page: facts, meetings and votes, publication, objections, documents, timeline, actions."""
    return render_decision(decision_id)


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.replace("，", ",").replace("、", ",").replace("\n", ",").split(",") if n.strip()]


def _count(name: str) -> int | None:
    value = request.form.get(name, "").strip()
    return int(value) if value.isdigit() else None


def _form_params(trigger: str) -> dict[str, Any]:
    """Read one trigger's fields from the form, in the shape the API takes."""
    form = request.form
    p: dict[str, Any] = {k: (form.get(k, "").strip() or None) for k in ("held_on", "place", "minutes", "text",
                                                                       "reason", "if_not_passed", "kind", "title")}
    if "entitled" in form:
        p["entitled"] = _names(form["entitled"]) or None
    if "present" in form:
        p["present"] = _names(form["present"])
    for name in ("votes_for", "votes_against", "votes_abstaining"):
        p[name] = _count(name)
    if form.get("objection_id", "").isdigit():
        p["objection_id"] = int(form["objection_id"])
    upload = request.files.get("file")
    if trigger == "attach" and upload and upload.filename:
        p["file"] = base64.b64encode(upload.read()).decode()
        p["content_type"] = upload.mimetype
    return {k: v for k, v in p.items() if v is not None}


@bp.post("/decisions/<int:decision_id>/actions/<trigger>")
@login_required
def do(decision_id: int, trigger: str) -> ResponseReturnValue:
    """Fire one trigger; a refusal is shown on the page with its reason (the numbers of a missed quorum)."""
    version = request.form.get("expected_version", "")
    try:
        body = DecisionActionRequest.model_validate(_form_params(trigger))
        params = body.model_dump(exclude_none=True, exclude={"expected_version", "file"})
        if body.file is not None:
            params["content"] = base64.b64decode(body.file)
        with db_session() as session:
            done = act(session, decision_id, trigger, member_row(session), params,
                       int(version) if version.isdigit() else None)
            notice_ids = done.notice_ids
    except DomainError as exc:
        return render_decision(decision_id, error=explain(exc), status=status_of(exc))
    except ValidationError as exc:
        fields = ", ".join(str(e["loc"][0]) for e in exc.errors())
        return render_decision(decision_id, error=_("Please check what you entered: %(fields)s", fields=fields),
                               status=422)
    publish_notices(notice_ids)
    flash(_("Done: %(action)s.", action=_label(ACTION_LABELS, trigger)), "success")
    return redirect(url_for("decisions.show", decision_id=decision_id), 303)


@bp.get("/decisions/<int:decision_id>/documents/<int:attachment_id>")
@login_required
def document(decision_id: int, attachment_id: int) -> Response:
    """Download one of the decision's documents (staff who see the decision)."""
    with db_session() as session:
        decision = get_decision(session, decision_id)
        check_can_see(member_row(session), decision)
        path, content_type, name = attachment_file(decision, attachment_id)
    return send_file(path, mimetype=content_type, download_name=name)


@bp.get("/community/<code>/decisions")
def public_list(code: str) -> ResponseReturnValue:
    """The community's published resolutions and results, for residents; no personal data."""
    with db_session() as session:
        unit, rows = public_decisions(session, code)
        views = [public_view(d) for d in rows]
        community = {"code": unit.code, "name": unit.name}
    return render_template("community_decisions.html", community=community, rows=views, **_labels())


def render_public(code: str, decision_id: int, *, error: str | None = None, form: Any = None,
                  status: int = 200) -> ResponseReturnValue:
    """Render one published decision with its objection form while the period runs."""
    with db_session() as session:
        decision = public_decision(session, code, decision_id)
        view = public_view(decision)
        community = {"code": decision.unit.code, "name": decision.unit.name}
    return render_template("community_decision.html", community=community, d=view, error=error, form=form or {},
                           **_labels()), status


@bp.get("/community/<code>/decisions/<int:decision_id>")
def public_show(code: str, decision_id: int) -> ResponseReturnValue:
    """One published decision: the resolution, the result, the meetings' figures, objections and answers."""
    return render_public(code, decision_id)


@bp.post("/community/<code>/decisions/<int:decision_id>/objection")
@address_limit()
def public_object(code: str, decision_id: int) -> ResponseReturnValue:
    """A resident objects; the period pauses until the committee answers. Name and phone are not published."""
    form = request.form
    try:
        body = ObjectionRequest.model_validate({k: form.get(k, "") for k in ("name", "phone", "text")})
        with db_session() as session:
            done = object_publicly(session, code, decision_id, body.model_dump())
            notice_ids = done.notice_ids
    except DomainError as exc:
        return render_public(code, decision_id, error=explain(exc), form=form, status=status_of(exc))
    except ValidationError as exc:
        fields = ", ".join(str(e["loc"][0]) for e in exc.errors())
        return render_public(code, decision_id, form=form, status=422,
                             error=_("Please check what you entered: %(fields)s", fields=fields))
    publish_notices(notice_ids)
    flash(_("Your objection is recorded. The publication is paused until the committee answers; "
            "the answer will be published here."), "success")
    return redirect(url_for("decisions.public_show", code=code, decision_id=decision_id), 303)
