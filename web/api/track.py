"""The resident's side: follow a case by its tracking code, answer after report back."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import request
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag
from pydantic import BaseModel

from schemas.api import EvaluationRequest, EvaluationResult, ResidentAnswer, TrackOut, TrackOutcome
from web.api.errors import documented
from web.session import db_session, publish_notices
from workflow.base.labels import pick_language
from workflow.cases.actions import evaluate
from workflow.cases.outcome import outcome_of
from workflow.cases.views import case_by_tracking_code, track_view

api = APIBlueprint("track", __name__, url_prefix="/api/v1/track", abp_tags=[Tag(name="residents")])


class TrackPath(BaseModel):
    """A tracking code in the URL (dashes and case do not matter)."""

    tracking_code: str


@api.get("/<tracking_code>", summary="Follow a case", responses={200: TrackOut, **documented(404)})
def get_track(path: TrackPath) -> Any:
    """Return state, level and the public timeline; personal data only masked."""
    language = pick_language(request.headers.get("Accept-Language"))
    with db_session() as session:
        case = case_by_tracking_code(session, path.tracking_code)
        found = outcome_of(session, case)
        outcome = TrackOutcome(summary=found.summary, message=found.message,
                               answer=ResidentAnswer(**asdict(found.answer)) if found.answer else None)
        return track_view(case, language).model_copy(update={"outcome": outcome}).model_dump(mode="json")


@api.post(
    "/<tracking_code>/evaluation",
    summary="Answer after report back",
    responses={200: EvaluationResult, **documented(403, 404, 409, 422)},
)
def post_evaluation(path: TrackPath, body: EvaluationRequest) -> Any:
    """Resolved yes or partly closes the case; no reopens it (one level up the second time)."""
    with db_session() as session:
        case = case_by_tracking_code(session, path.tracking_code)
        case, applied = evaluate(session, case.id, body)
        result = EvaluationResult(state=case.state, level=case.level)
    publish_notices(applied.notice_ids)
    return result.model_dump(), 200
