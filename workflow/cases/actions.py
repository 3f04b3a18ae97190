"""Staff acting on a case, and residents answering after report back."""

from __future__ import annotations

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from schemas.api import ActionRequest, EvaluationRequest
from schemas.vocabulary import ResolvedAnswer, State
from workflow.audit import log as audit_log
from workflow.base import wallclock
from workflow.base.errors import N_, Forbidden, InvalidTransition, NotFound, StaleVersion
from workflow.base.privacy import mask_name
from workflow.cases.machine import TRIGGERS
from workflow.cases.models import Case, CaseParty, Evaluation
from workflow.cases.steps import ActorContext, Applied, apply_trigger, could_fire, load_case_for_update, staff_actor
from workflow.cases.views import check_can_view, needs_personal_data, resident_owns
from workflow.org.models import User


def _flush(session: Session, case: Case) -> None:
    try:
        session.flush()  # on SQLite the version check happens here
    except StaleDataError as exc:
        raise StaleVersion(N_("case %(case_id)s changed while this step ran; reload it and retry"),
                           case_id=case.id) from exc


def perform_action(session: Session, case_id: int, trigger: str, user: User,
                   request: ActionRequest) -> tuple[Case, Applied]:
    """Fire ``trigger`` on a case for a staff member, in the caller's transaction.

    Raises:
        NotFound, Forbidden, StaleVersion, InvalidTransition, InvalidInput: see ``apply_trigger``.
    """
    if trigger == "reveal":
        # A reveal is an act of seeing: it is written only by reveal_party, which shows the person.
        raise NotFound(
            N_("a reveal is not an action: reveal one of the parties, which shows them in full and records it"),
            field="trigger")
    if trigger not in TRIGGERS:
        raise NotFound(N_("no action '%(name)s'; the actions are: %(names)s"), name=trigger,
                       names=", ".join(sorted(TRIGGERS - {"reveal"})),
                       field="trigger")
    case = load_case_for_update(session, case_id)
    check_can_view(user, case)
    params = request.model_dump(include={"reason", "summary", "message", "merge_into", "extend_by"}, exclude_none=True)
    applied = apply_trigger(session, case, trigger, staff_actor(user), params,
                            expected_version=request.expected_version)
    _flush(session, case)
    return case, applied


def evaluate(session: Session, case_id: int, answer: EvaluationRequest) -> tuple[Case, Applied]:
    """Record the resident's answer: yes or partly closes the case, no reopens it.

    Raises:
        NotFound: the last four digits do not match the reporter's phone (the answer of an unknown code).
        InvalidTransition: the case is not waiting for an evaluation.
    """
    case = load_case_for_update(session, case_id)
    if not resident_owns(case, answer.phone_last4):
        raise NotFound(N_("no case matches this tracking code and these digits"), field="tracking_code")
    if case.state != State.REPORTED_BACK:
        raise InvalidTransition(N_("the case is %(state)s, not waiting for your evaluation"), state=case.state)
    comment = (answer.comment or "").strip() or None
    session.add(Evaluation(case_id=case.id, resolved=answer.resolved.value,
                           satisfaction=answer.satisfaction, comment=comment, at=wallclock.now()))
    trigger = "reopen" if answer.resolved is ResolvedAnswer.NO else "confirm"
    # The step carries the resident's own words, so the notice of a reopen tells the unit what they said;
    # the answer itself is on the timeline entry (views) in the reader's language.
    applied = apply_trigger(session, case, trigger, ActorContext.resident(),
                            {"reason": comment, "resolved": answer.resolved.value,
                             "satisfaction": answer.satisfaction})
    _flush(session, case)
    return case, applied




# What a member may do from the case page, in the order the page offers it.
STAFF_ACTIONS = (
    "accept", "note", "resolve", "report_back", "escalate", "take_over", "send_back", "urge", "supervise",
    "request_pause", "approve_pause", "refuse_pause", "resume",
    "request_extension", "approve_extension", "refuse_extension", "reject", "withdraw", "merge",
)


def available_actions(session: Session, case: Case, user: User) -> list[str]:
    """Return the actions the state machine allows this member on this case now."""
    actor = staff_actor(user)
    return [t for t in STAFF_ACTIONS if could_fire(session, case, t, actor)]


def reveal_party(session: Session, case_id: int, party_id: int, user: User) -> CaseParty:
    """Show a party's full name and phone to a member who needs them, and log it on the timeline.

    The step names the person (role, id, masked name) and exactly which fields were shown; the
    caller shows those fields and nothing else.

    Raises:
        Forbidden: the member does not handle the case, or it is closed.
        NotFound: the party is not one of the case's.
    """
    case = load_case_for_update(session, case_id)
    check_can_view(user, case)
    if not needs_personal_data(user, case):
        raise Forbidden(N_("only the unit handling case %(case_id)s may see its parties' full details"),
                        case_id=case.id)
    party = next((p for p in case.parties if p.id == party_id), None)
    if party is None:
        raise NotFound(N_("case %(case_id)s has no party %(party)s"), field="party", case_id=case.id,
                       party=party_id)
    shown = [name for name, value in (("name", party.name), ("phone", party.phone)) if value]
    what = f"{party.role} #{party.id} ({mask_name(party.name)}): {' and '.join(shown)} shown in full"
    apply_trigger(session, case, "reveal", staff_actor(user), {"reason": what})
    audit_log.record(session, user.name, "reveal.party", f"case {case.id} {party.role} #{party.id}",
                     {"fields": shown}, actor_unit=user.unit.code)
    _flush(session, case)
    return party
