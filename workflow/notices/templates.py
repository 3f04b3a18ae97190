"""The text of every notice, per event kind and language, with personal data masked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from schemas.vocabulary import Category, Level
from workflow.base import config
from workflow.base.labels import LANGUAGES, LEVEL_LABELS
from workflow.base.privacy import scrub
from workflow.cases.categories import CATEGORIES

# (Simplified Chinese, Traditional Chinese, English) of the first line of each notice.
LEADS: dict[str, tuple[str, str, str]] = {
    "case.dispatched": ("新案件已派到{unit}", "新案件已派到{unit}", "New case for {unit}"),
    "case.emergency": ("紧急案件(P0)已直报街道,请各级关注", "緊急案件(P0)已直報街道,請各級關注",
                       "Emergency (P0): sent straight to the street; every level take note"),
    "case.escalated": ("案件已升级到{unit}", "案件已升級到{unit}", "Case escalated to {unit}"),
    "case.taken_over": ("案件已由上级提级办理", "案件已由上級提級辦理", "Case taken over by a higher level"),
    "case.sent_back": ("案件已退回{unit}办理", "案件已退回{unit}辦理", "Case sent back to {unit}"),
    "case.reopened": ("居民对结果不满意,案件重办", "居民對結果不滿意,案件重辦",
                      "Resident not satisfied: case reopened"),
    "case.urged": ("上级催办", "上級催辦", "Urged by a higher level"),
    "case.supervised": ("上级督办", "上級督辦", "Supervised by a higher level"),
    "case.supervision_flagged": ("街道级超期,已列入督办", "街道級超期,已列入督辦",
                                 "Overdue at the street: flagged for supervision"),
    "case.deadline_warning": ("即将超期预警", "即將超期預警", "Deadline approaching"),
    "case.not_signed": ("{unit}尚未签收案件", "{unit}尚未簽收案件", "{unit} has not signed for the case"),
    "case.pause_requested": ("申请挂起,待审批", "申請掛起,待審批", "Pause requested: please decide"),
    "case.paused": ("挂起已批准", "掛起已批准", "Pause approved"),
    "case.pause_refused": ("挂起未批准", "掛起未批准", "Pause refused"),
    "case.extension_requested": ("申请延期,待审批", "申請延期,待審批", "Extension requested: please decide"),
    "case.extended": ("延期已批准", "延期已批准", "Extension approved"),
    "case.extension_refused": ("延期未批准", "延期未批准", "Extension refused"),
    "case.reported_back": ("您反映的问题已办结", "您反映的問題已辦結", "Your complaint has been handled"),
    "case.rejected": ("您反映的问题不予受理", "您反映的問題不予受理", "Your complaint was not accepted"),
    # For the integrator that filed the case (its webhook).
    "case.resolved": ("案件已办结", "案件已辦結", "Case resolved"),
    "case.closed": ("案件已结案", "案件已結案", "Case closed"),
    "case.withdrawn": ("案件已撤回", "案件已撤回", "Case withdrawn"),
    "case.merged": ("案件已合并到另一案件", "案件已合併到另一案件", "Case merged into another"),
}
_FIELDS = {
    "zh_Hans": ("案件", "类别", "级别", "期限", "说明", "查看"),
    "zh_Hant": ("案件", "類別", "級別", "期限", "說明", "查看"),
    "en": ("Case", "Category", "Severity", "Deadline", "Note", "Follow"),
}
_RESIDENT_TAIL = {
    "zh_Hans": "请在此查看并评价:{link}",
    "zh_Hant": "請在此查看並評價:{link}",
    "en": "See it and tell us if it was solved: {link}",
}
_REJECTED_TAIL = {
    "zh_Hans": "如有异议,可拨打12345或到社区服务中心咨询。",
    "zh_Hant": "如有異議,可撥打12345或到社區服務中心諮詢。",
    "en": "If you disagree, call 12345 or visit the community service centre.",
}


@dataclass(frozen=True)
class Rendered:
    """A notice ready for a channel: a title and a plain-text body."""

    title: str
    body: str
    topic: str
    language: str


def render(topic: str, language: str, payload: dict[str, Any], unit_name: str | None,
           deadline: datetime | None, link: str | None) -> Rendered:
    """Return the notice for ``topic`` in ``language``; free text is scrubbed of phones and ID numbers."""
    lang = language if language in LANGUAGES else "zh_Hans"
    index = LANGUAGES.index(lang)
    lead = LEADS.get(topic, (topic, topic, topic))[index].format(unit=unit_name or "")
    case_word, cat_word, sev_word, due_word, note_word, link_word = _FIELDS[lang]
    category = str(payload.get("category"))
    info = CATEGORIES.get(Category(category)) if category in Category.__members__ else None
    category_name = (info.zh_hans, info.zh_hant, info.en)[index] if info else str(category)
    level = payload.get("level")
    level_name = LEVEL_LABELS[Level(level)][index] if level in {lv.value for lv in Level} else ""
    lines = [lead, f"{case_word} #{payload.get('case_id')} · {cat_word}: {category_name} · {sev_word}: "
                   f"{payload.get('severity')} · {level_name}"]
    if deadline is not None:
        local = deadline.astimezone(ZoneInfo(config.timezone_name()))
        lines.append(f"{due_word}: {local:%Y-%m-%d %H:%M}")
    if payload.get("message"):
        lines.append(f"{note_word}: {scrub(str(payload['message']))}")
    if topic in ("case.reported_back", "case.extended") and link:
        lines.append(_RESIDENT_TAIL[lang].format(link=link))
    elif topic == "case.rejected":
        lines.append(_REJECTED_TAIL[lang])
    elif link:
        lines.append(f"{link_word}: {link}")
    return Rendered(title=lead, body="\n".join(lines), topic=topic, language=lang)
