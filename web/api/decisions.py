"""The decisions API: propose, read, fire a trigger; the community's public list and residents' objections."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from flask import request
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag
from pydantic import BaseModel, Field, StringConstraints

from schemas.decisions import (
    DecisionActionRequest,
    DecisionOut,
    ObjectionRequest,
    ObjectionTakenOut,
    ProposedDecisionOut,
    ProposeDecisionRequest,
    PublicDecisionOut,
    PublicDecisionsOut,
)
from schemas.text import Id
from web.api.auth import SECURITY, current_user, staff_required
from web.api.errors import documented
from web.session import db_session, publish_notices
from web.ui.tracking_guard import address_limit
from workflow.base.errors import N_, InvalidInput, NotFound
from workflow.decisions.machine import RULES
from workflow.decisions.steps import (
    MAX_DOCUMENT_BYTES,
    act,
    check_can_see,
    get_decision,
    object_publicly,
    propose,
    public_decision,
    public_decisions,
)
from workflow.decisions.views import decision_view, public_view

_TAG = [Tag(name="decisions")]
api = APIBlueprint("decisions_api", __name__, url_prefix="/api/v1/decisions", abp_tags=_TAG, abp_security=SECURITY)
public_api = APIBlueprint("public_decisions", __name__, url_prefix="/api/v1/communities", abp_tags=_TAG)
STAFF_TRIGGERS = frozenset(RULES)


@api.before_request
def _room_for_documents() -> None:
    # A document comes base64 in the JSON body: the app's 64 KiB cap would refuse any real plan.
    if request.endpoint == "decisions_api.post_action" and (request.view_args or {}).get("trigger") == "attach":
        request.max_content_length = MAX_DOCUMENT_BYTES * 4 // 3 + 1024 * 1024
Code = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]


class DecisionPath(BaseModel):
    """A decision in the URL."""

    decision_id: Id


class TriggerPath(BaseModel):
    """A trigger on a decision in the URL."""

    decision_id: Id
    trigger: str = Field(description=f"One of: {', '.join(sorted(STAFF_TRIGGERS))}")


class CommunityPath(BaseModel):
    """A community (general branch) in the URL, by its code."""

    code: Code


class PublicDecisionPath(BaseModel):
    """A published decision of a community in the URL."""

    code: Code
    decision_id: Id


@api.post("", summary="Propose a community decision (四议两公开)",
          responses={201: ProposedDecisionOut, **documented(401, 403, 404, 409, 413, 422)})
@staff_required
def post_propose(body: ProposeDecisionRequest) -> Any:
    """Propose a decision of the caller's community, by a branch or general branch; reported to the street.

    With ``case_id`` a GOV case becomes the proposal, linked both ways.
    """
    user = current_user()
    with db_session() as session:
        done = propose(session, user, body.model_dump(exclude={"case_id"}), body.case_id)
        answer = ProposedDecisionOut(decision_id=done.decision.id, state=done.decision.state).model_dump()
        ids = done.notice_ids
    publish_notices(ids)
    return answer, 201


@api.get("/<int:decision_id>", summary="Read a decision",
         responses={200: DecisionOut, **documented(401, 403, 404, 422)})
@staff_required
def get_decision_view(path: DecisionPath) -> Any:
    """Return the decision with its meetings, objections, documents, timeline and the caller's actions.

    Meetings carry attendance and votes; objecting residents are masked.
    """
    user = current_user()
    with db_session() as session:
        decision = get_decision(session, path.decision_id)
        check_can_see(user, decision)
        return decision_view(session, decision, user).model_dump(mode="json")


def _params(body: DecisionActionRequest) -> dict[str, Any]:
    params = body.model_dump(exclude_none=True, exclude={"expected_version", "file"}, mode="python")
    if body.file is not None:
        try:
            params["content"] = base64.b64decode(body.file.split(",", 1)[-1], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidInput(N_("file must be base64"), field="file") from exc
    return params


@api.post("/<int:decision_id>/actions/<trigger>", summary="Act on a decision",
          responses={200: DecisionOut, **documented(401, 403, 404, 409, 413, 422)})
@staff_required
def post_action(path: TriggerPath, body: DecisionActionRequest) -> Any:
    """Fire a trigger with its fields.

    409 if it does not apply in the decision's state, the period still runs or the version is
    stale; 403 if the caller does not stand where it calls for (the committee, or the street for
    ``comment``); 422 naming a missing or wrong field, a meeting short of its quorum (with the
    numbers) or a vote that did not pass without ``if_not_passed``.
    """
    user = current_user()
    if path.trigger not in STAFF_TRIGGERS:
        raise NotFound(N_("no action '%(name)s'; the actions are: %(names)s"), name=path.trigger,
                       names=", ".join(sorted(STAFF_TRIGGERS)), field="trigger")
    params = _params(body)
    with db_session() as session:
        done = act(session, path.decision_id, path.trigger, user, params, body.expected_version)
        view = decision_view(session, done.decision, user).model_dump(mode="json")
        ids = done.notice_ids
    publish_notices(ids)
    return view, 200


@public_api.get("/<code>/decisions", summary="A community's published decisions",
                responses={200: PublicDecisionsOut, **documented(404, 422)})
def get_public_decisions(path: CommunityPath) -> Any:
    """Return the resolutions and results a community has published, with objections and answers; no names."""
    with db_session() as session:
        unit, rows = public_decisions(session, path.code)
        return PublicDecisionsOut(community=unit.code, community_name=unit.name,
                                  decisions=[public_view(d) for d in rows]).model_dump(mode="json")


@public_api.get("/<code>/decisions/<int:decision_id>", summary="One published decision of a community",
                responses={200: PublicDecisionOut, **documented(404, 422)})
def get_public_decision(path: PublicDecisionPath) -> Any:
    """Return one published decision as the public page shows it."""
    with db_session() as session:
        return public_view(public_decision(session, path.code, path.decision_id)).model_dump(mode="json")


@public_api.post("/<code>/decisions/<int:decision_id>/objections", summary="Object to a published decision",
                 responses={201: ObjectionTakenOut, **documented(400, 404, 409, 413, 422, 429)})
@address_limit()
def post_objection(path: PublicDecisionPath, body: ObjectionRequest) -> Any:
    """A resident objects while the publication period runs; it pauses until the committee answers.

    The name and phone are kept for the committee to call back and are never published.
    """
    with db_session() as session:
        done = object_publicly(session, path.code, path.decision_id, body.model_dump())
        objection = done.decision.objections[-1]
        answer = ObjectionTakenOut(objection_id=objection.id, state=done.decision.state).model_dump()
        ids = done.notice_ids
    publish_notices(ids)
    return answer, 201
