"""Staff API on the figures: a unit's KPIs and its child units', and the cases behind a figure."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag

from schemas.analysis import (
    DefinitionOut,
    ExportOut,
    ExportPath,
    ExportQuery,
    FigureOut,
    KpiCasesOut,
    KpiCasesQuery,
    KpiOut,
    KpiQuery,
    UnitFiguresOut,
)
from web.api.auth import SECURITY, current_user, staff_required
from web.api.errors import documented
from web.session import db_session
from workflow.analysis import exports
from workflow.analysis.aggregate import scorecard
from workflow.analysis.definitions import FIGURES, text
from workflow.analysis.kpis import UnitFigures, case_ids
from workflow.analysis.periods import parse_period
from workflow.analysis.scope import unit_in_scope
from workflow.analysis.settings import analysis_settings
from workflow.base import config
from workflow.base.labels import pick_language

api = APIBlueprint("analysis_api", __name__, url_prefix="/api/v1/analysis", abp_tags=[Tag(name="analysis")],
                   abp_security=SECURITY)


def _unit_out(unit: UnitFigures) -> UnitFiguresOut:
    figures = {name: FigureOut(name=v.name, kind=v.kind, numerator=v.numerator,
                               denominator=v.denominator, value=v.value) for name, v in unit.figures.items()}
    return UnitFiguresOut(code=unit.code, name=unit.name, level=unit.level, figures=figures,
                          breakdowns=unit.breakdowns)


def definitions_out(language: str) -> list[DefinitionOut]:
    """Return every figure's definition in ``language``."""
    return [DefinitionOut(name=f.name, title=text(f.title, language), formula=text(f.formula, language),
                          numerator=text(f.numerator, language), denominator=text(f.denominator, language),
                          period=text(f.period, language), higher_is_better=f.higher_is_better) for f in FIGURES]


@api.get("/kpis", summary="The KPIs of a unit and its child units",
         responses={200: KpiOut, **documented(401, 403, 404, 422)})
@staff_required
def get_kpis(query: KpiQuery) -> Any:
    """Every figure with numerator, denominator and value, for the unit's subtree and each child unit's."""
    period = parse_period(query.from_, query.to)
    settings = analysis_settings()
    with db_session() as session:
        unit = unit_in_scope(session, current_user(), query.unit)
        card = scorecard(session, unit, period, settings.weights)
    out = KpiOut(**{"from": period.first, "to": period.last}, timezone=config.timezone_name(),
                 facts_as_of=card.facts_as_of, weights=settings.weights.model_dump(), unit=_unit_out(card.unit),
                 children=[_unit_out(c) for c in card.children],
                 definitions=definitions_out(pick_language(request.headers.get("Accept-Language"))))
    return out.model_dump(mode="json", by_alias=True)


@api.get("/kpis/cases", summary="The cases behind a figure",
         responses={200: KpiCasesOut, **documented(401, 403, 404, 422)})
@staff_required
def get_kpi_cases(query: KpiCasesQuery) -> Any:
    """The ids of the cases counted in a figure's numerator or denominator, to audit it."""
    period = parse_period(query.from_, query.to)
    with db_session() as session:
        unit = unit_in_scope(session, current_user(), query.unit)
        ids = case_ids(session, unit, period, query.kpi, query.part)
        code = unit.code
    out = KpiCasesOut(unit=code, kpi=query.kpi, part=query.part, **{"from": period.first, "to": period.last},
                      count=len(ids), case_ids=ids)
    return out.model_dump(mode="json", by_alias=True)


@api.get("/exports/<kind>", summary="Export a case list as JSON (logged)",
         responses={200: ExportOut, **documented(401, 403, 404, 422)})
@staff_required
def get_export(path: ExportPath, query: ExportQuery) -> Any:
    """The rows of my queue, my unit's inbox or a figure's cases, as the files hold them; every export on record.

    Masked as on the pages: in full only for the cases the caller's unit handles now, each of
    which gets a ``reveal`` step on its timeline naming the export.
    """
    language = pick_language(request.headers.get("Accept-Language"))
    args = {"unit": query.unit, "from": query.from_, "to": query.to, "kpi": query.kpi, "part": query.part}
    with db_session() as session:
        user = current_user()
        ids, params = exports.listed(session, user, path.kind, args)
        found = exports.table(session, user, ids, language)
        entry = exports.record(session, user, path.kind, params, ids, "json", found)
        export_id = entry.id
    out = ExportOut(export_id=export_id, kind=path.kind, count=len(found.rows), unmasked=found.unmasked,
                    columns=list(exports.COLUMNS), rows=[dict(zip(exports.COLUMNS, row, strict=True))
                                                          for row in found.rows])
    return out.model_dump(mode="json")
