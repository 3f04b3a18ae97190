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
from workflow.mediation.agreement_pdf import committee_name, font, pdf_language
from workflow.mediation.steps import current_agreement, mediations_of_case
from workflow.org.models import User

# The file's fixed words: (Simplified, Traditional). A reader of zh_Hant gets Traditional, anyone else
# Simplified (the archive is kept in Chinese); what people wrote stays as they wrote it.
WORDS: dict[str, tuple[str, str]] = {
    "title": ("案件卷宗", "案件卷宗"),
    "ids": ("案件编号：{id}　查询码：{code}", "案件編號：{id}　查詢碼：{code}"),
    "kind": ("类别：{category}　紧急程度：{severity}　渠道：{channel}",
             "類別：{category}　緊急程度：{severity}　管道：{channel}"),
    "where": ("网格：{grid}　当前状态：{state}　办理单位：{unit}", "網格：{grid}　目前狀態：{state}　辦理單位：{unit}"),
    "when": ("登记时间：{at}　期限：{due}", "登記時間：{at}　期限：{due}"),
    "about": ("事由：", "事由："),
    "parties": ("当事人：", "當事人："),
    "party": ("{role}：{name}　电话：{phone}", "{role}：{name}　電話：{phone}"),
    "reporter": ("反映人", "反映人"),
    "applicant": ("申请人", "申請人"),
    "respondent": ("被申请人", "被申請人"),
    "third_party": ("第三人", "第三人"),
    "steps": ("办理经过：", "辦理經過："),
    "mediation": ("调解 #{id}（{by}）：{state}", "調解 #{id}（{by}）：{state}"),
    "session": ("第{i}次调解 {on} {place}；到场：{who}", "第{i}次調解 {on} {place}；到場：{who}"),
    "record": ("调解笔录：{text}", "調解筆錄：{text}"),
    "agreement": ("调解协议 第{v}版{since}", "調解協議 第{v}版{since}"),
    "since": ("，生效于 {at}", "，生效於 {at}"),
    "not_yet": ("（未生效）", "（未生效）"),
    "evaluation": ("居民评价：", "居民評價："),
    "yes": ("已解决", "已解決"),
    "partly": ("部分解决", "部分解決"),
    "no": ("未解决", "未解決"),
    "rating": ("{answer}，满意度 {n}/5", "{answer}，滿意度 {n}/5"),
    "made": ("生成时间：{at}　查阅人：{who}", "產生時間：{at}　查閱人：{who}"),
}


def _w(key: str, language: str, **values: object) -> str:
    text = WORDS[key][1 if language == "zh_Hant" else 0]
    return text.format(**values) if values else text


def _at(value: datetime | None) -> str:
    if value is None:
        return "—"
    return f"{value.astimezone(ZoneInfo(config.timezone_name())):%Y-%m-%d %H:%M}"


def case_file(session: Session, case: Case, reader: User, language: str = "zh_Hans") -> bytes:
    """Return the case file as a PDF, personal data masked unless the reader handles the case.

    ``language``: the reader's; zh_Hant gets the file in Traditional Chinese, any other Simplified.
    """
    lang = pdf_language(language)
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
    category = (info.zh_hant if lang == "zh_Hant" else info.zh_hans) if info else case.category
    story: list[object] = [
        para(_w("title", lang), head),
        para(_w("ids", lang, id=case.id, code=display(case.tracking_code))),
        para(_w("kind", lang, category=category, severity=case.severity, channel=case.channel)),
        para(_w("where", lang, grid=case.grid_unit.name, state=state_label(case.state, lang),
                unit=case.holding_unit.name)),
        para(_w("when", lang, at=_at(case.submitted_at), due=_at(case.deadline_at))),
        para(_w("about", lang), section), para(case.description if full else scrub(case.description)),
        para(_w("parties", lang), section),
    ]
    for p in case.parties:
        shown = p.name if full else mask_name(p.name)
        phone = p.phone if full else mask_phone(p.phone)
        role = _w(p.role, lang) if p.role in WORDS else p.role
        story.append(para(_w("party", lang, role=role, name=shown, phone=phone or "—")))
    story.append(para(_w("steps", lang), section))
    rows = [[para(str(e.seq)), para(_at(e.at)), para(e.kind), para(e.actor),
             para((e.reason if full else scrub(e.reason or "")) or "")] for e in case.events]
    if rows:
        table = Table(rows, colWidths=[10 * mm, 30 * mm, 38 * mm, 28 * mm, 60 * mm], repeatRows=0)
        table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                                   ("LINEBELOW", (0, 0), (-1, -1), 0.3, "#999999")]))
        story.append(table)
    for mediation in mediations_of_case(session, case.id):
        story.append(para(_w("mediation", lang, id=mediation.id, by=committee_name(mediation, lang),
                             state=mediation.state), section))
        for i, s in enumerate(mediation.sessions, start=1):
            story.append(para(_w("session", lang, i=i, on=s.held_on.isoformat(), place=s.place,
                                 who="、".join(s.attendees))))
            story.append(para(_w("record", lang, text=s.record if full else scrub(s.record))))
        agreement = current_agreement(mediation)
        if agreement is not None:
            since = (_w("since", lang, at=_at(agreement.effective_at)) if agreement.effective_at
                     else _w("not_yet", lang))
            story.append(para(_w("agreement", lang, v=agreement.version, since=since)))
            for j, term in enumerate(agreement.terms, start=1):
                story.append(para(f"{j}. {term['text']}（{term['how']}，{term['due']}前）"))
            signed = agreement.sha256_hant if lang == "zh_Hant" and agreement.sha256_hant else agreement.sha256
            if signed:
                story.append(para(f"SHA-256：{signed}"))
    evaluations = session.scalars(select(Evaluation).where(Evaluation.case_id == case.id).order_by(Evaluation.id))
    lines = []
    for e in evaluations:
        answer = _w(e.resolved, lang) if e.resolved in ("yes", "partly", "no") else e.resolved
        said = f"：{e.comment if full else scrub(e.comment)}" if e.comment else ""
        lines.append(_w("rating", lang, n=e.satisfaction, answer=answer) + said)
    if lines:
        story.append(para(_w("evaluation", lang), section))
        story += [para(line) for line in lines]
    story += [Spacer(1, 6 * mm), para(_w("made", lang, at=_at(wallclock.now()), who=reader.name))]
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=18 * mm,
                      bottomMargin=18 * mm, title=f"{_w('title', lang)} #{case.id}").build(story)
    return out.getvalue()
