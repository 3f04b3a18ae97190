"""The analysis API: the figures of a unit and its child units, and the cases behind a figure."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

# A day as the API reads it; ``format: date`` lets a client (and schemathesis) know it is a calendar day.
DAY_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
# The figures whose cases can be listed (the composite has none of its own), and how received narrows;
# tests/unit/analysis/test_kpi_access.py checks this list against workflow/analysis/definitions.py.
LISTED_FIGURES = ("received", "response_rate", "resolution_rate", "satisfaction_rate", "on_time_rate",
                  "in_grid_rate", "redo_rate", "participation_rate", "mediation_success_rate", "overdue", "supervised",
                  "median_contact_hours", "median_resolution_hours")
KPI_PATTERN = r"^(" + "|".join(LISTED_FIGURES) + r"|received\.(channel|category|severity)\.[^.]+)$"
Day = Annotated[str, Field(pattern=DAY_PATTERN, json_schema_extra={"format": "date"})]


class KpiQuery(BaseModel):
    """A unit and a period (YYYY-MM-DD, inclusive, in the deployment's time zone)."""

    model_config = ConfigDict(populate_by_name=True)

    unit: str | None = Field(None, min_length=1, description="Unit code; the caller's own unit if omitted")
    from_: Day | None = Field(None, alias="from",
                              description="First day, YYYY-MM-DD (default: this month); a calendar day, "
                                          "at most 366 days before to (422 otherwise)")
    to: Day | None = Field(None, description="Last day, YYYY-MM-DD, inclusive (default: today); not before from")


class KpiCasesQuery(KpiQuery):
    """A figure's part, whose cases to list."""

    kpi: str = Field(pattern=KPI_PATTERN,
                     description="A figure's name: " + ", ".join(LISTED_FIGURES)
                     + " (the composite has no cases of its own); received.<channel|category|severity>.<code>"
                     " narrows received, such as received.channel.hotline")
    part: Literal["numerator", "denominator"] = "numerator"


class FigureOut(BaseModel):
    """One figure: a rate in 0–1 (value = numerator ÷ denominator), a count, or median hours."""

    name: str
    kind: Literal["count", "rate", "median", "composite"]
    numerator: float | None
    denominator: float | None
    value: float | None


class UnitFiguresOut(BaseModel):
    """A unit's figures, and its cases received by channel, category and severity."""

    code: str
    name: str
    level: str
    figures: dict[str, FigureOut]
    breakdowns: dict[str, dict[str, int]]


class DefinitionOut(BaseModel):
    """How a figure is computed, in the language asked for."""

    name: str
    title: str
    formula: str
    numerator: str
    denominator: str
    period: str
    higher_is_better: bool


class KpiOut(BaseModel):
    """The figures of a unit and of each unit directly below it, and their definitions."""

    period_from: date = Field(alias="from")
    period_to: date = Field(alias="to")
    timezone: str
    facts_as_of: datetime | None = Field(description="When the facts were last derived from the timelines")
    weights: dict[str, float]
    unit: UnitFiguresOut
    children: list[UnitFiguresOut]
    definitions: list[DefinitionOut]


class KpiCasesOut(BaseModel):
    """The ids of the cases behind one part of a figure."""

    unit: str
    kpi: str
    part: str
    period_from: date = Field(alias="from")
    period_to: date = Field(alias="to")
    count: int
    case_ids: list[int]


class ExportPath(BaseModel):
    """Which case list to take out."""

    kind: Literal["queue", "inbox", "figure"] = Field(
        description="queue: the open cases of the caller's subtree; inbox: those the caller's unit holds "
                    "(party units' roles); figure: the cases behind a figure (the analysis roles; kpi needed)")


class ExportQuery(KpiQuery):
    """For a figure's cases: the unit, the period, the figure and its part (queue and inbox check the period only)."""

    kpi: str | None = Field(None, pattern=KPI_PATTERN,
                            description="For kind=figure: a figure's name, as in /api/v1/analysis/kpis/cases")
    part: Literal["numerator", "denominator"] = "numerator"


class ExportOut(BaseModel):
    """A case list as exported: the rows the CSV and XLSX files hold, masked as the caller's role requires.

    Names, phones and descriptions are in full only for the cases the caller's unit handles now;
    each such case gets a ``reveal`` step on its timeline naming the export.
    """

    export_id: int = Field(description="The export's record (who, when, which cases, how many in full)")
    kind: str
    count: int
    unmasked: int = Field(description="How many rows show the reporter's name, phone and description in full")
    columns: list[str]
    rows: list[dict[str, str | int | None]]
