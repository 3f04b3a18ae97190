"""The public org tree."""

from __future__ import annotations

from typing import Any

from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag

from schemas.api import UnitList
from web.session import db_session
from workflow.cases.views import list_units

api = APIBlueprint("units", __name__, url_prefix="/api/v1", abp_tags=[Tag(name="org")])


@api.get("/units", summary="List the org tree", responses={200: UnitList})
def get_units() -> Any:
    """Return every unit with its code, name, level and parent code; no members."""
    with db_session() as session:
        return UnitList(units=list_units(session)).model_dump()
