"""The case file (卷宗): the whole case as one PDF for the archive, parties masked per the reader.

It lives here, above ``cases``, because it binds the case and its mediations together:
registration, parties, the timeline, sessions and their records, the agreement, visits and
the resident's evaluation.
"""

from __future__ import annotations

import io
from datetime import datetime
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.vocabulary import Category
from workflow.audit import log as audit_log
from workflow.base import config, wallclock
from workflow.base.labels import state_label
from workflow.base.privacy import mask_name, mask_phone, scrub
from workflow.cases.categories import CATEGORIES
from workflow.cases.models import Case, Evaluation
from workflow.cases.tracking import display
from workflow.cases.views import needs_personal_data
from workflow.mediation.agreement_pdf import committee_name, font
from workflow.mediation.steps import current_agreement, mediations_of_case
from workflow.org.models import User

ROLES = {"reporter": "反映人", "applicant": "申请人", "respondent": "被申请人", "third_party": "第三人"}


def _at(value: datetime | None) -> str:
    if value is None:
        return "—"
    return f"{value.astimezone(ZoneInfo(config.timezone_name())):%Y-%m-%d %H:%M}"


def case_file(session: Session, case: Case, reader: User) -> bytes:
    """Return the case file as a PDF, personal data masked unless the reader handles the case."""
    name = font()
    body = ParagraphStyle("body", fontName=name, fontSize=10, leading=15, wordWrap="CJK")
    head = ParagraphStyle("head", parent=body, fontSize=18, leading=26, alignment=1)
    section = ParagraphStyle("section", parent=body, fontSize=12, leading=18, spaceBefore=10)

    def para(text: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(text).replace("\n", "<br/>"), style)

    full = needs_personal_data(reader, case)
    audit_log.record(session, reader.name, "export.case_file", f"case {case.id}", {"masked": not full},
                     actor_unit=reader.unit.code)
    info = CATEGORIES.get(Category(case.category)) if case.category in Category.__members__ else None
    story: list[object] = [
        para("案件卷宗", head),
        para(f"案件编号：{case.id}　查询码：{display(case.tracking_code)}"),
        para(f"类别：{info.zh_hans if info else case.category}　紧急程度：{case.severity}　渠道：{case.channel}"),
        para(f"网格：{case.grid_unit.name}　当前状态：{state_label(case.state, 'zh_Hans')}　"
             f"办理单位：{case.holding_unit.name}"),
        para(f"登记时间：{_at(case.submitted_at)}　期限：{_at(case.deadline_at)}"),
        para("事由：", section), para(case.description if full else scrub(case.description)),
        para("当事人：", section),
    ]
    for p in case.parties:
        shown = p.name if full else mask_name(p.name)
        phone = p.phone if full else mask_phone(p.phone)
        story.append(para(f"{ROLES.get(p.role, p.role)}：{shown}　电话：{phone or '—'}"))
    story.append(para("办理经过：", section))
    rows = [[para(str(e.seq)), para(_at(e.at)), para(e.kind), para(e.actor),
             para((e.reason if full else scrub(e.reason or "")) or "")] for e in case.events]
    if rows:
        table = Table(rows, colWidths=[10 * mm, 30 * mm, 38 * mm, 28 * mm, 60 * mm], repeatRows=0)
        table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                                   ("LINEBELOW", (0, 0), (-1, -1), 0.3, "#999999")]))
        story.append(table)
    for mediation in mediations_of_case(session, case.id):
        story.append(para(f"调解 #{mediation.id}（{committee_name(mediation)}）：{mediation.state}", section))
        for i, s in enumerate(mediation.sessions, start=1):
            story.append(para(f"第{i}次调解 {s.held_on.isoformat()} {s.place}；到场：{'、'.join(s.attendees)}"))
            story.append(para(f"调解笔录：{s.record if full else scrub(s.record)}"))
        agreement = current_agreement(mediation)
        if agreement is not None:
            since = f"，生效于 {_at(agreement.effective_at)}" if agreement.effective_at else "（未生效）"
            story.append(para(f"调解协议 第{agreement.version}版{since}"))
            for j, term in enumerate(agreement.terms, start=1):
                story.append(para(f"{j}. {term['text']}（{term['how']}，{term['due']}前）"))
            if agreement.sha256:
                story.append(para(f"SHA-256：{agreement.sha256}"))
    evaluations = session.scalars(select(Evaluation).where(Evaluation.case_id == case.id).order_by(Evaluation.id))
    answers = {"yes": "已解决", "partly": "部分解决", "no": "未解决"}
    lines = [f"{answers.get(e.resolved, e.resolved)}，满意度 {e.satisfaction}/5"
             f"{'：' + (e.comment if full else scrub(e.comment)) if e.comment else ''}" for e in evaluations]
    if lines:
        story.append(para("居民评价：", section))
        story += [para(line) for line in lines]
    story += [Spacer(1, 6 * mm), para(f"生成时间：{_at(wallclock.now())}　查阅人：{reader.name}")]
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=18 * mm,
                      bottomMargin=18 * mm, title=f"案件卷宗 #{case.id}").build(story)
    return out.getvalue()
