"""The decision machine (四议两公开), defined once as data like the case and mediation machines.

Guards are named methods of ``DStep``; the quorum and majority rules of DOMAIN.md are here and
nowhere else: the party members' meeting needs two thirds of those entitled present and more
than half of those present for; the residents' (representatives') meeting more than half
present and more than half of those present for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from transitions import EventData, Machine, MachineError

from workflow.base.errors import N_, Forbidden, InvalidInput, InvalidTransition
from workflow.base.privacy import scrub


class DState(StrEnum):
    """The states of a community decision."""

    PROPOSED = "proposed"  # 党组织提议: the matter, reasons, options, budget
    DISCUSSED = "discussed"  # 两委联席会议商议
    REVIEWED = "reviewed"  # 党员大会审议
    RESOLVED = "resolved"  # 居民(代表)会议决议
    RESOLUTION_PUBLISHED = "resolution_published"  # 决议公开, for the publication period
    CARRYING_OUT = "carrying_out"  # 组织实施
    RESULT_PUBLISHED = "result_published"  # 实施结果公开
    CLOSED = "closed"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


FINAL = frozenset({DState.CLOSED, DState.REJECTED, DState.WITHDRAWN})
OPEN = [s.value for s in DState if s not in FINAL]
PUBLISHED = [DState.RESOLUTION_PUBLISHED.value, DState.RESULT_PUBLISHED.value]
BEFORE_RESOLUTION = [DState.PROPOSED.value, DState.DISCUSSED.value, DState.REVIEWED.value]


class DPosition(StrEnum):
    """Where a staff member stands towards a decision."""

    COMMITTEE = "committee"  # a member of the community's committee, or of the branch that proposed it
    STREET = "street"  # a member of the street the community reports to (两报告)


class Actor(StrEnum):
    """Who fires a trigger: staff, a resident (an objection) or the engine (the clock)."""

    STAFF = "staff"
    RESIDENT = "resident"
    ENGINE = "engine"


class MeetingKind(StrEnum):
    """The three meetings of 四议."""

    JOINT = "joint"  # 两委联席会议
    PARTY = "party"  # 党员大会
    RESIDENTS = "residents"  # 居民(代表)会议


class IfNotPassed(StrEnum):
    """What a meeting that does not pass does with the proposal."""

    REWORK = "rework"
    REJECT = "reject"


MEETING_OF = {"joint_meeting": MeetingKind.JOINT, "party_meeting": MeetingKind.PARTY,
              "residents_meeting": MeetingKind.RESIDENTS}

_C, _S = DPosition.COMMITTEE, DPosition.STREET
RULES: dict[str, frozenset[DPosition]] = {
    "joint_meeting": frozenset({_C}), "party_meeting": frozenset({_C}), "residents_meeting": frozenset({_C}),
    "publish": frozenset({_C}), "answer": frozenset({_C}), "carry_out": frozenset({_C}),
    "publish_result": frozenset({_C}), "close": frozenset({_C}), "rework": frozenset({_C}),
    "reject": frozenset({_C}), "withdraw": frozenset({_C}), "attach": frozenset({_C}),
    "comment": frozenset({_S}),
}
# Fired by someone who is not staff: a resident objects, the engine ends a period.
NOT_STAFF: dict[str, Actor] = {"object": Actor.RESIDENT, "period_over": Actor.ENGINE}
TRIGGERS = frozenset(RULES) | frozenset(NOT_STAFF)
S = DState


def _meeting(trigger: str, source: str, dest: str) -> list[dict[str, Any]]:
    return [
        {"trigger": trigger, "source": source, "dest": dest, "conditions": ["valid_meeting", "passes"]},
        {"trigger": trigger, "source": source, "dest": S.PROPOSED.value,
         "conditions": ["valid_meeting", "returns_for_rework"]},
        {"trigger": trigger, "source": source, "dest": S.REJECTED.value,
         "conditions": ["valid_meeting", "ends_rejected"]},
    ]


TRANSITIONS: list[dict[str, Any]] = [
    *_meeting("joint_meeting", S.PROPOSED.value, S.DISCUSSED.value),
    *_meeting("party_meeting", S.DISCUSSED.value, S.REVIEWED.value),
    *_meeting("residents_meeting", S.REVIEWED.value, S.RESOLVED.value),
    {"trigger": "publish", "source": S.RESOLVED.value, "dest": S.RESOLUTION_PUBLISHED.value,
     "conditions": "publishable_text"},
    {"trigger": "object", "source": PUBLISHED, "dest": None, "conditions": ["objection_time", "valid_objection"]},
    {"trigger": "answer", "source": PUBLISHED, "dest": None, "conditions": "valid_answer"},
    {"trigger": "carry_out", "source": S.RESOLUTION_PUBLISHED.value, "dest": S.CARRYING_OUT.value,
     "conditions": "period_done"},
    {"trigger": "publish_result", "source": S.CARRYING_OUT.value, "dest": S.RESULT_PUBLISHED.value,
     "conditions": "publishable_text"},
    {"trigger": "close", "source": S.RESULT_PUBLISHED.value, "dest": S.CLOSED.value, "conditions": "period_done"},
    # The clock: the resolution's period ending tells the committee; the result's ends the decision.
    {"trigger": "period_over", "source": S.RESOLUTION_PUBLISHED.value, "dest": None, "conditions": "period_done"},
    {"trigger": "period_over", "source": S.RESULT_PUBLISHED.value, "dest": S.CLOSED.value,
     "conditions": "period_done"},
    {"trigger": "rework", "source": [S.DISCUSSED.value, S.REVIEWED.value, S.RESOLVED.value],
     "dest": S.PROPOSED.value, "conditions": "has_reason"},
    {"trigger": "reject", "source": BEFORE_RESOLUTION, "dest": S.REJECTED.value, "conditions": "has_reason"},
    {"trigger": "withdraw", "source": [*BEFORE_RESOLUTION, S.RESOLVED.value], "dest": S.WITHDRAWN.value,
     "conditions": "has_reason"},
    {"trigger": "attach", "source": OPEN, "dest": None, "conditions": "has_attachment"},
    {"trigger": "comment", "source": [s.value for s in DState], "dest": None, "conditions": "has_comment"},
]


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def more_than_half(total: int) -> int:
    """Return the smallest count that is more than half of ``total``."""
    return total // 2 + 1


def two_thirds(total: int) -> int:
    """Return the smallest count that is at least two thirds of ``total``."""
    return -(-2 * total // 3)


def quorum_needed(kind: MeetingKind, entitled: int) -> int:
    """Return how many must be present for a meeting of ``kind`` with ``entitled`` entitled to attend."""
    if kind == MeetingKind.PARTY:
        return two_thirds(entitled)
    if kind == MeetingKind.RESIDENTS:
        return more_than_half(entitled)
    return 1  # the joint meeting of the two committees: recorded, no quorum rule in DOMAIN.md


@dataclass
class DStep:
    """The model the machine fires on: a decision as it stands and what the actor brought."""

    state: str
    params: dict[str, Any] = field(default_factory=dict)
    positions: frozenset[DPosition] = frozenset()
    actor: Actor = Actor.STAFF
    # The publication period: running (not paused, not over), over, and the open objections' ids.
    in_period: bool = False
    period_over: bool = False
    period_ends: str | None = None
    open_objections: frozenset[int] = frozenset()
    # Filled by the guard: whether the meeting passed, and its figures for the timeline.
    passed: bool = False
    figures: dict[str, int] = field(default_factory=dict)

    def _need(self, name: str, trigger: str) -> None:
        if not _text(self.params.get(name)):
            raise InvalidInput(N_("'%(trigger)s' needs a non-empty %(field_name)s"), field=name,
                               trigger=trigger, field_name=name)

    def has_reason(self, event: EventData) -> bool:
        """Guard: returning, rejecting and withdrawing say why."""
        self._need("reason", event.event.name)
        return True

    def has_comment(self, event: EventData) -> bool:
        """Guard: the street's comment has its text."""
        self._need("text", "comment")
        return True

    def has_attachment(self, event: EventData) -> bool:
        """Guard: an attachment has its kind and its file (checked by the steps)."""
        if self.params.get("kind") not in {"plan", "budget", "notice_photo", "other"}:
            raise InvalidInput(N_("kind must be one of: %(kinds)s"), field="kind",
                               kinds="plan, budget, notice_photo, other")
        if not self.params.get("content"):
            raise InvalidInput(N_("'attach' needs the file"), field="file")
        return True

    def valid_meeting(self, event: EventData) -> bool:
        """Guard: a meeting has its date, place, minutes, who was entitled and present, and a quorum.

        A meeting short of its quorum is refused with the numbers; one whose vote does not pass
        must say whether the proposal goes back for rework or is rejected.
        """
        trigger = event.event.name
        kind = MEETING_OF[trigger]
        if not isinstance(self.params.get("held_on"), date):
            raise InvalidInput(N_("'%(trigger)s' needs held_on, the date of the meeting"), field="held_on",
                               trigger=trigger)
        self._need("place", trigger)
        self._need("minutes", trigger)
        entitled = self.params.get("entitled")
        present = self.params.get("present")
        if not isinstance(entitled, list) or not entitled:
            raise InvalidInput(N_("'%(trigger)s' needs entitled, who was entitled to attend"), field="entitled",
                               trigger=trigger)
        if not isinstance(present, list):
            raise InvalidInput(N_("'%(trigger)s' needs present, who attended"), field="present", trigger=trigger)
        strangers = [p for p in present if p not in entitled]
        if strangers:
            raise InvalidInput(N_("%(names)s attended but is not among those entitled to attend"), field="present",
                               names=", ".join(str(s) for s in strangers))
        e, p = len(set(entitled)), len(set(present))
        need = quorum_needed(kind, e)
        if p < need:
            if kind == MeetingKind.PARTY:
                raise InvalidInput(N_("no quorum: the party members' meeting needs two thirds of the %(entitled)s "
                                      "entitled present, %(needed)s, and %(present)s were present"),
                                   field="present", entitled=e, needed=need, present=p)
            raise InvalidInput(N_("no quorum: the residents' meeting needs more than half of the %(entitled)s "
                                  "entitled present, %(needed)s, and %(present)s were present"),
                               field="present", entitled=e, needed=need, present=p)
        votes = [self.params.get(k) for k in ("votes_for", "votes_against", "votes_abstaining")]
        if kind == MeetingKind.JOINT and all(v is None for v in votes):
            self.passed, self.figures = True, {"entitled": e, "present": p}
            return True
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in votes):
            raise InvalidInput(N_("'%(trigger)s' needs votes_for, votes_against and votes_abstaining"),
                               field="votes_for", trigger=trigger)
        votes_for, against, abstaining = (int(v) for v in votes)  # type: ignore[arg-type]
        if votes_for + against + abstaining > p:
            raise InvalidInput(N_("%(votes)s votes were counted but only %(present)s were present"),
                               field="votes_for", votes=votes_for + against + abstaining, present=p)
        majority = more_than_half(p)
        self.passed = votes_for >= majority
        self.figures = {"entitled": e, "present": p, "for": votes_for, "against": against,
                        "abstaining": abstaining, "needed": majority}
        if not self.passed and self.params.get("if_not_passed") not in {x.value for x in IfNotPassed}:
            raise InvalidInput(N_("the vote did not pass: %(votes_for)s for of %(present)s present, more than half "
                                  "(%(needed)s) needed; say whether it goes back for rework or is rejected"),
                               field="if_not_passed", votes_for=votes_for, present=p, needed=majority)
        return True

    def passes(self, event: EventData) -> bool:
        """Branch guard: quorum and majority reached; the decision moves on."""
        return self.passed

    def returns_for_rework(self, event: EventData) -> bool:
        """Branch guard: the vote failed and the proposal goes back to be reworked."""
        return not self.passed and self.params.get("if_not_passed") == IfNotPassed.REWORK

    def ends_rejected(self, event: EventData) -> bool:
        """Branch guard: the vote failed and the proposal is rejected."""
        return not self.passed and self.params.get("if_not_passed") == IfNotPassed.REJECT

    def publishable_text(self, event: EventData) -> bool:
        """Guard: the text posted publicly has no phone, ID or bank card number in it."""
        self._need("text", event.event.name)
        if scrub(self.params["text"]) != self.params["text"]:
            raise InvalidInput(N_("the text to publish contains a phone, ID or bank card number; remove it "
                                  "before it goes up"), field="text")
        return True

    def objection_time(self, event: EventData) -> bool:
        """Guard: objections are raised while the publication period runs."""
        if not self.in_period:
            raise InvalidTransition(N_("the publication period is over; objections are no longer taken"))
        return True

    def valid_objection(self, event: EventData) -> bool:
        """Guard: an objection has the resident's name, phone and what they object to."""
        for name in ("name", "phone", "text"):
            self._need(name, "object")
        digits = "".join(ch for ch in str(self.params["phone"]) if ch.isdigit())
        if len(digits) < 7:
            raise InvalidInput(N_("phone must be a phone number we can call back"), field="phone")
        return True

    def valid_answer(self, event: EventData) -> bool:
        """Guard: an answer names an open objection and has a text fit to publish."""
        if self.params.get("objection_id") not in self.open_objections:
            raise InvalidInput(N_("objection_id must be one of the objections still to answer"),
                               field="objection_id")
        return self.publishable_text(event)

    def period_done(self, event: EventData) -> bool:
        """Guard: the publication period has run its time and no objection is left unanswered."""
        if self.open_objections:
            raise InvalidTransition(N_("%(count)s objection(s) to the published text are still to be answered"),
                                    count=len(self.open_objections))
        if not self.period_over:
            raise InvalidTransition(N_("the publication period runs until %(ends)s"), ends=self.period_ends or "")
        return True


MACHINE = Machine(
    model=None,
    states=[s.value for s in DState],
    transitions=TRANSITIONS,
    initial=None,
    auto_transitions=False,
    send_event=True,
    model_attribute="state",
)


def check_actor(step: DStep, trigger: str) -> None:
    """Refuse an actor who is not the one the trigger calls for.

    Raises:
        Forbidden: naming who does it.
    """
    if trigger in NOT_STAFF:
        if step.actor != NOT_STAFF[trigger]:
            raise Forbidden(N_("'%(trigger)s' on a decision is done by the %(who)s"), trigger=trigger,
                            who=NOT_STAFF[trigger].value)
        return
    allowed = RULES[trigger]
    if step.actor == Actor.STAFF and step.positions & allowed:
        return
    who = " or ".join(sorted(p.value for p in allowed))
    raise Forbidden(N_("'%(trigger)s' on a decision is done by the %(who)s"), trigger=trigger, who=who)


def fire(step: DStep, trigger: str) -> bool:
    """Fire ``trigger`` on ``step``; return whether the state changed.

    Raises:
        InvalidTransition: the trigger does not apply in the decision's state.
        InvalidInput: a guard found a value missing or wrong (a quorum missed, with the numbers).
        Forbidden: the actor is not the one the trigger calls for.
    """
    if trigger not in TRIGGERS:
        raise InvalidTransition(N_("'%(trigger)s' is not a trigger of the decision machine"), trigger=trigger)
    check_actor(step, trigger)
    before = step.state
    try:
        fired = MACHINE.events[trigger].trigger(step)
    except MachineError as exc:
        raise InvalidTransition(N_("'%(trigger)s' does not apply to a decision in state '%(state)s'"),
                                trigger=trigger, state=before) from exc
    if not fired:
        raise InvalidTransition(N_("'%(trigger)s' does not apply to a decision in state '%(state)s'"),
                                trigger=trigger, state=before)
    return step.state != before


def applies(state: str, trigger: str) -> bool:
    """Tell whether ``trigger`` has a transition out of ``state`` (guards aside)."""
    event = MACHINE.events.get(trigger)
    return event is not None and state in event.transitions
