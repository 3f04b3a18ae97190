"""The analysis API: the figures of a unit and its child units, and the cases behind a figure."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class KpiQuery(BaseModel):
    """A unit and a period (YYYY-MM-DD, inclusive, in the deployment's time zone)."""

    model_config = ConfigDict(populate_by_name=True)

    unit: str | None = Field(None, description="Unit code; the caller's own unit if omitted")
    from_: str | None = Field(None, alias="from", description="First day, YYYY-MM-DD (default: this month)")
    to: str | None = Field(None, description="Last day, YYYY-MM-DD, inclusive (default: today)")


class KpiCasesQuery(KpiQuery):
    """A figure's part, whose cases to list."""

    kpi: str = Field(description="A figure's name, such as response_rate; received.channel.hotline narrows")
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
