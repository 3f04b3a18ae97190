"""Staff API on mediations: propose one on a case, read it, fire its triggers, download the agreement."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag
from pydantic import BaseModel, Field

from schemas.mediation import MediationActionRequest, MediationOut, ProposedOut, ProposeRequest
from schemas.text import Id
from web.api.auth import SECURITY, current_user, staff_required
from web.api.errors import documented
from web.session import db_session, publish_notices
from workflow.base.errors import N_, NotFound
from workflow.base.labels import LANGUAGES, pick_language
from workflow.cases.views import check_can_view, get_case
from workflow.mediation.case_file import case_file
from workflow.mediation.machine import TRIGGERS
from workflow.mediation.steps import act, agreement_pdf_for, get_mediation, propose
from workflow.mediation.views import check_can_see, mediation_view

_TAG = [Tag(name="mediation")]
case_api = APIBlueprint("case_mediation", __name__, url_prefix="/api/v1/cases", abp_tags=_TAG,
                        abp_security=SECURITY)
api = APIBlueprint("mediations", __name__, url_prefix="/api/v1/mediations", abp_tags=_TAG, abp_security=SECURITY)


class CasePath(BaseModel):
    """A case in the URL."""

    case_id: Id


class MediationPath(BaseModel):
    """A mediation in the URL."""

    mediation_id: Id


class TriggerPath(BaseModel):
    """A trigger on a mediation in the URL."""

    mediation_id: Id
    trigger: str = Field(description=f"One of: {', '.join(sorted(TRIGGERS))}")


@case_api.post("/<int:case_id>/mediation", summary="Propose mediation of a case's dispute",
               responses={201: ProposedOut, **documented(401, 403, 404, 409, 422)})
@staff_required
def post_propose(path: CasePath, body: ProposeRequest) -> Any:
    """Put the dispute to mediation, by the unit holding the case; answers the mediation's id.

    A branch mediates informally, a general branch's people's mediation committee formally; the
    case needs two or more parties; 409 if one is open already.
    """
    user = current_user()
    with db_session() as session:
        done = propose(session, path.case_id, user, body.mediators)
        answer = ProposedOut(mediation_id=done.mediation.id, state=done.mediation.state,
                             due_at=done.mediation.due_at).model_dump(mode="json")
        ids = done.notice_ids
    publish_notices(ids)
    return answer, 201


def reader_language(setting: str | None) -> str:
    """Return the API caller's language: Accept-Language if sent, else the member's setting."""
    if request.headers.get("Accept-Language"):
        return pick_language(request.headers.get("Accept-Language"))
    return setting if setting in LANGUAGES else pick_language(None)


@case_api.get("/<int:case_id>/file.pdf", summary="The case file (卷宗) as one PDF",
              responses={200: None, **documented(401, 403, 404, 422)})
@staff_required
def get_case_file(path: CasePath) -> Any:
    """Return the whole case for the archive.

    Registration, parties (masked unless the caller handles the case), the timeline, mediation
    sessions and records, the agreement, visits and the resident's evaluation. In Traditional
    Chinese for a caller who reads it (Accept-Language zh-TW/zh-HK, or the member's setting).
    """
    user = current_user()
    with db_session() as session:
        case = get_case(session, path.case_id)
        check_can_view(user, case)
        pdf = case_file(session, case, user, reader_language(user.language))
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="case-{path.case_id}.pdf"'})


@api.get("/<int:mediation_id>", summary="Read a mediation",
         responses={200: MediationOut, **documented(401, 403, 404, 422)})
@staff_required
def get_mediation_view(path: MediationPath) -> Any:
    """Return the mediation: state, parties, sessions, the agreement and the caller's actions.

    Parties are masked unless the caller is an assigned mediator who revealed them (a logged step).
    """
    user = current_user()
    with db_session() as session:
        mediation = get_mediation(session, path.mediation_id)
        check_can_see(user, mediation)
        return mediation_view(session, mediation, user).model_dump(mode="json")


@api.post("/<int:mediation_id>/actions/<trigger>", summary="Act on a mediation",
          responses={200: MediationOut, **documented(401, 403, 404, 409, 422)})
@staff_required
def post_action(path: TriggerPath, body: MediationActionRequest) -> Any:
    """Fire a trigger with its fields.

    409 if it does not apply in the mediation's state or the version is stale, 403 if the caller
    does not stand where it calls for (the mediating unit, an assigned mediator, the case's grid
    for visits), 422 naming a missing or wrong field.
    """
    user = current_user()
    if path.trigger not in TRIGGERS:
        raise NotFound(N_("no action '%(name)s'; the actions are: %(names)s"), name=path.trigger,
                       names=", ".join(sorted(TRIGGERS)), field="trigger")
    params = body.model_dump(exclude_none=True, exclude={"expected_version"}, mode="python")
    with db_session() as session:
        done = act(session, path.mediation_id, path.trigger, user, params, body.expected_version)
        view = mediation_view(session, done.mediation, user).model_dump(mode="json")
        ids = done.notice_ids
    publish_notices(ids)
    return view, 200


@api.get("/<int:mediation_id>/agreement.pdf", summary="Download the agreement in effect (PDF)",
         responses={200: None, **documented(401, 403, 404, 422)})
@staff_required
def get_agreement_pdf(path: MediationPath) -> Any:
    """Return the signed agreement (人民调解协议书) as it took effect; its SHA-256 is on the timeline.

    In Traditional Chinese for a caller who reads it (Accept-Language zh-TW/zh-HK, or the member's
    setting), made and hashed at the same moment as the Simplified copy; else in Simplified Chinese.
    """
    user = current_user()
    with db_session() as session:
        mediation = get_mediation(session, path.mediation_id)
        check_can_see(user, mediation)
        found = agreement_pdf_for(mediation, reader_language(user.language))
        if found is None:
            raise NotFound(N_("mediation %(mediation_id)s has no agreement in effect"), mediation_id=mediation.id)
        pdf, version = found
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="agreement-{path.mediation_id}-v{version}.pdf"'})
