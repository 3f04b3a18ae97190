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

# (Simplified Chinese, Traditional Chinese, English) of the first line of each notice: what happened.
LEADS: dict[str, tuple[str, str, str]] = {
    "case.dispatched": ("新案件已派到{unit}", "新案件已派到{unit}", "New case for {unit}"),
    "case.emergency": ("紧急案件(P0)已直报街道", "緊急案件(P0)已直報街道",
                       "Emergency (P0): sent straight to the street"),
    "case.escalated": ("案件已升级到{unit}", "案件已升級到{unit}", "Case escalated to {unit}"),
    "case.taken_over": ("案件已由上级提级办理", "案件已由上級提級辦理", "Case taken over by a higher level"),
    "case.sent_back": ("案件已退回{unit}办理", "案件已退回{unit}辦理", "Case sent back to {unit}"),
    "case.reopened": ("居民表示问题未解决,案件重办", "居民表示問題未解決,案件重辦",
                      "The resident says it is not resolved: case reopened"),
    "case.urged": ("上级催办", "上級催辦", "Urged by a higher level"),
    "case.supervised": ("上级督办", "上級督辦", "Supervised by a higher level"),
    "case.supervision_flagged": ("街道级超期,已列入督办", "街道級超期,已列入督辦",
                                 "Overdue at the street: flagged for supervision"),
    "case.deadline_warning": ("案件即将超期", "案件即將超期", "Deadline approaching"),
    "case.not_signed": ("{unit}尚未签收案件", "{unit}尚未簽收案件", "{unit} has not signed for the case"),
    "case.pause_requested": ("下级申请挂起(暂停计时)", "下級申請掛起(暫停計時)",
                             "The level below asks to pause the clock"),
    "case.paused": ("挂起已批准", "掛起已批准", "Pause approved"),
    "case.pause_refused": ("挂起未批准", "掛起未批准", "Pause refused"),
    "case.extension_requested": ("下级申请延期", "下級申請延期", "The level below asks for more time"),
    "case.extended": ("延期已批准", "延期已批准", "Extension approved"),
    "case.extension_refused": ("延期未批准", "延期未批准", "Extension refused"),
    "case.reported_back": ("您反映的问题已办结", "您反映的問題已辦結", "Your complaint has been handled"),
    "case.rejected": ("您反映的问题不予受理", "您反映的問題不予受理", "Your complaint was not accepted"),
    "decision.proposed": ("社区提出议事事项(四议两公开),报街道", "社區提出議事事項(四議兩公開),報街道",
                          "A community decision proposed (四议两公开), reported to the street"),
    "decision.result_published": ("社区议事事项实施结果已公开,报街道", "社區議事事項實施結果已公開,報街道",
                                  "A community decision's result is published, reported to the street"),
    "decision.objected": ("居民对公开的议事事项提出异议,公示已暂停", "居民對公開的議事事項提出異議,公示已暫停",
                          "A resident objects to a published decision: the publication period is paused"),
    "decision.period_over": ("议事事项公示期已满", "議事事項公示期已滿", "A decision's publication period is over"),
    "decision.commented": ("街道对议事事项提出意见", "街道對議事事項提出意見", "The street commented on a decision"),
    "mediation.proposed": ("{unit}已提出调解,请征询各方当事人意见", "{unit}已提出調解,請徵詢各方當事人意見",
                           "{unit} proposed mediation: ask each party whether they agree"),
    "mediation.failed": ("调解未成功", "調解未成功", "The mediation failed"),
    "mediation.agreed": ("调解协议已生效", "調解協議已生效", "The mediation agreement is in effect"),
    "mediation.breached": ("回访发现调解协议未履行", "回訪發現調解協議未履行",
                           "A follow-up visit found the agreement breached"),
    "mediation.deadline_warning": ("调解期限即将届满", "調解期限即將屆滿", "The mediation's time is running out"),
    "mediation.escalated": ("调解超期,已转{unit}人民调解委员会", "調解逾期,已轉{unit}人民調解委員會",
                            "Mediation overdue: passed to the people's mediation committee of {unit}"),
    "mediation.overdue": ("人民调解委员会调解超期", "人民調解委員會調解逾期",
                          "The people's mediation committee's mediation is overdue"),
    "mediation.confirmation_reminder": ("调解协议生效已20日,当事人尚未申请司法确认",
                                        "調解協議生效已20日,當事人尚未申請司法確認",
                                        "20 days since the agreement took effect: no judicial confirmation "
                                        "applied for"),
    "mediation.visit_due": ("调解协议回访到期", "調解協議回訪到期",
                            "A follow-up visit of a mediation agreement is due"),
    "case.dispute_reopened": ("调解协议未履行,纠纷重新交{unit}办理", "調解協議未履行,糾紛重新交{unit}辦理",
                              "The mediation agreement was breached: the dispute is back with {unit}"),
    "case.love_call": ("爱心呼叫:{unit}有居民求助", "愛心呼叫:{unit}有居民求助",
                       "Love call (爱心呼叫): a resident of {unit} calls for help"),
    "risk.check_overdue": ("矛盾隐患未按期复查", "矛盾隱患未按期複查", "A risk was not checked in time"),
    "risk.escalated": ("矛盾隐患逾期未复查,已报支部", "矛盾隱患逾期未複查,已報支部",
                       "A risk is overdue for its check: the branch is told"),
    # For the integrator that filed the case (its webhook).
    "case.resolved": ("案件已办结", "案件已辦結", "Case resolved"),
    "case.closed": ("案件已结案", "案件已結案", "Case closed"),
    "case.withdrawn": ("案件已撤回", "案件已撤回", "Case withdrawn"),
    "case.merged": ("案件已合并到另一案件", "案件已合併到另一案件", "Case merged into another"),
}
# What the reader of a staff notice may do now, after what happened.
NEXT: dict[str, tuple[str, str, str]] = {
    "case.dispatched": ("请尽快签收,并联系当事人。", "請盡快簽收,並聯絡當事人。",
                        "Sign for it and contact the people involved."),
    "case.emergency": ("街道请立即处置;各级请关注进展。", "街道請立即處置;各級請關注進度。",
                       "The street acts at once; every level follows it."),
    "case.escalated": ("请签收,在期限前办结,或继续上报。", "請簽收,在期限前辦結,或繼續上報。",
                       "Sign for it, then resolve it before the deadline or escalate it."),
    "case.taken_over": ("上级已提级办理,您无需再办理,仍可添加备注。", "上級已提級辦理,您無需再辦理,仍可新增備註。",
                        "A higher level holds it now; you may still add notes."),
    "case.sent_back": ("请按说明继续办理。", "請依說明繼續辦理。", "Work it again following the instructions."),
    "case.reopened": ("请重新办理,并再次反馈居民。", "請重新辦理,並再次回饋居民。",
                      "Work it again and report back to the resident."),
    "case.urged": ("请尽快办理,并记录进展。", "請盡快辦理,並記錄進度。", "Act on it soon and record your progress."),
    "case.supervised": ("已列入督办,请优先办理。", "已列入督辦,請優先辦理。",
                        "It is under supervision: act on it first."),
    "case.supervision_flagged": ("请立即办理,或组织多部门会商。", "請立即辦理,或召集多部門會商。",
                                 "Act on it now, or call the departments together."),
    "case.deadline_warning": ("请在期限前办结、申请延期或上报。", "請在期限前辦結、申請延期或上報。",
                              "Before the deadline: resolve it, ask for more time or escalate it."),
    "case.not_signed": ("请催其签收,或提级办理。", "請催其簽收,或提級辦理。",
                        "Urge it to sign for the case, or take the case over."),
    "case.pause_requested": ("请批准或驳回。", "請批准或駁回。", "Approve or refuse it."),
    "case.paused": ("期限已停止计时;可以继续办理时请恢复计时。", "期限已停止計時;可以繼續辦理時請恢復計時。",
                    "The clock is stopped; resume it when work can go on."),
    "case.pause_refused": ("期限照常计算,请继续办理。", "期限照常計算,請繼續辦理。",
                           "The clock runs on; keep working the case."),
    "case.extension_requested": ("请批准或驳回。", "請批准或駁回。", "Approve or refuse it."),
    "case.extended": ("请在新期限前办结。", "請在新期限前辦結。", "Resolve it before the new deadline."),
    "case.extension_refused": ("期限不变,请按期办结或上报。", "期限不變,請按期辦結或上報。",
                               "The deadline stands: resolve or escalate it in time."),
}
NEXT |= {
    "mediation.deadline_warning": ("请在期限前达成协议,或结束调解。", "請在期限前達成協議,或結束調解。",
                                   "Reach an agreement before the deadline, or end the mediation."),
    "mediation.escalated": ("请指派调解员,在新的期限内继续调解。", "請指派調解員,在新的期限內繼續調解。",
                            "Assign mediators and go on mediating within the new deadline."),
    "mediation.overdue": ("请督促调解委员会尽快结束调解。", "請督促調解委員會盡快結束調解。",
                          "Urge the committee to bring the mediation to an end."),
    "mediation.confirmation_reminder": ("如当事人已申请,请记录;申请期限为协议生效之日起30日。",
                                        "如當事人已申請,請記錄;申請期限為協議生效之日起30日。",
                                        "If the parties applied, record it; they have 30 days from the agreement."),
    "mediation.visit_due": ("请走访双方当事人,记录协议履行情况。", "請走訪雙方當事人,記錄協議履行情況。",
                            "Visit the parties and record whether the agreement is kept."),
    "case.dispute_reopened": ("请与调解员商定再次调解,或引导当事人通过其他途径解决。",
                              "請與調解員商定再次調解,或引導當事人透過其他途徑解決。",
                              "With the mediator, mediate again or refer the parties elsewhere."),
    "decision.proposed": ("请在会议前审阅提议,可在议事页面提出意见。", "請在會議前審閱提議,可在議事頁面提出意見。",
                          "Read the proposal before the meetings; you may comment on the decision's page."),
    "decision.result_published": ("可在议事页面查看结果并提出意见。", "可在議事頁面查看結果並提出意見。",
                                  "See the result on the decision's page; you may comment."),
    "decision.objected": ("请答复异议;答复将一并公开,答复后公示期继续计算。",
                          "請答覆異議;答覆將一併公開,答覆後公示期繼續計算。",
                          "Answer the objection: the answer is published and the period runs on."),
    "decision.period_over": ("可以组织实施,或结束本事项。", "可以組織實施,或結束本事項。",
                             "You may carry it out, or close the matter."),
    "decision.commented": ("请在议事页面查看街道意见。", "請在議事頁面查看街道意見。",
                           "Read the street's comment on the decision's page."),
    "case.love_call": ("请立即联系或上门查看。", "請立即聯絡或上門查看。", "Call or go round at once."),
    "risk.check_overdue": ("请尽快上门复查,并记录结果。", "請盡快上門複查,並記錄結果。",
                           "Go and check it soon, and record what you find."),
    "risk.escalated": ("请督促网格员复查,或安排人员上门。", "請督促網格員複查,或安排人員上門。",
                       "Have the grid leader check it, or send someone round."),
    "mediation.proposed": ("请指派调解员,并记录各方是否同意调解。", "請指派調解員,並記錄各方是否同意調解。",
                           "Assign mediators and record whether each party agrees to mediate."),
    "mediation.failed": ("请继续办理案件,或告知当事人其他解决途径。", "請繼續辦理案件,或告知當事人其他解決途徑。",
                         "Work the case on, or tell the parties where else to turn."),
    "mediation.agreed": ("请按履行期限安排回访。", "請依履行期限安排回訪。",
                         "Plan the follow-up visits by the performance dates."),
    "mediation.breached": ("请决定再次调解,或引导当事人申请仲裁、诉讼或找有关部门。",
                           "請決定再次調解,或引導當事人申請仲裁、訴訟或洽有關部門。",
                           "Mediate again, or refer the parties to arbitration, a court or the department concerned."),
}
# The resident's own notices: what happened to their case and what they may do.
RESIDENT_LEADS: dict[str, tuple[str, str, str]] = {
    "mediation.agreed": ("您参与的调解已达成协议并生效,您的履行事项如下",
                         "您參與的調解已達成協議並生效,您的履行事項如下",
                         "Your mediation agreement is in effect; your terms are below"),
    "mediation.confirmation_reminder": ("提醒:您的调解协议可申请司法确认", "提醒:您的調解協議可申請司法確認",
                                        "Reminder: your mediation agreement can be judicially confirmed"),
    "case.reported_back": LEADS["case.reported_back"],
    "case.rejected": LEADS["case.rejected"],
    "case.extended": ("您的案件需要更多时间办理,期限已延长", "您的案件需要更多時間辦理,期限已延長",
                      "Your case needs more time: its deadline was extended"),
}
_RESIDENT_NEXT = {
    # 人民调解法 art. 33: the parties may apply together for judicial confirmation within 30 days.
    "mediation.agreed": ("自协议生效之日起30日内,双方可共同向人民法院申请司法确认。",
                         "自協議生效之日起30日內,雙方可共同向人民法院申請司法確認。",
                         "Within 30 days of it taking effect, the parties may apply together to a court "
                         "for judicial confirmation."),
    "mediation.confirmation_reminder": ("协议已生效20日;双方可在生效之日起30日内共同向人民法院申请司法确认。",
                                        "協議已生效20日;雙方可在生效之日起30日內共同向人民法院申請司法確認。",
                                        "The agreement took effect 20 days ago; within 30 days of that the parties may "
                                        "apply together to a court for judicial confirmation."),
    "case.reported_back": ("请在此查看结果,并告诉我们是否解决:{link}", "請在此查看結果,並告訴我們是否解決:{link}",
                           "See what was done and tell us if it was solved: {link}"),
    "case.extended": ("可在此查看进展:{link}", "可在此查看進度:{link}", "Follow your case here: {link}"),
    "case.rejected": ("如有异议,可拨打12345或到社区服务中心咨询。", "如有異議,可撥打12345或到社區服務中心諮詢。",
                      "If you disagree, call 12345 or visit the community service centre."),
}
_FIELDS = {
    "zh_Hans": ("案件", "类别", "级别", "期限", "说明", "查看"),
    "zh_Hant": ("案件", "類別", "級別", "期限", "說明", "查看"),
    "en": ("Case", "Category", "Severity", "Deadline", "Note", "Open"),
}
_DECISION_WORD = ("议事事项", "議事事項", "Decision")
_RESIDENT_SAYS = ("居民说", "居民說", "The resident says")


@dataclass(frozen=True)
class Rendered:
    """A notice ready for a channel: a title and a plain-text body."""

    title: str
    body: str
    topic: str
    language: str


def render(topic: str, language: str, payload: dict[str, Any], unit_name: str | None,
           deadline: datetime | None, link: str | None, *, resident: bool = False) -> Rendered:
    """Return the notice for ``topic`` in ``language``: what happened, the facts, what the reader may do.

    ``resident`` picks the resident's wording of the topics they hear of. Free text is scrubbed
    of phones and ID numbers.
    """
    lang = language if language in LANGUAGES else "zh_Hans"
    index = LANGUAGES.index(lang)
    leads = RESIDENT_LEADS if resident else LEADS
    lead = leads.get(topic, (topic, topic, topic))[index].format(unit=unit_name or "")
    case_word, cat_word, sev_word, due_word, note_word, link_word = _FIELDS[lang]
    category = str(payload.get("category"))
    info = CATEGORIES.get(Category(category)) if category in Category.__members__ else None
    category_name = (info.zh_hans, info.zh_hant, info.en)[index] if info else str(category)
    level = payload.get("level")
    level_name = LEVEL_LABELS[Level(level)][index] if level in {lv.value for lv in Level} else ""
    if payload.get("decision_id") is not None:
        # A community decision is no case: its line names the decision and the community.
        lines = [lead, f"{_DECISION_WORD[index]} #{payload.get('decision_id')} · {scrub(str(payload.get('title')))}"
                       f" · {payload.get('community') or ''}"]
    elif topic.startswith("risk."):
        # A risk of the register is no case: where it is and the check date that passed.
        lines = [lead, f"{payload.get('address') or ''} · {due_word}: {payload.get('next_check_on')}"]
    else:
        lines = [lead, f"{case_word} #{payload.get('case_id')} · {cat_word}: {category_name} · {sev_word}: "
                       f"{payload.get('severity')} · {level_name}"]
    if deadline is not None:
        local = deadline.astimezone(ZoneInfo(config.timezone_name()))
        lines.append(f"{due_word}: {local:%Y-%m-%d %H:%M}")
    if payload.get("message"):
        said = _RESIDENT_SAYS[index] if topic == "case.reopened" else note_word
        lines.append(f"{said}: {scrub(str(payload['message']))}")
    if resident:
        next_step = _RESIDENT_NEXT.get(topic)
        if next_step and ("{link}" not in next_step[index] or link):
            lines.append(next_step[index].format(link=link))
    else:
        if topic in NEXT:
            lines.append(NEXT[topic][index])
        if link:
            lines.append(f"{link_word}: {link}")
    return Rendered(title=lead, body="\n".join(lines), topic=topic, language=lang)
