"""Proposing a decision and firing its triggers: the only code that writes a decision's state.

Every step goes on the decision's own timeline (``decision_events``) and writes its notices to the
shared outbox (``case_id`` NULL, ``unit_id`` the unit told) in the caller's transaction; the
notice workers deliver them like any other. A proposal made from a GOV case is put on that case's
timeline too.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from schemas.text import MAX_ID
from schemas.vocabulary import Category, Level, Role
from workflow.base import config, wallclock
from workflow.base.errors import N_, Forbidden, InvalidInput, NotFound, StaleVersion
from workflow.base.private_files import private_dir, write_private
from workflow.cases.attachments import prepare_photo
from workflow.cases.models import CaseEvent, OutboxMessage
from workflow.cases.steps import load_case_for_update
from workflow.cases.views import check_can_view
from workflow.clock.deadlines import add, remaining
from workflow.clock.policy import current_policy
from workflow.decisions.machine import (
    FINAL,
    MEETING_OF,
    Actor,
    DPosition,
    DState,
    DStep,
    MeetingKind,
    fire,
)
from workflow.decisions.models import (
    Decision,
    DecisionAttachment,
    DecisionEvent,
    DecisionMeeting,
    DecisionObjection,
)
from workflow.org.models import Unit, User
from workflow.org.tree import ancestors
from workflow.registry.models import PartyMember
from workflow.registry.register import subtree_ids

logger = logging.getLogger(__name__)

# Steps whose notice goes to the street (两报告) and those that go to the committee.
STREET_TOPICS = {"proposed": "decision.proposed", "publish_result": "decision.result_published"}
COMMITTEE_TOPICS = {"object": "decision.objected", "period_over": "decision.period_over",
                    "comment": "decision.commented"}
# Steps shown on the community's public page.
PUBLIC_STEPS = {"publish", "answer", "carry_out", "publish_result", "close", "period_over"}
# Attachments: a PDF or office document is kept as sent; a photo is normalised like a case's.
DOCUMENT_TYPES = {"application/pdf": "pdf",
                  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
                  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx"}
IMAGE_TYPES = {"image/jpeg", "image/png", "image/webp", "image/heic"}
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Done:
    """A decision step taken: the decision and the notices it wrote (ids after a flush)."""

    decision: Decision
    notices: list[OutboxMessage]

    @property
    def notice_ids(self) -> list[int]:
        """Return the ids of the notices; the session must have been flushed."""
        return [n.id for n in self.notices]


def _flush(session: Session, decision_id: int) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise StaleVersion(N_("%(what)s %(ident)s changed while this step ran; reload it and retry"),
                           what="decision", ident=decision_id) from exc


def community_of(unit: Unit) -> Unit | None:
    """Return the community (general branch) a unit belongs to, or None above it."""
    return next((u for u in ancestors(unit) if u.level == Level.GENERAL_BRANCH), None)


def get_decision(session: Session, decision_id: int, *, lock: bool = False) -> Decision:
    """Return a decision, locked for update when asked.

    Raises:
        NotFound: there is none with this id.
    """
    if not 0 < decision_id <= MAX_ID:
        found = None
    elif lock:
        # FOR UPDATE OF the decision alone: PostgreSQL locks no row on the outer side of its units' join.
        found = session.scalars(select(Decision).where(Decision.id == decision_id)
                                .with_for_update(of=Decision).execution_options(populate_existing=True)).first()
    else:
        found = session.get(Decision, decision_id)
    if found is None:
        raise NotFound(N_("no decision with id %(decision_id)s"), decision_id=decision_id)
    return found


def positions_of(decision: Decision, user: User) -> frozenset[DPosition]:
    """Return where a member stands towards a decision (an administrator stands nowhere)."""
    if user.role == Role.ADMIN:
        return frozenset()
    found = set()
    if user.unit_id in {decision.unit_id, decision.proposing_unit_id}:
        found.add(DPosition.COMMITTEE)
    if decision.unit.parent_id is not None and user.unit_id == decision.unit.parent_id:
        found.add(DPosition.STREET)
    return frozenset(found)


def check_can_see(user: User, decision: Decision) -> None:
    """Allow the community's subtree and the units above it.

    Raises:
        Forbidden: a member of another community.
    """
    if any(u.id == user.unit_id for u in ancestors(decision.unit)):
        return
    if community_of(user.unit) is not None and community_of(user.unit) == decision.unit:
        return
    if user.role == Role.ADMIN:
        return
    raise Forbidden(N_("decision %(decision_id)s is outside the area of unit %(unit)s"), decision_id=decision.id,
                    unit=user.unit.code)


def party_register(session: Session, decision: Decision) -> list[str]:
    """Return the names of the party members of the community's branches, from the register."""
    units = subtree_ids(session, decision.unit_id)
    names = session.scalars(select(PartyMember.name).where(PartyMember.branch_unit_id.in_(units))
                            .order_by(PartyMember.id))
    return list(dict.fromkeys(names))


def _append(session: Session, decision: Decision, kind: str, actor: User | None, before: str | None, text: str,
            at: datetime, *, public: bool = False, inbox_id: int | None = None) -> DecisionEvent:
    seq = (max((e.seq for e in decision.events), default=0)) + 1
    event = DecisionEvent(decision_id=decision.id, seq=seq, kind=kind,
                          actor=actor.name if actor else ("resident" if kind == "object" else "system"),
                          actor_unit_id=actor.unit_id if actor else None, from_state=before, to_state=decision.state,
                          reason=text, public=public, at=at, inbox_id=inbox_id)
    decision.events.append(event)
    return event


def _notify(session: Session, decision: Decision, event: DecisionEvent, topic: str, unit_id: int,
            message: str | None) -> OutboxMessage:
    unit = session.get(Unit, unit_id)
    payload = {"decision_id": decision.id, "seq": event.seq, "title": decision.title, "state": decision.state,
               "message": message, "category": Category.GOV.value, "severity": "P3",
               "unit": unit.code if unit else None, "community": decision.unit.name}
    row = OutboxMessage(kind="notify_unit", topic=topic, case_id=None, case_event=None, unit_id=unit_id,
                        payload=payload, created_at=wallclock.now(),
                        dedupe_key=f"decision:{decision.id}:{event.seq}:{topic}:unit:{unit_id}")
    session.add(row)
    return row


def _clean(value: Any, name: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(N_("'%(trigger)s' needs a non-empty %(field_name)s"), field=name, trigger="propose",
                           field_name=name)
    return value.strip()[:limit]


def propose(session: Session, user: User, fields: dict[str, Any], case_id: int | None = None) -> Done:
    """Propose a community decision (党组织提议), by a branch or general branch; reported to the street.

    With ``case_id``, a GOV case of the proposer's area becomes the proposal, linked both ways.

    Raises:
        Forbidden, InvalidInput, NotFound: naming what is wrong.
    """
    if user.role == Role.ADMIN or user.unit.level not in {Level.GENERAL_BRANCH, Level.BRANCH}:
        raise Forbidden(N_("a decision is proposed by a branch or general branch committee"))
    found = community_of(user.unit)
    assert found is not None  # a branch or general branch is in a community
    # The member may come from another session (the API's login): its units are looked up in this one.
    community = session.get(Unit, found.id)
    proposing = session.get(Unit, user.unit_id)
    assert community is not None and proposing is not None
    case = None
    if case_id is not None:
        case = load_case_for_update(session, case_id)
        check_can_view(user, case)
        if case.category != Category.GOV:
            raise InvalidInput(N_("only a case of category GOV (community affairs) becomes a decision proposal"),
                               field="case_id")
        if session.scalars(select(Decision.id).where(Decision.case_id == case.id)).first() is not None:
            raise InvalidInput(N_("case %(case_id)s is already a decision proposal"), field="case_id",
                               case_id=case.id)
    title = _clean(fields.get("title"), "title", 200)
    matter = _clean(fields.get("matter") or (case.description if case else None), "matter", 20000)
    reasons = _clean(fields.get("reasons"), "reasons", 20000)
    options = [str(o).strip() for o in fields.get("options") or [] if str(o).strip()]
    budget = (str(fields["budget"]).strip() or None) if fields.get("budget") else None
    at = wallclock.now()
    decision = Decision(unit_id=community.id, unit=community, proposing_unit_id=proposing.id,
                        proposing_unit=proposing, state=DState.PROPOSED.value, title=title, matter=matter,
                        reasons=reasons, options=options, budget=budget, case_id=case.id if case else None,
                        proposed_by=user.name, proposed_at=at, clock_token=0, updated_at=at, version=1)
    session.add(decision)
    session.flush()  # the id goes on the timeline and the notice
    text = title + (f" (case #{case.id})" if case else "")
    event = _append(session, decision, "proposed", user, None, text, at)
    notices = []
    if community.parent_id is not None:
        # 两报告: the street hears of the proposal before the meetings, and may comment.
        notices.append(_notify(session, decision, event, STREET_TOPICS["proposed"], community.parent_id, title))
        _append(session, decision, "reported", None, decision.state, "proposal reported to the street", at)
    if case is not None:
        case.version += 1
        case.updated_at = at
        session.add(CaseEvent(case_id=case.id, seq=case.version, kind="decision.proposed", actor=user.name,
                              actor_unit_id=user.unit_id, from_state=case.state, to_state=case.state,
                              from_level=case.level, to_level=case.level, reason=f"#{decision.id} {title}",
                              public=False, at=at))
    _flush(session, decision.id)
    return Done(decision, notices)


def decision_of_case(session: Session, case_id: int) -> Decision | None:
    """Return the decision a case became, if any."""
    return session.scalars(select(Decision).where(Decision.case_id == case_id)).first()


def local_time(at: datetime | None) -> str:
    """Return a moment as the pages show it, in ``GRIDCASE_TIMEZONE`` (``2026-12-14 09:00``)."""
    return at.astimezone(ZoneInfo(config.timezone_name())).strftime("%Y-%m-%d %H:%M") if at else ""


def _period_state(decision: Decision, now: datetime) -> tuple[bool, bool, str | None]:
    """Return (running, over, ends as text) of the publication period."""
    if decision.period_kind is None or decision.period_ends_at is None:
        return False, False, None
    ends = local_time(decision.period_ends_at)
    if decision.paused_at is not None:
        return True, False, ends
    over = now >= decision.period_ends_at
    return not over, over, ends


def open_objections(decision: Decision) -> list[DecisionObjection]:
    """Return the objections to the text posted now that are still to be answered."""
    return [o for o in decision.objections if o.answered_at is None and o.stage == decision.period_kind]


def step_of(decision: Decision, user: User | None, params: dict[str, Any], actor: Actor,
            now: datetime) -> DStep:
    """Return the machine's model for a decision as it stands, with the actor's params."""
    running, over, ends = _period_state(decision, now)
    return DStep(state=decision.state, params=params,
                 positions=positions_of(decision, user) if user else frozenset(), actor=actor,
                 in_period=running, period_over=over, period_ends=ends,
                 open_objections=frozenset(o.id for o in open_objections(decision)))


def _parse(session: Session, decision: Decision, trigger: str, params: dict[str, Any]) -> dict[str, Any]:
    out = dict(params)
    if isinstance(out.get("held_on"), str):
        try:
            out["held_on"] = date.fromisoformat(out["held_on"])
        except ValueError as exc:
            raise InvalidInput(N_("dates are written YYYY-MM-DD"), field="held_on") from exc
    for key in ("entitled", "present"):
        if isinstance(out.get(key), list):
            out[key] = list(dict.fromkeys(str(n).strip() for n in out[key] if str(n).strip()))
    if MEETING_OF.get(trigger) == MeetingKind.PARTY and not out.get("entitled"):
        # The register says who is entitled to the party members' meeting, where there is one.
        register = party_register(session, decision)
        if register:
            out["entitled"], out["entitled_from"] = register, "register"
    return out


def act(session: Session, decision_id: int, trigger: str, user: User | None, params: dict[str, Any],
        expected_version: int | None = None, *, actor: Actor = Actor.STAFF, inbox_id: int | None = None) -> Done:
    """Fire ``trigger`` on a decision, in the caller's transaction.

    ``user`` is None for a resident's objection and for the engine.

    Raises:
        NotFound, Forbidden, StaleVersion, InvalidTransition, InvalidInput: naming what is wrong.
    """
    decision = get_decision(session, decision_id, lock=True)
    if user is not None:
        check_can_see(user, decision)
    if expected_version is not None and expected_version != decision.version:
        raise StaleVersion(N_("decision %(decision_id)s is at version %(version)s, not %(expected)s; "
                              "reload it and retry"), decision_id=decision.id, version=decision.version,
                           expected=expected_version)
    at = wallclock.now()
    parsed = _parse(session, decision, trigger, params)
    step = step_of(decision, user, parsed, actor, at)
    before = decision.state
    fire(step, trigger)
    decision.state = step.state
    decision.updated_at = at
    decision.version += 1
    notices = _effects(session, decision, trigger, user, parsed, step, before, at, inbox_id)
    _flush(session, decision.id)
    logger.info("decision %s: %s %s -> %s by %s", decision.id, trigger, before, decision.state,
                user.name if user else actor.value, extra={"decision_id": decision.id, "trigger": trigger})
    return Done(decision, notices)


def _start_period(session: Session, decision: Decision, kind: str, at: datetime) -> None:
    policy = current_policy()
    duration = policy.spec.publication
    decision.period_kind, decision.period_started_at = kind, at
    decision.period_ends_at = policy.due(at, duration)
    decision.period_counts = duration.counts
    decision.paused_at, decision.paused_left = None, None
    _rearm(session, decision, at)


def _rearm(session: Session, decision: Decision, at: datetime) -> None:
    """Move the clock token on (older deadline rows go stale) and arm the period's end, if it runs."""
    from workflow.decisions.clock import arm_period  # the clock module imports these steps

    decision.clock_token = (decision.clock_token or 0) + 1
    if decision.period_kind is not None and decision.paused_at is None and decision.period_ends_at is not None:
        arm_period(session, decision, at)


def _pause(session: Session, decision: Decision, at: datetime) -> None:
    if decision.paused_at is not None or decision.period_ends_at is None:
        return
    policy = current_policy()
    decision.paused_left = remaining(policy, decision.period_counts or "working", at,
                                     decision.period_ends_at).total_seconds()
    decision.paused_at = at
    _rearm(session, decision, at)


def _resume(session: Session, decision: Decision, at: datetime) -> None:
    if decision.paused_at is None:
        return
    policy = current_policy()
    left = timedelta(seconds=decision.paused_left or 0)
    decision.period_ends_at = add(policy, decision.period_counts or "working", at, left)
    decision.paused_at, decision.paused_left = None, None
    _rearm(session, decision, at)


def _meeting_text(kind: MeetingKind, step: DStep, moved: str, held_on: date, place: str) -> str:
    f = step.figures
    text = f"{moved}: {kind.value} meeting {held_on.isoformat()}, {place}: {f['present']} of {f['entitled']} present"
    if "for" in f:
        text += (f"; {f['for']} for, {f['against']} against, {f['abstaining']} abstaining; "
                 f"{'passed' if step.passed else 'not passed'} (more than half of those present: {f['needed']})")
    return text


def _effects(session: Session, decision: Decision, trigger: str, user: User | None, p: dict[str, Any],
             step: DStep, before: str, at: datetime, inbox_id: int | None) -> list[OutboxMessage]:
    """Record what the trigger did, append it to the timeline and write its notices."""
    moved = f"{before}→{decision.state}" if before != decision.state else before
    notices: list[OutboxMessage] = []
    text = moved
    message: str | None = None
    if trigger in MEETING_OF:
        kind = MEETING_OF[trigger]
        f = step.figures
        decision.meetings.append(DecisionMeeting(
            kind=kind.value, held_on=p["held_on"], place=p["place"].strip(), entitled=list(p["entitled"]),
            present=list(p["present"]), votes_for=f.get("for"), votes_against=f.get("against"),
            votes_abstaining=f.get("abstaining"), minutes=p["minutes"].strip(), passed=step.passed,
            entitled_from=p.get("entitled_from", "list"), recorded_by=user.name if user else "system", at=at))
        text = _meeting_text(kind, step, moved, p["held_on"], p["place"].strip())
        if not step.passed:
            decision.outcome = text
    elif trigger in {"publish", "publish_result"}:
        stage = "resolution" if trigger == "publish" else "result"
        if stage == "resolution":
            decision.resolution_text = p["text"].strip()
        else:
            decision.result_text = p["text"].strip()
        _start_period(session, decision, stage, at)
        ends = local_time(decision.period_ends_at) if decision.period_ends_at else ""
        text = f"{moved}: {stage} posted until {ends}"
        message = p["text"].strip()
    elif trigger == "object":
        objection = DecisionObjection(stage=decision.period_kind or "resolution", name=p["name"].strip(),
                                      phone=p["phone"].strip(), text=p["text"].strip(), raised_at=at)
        decision.objections.append(objection)
        session.flush()
        _pause(session, decision, at)
        # The resident's name and phone stay in the objection row: the timeline never carries them.
        text = f"{moved}: objection #{objection.id}; publication paused"
        message = p["text"].strip()
    elif trigger == "answer":
        objection = next(o for o in decision.objections if o.id == p["objection_id"])
        objection.answer, objection.answered_by, objection.answered_at = p["text"].strip(), user.name if user \
            else "system", at
        text = f"{moved}: objection #{objection.id} answered"
        if not open_objections(decision):
            _resume(session, decision, at)
            ends = local_time(decision.period_ends_at) if decision.period_ends_at else ""
            text += f"; publication resumes until {ends}"
    elif trigger in {"carry_out", "close", "period_over"}:
        if trigger != "period_over" or decision.state == DState.CLOSED:
            decision.period_kind = None
            _rearm(session, decision, at)
        text = f"{moved}: publication period over" if trigger == "period_over" else moved
    elif trigger in {"rework", "reject", "withdraw"}:
        decision.outcome = p["reason"].strip()
        text = f"{moved}: {decision.outcome}"
    elif trigger == "comment":
        text = f"{moved}: {p['text'].strip()}"
        message = p["text"].strip()
    elif trigger == "attach":
        row = _keep_attachment(decision, p, user, at)
        text = f"{moved}: {row.kind}: {row.title}"
    event = _append(session, decision, trigger, user, before, text, at, public=trigger in PUBLIC_STEPS,
                    inbox_id=inbox_id)
    if trigger in COMMITTEE_TOPICS and (trigger != "period_over" or decision.state != DState.CLOSED):
        notices.append(_notify(session, decision, event, COMMITTEE_TOPICS[trigger], decision.unit_id, message))
    if trigger in STREET_TOPICS and decision.unit.parent_id is not None:
        # 两报告: the result goes to the street at the end, as the proposal did before the meetings.
        notices.append(_notify(session, decision, event, STREET_TOPICS[trigger], decision.unit.parent_id, message))
        _append(session, decision, "reported", None, decision.state, "result reported to the street", at)
    return notices


def upload_dir() -> Path:
    """Return the folder a decision's documents are kept in (``uploads/decisions`` in the data folder)."""
    return config.data_dir() / "uploads" / "decisions"


def _keep_attachment(decision: Decision, p: dict[str, Any], user: User | None, at: datetime) -> DecisionAttachment:
    """Keep a document: a photo as a case's photo is kept (JPEG, no EXIF), a PDF or office file as sent."""
    content: bytes = p["content"]
    declared = str(p.get("content_type") or "")
    if declared in DOCUMENT_TYPES:
        if len(content) > MAX_DOCUMENT_BYTES:
            raise InvalidInput(N_("the file is larger than %(size)s MB"), field="file", size="20")
        if declared == "application/pdf" and not content.startswith(b"%PDF"):
            raise InvalidInput(N_("the file is not the PDF it says it is"), field="file")
        data, content_type, extension = content, declared, DOCUMENT_TYPES[declared]
    else:
        data, content_type, extension = prepare_photo(content).view, "image/jpeg", "jpg"
    name = f"{decision.id}-{secrets.token_hex(8)}.{extension}"
    write_private(private_dir(upload_dir()) / name, data)
    title = str(p.get("title") or "").strip()[:200] or str(p["kind"])
    row = DecisionAttachment(kind=p["kind"], title=title, file_name=name, content_type=content_type, size=len(data),
                             uploaded_by=user.name if user else "system", at=at)
    decision.attachments.append(row)
    return row


def attachment_file(decision: Decision, attachment_id: int) -> tuple[Path, str, str]:
    """Return the file, content type and download name of one of a decision's documents.

    Raises:
        NotFound: the decision has no such document.
    """
    row = next((a for a in decision.attachments if a.id == attachment_id), None)
    if row is None:
        raise NotFound(N_("decision %(decision_id)s has no document %(attachment_id)s"), decision_id=decision.id,
                       attachment_id=attachment_id)
    return upload_dir() / row.file_name, row.content_type, row.file_name


def object_publicly(session: Session, community_code: str, decision_id: int, params: dict[str, Any]) -> Done:
    """A resident objects to a published resolution or result of their community.

    Raises:
        NotFound: the community has no such published decision.
        InvalidTransition, InvalidInput: the period is over, or a field is missing.
    """
    decision = public_decision(session, community_code, decision_id)
    return act(session, decision.id, "object", None, params, actor=Actor.RESIDENT)


PUBLIC_STATES = {DState.RESOLUTION_PUBLISHED, DState.CARRYING_OUT, DState.RESULT_PUBLISHED, DState.CLOSED}


def community_by_code(session: Session, code: str) -> Unit:
    """Return a community (general branch) by its code.

    Raises:
        NotFound: no community has this code.
    """
    unit = session.scalars(select(Unit).where(Unit.code == code)).one_or_none()
    if unit is None or unit.level != Level.GENERAL_BRANCH:
        raise NotFound(N_("no community %(code)s"), code=code)
    return unit


def public_decisions(session: Session, code: str) -> tuple[Unit, list[Decision]]:
    """Return a community and its decisions whose resolution has been published, newest first."""
    unit = community_by_code(session, code)
    rows = session.scalars(select(Decision).where(Decision.unit_id == unit.id,
                                                  Decision.state.in_([s.value for s in PUBLIC_STATES]))
                           .order_by(Decision.id.desc()))
    return unit, list(rows)


def public_decision(session: Session, code: str, decision_id: int) -> Decision:
    """Return a published decision of a community.

    Raises:
        NotFound: the community has no such published decision.
    """
    unit = community_by_code(session, code)
    decision = session.get(Decision, decision_id) if 0 < decision_id <= MAX_ID else None
    if decision is None or decision.unit_id != unit.id or DState(decision.state) not in PUBLIC_STATES:
        raise NotFound(N_("no published decision %(decision_id)s in community %(code)s"), decision_id=decision_id,
                       code=code)
    return decision


def decisions_for(session: Session, user: User, state: str | None = None) -> list[Decision]:
    """Return the decisions a member sees (their community's, or every community below them), newest first."""
    units = subtree_ids(session, user.unit_id)
    community = community_of(user.unit)
    if community is not None:
        units.add(community.id)
    query = select(Decision).where(Decision.unit_id.in_(units))
    if state:
        query = query.where(Decision.state == state)
    return list(session.scalars(query.order_by(Decision.id.desc())))


def all_decisions(session: Session, state: str | None = None) -> list[Decision]:
    """Return every decision (the operator's list), newest first."""
    query = select(Decision)
    if state:
        query = query.where(Decision.state == state)
    return list(session.scalars(query.order_by(Decision.id.desc())))


__all__ = ["FINAL", "Done", "act", "propose"]
