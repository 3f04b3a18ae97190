"""Staff API on cases: read one with its timeline, fire a trigger on it."""

from __future__ import annotations

from typing import Any

from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag
from pydantic import BaseModel, Field

from schemas.api import ActionRequest, CaseOut
from web.api.auth import SECURITY, current_user, staff_required
from web.api.errors import documented
from web.session import db_session, publish_notices
from workflow.cases.actions import perform_action
from workflow.cases.machine import TRIGGERS
from workflow.cases.views import case_view, check_can_view, get_case
from workflow.notices.listing import notifications

api = APIBlueprint("cases", __name__, url_prefix="/api/v1/cases", abp_tags=[Tag(name="cases")],
                   abp_security=SECURITY)


class CasePath(BaseModel):
    """A case in the URL."""

    case_id: int


class ActionPath(BaseModel):
    """A trigger on a case in the URL."""

    case_id: int
    trigger: str = Field(description=f"One of: {', '.join(sorted(TRIGGERS))}")


@api.get("/<int:case_id>", summary="Read a case", responses={200: CaseOut, **documented(401, 403, 404)})
@staff_required
def get_case_view(path: CasePath) -> Any:
    """Return the case: state, level, holder, deadline, version, parties (masked), timeline."""
    user = current_user()
    with db_session() as session:
        case = get_case(session, path.case_id)
        check_can_view(user, case)
        return case_view(session, case, user, notifications(session, case.id)).model_dump(mode="json")


@api.post(
    "/<int:case_id>/actions/<trigger>",
    summary="Act on a case",
    responses={200: CaseOut, **documented(401, 403, 404, 409, 422)},
)
@staff_required
def post_action(path: ActionPath, body: ActionRequest) -> Any:
    """Fire a trigger; 409 if it does not apply in the case's state or the version is stale.

    403 if the caller's position does not call for it: the unit holding the case works it, a
    unit above takes it over, urges, supervises and decides requests (never its own), a unit
    below adds notes; an administrator works no case.
    """
    user = current_user()
    with db_session() as session:
        case, applied = perform_action(session, path.case_id, path.trigger, user, body)
        view = case_view(session, case, user, notifications(session, case.id)).model_dump(mode="json")
    publish_notices(applied.notice_ids)
    return view, 200
