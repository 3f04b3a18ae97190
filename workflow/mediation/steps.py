"""Proposing a mediation and firing its triggers: the only code that writes a mediation's state.

Each step is appended to the case's own timeline (``case_events``, kind ``mediation.<trigger>``,
numbered by the case's version like every case step) and writes its notices to the case's
outbox, in the caller's transaction. The case's state machine is not touched.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from schemas.policy import Duration
from schemas.vocabulary import HANDLING_STATE, Level, PartyRole, Role, State
from workflow.audit import log as audit_log
from workflow.base import wallclock
from workflow.base.errors import N_, Forbidden, InvalidInput, InvalidTransition, NotFound, StaleVersion
from workflow.cases.deadlines import policy_of
from workflow.cases.models import Case, CaseEvent, OutboxMessage
from workflow.cases.steps import ActorContext, apply_trigger, load_case_for_update
from workflow.cases.views import check_can_view, on_path
from workflow.clock.deadlines import arm_subject, disarm
from workflow.mediation.agreement_pdf import render_agreement
from workflow.mediation.machine import FINAL, MPosition, MState, MStep, fire
from workflow.mediation.models import (
    Agreement,
    AgreementSignature,
    Mediation,
    MediationMediator,
    MediationParty,
    MediationSession,
)
from workflow.mediation.signatures import decode_image
from workflow.mediation.timers import (
    CONFIRMATION,
    CONFIRMATION_REMINDER,
    FOLLOW_UP,
    RESOLVE,
    SUBJECT,
    WARN,
    arm_mediating,
    arm_visits,
    phase,
    visits_due,
)
from workflow.org.models import Unit, User
from workflow.org.tree import ancestors

logger = logging.getLogger(__name__)

# Mediation may take up to 30 days (DOMAIN.md); a stored policy may say otherwise under "mediation".
DEFAULT_TIME = "P30D calendar"
# A branch mediates informally; the general branch's people's mediation committee formally.
KIND_AT = {Level.BRANCH: "informal", Level.GENERAL_BRANCH: "committee"}
# The case states a breach brings back to the mediating level (the case machine's reopen_dispute).
REOPENABLE = frozenset({*(s.value for s in HANDLING_STATE.values()), State.RESOLVED.value, State.REPORTED_BACK.value,
                        State.CLOSED.value})
DISPUTE_ROLES = {PartyRole.APPLICANT, PartyRole.RESPONDENT, PartyRole.THIRD_PARTY}
# Steps whose notice goes to the mediating unit (and so to its mediators).
UNIT_TOPICS = {"proposed": "mediation.proposed", "fail": "mediation.failed", "effective": "mediation.agreed",
               "visit_breached": "mediation.breached", "consent_refused": "mediation.failed"}


@dataclass(frozen=True)
class Done:
    """A mediation step taken: the mediation and the notices it wrote (ids after a flush)."""

    mediation: Mediation
    notices: list[OutboxMessage]

    @property
    def notice_ids(self) -> list[int]:
        """Return the ids of the notices; the session must have been flushed."""
        return [n.id for n in self.notices]


def _flush(session: Session, what: str, ident: int) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise StaleVersion(N_("%(what)s %(ident)s changed while this step ran; reload it and retry"),
                           what=what, ident=ident) from exc


def eligible_mediators(session: Session, mediation_unit_id: int) -> dict[str, User]:
    """Return the members with the mediator role of a unit or any unit above it, by name."""
    start = session.get(Unit, mediation_unit_id)
    unit_ids = [u.id for u in ancestors(start)] if start else []
    rows = session.scalars(select(User).where(User.unit_id.in_(unit_ids), User.role == Role.MEDIATOR,
                                              User.active.is_(True)))
    return {u.name: u for u in rows}


def _due(session: Session, case: Case, start: datetime) -> datetime:
    policy = policy_of(session, case)
    body = policy.as_json()
    duration = Duration.parse(str(body.get("mediation") or DEFAULT_TIME))
    return policy.due(start, duration)


def _append(session: Session, case: Case, mediation: Mediation, kind: str, actor: User | None, text: str,
            at: datetime) -> CaseEvent:
    case.version += 1
    case.updated_at = at
    event = CaseEvent(case_id=case.id, seq=case.version, kind=f"mediation.{kind}",
                      actor=actor.name if actor else "system", actor_unit_id=actor.unit_id if actor else None,
                      from_state=case.state, to_state=case.state, from_level=case.level, to_level=case.level,
                      reason=f"#{mediation.id} {text}".strip(), public=False, at=at)
    session.add(event)
    return event


def _notify_unit(session: Session, case: Case, mediation: Mediation, event: CaseEvent, topic: str,
                 message: str | None, unit_id: int | None = None) -> OutboxMessage:
    to = unit_id or mediation.unit_id
    unit = session.get(Unit, to)
    payload = {"case_id": case.id, "seq": event.seq, "state": case.state, "level": case.level,
               "severity": case.severity, "category": case.category, "message": message,
               "mediation_id": mediation.id, "unit": unit.code if unit else None}
    row = OutboxMessage(kind="notify_unit", topic=topic, case_id=case.id, case_event=event,
                        unit_id=to, payload=payload, created_at=wallclock.now(),
                        dedupe_key=f"{case.id}:{event.seq}:{topic}:unit:{to}")
    session.add(row)
    return row


def propose(session: Session, case_id: int, user: User, mediators: list[str] | None = None) -> Done:
    """Put a case's dispute to mediation: by the unit holding it, a branch or a general branch.

    Raises:
        NotFound, Forbidden, InvalidTransition, InvalidInput: naming what is wrong.
    """
    case = load_case_for_update(session, case_id)
    check_can_view(user, case)
    if user.role == Role.ADMIN or user.unit_id != case.holding_unit_id:
        raise Forbidden(N_("a mediation is proposed by the unit holding case %(case_id)s"), case_id=case.id)
    level = Level(case.level)
    if level not in KIND_AT or case.state != HANDLING_STATE[level]:
        raise InvalidTransition(N_("a case is mediated while a branch or a general branch handles it, "
                                   "not in state '%(state)s'"), state=case.state)
    parties = [p for p in case.parties if p.role in DISPUTE_ROLES]
    if not any(p.role == PartyRole.APPLICANT for p in parties):
        # The resident who reported a neighbours' dispute is its applicant unless one is named.
        parties = [p for p in case.parties if p.role == PartyRole.REPORTER][:1] + parties
    if len(parties) < 2:
        raise InvalidTransition(N_("a mediation needs a dispute with two or more parties"))
    if any(m.state not in FINAL for m in _of_case(session, case.id)):
        raise InvalidTransition(N_("case %(case_id)s is already being mediated"), case_id=case.id)
    pool = eligible_mediators(session, case.holding_unit_id)
    wrong = sorted(set(mediators or []) - set(pool))
    if wrong:
        raise InvalidInput(N_("%(names)s is not a mediator of the mediating unit or a unit above it"),
                           field="mediators", names=", ".join(wrong))
    at = wallclock.now()
    mediation = Mediation(case=case, case_id=case.id, state=MState.PROPOSED.value, kind=KIND_AT[level],
                          unit_id=case.holding_unit_id, unit=case.holding_unit, proposed_by=user.name,
                          proposed_at=at, due_at=_due(session, case, at), revealed_to=[], updated_at=at,
                          version=1, clock_token=1)
    session.add(mediation)
    mediation.parties = [MediationParty(case_party_id=p.id, case_party=p) for p in parties]
    mediation.mediators = [MediationMediator(user_id=pool[n].id, user=pool[n], assigned_by=user.name, assigned_at=at)
                           for n in dict.fromkeys(mediators or [])]
    session.flush()  # the mediation's id goes on the timeline
    arm_mediating(session, mediation, at)
    event = _append(session, case, mediation, "proposed", user, mediation.kind, at)
    notice = _notify_unit(session, case, mediation, event, UNIT_TOPICS["proposed"], None)
    _flush(session, "case", case.id)
    return Done(mediation, [notice])


def _of_case(session: Session, case_id: int) -> list[Mediation]:
    return list(session.scalars(select(Mediation).where(Mediation.case_id == case_id).order_by(Mediation.id)))


def mediations_of_case(session: Session, case_id: int) -> list[Mediation]:
    """Return a case's mediations, oldest first."""
    return _of_case(session, case_id)


def get_mediation(session: Session, mediation_id: int) -> Mediation:
    """Return a mediation.

    Raises:
        NotFound: there is none with this id.
    """
    mediation = session.get(Mediation, mediation_id)
    if mediation is None:
        raise NotFound(N_("no mediation with id %(mediation_id)s"), mediation_id=mediation_id)
    return mediation


def agreement_pdf_for(mediation: Mediation, language: str) -> tuple[bytes, int] | None:
    """Return the PDF of the agreement in effect in the reader's script (zh_Hant, else Simplified), and its version."""
    agreement = current_agreement(mediation)
    if agreement is None or agreement.pdf is None:
        return None
    if language == "zh_Hant" and agreement.pdf_hant is not None:
        return agreement.pdf_hant, agreement.version
    return agreement.pdf, agreement.version


def current_agreement(mediation: Mediation) -> Agreement | None:
    """Return the agreement version in force or being signed, if any."""
    live = [a for a in mediation.agreements if not a.superseded]
    return live[-1] if live else None


def signers(mediation: Mediation) -> list[str]:
    """Return who signs an agreement: each party (``party:<id>``) and the mediator."""
    return [f"party:{p.case_party_id}" for p in mediation.parties] + ["mediator"]


def positions_of(mediation: Mediation, user: User) -> frozenset[MPosition]:
    """Return where a member stands towards a mediation (an administrator stands nowhere)."""
    if user.role == Role.ADMIN:
        return frozenset()
    found = set()
    if user.unit_id == mediation.unit_id:
        found.add(MPosition.HOLDER)
    if any(m.user_id == user.id for m in mediation.mediators):
        found.add(MPosition.MEDIATOR)
    if user.unit_id == mediation.case.grid_unit_id:
        found.add(MPosition.GRID)
    return frozenset(found)


def step_of(session: Session, mediation: Mediation, user: User | None, params: dict[str, Any]) -> MStep:
    """Return the machine's model for a mediation as it stands, with the actor's params."""
    agreement = current_agreement(mediation)
    signed = {s.signer for s in agreement.signatures} if agreement else set()
    live = agreement is not None and agreement.effective_at is None
    return MStep(
        state=mediation.state,
        params=params,
        positions=positions_of(mediation, user) if user else frozenset(),
        staff=user is not None,
        parties=frozenset(p.case_party_id for p in mediation.parties),
        unanswered=frozenset(p.case_party_id for p in mediation.parties if p.answer is None),
        has_agreement=live,
        unsigned=frozenset(set(signers(mediation)) - signed) if live else frozenset(),
        eligible_mediators=frozenset(eligible_mediators(session, mediation.unit_id)),
    )


def _dated(term: Any) -> Any:
    if isinstance(term, dict) and isinstance(term.get("due"), str):
        return {**term, "due": date.fromisoformat(term["due"])}
    return term


def _parse_params(trigger: str, params: dict[str, Any]) -> dict[str, Any]:
    """Turn the wire form into what the guards check: dates, decoded images."""
    out = dict(params)
    try:
        if isinstance(out.get("held_on"), str):
            out["held_on"] = date.fromisoformat(out["held_on"])
        terms = out.get("terms")
        if isinstance(terms, list):
            out["terms"] = [_dated(t) for t in terms]
    except ValueError as exc:
        raise InvalidInput(N_("dates are written YYYY-MM-DD"), field="held_on" if trigger == "session" else "terms") \
            from exc
    if trigger == "sign" and isinstance(out.get("signature"), str):
        paper = out.get("method") == "paper_photo"
        out["image"], out["content_type"] = decode_image(out["signature"], png_only=not paper)
    return out


def act(session: Session, mediation_id: int, trigger: str, user: User, params: dict[str, Any],
        expected_version: int | None = None) -> Done:
    """Fire ``trigger`` on a mediation for a staff member, in the caller's transaction.

    Raises:
        NotFound, Forbidden, StaleVersion, InvalidTransition, InvalidInput: naming what is wrong.
    """
    mediation = get_mediation(session, mediation_id)
    case = load_case_for_update(session, mediation.case_id)
    session.refresh(mediation)
    if MPosition.MEDIATOR not in positions_of(mediation, user) and not on_path(user, case):
        # Off the path and not its mediator: answered as a missing mediation (no probing of ids).
        raise NotFound(N_("no mediation with id %(mediation_id)s"), mediation_id=mediation.id)
    if expected_version is not None and expected_version != mediation.version:
        raise StaleVersion(N_("mediation %(mediation_id)s is at version %(version)s, not %(expected)s; "
                              "reload it and retry"), mediation_id=mediation.id, version=mediation.version,
                           expected=expected_version)
    parsed = _parse_params(trigger, params)
    step = step_of(session, mediation, user, parsed)
    before = mediation.state
    fire(step, trigger)
    at = wallclock.now()
    mediation.state = step.state
    mediation.updated_at = at
    mediation.version += 1
    notices = _effects(session, case, mediation, trigger, user, parsed, before, at)
    _rearm(session, case, mediation, before, at)
    _flush(session, "mediation", mediation.id)
    logger.info("mediation %s: %s %s -> %s by %s", mediation.id, trigger, before, mediation.state, user.name,
                extra={"case_id": case.id, "mediation_id": mediation.id, "trigger": trigger})
    return Done(mediation, notices)


def _rearm(session: Session, case: Case, mediation: Mediation, before: str, at: datetime) -> None:
    """Re-arm the clock when the mediation enters another phase: mediating again, or following up."""
    now = phase(mediation.state)
    if now == phase(before):
        return
    mediation.clock_token += 1  # what was armed for the phase it left is stale; settled at once
    disarm(session, SUBJECT, mediation.id, at)
    if now == "mediating":  # mediated again after a breach, or an agreement in effect corrected
        mediation.due_at = _due(session, case, at)
        arm_mediating(session, mediation, at)
    elif now == "following":
        agreement = current_agreement(mediation)
        arm_visits(session, mediation, visits_due(agreement.terms) if agreement else [], at)
        if before == MState.IN_SESSION.value:  # newly in effect: remind of judicial confirmation on day 20
            arm_subject(session, SUBJECT, mediation.id, CONFIRMATION, mediation.unit.level,
                        at + CONFIRMATION_REMINDER, mediation.clock_token, at, case_id=mediation.case_id)


def clock_step(session: Session, case: Case, mediation: Mediation, kind: str) -> list[OutboxMessage]:
    """Take the step a due deadline of a mediation asks; the caller locked the case and checked the token.

    ``warn``: the mediators are reminded (day 20 of 30). ``resolve``: the machine's
    ``deadline_passed``, then up one level: a branch's mediation goes to the general branch's
    committee with a new deadline; a committee's is reported to the unit above. ``follow_up``:
    the case's grid is told a visit is due.
    """
    at = wallclock.now()
    watching = phase(mediation.state)
    if kind == WARN and watching == "mediating":
        event = _append(session, case, mediation, "warn", None, f"due {mediation.due_at.isoformat()}", at)
        units = [mediation.unit_id, *sorted({m.user.unit_id for m in mediation.mediators} - {mediation.unit_id})]
        return [_notify_unit(session, case, mediation, event, "mediation.deadline_warning", None, u) for u in units]
    if kind == FOLLOW_UP and watching == "following":
        event = _append(session, case, mediation, "visit_due", None, "", at)
        return [_notify_unit(session, case, mediation, event, "mediation.visit_due", None, case.grid_unit_id)]
    if kind == RESOLVE and watching == "mediating":
        return _deadline_passed(session, case, mediation, at)
    if kind == CONFIRMATION and watching == "following" and not _applied(session, mediation):
        event = _append(session, case, mediation, "confirmation_reminder", None, "", at)
        return [_notify_unit(session, case, mediation, event, "mediation.confirmation_reminder", None),
                *_notify_parties(session, case, mediation, current_agreement(mediation), event,
                                 "mediation.confirmation_reminder")]
    return []


def _applied(session: Session, mediation: Mediation) -> bool:
    """Tell whether an application for judicial confirmation was recorded for this mediation."""
    return session.scalar(select(CaseEvent.id).where(
        CaseEvent.case_id == mediation.case_id, CaseEvent.kind == "mediation.confirmation",
        CaseEvent.reason.like(f"#{mediation.id} %")).limit(1)) is not None


def _deadline_passed(session: Session, case: Case, mediation: Mediation, at: datetime) -> list[OutboxMessage]:
    fire(step_of(session, mediation, None, {}), "deadline_passed")
    mediation.updated_at = at
    mediation.version += 1
    was = mediation.unit
    above = session.get(Unit, was.parent_id) if was.parent_id else None
    if Level(was.level) == Level.BRANCH and above is not None and Level(above.level) == Level.GENERAL_BRANCH:
        # The informal mediation ran out of time: the people's mediation committee takes it on afresh.
        mediation.unit_id, mediation.unit = above.id, above
        mediation.kind = KIND_AT[Level.GENERAL_BRANCH]
        mediation.clock_token += 1
        disarm(session, SUBJECT, mediation.id, at)
        mediation.due_at = _due(session, case, at)
        arm_mediating(session, mediation, at)
        event = _append(session, case, mediation, "deadline_passed", None, f"{was.code}→{above.code}", at)
        return [_notify_unit(session, case, mediation, event, "mediation.escalated", None, above.id),
                _notify_unit(session, case, mediation, event, "mediation.escalated", None, was.id)]
    # The committee's own time ran out: the unit above hears of it, as a case overdue at the top is supervised.
    event = _append(session, case, mediation, "deadline_passed", None, "overdue", at)
    told = [_notify_unit(session, case, mediation, event, "mediation.overdue", None, was.id)]
    if above is not None:
        told.append(_notify_unit(session, case, mediation, event, "mediation.overdue", None, above.id))
    return told


def _party_name(mediation: Mediation, party_id: int) -> str:
    return next((p.case_party.name for p in mediation.parties if p.case_party_id == party_id), str(party_id))


def _effects(session: Session, case: Case, mediation: Mediation, trigger: str, user: User, p: dict[str, Any],
             before: str, at: datetime) -> list[OutboxMessage]:
    """Record what the trigger did, append it to the timeline and write its notices."""
    moved = f"{before}→{mediation.state}" if before != mediation.state else before
    notices: list[OutboxMessage] = []
    text = moved
    if trigger == "assign":
        pool = eligible_mediators(session, mediation.unit_id)
        have = {m.user_id for m in mediation.mediators}
        for name in dict.fromkeys(p["mediators"]):
            if pool[name].id not in have:
                mediation.mediators.append(MediationMediator(user_id=pool[name].id, user=pool[name],
                                                             assigned_by=user.name, assigned_at=at))
        text = f"{moved}: {', '.join(p['mediators'])}"
    elif trigger == "consent":
        party = next(x for x in mediation.parties if x.case_party_id == p["party_id"])
        party.answer, party.given_as, party.answered_at = p["answer"], p["given_as"], at
        party.witness, party.reason = p.get("witness"), p.get("reason")
        text = f"{moved}: party {party.case_party_id} {p['answer']} ({p['given_as']})"
        if p["answer"] == "no":
            mediation.outcome = p["reason"]
            text += f": {p['reason']}"
    elif trigger == "reveal":
        if user.name not in mediation.revealed_to:
            mediation.revealed_to = [*mediation.revealed_to, user.name]
        audit_log.record(session, user.name, "reveal.mediation", f"mediation {mediation.id} (case {case.id})",
                         {"parties": len(mediation.parties)}, actor_unit=user.unit.code)
    elif trigger == "session":
        number = len(mediation.sessions) + 1
        mediation.sessions.append(MediationSession(
            held_on=p["held_on"], place=p["place"].strip(), record=p["record"].strip(),
            mediators=[m.user.display_name for m in mediation.mediators], attendees=[str(a) for a in p["attendees"]],
            recorded_by=user.name, at=at))
        text = f"{moved}: session {number}, {p['held_on'].isoformat()}, {p['place'].strip()}"
    elif trigger == "draft":
        text = _draft(mediation, user, p, moved, at)
    elif trigger == "sign":
        text, effective = _sign(mediation, user, p, moved, at)
        if effective is not None:
            event = _append(session, case, mediation, "sign", user, text, at)
            effect = _append(session, case, mediation, "effective", user, f"v{effective.version} sha256:"
                             f"{effective.sha256} zh_Hant sha256:{effective.sha256_hant}", at)
            notices.append(_notify_unit(session, case, mediation, effect, UNIT_TOPICS["effective"], None))
            notices += _notify_parties(session, case, mediation, effective, effect)
            return notices
    elif trigger in {"fail", "withdraw", "mediate_again"}:
        mediation.outcome = p["reason"]
        text = f"{moved}: {p['reason']}"
        if trigger == "mediate_again":
            for party in mediation.parties:  # mediation is voluntary: each party consents again
                party.answer = party.given_as = party.witness = party.reason = None
                party.answered_at = None
    elif trigger == "visit":
        text = f"{moved}: {p['finding']}: {p['note']}"
    elif trigger == "confirmation":
        text = f"{moved}: {p['note']}"
    elif trigger == "refer":
        mediation.outcome = f"{p['referred_to']}: {p['reason']}"
        text = f"{moved}: {mediation.outcome}"
    event = _append(session, case, mediation, trigger, user, text, at)
    topic = UNIT_TOPICS.get(trigger)
    if trigger == "consent" and p["answer"] == "no":
        topic = UNIT_TOPICS["consent_refused"]
    if trigger == "visit" and mediation.state == MState.BREACHED:
        topic = UNIT_TOPICS["visit_breached"]
    if topic:
        notices.append(_notify_unit(session, case, mediation, event, topic, mediation.outcome or p.get("note")))
        if topic == UNIT_TOPICS["visit_breached"]:
            # The mediators are told too, at their own units (the committee sits above a branch).
            for unit_id in sorted({m.user.unit_id for m in mediation.mediators} - {mediation.unit_id}):
                notices.append(_notify_unit(session, case, mediation, event, topic, p.get("note"), unit_id))
            notices += reopen_case(session, case, mediation, p.get("note"))
    return notices


def reopen_case(session: Session, case: Case, mediation: Mediation, note: Any) -> list[OutboxMessage]:
    """Send the case back to the level that mediated, through the case machine's ``reopen_dispute``.

    The case may be handled anywhere, resolved, reported back or closed by the time the breach
    is found; the case machine decides the way back and re-arms its clock. A case already
    handled at the mediating level stays where it is: the breach notice was enough.
    """
    level = mediation.unit.level
    if case.state == HANDLING_STATE[Level(level)].value or case.state not in REOPENABLE:
        return []
    reason = f"#{mediation.id} {note}".strip() if isinstance(note, str) else f"#{mediation.id}"
    applied = apply_trigger(session, case, "reopen_dispute", ActorContext.system(),
                            {"level": level, "reason": reason})
    return applied.notices


def _draft(mediation: Mediation, user: User, p: dict[str, Any], moved: str, at: datetime) -> str:
    current = current_agreement(mediation)
    if current is not None:
        current.superseded = True  # signatures stay on the version they were given to
    version = (mediation.agreements[-1].version + 1) if mediation.agreements else 1
    known = {x.case_party_id for x in mediation.parties}
    facts = [f for f in (p.get("party_facts") or []) if isinstance(f, dict) and f.get("party_id") in known]
    terms = [{"text": t["text"].strip(), "how": t["how"].strip(), "due": t["due"].isoformat(),
              "party_id": t.get("party_id")} for t in p["terms"]]
    mediation.agreements.append(Agreement(
        version=version, party_facts=facts, facts=p["facts"].strip(), responsibility=p["responsibility"].strip(),
        terms=terms, drafted_by=user.name, drafted_at=at, superseded=False))
    reason = f" ({p['reason']})" if p.get("reason") else ""
    return f"{moved}: agreement v{version}{reason}"


def _sign(mediation: Mediation, user: User, p: dict[str, Any], moved: str,
          at: datetime) -> tuple[str, Agreement | None]:
    agreement = current_agreement(mediation)
    assert agreement is not None  # the guard checked it
    signer = p["signer"]
    if signer == "mediator":
        name = user.display_name
    else:
        name = _party_name(mediation, int(signer.split(":", 1)[1]))
    method = "paper_photo" if p.get("method") == "paper_photo" else "on_screen"
    agreement.signatures.append(AgreementSignature(signer=signer, signer_name=name, method=method, image=p["image"],
                                                   content_type=p["content_type"], recorded_by=user.name, at=at))
    text = f"{moved}: v{agreement.version} {signer} ({method})"
    if mediation.state != MState.AGREED:
        return text, None
    agreement.effective_at = at
    agreement.pdf = render_agreement(mediation, agreement, "zh_Hans")
    agreement.sha256 = hashlib.sha256(agreement.pdf).hexdigest()
    # Both scripts are made and hashed at the moment it takes effect: each download is a copy of what was signed.
    agreement.pdf_hant = render_agreement(mediation, agreement, "zh_Hant")
    agreement.sha256_hant = hashlib.sha256(agreement.pdf_hant).hexdigest()
    return text, agreement


def _notify_parties(session: Session, case: Case, mediation: Mediation, agreement: Agreement | None,
                    event: CaseEvent, topic: str = "mediation.agreed") -> list[OutboxMessage]:
    """Tell each party by SMS the terms that concern them and their dates; never the other's data."""
    rows = []
    for party in mediation.parties:
        terms = [t for t in (agreement.terms if agreement else []) if t.get("party_id") in (None, party.case_party_id)]
        message = "; ".join(f"{t['text']} ({t['how']}, {t['due']})" for t in terms)
        row = OutboxMessage(kind="notify_party", topic=topic, case_id=case.id, case_event=event, unit_id=None,
                            payload={"case_id": case.id, "seq": event.seq, "category": case.category,
                                     "severity": case.severity, "level": case.level, "message": message,
                                     "party_id": party.case_party_id, "mediation_id": mediation.id,
                                     "terms": terms},
                            created_at=wallclock.now(),
                            dedupe_key=f"{case.id}:{event.seq}:{topic}:party:{party.case_party_id}")
        session.add(row)
        rows.append(row)
    return rows
