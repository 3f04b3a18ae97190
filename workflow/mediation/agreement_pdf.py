"""The agreement (人民调解协议书) as a PDF in the standard layout, Chinese font embedded (ReportLab).

The PDF is made once, when the last signature makes the agreement take effect, and kept with
its SHA-256: the copy downloaded later is the copy that was signed. It is handed to both
parties, so it carries no full contact data: names, phones, ID numbers and addresses are masked.
"""

from __future__ import annotations

import io
import os
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from workflow.base import config
from workflow.base.privacy import mask_name, mask_phone

if TYPE_CHECKING:
    from workflow.mediation.models import Agreement, Mediation

# Debian's fonts-wqy-microhei; GRIDCASE_PDF_FONT names another TrueType (.ttf/.ttc) font with Chinese glyphs.
DEFAULT_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
FONT = "GridcaseCJK"
SEX = {"male": "男", "female": "女"}
# The agreement is laid out in Simplified Chinese (the district's written standard) and, for a reader
# who reads Traditional, in Traditional Chinese; an English reader gets the Chinese legal text.
PDF_LANGUAGES = ("zh_Hans", "zh_Hant")
# The fixed words of the layout: (Simplified, Traditional). What the mediator typed stays as typed.
WORDS: dict[str, tuple[str, str]] = {
    "title": ("人民调解协议书", "人民調解協議書"),
    "number": ("（{year}）调字第 {number} 号", "（{year}）調字第 {number} 號"),
    "party": ("当事人{i}（{role}）：{name}，性别：{sex}，出生日期或年龄：{born}，身份证号：{id}，住址：{address}，"
              "联系方式：{phone}",
              "當事人{i}（{role}）：{name}，性別：{sex}，出生日期或年齡：{born}，身分證號：{id}，住址：{address}，"
              "聯絡方式：{phone}"),
    "applicant": ("申请人", "申請人"),
    "respondent": ("被申请人", "被申請人"),
    "third_party": ("第三人", "第三人"),
    "a_party": ("当事人", "當事人"),
    "facts": ("纠纷主要事实、争议事项及各方责任：", "糾紛主要事實、爭議事項及各方責任："),
    "agreed": ("经调解，各方当事人自愿达成如下协议：", "經調解，各方當事人自願達成如下協議："),
    "every_party": ("各方当事人", "各方當事人"),
    "term": ("{i}. {text}（履行人：{who}；履行方式：{how}；履行期限：{due}前）",
             "{i}. {text}（履行人：{who}；履行方式：{how}；履行期限：{due}前）"),
    "effect": ("履行方式、时限见上列各条。本协议自各方当事人签名、人民调解员签名并加盖人民调解委员会印章之日起生效。"
               "各方当事人可以自本协议生效之日起三十日内共同向人民法院申请司法确认。",
               "履行方式、時限見上列各條。本協議自各方當事人簽名、人民調解員簽名並加蓋人民調解委員會印章之日起生效。"
               "各方當事人可以自本協議生效之日起三十日內共同向人民法院申請司法確認。"),
    "copies": ("本协议一式三份，双方当事人、人民调解委员会各执一份。",
               "本協議一式三份，雙方當事人、人民調解委員會各執一份。"),
    "mediator": ("人民调解员", "人民調解員"),
    "paper": ("（纸面签名照片）", "（紙面簽名照片）"),
    "seal": ("（印章）", "（印章）"),
    "committee": ("{unit}人民调解委员会", "{unit}人民調解委員會"),
    "male": ("男", "男"),
    "female": ("女", "女"),
}


def word(key: str, language: str, **values: object) -> str:
    """Return a fixed word of the layout in ``language`` (Traditional for zh_Hant, else Simplified)."""
    text = WORDS[key][1 if language == "zh_Hant" else 0]
    return text.format(**values) if values else text


def pdf_language(language: str | None) -> str:
    """Return the language a reader gets the agreement in: Traditional for zh_Hant, else Simplified."""
    return "zh_Hant" if language == "zh_Hant" else "zh_Hans"


@cache
def font() -> str:
    """Register the embedded Chinese font once; return its name."""
    return _font()


def _font() -> str:
    path = Path(os.environ.get("GRIDCASE_PDF_FONT") or DEFAULT_FONT)
    pdfmetrics.registerFont(TTFont(FONT, str(path), subfontIndex=0))
    return FONT


def mask_id(number: str | None) -> str:
    """Return ``1504**********123X`` for an 18-digit ID number: the first four and last four kept."""
    if not number:
        return ""
    return number[:4] + "*" * max(len(number) - 8, 0) + number[-4:] if len(number) > 8 else "*" * len(number)


def mask_address(address: str | None) -> str:
    """Return an address cut to its first eight characters: to the compound, never the door."""
    if not address:
        return ""
    return address[:8] + ("***" if len(address) > 8 else "")


def committee_name(mediation: Mediation, language: str = "zh_Hans") -> str:
    """Return the name the agreement is issued under: the committee at a general branch, else the unit."""
    if mediation.kind == "committee":
        return word("committee", language, unit=mediation.unit.name)
    return mediation.unit.name


def _day(value: date | datetime) -> str:
    if isinstance(value, datetime):
        value = value.astimezone(ZoneInfo(config.timezone_name())).date()
    return f"{value.year}年{value.month}月{value.day}日"


def render_agreement(mediation: Mediation, agreement: Agreement, language: str = "zh_Hans") -> bytes:
    """Return the PDF of one agreement version with its signatures, the committee's name and a seal box.

    ``language`` is zh_Hans or zh_Hant: the layout's words in that script; the parties' facts and the
    terms as the mediator wrote them (they are what was signed).
    """
    lang = pdf_language(language)
    font = _font()
    body = ParagraphStyle("body", fontName=font, fontSize=11, leading=18, wordWrap="CJK")
    head = ParagraphStyle("head", parent=body, fontSize=20, leading=30, alignment=1)
    sub = ParagraphStyle("sub", parent=body, alignment=2)
    section = ParagraphStyle("section", parent=body, fontSize=12, leading=20, spaceBefore=8)

    def para(text: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(text).replace("\n", "<br/>"), style)

    year = (agreement.effective_at or agreement.drafted_at).year
    story: list[object] = [
        para(word("title", lang), head),
        para(word("number", lang, year=year, number=f"{mediation.id:04d}-{agreement.version}"), sub),
        Spacer(1, 4 * mm),
    ]
    facts = {f.get("party_id"): f for f in agreement.party_facts}
    # The reporter of a dispute is its applicant unless one is named (steps.propose).
    roles = {"reporter": "applicant", "applicant": "applicant", "respondent": "respondent",
             "third_party": "third_party"}
    for i, party in enumerate(mediation.parties, start=1):
        cp = party.case_party
        f = facts.get(cp.id, {})
        sex = str(f.get("sex") or "")
        story.append(para(word(
            "party", lang, i=i, role=word(roles.get(cp.role, "a_party"), lang), name=mask_name(cp.name),
            sex=word(sex, lang) if sex in SEX else "—", born=str(f.get("birth") or "") or "—",
            id=mask_id(f.get("id_number")) or "—", address=mask_address(f.get("address")) or "—",
            phone=mask_phone(cp.phone) or "—")))
    story += [para(word("facts", lang), section), para(agreement.facts),
              para(agreement.responsibility), para(word("agreed", lang), section)]
    names = {p.case_party_id: mask_name(p.case_party.name) for p in mediation.parties}
    for i, term in enumerate(agreement.terms, start=1):
        who = names.get(int(term["party_id"])) if term.get("party_id") is not None else word("every_party", lang)
        story.append(para(word("term", lang, i=i, text=term["text"], who=who, how=term["how"],
                               due=_day(date.fromisoformat(term["due"])))))
    story += [para(word("effect", lang), section), para(word("copies", lang)), Spacer(1, 6 * mm)]
    rows = []
    for sig in agreement.signatures:
        label = word("mediator", lang) if sig.signer == "mediator" else word("a_party", lang)
        shown = sig.signer_name if sig.signer == "mediator" else mask_name(sig.signer_name)
        how = word("paper", lang) if sig.method == "paper_photo" else ""
        image = Image(io.BytesIO(sig.image), width=45 * mm, height=15 * mm, kind="proportional")
        rows.append([para(f"{label}：{shown}{how}"), image, para(_day(sig.at))])
    if rows:
        table = Table(rows, colWidths=[60 * mm, 55 * mm, 45 * mm])
        table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                                   ("LINEBELOW", (0, 0), (-1, -1), 0.3, "#999999")]))
        story.append(table)
    seal = Table([[para(word("seal", lang), ParagraphStyle("seal", parent=body, alignment=1, textColor="#b00000"))]],
                 colWidths=[40 * mm], rowHeights=[40 * mm])
    seal.hAlign = "RIGHT"
    seal.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 1, "#b00000"), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    story += [Spacer(1, 8 * mm), para(committee_name(mediation, lang), sub), seal,
              para(_day(agreement.effective_at or agreement.drafted_at), sub)]
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=22 * mm, rightMargin=22 * mm, topMargin=20 * mm,
                            bottomMargin=20 * mm, title=word("title", lang), author=committee_name(mediation, lang))
    doc.build(story)
    return out.getvalue()
