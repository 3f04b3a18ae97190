"""``GET /api/v1/audit``: the administrators' audit log, for the administrator."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag
from pydantic import BaseModel, Field

from schemas.analysis import Day
from schemas.text import MAX_ID
from schemas.vocabulary import Role
from web.api.auth import SECURITY, current_user, staff_required
from web.api.errors import documented
from web.session import db_session
from workflow.audit.log import entries, filter_of
from workflow.base.errors import N_, Forbidden
from workflow.base.privacy import scrub

api = APIBlueprint("audit_api", __name__, url_prefix="/api/v1", abp_tags=[Tag(name="audit")], abp_security=SECURITY)


class AuditQuery(BaseModel):
    """Which entries: by actor, act or area, and days (YYYY-MM-DD, inclusive, in the deployment's time zone)."""

    actor: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[^\x00]+$",
                              description="A member's login name, or cli:USER for the command line")
    action: str | None = Field(None, pattern=r"^[a-z_]+(\.[a-z_]+)?$",
                               description="An act (member.role) or an area (member, token, reveal, export)")
    since: Day | None = Field(None, description="First day, YYYY-MM-DD")
    until: Day | None = Field(None, description="Last day, YYYY-MM-DD, inclusive; not before since")
    limit: int = Field(100, ge=1, le=500, description="At most this many entries, newest first")
    offset: int = Field(0, ge=0, le=MAX_ID, description="Skip this many entries")


class AuditEntryOut(BaseModel):
    """One administrative act: who, when, what, to what; chained to the entry before it."""

    seq: int
    at: datetime
    actor: str
    actor_unit: str | None
    action: str
    target: str
    detail: dict[str, Any] = Field(description="What changed: names of fields and codes, never personal data")
    row_hash: str = Field(description="SHA-256 chaining this entry to the one before (gridcase audit verify)")


class AuditOut(BaseModel):
    """A page of the audit log and how many entries match in all."""

    total: int
    entries: list[AuditEntryOut]


@api.get("/audit", summary="The administrators' audit log",
         responses={200: AuditOut, **documented(401, 403, 422)})
@staff_required
def get_audit(query: AuditQuery) -> Any:
    """Administrative acts newest first, filtered by actor, act and days; for the administrator only."""
    user = current_user()
    if user.role != Role.ADMIN:
        raise Forbidden(N_("the audit log is for administrators"))
    flt = filter_of(query.actor, query.action, query.since, query.until)
    with db_session() as session:
        rows, total = entries(session, flt, limit=query.limit, offset=query.offset)
        out = AuditOut(total=total, entries=[AuditEntryOut(
            seq=e.seq, at=e.at, actor=e.actor, actor_unit=e.actor_unit, action=e.action, target=scrub(e.target),
            detail=e.detail, row_hash=e.row_hash) for e in rows])
    return out.model_dump(mode="json")
