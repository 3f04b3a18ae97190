"""The monthly 民意分析 report as a PDF (ReportLab, A4, the Chinese font embedded), from the report's snapshot.

It reads only ``Report.summary`` (what the month looked like when the report was made), so the
PDF of a report is the same whenever it is asked for. The words come from the caller, already
in the reader's language (the pages' catalogues), so the PDF speaks the three languages the
pages speak; the figures' names come from ``definitions``. No personal data is in a summary.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from workflow.analysis.definitions import FIGURES, Kind, text
from workflow.mediation.agreement_pdf import font

BAR_NOW, BAR_BEFORE = colors.HexColor("#1c6dd0"), colors.HexColor("#b8c7da")


def shown(name: str, value: Any) -> str:
    """Format a snapshot's figure value as the pages do: a percentage, hours or a count."""
    if value is None:
        return "—"
    kind = next((f.kind for f in FIGURES if f.name == name), Kind.COUNT)
    if kind in (Kind.RATE, Kind.COMPOSITE):
        return f"{value:.1f}%"
    if kind is Kind.MEDIAN:
        return f"{value:.1f} h"
    return f"{value:g}"


def _bars(rows: list[tuple[str, int, int]], words: Mapping[str, str], width: float) -> Drawing:
    """This month's and last month's counts side by side, one pair of bars per label."""
    height = 16 * len(rows) + 45
    drawing = Drawing(width, height)
    chart = HorizontalBarChart()
    # Room below for the value axis's numbers, then the legend.
    chart.x, chart.y, chart.width, chart.height = 70 * mm, 32, width - 80 * mm, height - 40
    # The chart draws bottom-up: reversed, the largest is on top as in the tables.
    chart.data = [[r[1] for r in reversed(rows)], [r[2] for r in reversed(rows)]]
    chart.categoryAxis.categoryNames = [r[0] for r in reversed(rows)]
    chart.categoryAxis.labels.fontName = font()
    chart.categoryAxis.labels.fontSize = 8
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor, chart.bars[1].fillColor = BAR_NOW, BAR_BEFORE
    chart.barSpacing, chart.groupSpacing = 1, 4
    drawing.add(chart)
    for i, (label, colour) in enumerate(((words["this_month"], BAR_NOW), (words["last_month"], BAR_BEFORE))):
        x = 70 * mm + i * 45 * mm
        drawing.add(Rect(x, 2, 8, 8, fillColor=colour, strokeColor=None))
        drawing.add(String(x + 11, 3, label, fontName=font(), fontSize=8))
    return drawing


def render(summary: Mapping[str, Any], words: Mapping[str, str], names: Mapping[str, Mapping[str, str]],
           language: str, made_at: str, facts_as_of: str) -> bytes:
    """Return the PDF of a report's snapshot; ``names`` maps a dimension (category, channel, …) to its codes' names."""
    face = font()
    body = ParagraphStyle("body", fontName=face, fontSize=9, leading=13, wordWrap="CJK")
    small = ParagraphStyle("small", parent=body, fontSize=8, leading=11, textColor=colors.HexColor("#555555"))
    h1 = ParagraphStyle("h1", parent=body, fontSize=16, leading=22, spaceAfter=4)
    h2 = ParagraphStyle("h2", parent=body, fontSize=12, leading=17, spaceBefore=10, spaceAfter=4)
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                            bottomMargin=15 * mm, title=words["title"], author="gridcase")
    unit, periods = summary.get("unit", {}), summary.get("periods", {})

    def p(value: Any, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(str(value)), style)

    def table(rows: list[list[Any]], widths: list[float] | None = None) -> Table:
        t = Table([[c if isinstance(c, Paragraph) else p(c) for c in row] for row in rows], colWidths=widths,
                  repeatRows=1)
        t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8f0fb")),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        return t

    story: list[Any] = [
        p(f"{words['title']} · {unit.get('name', '')} ({unit.get('code', '')}) · {periods.get('month', '')}", h1),
        p(f"{words['made_at']} {made_at} · {words['facts_as_of']} {facts_as_of}", small),
        p(words["definitions_note"], small),
        p(words["figures"], h2),
    ]
    figures, parts = summary.get("figures", {}), summary.get("parts", {})
    before, last_year = summary.get("before", {}), summary.get("last_year", {})
    rows: list[list[Any]] = [[words["figure"], words["value"], words["parts"], periods.get("before", ""),
                              periods.get("last_year", "")]]
    for figure in FIGURES:
        top, below = (parts.get(figure.name) or [None, None])[:2]
        rows.append([text(figure.title, language), shown(figure.name, figures.get(figure.name)),
                     f"{top:g} / {below:g}" if top is not None and below is not None else "",
                     shown(figure.name, before.get(figure.name)), shown(figure.name, last_year.get(figure.name))])
    story.append(table(rows, [55 * mm, 28 * mm, 35 * mm, 31 * mm, 31 * mm]))
    units = summary.get("units", [])
    if units:
        story.append(p(words["units"], h2))
        wanted = ("received", "composite", "response_rate", "resolution_rate", "satisfaction_rate", "on_time_rate")
        header = [words["unit"], *[text(f.title, language) for f in FIGURES if f.name in wanted]]
        story.append(table([header, *[[f"{u['name']} ({u['code']})",
                                        *[shown(n, u["figures"].get(n)) for n in wanted]] for u in units]]))
    for dimension in ("category", "channel"):
        counted = summary.get("breakdowns", {}).get(dimension, [])
        if not counted:
            continue
        label = names.get(dimension, {})
        bars = [(label.get(code, code), now, then) for code, now, then, _ in counted[:12]]
        rows = [[words[dimension], periods.get("month", ""), periods.get("before", ""), periods.get("last_year", "")]]
        rows += [[label.get(code, code), now, then, year] for code, now, then, year in counted]
        story.append(KeepTogether([p(words[f"by_{dimension}"], h2), _bars(bars, words, doc.width)]))
        story.append(table(rows, [70 * mm, 36 * mm, 37 * mm, 37 * mm]))
    spots = summary.get("hot_spots", {})
    if spots.get("rows"):
        story.append(p(words["hot_spots"], h2))
        story.append(p(words["hot_spots_note"], small))
        categories = [names.get("category", {}).get(c, c) for c in spots["categories"]]
        rows = [[words["grid"], *categories]]
        rows += [[f"{name} ({code})", *[n if n else f"<{spots['threshold']}" for n in cells]]
                 for code, name, cells in spots["rows"]]
        story.append(table(rows))
    themes = summary.get("themes", [])
    if themes:
        story.append(p(words["themes"], h2))
        rows = [[words["term"], periods.get("month", ""), periods.get("before", ""), words["change"]]]
        rows += [[term, count, then, f"{change:+d}" if isinstance(change, int) else change]
                 for term, count, then, change in themes]
        story.append(table(rows, [60 * mm, 40 * mm, 40 * mm, 40 * mm]))
    mediation = summary.get("mediation", {})
    story.append(p(words["mediation"], h2))
    success = mediation.get("success", [None, None, None])
    story.append(p(f"{text(next(f.title for f in FIGURES if f.name == 'mediation_success_rate'), language)}: "
                   f"{shown('mediation_success_rate', success[2])} "
                   f"({success[0] or 0:g} / {success[1] or 0:g})"))
    by_state = mediation.get("by_state", {})
    if by_state:
        story.append(table([[words["state"], words["count"]],
                            *[[names.get("mediation_state", {}).get(k, k), v] for k, v in sorted(by_state.items())]],
                           [90 * mm, 40 * mm]))
    lists = summary.get("lists", {})
    story.append(p(words["lists"], h2))
    story.append(table([[words[k], lists.get(k, 0)] for k in ("overdue", "reopened", "dissatisfied", "watch")],
                       [90 * mm, 40 * mm]))
    story.append(Spacer(1, 6 * mm))
    story.append(p(words["workbook_note"], small))
    doc.build(story)
    return out.getvalue()
