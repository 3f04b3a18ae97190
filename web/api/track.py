"""The resident's side: follow a case by its tracking code and phone digits, answer after report back.

Both routes need the code and the last four digits of the reporter's phone (``GET`` in the
``X-Phone-Last4`` header, so the digits stay out of access logs and browser history; the
evaluation in its body). A wrong code and wrong digits get the same 404; five wrong digits on a
code lock it for fifteen minutes, whatever the digits (429); lookups are limited per address and
per code, as on the page (``web/ui/tracking_guard.py``).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from flask import Response, request
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag
from pydantic import BaseModel, Field, StringConstraints

from schemas.api import EvaluationRequest, EvaluationResult, ResidentAnswer, TrackOut, TrackOutcome
from web.api.errors import documented, error_response
from web.session import db_session, publish_notices
from web.ui.tracking_guard import address_limit, code_limit, locked_for, right_digits, wrong_digits
from workflow.base.errors import NotFound
from workflow.base.labels import pick_language
from workflow.cases.actions import evaluate
from workflow.cases.outcome import outcome_of
from workflow.cases.views import case_for_resident, track_view

api = APIBlueprint("track", __name__, url_prefix="/api/v1/track", abp_tags=[Tag(name="residents")])

Last4 = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]


class TrackPath(BaseModel):
    """A tracking code in the URL (dashes and case do not matter)."""

    tracking_code: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z \-]{1,40}$")] = Field(
        description="The code on the resident's slip, e.g. ABCD-EFGH-JKMN-PQRS")


class TrackHeader(BaseModel):
    """The resident's proof: the phone's last four digits, in a header so no log keeps them."""

    phone_last4: Last4 = Field(alias="X-Phone-Last4",
                               description="Last four digits of the phone number given with the complaint")


def _locked(code: str) -> Response | None:
    seconds = locked_for(code)
    if not seconds:
        return None
    return error_response(
        429, "locked", f"too many wrong digits for this tracking code: it is refused for {seconds // 60 + 1} "
        "minutes whatever the digits; call your grid leader if you need help now",
        headers={"Retry-After": str(seconds)})


@api.get("/<tracking_code>", summary="Follow a case",
         responses={200: TrackOut, **documented(404, 422, 429)})
@address_limit()
@code_limit()
def get_track(path: TrackPath, header: TrackHeader) -> Any:
    """Return state, level and the public timeline, numbers masked; one 404 for a wrong code or wrong digits."""
    refused = _locked(path.tracking_code)
    if refused is not None:
        return refused
    language = pick_language(request.headers.get("Accept-Language"))
    with db_session() as session:
        try:
            case = case_for_resident(session, path.tracking_code, header.phone_last4)
        except NotFound:
            wrong_digits(path.tracking_code)
            raise
        right_digits(path.tracking_code)
        found = outcome_of(session, case)
        outcome = TrackOutcome(summary=found.summary, message=found.message,
                               answer=ResidentAnswer(**asdict(found.answer)) if found.answer else None)
        return track_view(case, language).model_copy(update={"outcome": outcome}).model_dump(mode="json")


@api.post(
    "/<tracking_code>/evaluation",
    summary="Answer after report back",
    responses={200: EvaluationResult, **documented(400, 404, 409, 413, 422, 429)},
)
@address_limit()
@code_limit()
def post_evaluation(path: TrackPath, body: EvaluationRequest) -> Any:
    """Resolved yes or partly closes the case; no reopens it (one level up the second time)."""
    refused = _locked(path.tracking_code)
    if refused is not None:
        return refused
    try:
        with db_session() as session:
            case = case_for_resident(session, path.tracking_code, body.phone_last4)
            case, applied = evaluate(session, case.id, body)
            result = EvaluationResult(state=case.state, level=case.level)
    except NotFound:
        wrong_digits(path.tracking_code)
        raise
    right_digits(path.tracking_code)
    publish_notices(applied.notice_ids)
    return result.model_dump(), 200
