"""Every figure defined once: its formula, what counts above and below the line, which period a case is in.

A figure is a rate (numerator ÷ denominator), a count (cases in the period, beside the cases
open in it), a median of working hours (over the cases measured), or the 三率 composite. The
texts are (Simplified Chinese, Traditional Chinese, English), like ``workflow.base.labels``; the
API, the pages and the README show the same words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from sqlalchemy import ColumnElement

from workflow.analysis.models import CaseFacts as F

Text = tuple[str, str, str]


class FactRow(Protocol):
    """The facts a figure reads (a ``CaseFacts`` row or ``facts.Facts``)."""

    received_at: datetime
    ended_at: datetime | None
    contact_due_at: datetime | None
    contact_at: datetime | None
    responded: bool
    contact_work_s: float | None
    resolved_at: datetime | None
    in_grid: bool
    resolution_work_s: float | None
    settled_at: datetime | None
    on_time: bool
    overdue_at: datetime | None
    supervised_at: datetime | None
    closed_at: datetime | None
    closed_by_resident: bool
    reopen_count: int
    answered_at: datetime | None
    answer_resolved: str | None
    answer_satisfaction: int | None
    mediation_ended_at: datetime | None
    mediation_agreed: bool


class Kind(StrEnum):
    """How a figure is computed from its parts."""

    COUNT = "count"
    RATE = "rate"
    MEDIAN = "median"
    COMPOSITE = "composite"


@dataclass(frozen=True)
class Figure:
    """One figure: where its cases come from (``dated``), which count above the line, how to read it."""

    name: str
    kind: Kind
    title: Text
    formula: Text
    numerator: Text
    denominator: Text
    period: Text
    # The fact whose date puts a case in the period; None for the composite.
    dated: str | None
    counts: Callable[[FactRow], bool] = lambda f: True
    measure: Callable[[FactRow], float | None] = lambda f: None
    higher_is_better: bool = True
    # The same test as ``counts`` in SQL, for the aggregates over a million rows (``aggregate``);
    # tests/unit/analysis checks the two agree.
    counts_sql: Callable[[], ColumnElement[bool]] | None = None
    measure_sql: str | None = None


_OPEN_BELOW: Text = ("期内在办的案件（期末前受理、期初时尚未终结）",
                     "期內在辦的案件（期末前受理、期初時尚未終結）",
                     "cases open in the period (received before its end, not ended before its start)")

FIGURES: tuple[Figure, ...] = (
    Figure(
        "received", Kind.COUNT,
        ("受理量", "受理量", "Cases received"),
        ("期内受理的案件数", "期內受理的案件數", "number of cases received in the period"),
        ("期内受理的案件", "期內受理的案件", "cases received in the period"),
        _OPEN_BELOW,
        ("按受理时间", "按受理時間", "by when the case was received"),
        "received_at",
    ),
    Figure(
        "response_rate", Kind.RATE,
        ("响应率", "響應率", "Response rate"),
        ("按时签收 ÷ 应响应", "按時簽收 ÷ 應響應", "signed for in time ÷ due for response"),
        ("在首次联系时限内签收（或当场办结）的案件", "在首次聯繫時限內簽收（或當場辦結）的案件",
         "cases signed for (or resolved on the spot) by the first level within its first-contact deadline"),
        ("首次联系时限落在期内的案件（时限前已驳回、撤回或合并且无人签收的除外）",
         "首次聯繫時限落在期內的案件（時限前已駁回、撤回或合併且無人簽收的除外）",
         "cases whose first-contact deadline fell in the period (except those rejected, withdrawn or "
         "merged before it without being signed for)"),
        ("按首次联系时限", "按首次聯繫時限", "by the first-contact deadline"),
        "contact_due_at", counts=lambda f: f.responded, counts_sql=lambda: F.responded.is_(True),
    ),
    Figure(
        "resolution_rate", Kind.RATE,
        ("解决率", "解決率", "Resolution rate"),
        ("答“已解决” ÷ 有效回答", "答「已解決」÷ 有效回答", "“resolved” answers ÷ valid answers"),
        ("居民最后一次回答为“已解决”的案件", "居民最後一次回答為「已解決」的案件",
         "cases whose resident last answered “resolved: yes”"),
        ("居民最后一次回答落在期内的案件", "居民最後一次回答落在期內的案件",
         "cases whose resident's last answer fell in the period"),
        ("按居民最后一次回答的时间", "按居民最後一次回答的時間", "by the resident's last answer"),
        "answered_at", counts=lambda f: f.answer_resolved == "yes", counts_sql=lambda: F.answer_resolved == "yes",
    ),
    Figure(
        "satisfaction_rate", Kind.RATE,
        ("满意率", "滿意率", "Satisfaction rate"),
        ("（非常满意＋满意＋基本满意）÷ 有效评价", "（非常滿意＋滿意＋基本滿意）÷ 有效評價",
         "(very satisfied + satisfied + basically satisfied) ÷ valid ratings"),
        ("最后一次评价为3至5分的案件", "最後一次評價為3至5分的案件", "cases whose last rating was 3, 4 or 5 of 5"),
        ("居民最后一次回答落在期内的案件", "居民最後一次回答落在期內的案件",
         "cases whose resident's last answer fell in the period"),
        ("按居民最后一次回答的时间", "按居民最後一次回答的時間", "by the resident's last answer"),
        "answered_at", counts=lambda f: (f.answer_satisfaction or 0) >= 3,
        counts_sql=lambda: F.answer_satisfaction >= 3,
    ),
    Figure(
        "on_time_rate", Kind.RATE,
        ("按时办结率", "按時辦結率", "On-time completion rate"),
        ("在（延期后的）时限内办结 ÷ 期内到期", "在（延期後的）時限內辦結 ÷ 期內到期",
         "resolved within the (extended) deadline ÷ due in the period"),
        ("在当时有效的时限内首次办结、此前从未超时的案件（暂停的时间不计）",
         "在當時有效的時限內首次辦結、此前從未逾時的案件（暫停的時間不計）",
         "cases first resolved within the deadline then in force, never overdue before (paused time does not count)"),
        ("期内首次办结或首次超时（以先发生者为准）的案件", "期內首次辦結或首次逾時（以先發生者為準）的案件",
         "cases first resolved, or first overdue, in the period, whichever came first"),
        ("按首次办结或首次超时，以先者为准", "按首次辦結或首次逾時，以先者為準",
         "by the first resolution or the first overdue, whichever came first"),
        "settled_at", counts=lambda f: f.on_time, counts_sql=lambda: F.on_time.is_(True),
    ),
    Figure(
        "in_grid_rate", Kind.RATE,
        ("化解在网格率", "化解在網格率", "Resolved-in-grid rate"),
        ("在网格层级化解 ÷ 已化解", "在網格層級化解 ÷ 已化解", "resolved at grid level ÷ resolved"),
        ("由网格首次办结、此前从未上交的案件（上交后退回再办结的不算）",
         "由網格首次辦結、此前從未上交的案件（上交後退回再辦結的不算）",
         "cases first resolved by the grid without ever going up (escalated and sent back does not count)"),
        ("期内首次办结的案件", "期內首次辦結的案件", "cases first resolved in the period"),
        ("按首次办结时间", "按首次辦結時間", "by the first resolution"),
        "resolved_at", counts=lambda f: f.in_grid, counts_sql=lambda: F.in_grid.is_(True),
    ),
    Figure(
        "redo_rate", Kind.RATE,
        ("发回重办率", "發回重辦率", "Redo rate"),
        ("被重新办理 ÷ 结案", "被重新辦理 ÷ 結案", "reopened ÷ closed"),
        ("结案前曾被居民退回重办的案件", "結案前曾被居民退回重辦的案件",
         "cases reopened by the resident at least once before closing"),
        ("期内结案的案件", "期內結案的案件", "cases closed in the period"),
        ("按结案时间", "按結案時間", "by when the case was closed"),
        "closed_at", counts=lambda f: f.reopen_count > 0, counts_sql=lambda: F.reopen_count > 0,
        higher_is_better=False,
    ),
    Figure(
        "participation_rate", Kind.RATE,
        ("评价参与率", "評價參與率", "Evaluation participation"),
        ("居民回答后结案 ÷ 结案", "居民回答後結案 ÷ 結案", "closed on the resident's answer ÷ closed"),
        ("因居民回答而结案的案件", "因居民回答而結案的案件", "cases closed by the resident's answer"),
        ("期内结案的案件（含逾期未评价自动结案）", "期內結案的案件（含逾期未評價自動結案）",
         "cases closed in the period (including those closed with no answer in time)"),
        ("按结案时间", "按結案時間", "by when the case was closed"),
        "closed_at", counts=lambda f: f.closed_by_resident, counts_sql=lambda: F.closed_by_resident.is_(True),
    ),
    Figure(
        "mediation_success_rate", Kind.RATE,
        ("调解成功率", "調解成功率", "Mediation success rate"),
        ("达成协议 ÷ 调解终结", "達成協議 ÷ 調解終結", "agreements in effect ÷ mediations concluded"),
        ("调解协议生效（各方当事人与调解员均已签字）的案件", "調解協議生效（各方當事人與調解員均已簽字）的案件",
         "cases whose mediation agreement took effect (every party and the mediator signed)"),
        ("期内调解终结的案件：协议生效，或调解不成、撤回且没有仍在进行的调解",
         "期內調解終結的案件：協議生效，或調解不成、撤回且沒有仍在進行的調解",
         "cases whose mediation concluded in the period: the agreement took effect, or it failed or was "
         "withdrawn with no mediation of the case still open"),
        ("按协议生效或调解终结的时间", "按協議生效或調解終結的時間",
         "by when the agreement took effect or the mediation ended"),
        "mediation_ended_at", counts=lambda f: f.mediation_agreed, counts_sql=lambda: F.mediation_agreed.is_(True),
    ),
    Figure(
        "overdue", Kind.COUNT,
        ("超时案件", "逾時案件", "Overdue cases"),
        ("期内首次超时的案件数", "期內首次逾時的案件數", "number of cases first overdue in the period"),
        ("期内首次超过办理时限的案件", "期內首次超過辦理時限的案件", "cases whose deadline first passed in the period"),
        _OPEN_BELOW,
        ("按首次超时时间", "按首次逾時時間", "by when the deadline first passed"),
        "overdue_at", higher_is_better=False,
    ),
    Figure(
        "supervised", Kind.COUNT,
        ("督办案件", "督辦案件", "Supervised cases"),
        ("期内首次被督办的案件数", "期內首次被督辦的案件數", "number of cases first supervised in the period"),
        ("期内首次被督办（人工督办或街道超时）的案件", "期內首次被督辦（人工督辦或街道逾時）的案件",
         "cases first supervised in the period (by a member, or overdue at the street)"),
        _OPEN_BELOW,
        ("按首次督办时间", "按首次督辦時間", "by when the case was first supervised"),
        "supervised_at", higher_is_better=False,
    ),
    Figure(
        "median_contact_hours", Kind.MEDIAN,
        ("首次联系用时中位数", "首次聯繫用時中位數", "Median time to first contact"),
        ("派发至首次签收的工作时间（小时）的中位数", "派發至首次簽收的工作時間（小時）的中位數",
         "median working hours from dispatch to first contact"),
        ("期内首次签收的案件（参与计算）", "期內首次簽收的案件（參與計算）",
         "cases first contacted in the period (measured)"),
        ("同上", "同上", "the same cases"),
        ("按首次签收时间", "按首次簽收時間", "by when the case was first contacted"),
        "contact_at", measure=lambda f: f.contact_work_s, measure_sql="contact_work_s", higher_is_better=False,
    ),
    Figure(
        "median_resolution_hours", Kind.MEDIAN,
        ("办结用时中位数", "辦結用時中位數", "Median time to resolution"),
        ("受理至首次办结的工作时间（小时）的中位数", "受理至首次辦結的工作時間（小時）的中位數",
         "median working hours from receipt to first resolution"),
        ("期内首次办结的案件（参与计算）", "期內首次辦結的案件（參與計算）",
         "cases first resolved in the period (measured)"),
        ("同上", "同上", "the same cases"),
        ("按首次办结时间", "按首次辦結時間", "by the first resolution"),
        "resolved_at", measure=lambda f: f.resolution_work_s, measure_sql="resolution_work_s",
        higher_is_better=False,
    ),
    Figure(
        "composite", Kind.COMPOSITE,
        ("三率综合", "三率綜合", "Three-rate composite"),
        ("w₁·响应率 + w₂·解决率 + w₃·满意率（默认 0.30/0.35/0.35）",
         "w₁·響應率 + w₂·解決率 + w₃·滿意率（預設 0.30/0.35/0.35）",
         "w₁·response + w₂·resolution + w₃·satisfaction (default 0.30/0.35/0.35)"),
        ("各率乘以权重之和（无数据的率不计）", "各率乘以權重之和（無數據的率不計）",
         "the weighted sum of the rates that have data"),
        ("有数据的各率的权重之和", "有數據的各率的權重之和", "the sum of the weights of the rates that have data"),
        ("同三率各自的期间", "同三率各自的期間", "each rate by its own period"),
        None,
    ),
)

BY_NAME = {figure.name: figure for figure in FIGURES}
COMPOSITE_PARTS = {"response": "response_rate", "resolution": "resolution_rate", "satisfaction": "satisfaction_rate"}
# The dated facts a figure may put a case in a period by, and the breakdowns of "received".
DATED = sorted({f.dated for f in FIGURES if f.dated})
BREAKDOWNS = ("channel", "category", "severity")


def text(value: Text, language: str) -> str:
    """Return the text in ``language`` (zh_Hans, zh_Hant or en)."""
    return value[{"zh_Hans": 0, "zh_Hant": 1}.get(language, 2)]
