"""Words for the machine's triggers, timeline steps and roles, in the page language (gettext)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

# The text each action asks for, by form field; the machine refuses the action without it.
ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    "note": ("message",),
    "resolve": ("summary",),
    "report_back": ("message",),
    "escalate": ("reason",),
    "take_over": ("reason",),
    "send_back": ("reason",),
    "urge": ("message",),
    "supervise": ("message",),
    "request_pause": ("reason",),
    "refuse_pause": ("reason",),
    "request_extension": ("extend_by", "reason"),
    "refuse_extension": ("reason",),
    "reject": ("reason",),
    "withdraw": ("reason",),
    "merge": ("merge_into", "reason"),
}

_ACTIONS: dict[str, LazyString] = {
    "accept": _l("Accept (sign for it)"),
    "note": _l("Add a note"),
    "resolve": _l("Resolve"),
    "report_back": _l("Report back to the resident"),
    "escalate": _l("Escalate to the level above"),
    "take_over": _l("Take over"),
    "send_back": _l("Send back down with instructions"),
    "urge": _l("Urge the level below (催办)"),
    "supervise": _l("Supervise (督办)"),
    "request_pause": _l("Ask to pause the clock"),
    "approve_pause": _l("Approve the pause"),
    "refuse_pause": _l("Refuse the pause"),
    "resume": _l("Resume the clock"),
    "request_extension": _l("Ask for more time"),
    "approve_extension": _l("Approve the extension"),
    "refuse_extension": _l("Refuse the extension"),
    "reject": _l("Reject (not for the grid)"),
    "withdraw": _l("Withdraw"),
    "merge": _l("Merge into another case"),
}

_STEPS: dict[str, LazyString] = {
    "submitted": _l("Logged"),
    "dispatch": _l("Sent to the grid"),
    "emergency": _l("Emergency: sent to the street"),
    "deadline_passed": _l("Deadline passed"),
    "confirm": _l("Closed after the resident's answer"),
    "reopen": _l("Reopened: the resident says it is not resolved"),
    "reopen_dispute": _l("Reopened: the mediation agreement was not kept"),
    "warn": _l("Deadline warning"),
    "contact_overdue": _l("Not signed for in time"),
    "reveal": _l("Full details shown"),
    "reapply_policy": _l("Deadline policy applied again"),
    "accept": _l("Accepted"),
    "note": _l("Note"),
    "resolve": _l("Resolved"),
    "report_back": _l("Reported back"),
    "escalate": _l("Escalated"),
    "take_over": _l("Taken over"),
    "send_back": _l("Sent back down"),
    "urge": _l("Urged (催办)"),
    "supervise": _l("Supervised (督办)"),
    "request_pause": _l("Pause asked"),
    "approve_pause": _l("Pause approved"),
    "refuse_pause": _l("Pause refused"),
    "resume": _l("Clock resumed"),
    "request_extension": _l("More time asked"),
    "approve_extension": _l("Extension approved"),
    "refuse_extension": _l("Extension refused"),
    "reject": _l("Rejected"),
    "withdraw": _l("Withdrawn"),
    "merge": _l("Merged"),
    # The mediation's steps, on the same timeline (workflow/mediation).
    "mediation.proposed": _l("Mediation proposed"),
    "mediation.assign": _l("Mediators assigned"),
    "mediation.consent": _l("A party answered the proposal to mediate"),
    "mediation.reveal": _l("Parties shown in full to the mediator"),
    "mediation.session": _l("Mediation session recorded"),
    "mediation.draft": _l("Agreement drafted"),
    "mediation.sign": _l("Agreement signed"),
    "mediation.effective": _l("Agreement in effect"),
    "mediation.fail": _l("Mediation failed"),
    "mediation.withdraw": _l("Mediation withdrawn"),
    "mediation.visit": _l("Follow-up visit"),
    "mediation.mediate_again": _l("Mediate again"),
    "mediation.refer": _l("Parties referred elsewhere"),
    "mediation.warn": _l("Mediation deadline approaching"),
    "mediation.deadline_passed": _l("Mediation deadline passed"),
    "mediation.visit_due": _l("Follow-up visit due"),
    "mediation.confirmation": _l("Application for judicial confirmation recorded"),
    "mediation.confirmation_reminder": _l("Parties reminded of judicial confirmation"),
    # Retention (workflow/retention): the case's personal data anonymised after the retention period.
    "retention.anonymise": _l("Personal data anonymised (retention period over)"),
}

_FIELDS: dict[str, LazyString] = {
    "reason": _l("Reason"),
    "summary": _l("What was done"),
    "message": _l("Message"),
}

_ROLES: dict[str, LazyString] = {
    "grid_leader": _l("Grid leader"),
    "household_leader": _l("Household leader"),
    "branch_secretary": _l("Branch secretary"),
    "general_branch_secretary": _l("General-branch secretary"),
    "mediator": _l("Mediator"),
    "street_staff": _l("Street staff"),
    "admin": _l("Administrator"),
}

_PARTY_ROLES: dict[str, LazyString] = {
    "reporter": _l("Reporter"),
    "applicant": _l("Applicant"),
    "respondent": _l("Respondent"),
    "third_party": _l("Third party"),
}


_CHANNELS: dict[str, LazyString] = {
    "email": _l("Email"),
    "sms": _l("SMS"),
    "wecom": _l("WeCom group"),
    "dingtalk": _l("DingTalk group"),
    "webhook": _l("Webhook"),
}

_DELIVERY_STATUS: dict[str, LazyString] = {
    "pending": _l("waiting to be sent"),
    "sent": _l("sent"),
    "dead": _l("failed, given up"),
}

# The resident's answers, as staff read them on the timeline.
_ANSWERS: dict[str, LazyString] = {
    "yes": _l("resolved"),
    "partly": _l("partly resolved"),
    "no": _l("not resolved"),
}
_SATISFACTION: dict[int, LazyString] = {
    5: _l("Very satisfied"), 4: _l("Satisfied"), 3: _l("Neutral"), 2: _l("Unsatisfied"), 1: _l("Very unsatisfied"),
}


def answer_label(answer: str) -> str:
    """Say what the resident answered to "was it resolved?"."""
    return str(_ANSWERS.get(answer, answer))


def satisfaction_label(score: int) -> str:
    """Name a satisfaction score (1 to 5)."""
    return str(_SATISFACTION.get(score, score))


def channel_label(channel: str) -> str:
    """Name a notification channel."""
    return str(_CHANNELS.get(channel, channel))


def delivery_status_label(status: str) -> str:
    """Name the state of a notice's delivery."""
    return str(_DELIVERY_STATUS.get(status, status))


def action_label(trigger: str) -> str:
    """Name an action on a button."""
    return str(_ACTIONS.get(trigger, trigger))


def step_label(kind: str) -> str:
    """Name a timeline step."""
    return str(_STEPS.get(kind, kind))


def field_label(name: str) -> str:
    """Name an action's text field."""
    return str(_FIELDS.get(name, name))


def role_label(role: str) -> str:
    """Name a staff role."""
    return str(_ROLES.get(role, role))


def party_role_label(role: str) -> str:
    """Name a party's part in a case."""
    return str(_PARTY_ROLES.get(role, role))


# The administrators' audit log: each act, and each area a reader may filter by (workflow/audit/log.py).
AUDIT_AREAS: dict[str, LazyString] = {
    "org": _l("Org tree"), "unit": _l("Units"), "member": _l("Members and roles"), "token": _l("API tokens"),
    "integrator": _l("Integrator keys"), "policy": _l("Deadline policy"), "subscription": _l("Subscriptions"),
    "reveal": _l("Personal data shown"), "export": _l("Exports"),
}
AUDIT_ACTIONS: dict[str, LazyString] = {
    "org.import": _l("Org file imported"), "unit.add": _l("Unit added"), "unit.edit": _l("Unit renamed"),
    "member.add": _l("Member added"), "member.edit": _l("Member changed"), "member.role": _l("Role changed"),
    "member.deactivate": _l("Member deactivated"), "member.activate": _l("Member activated"),
    "member.password": _l("Password set"), "member.end_sessions": _l("Sessions ended"),
    "token.create": _l("API token made"), "token.revoke": _l("API token revoked"),
    "integrator.add": _l("Integrator key made"), "integrator.revoke": _l("Integrator key revoked"),
    "policy.reapply": _l("Policy applied again to a case"), "subscription.add": _l("Subscription added"),
    "subscription.remove": _l("Subscription removed"), "reveal.party": _l("A party shown in full"),
    "reveal.household": _l("A household shown in full"), "reveal.mediation": _l("Mediation parties shown in full"),
    "export.registry": _l("Register exported"), "export.analysis": _l("Figures' cases exported"),
    "export.case_file": _l("Case file downloaded"),
}


def audit_action_label(action: str) -> str:
    """Name an act of the audit log (or an area of acts)."""
    return str(AUDIT_ACTIONS.get(action) or AUDIT_AREAS.get(action) or action)
