"""The mediation state machine, defined once as data like the case machine, with its guards by name."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from transitions import EventData, Machine, MachineError

from workflow.base.errors import N_, Forbidden, InvalidInput, InvalidTransition


class MState(StrEnum):
    """The states of a mediation."""

    PROPOSED = "proposed"  # waiting for every party's consent
    IN_SESSION = "in_session"  # every party agreed to mediate: sessions, drafting, signing
    AGREED = "agreed"  # the agreement took effect
    FOLLOWING_UP = "following_up"  # a visit found it partly performed
    FULFILLED = "fulfilled"
    BREACHED = "breached"
    FAILED = "failed"
    WITHDRAWN = "withdrawn"
    REFERRED = "referred"  # after a breach: sent to arbitration, a court or a department


FINAL = frozenset({MState.FULFILLED, MState.FAILED, MState.WITHDRAWN, MState.REFERRED})
OPEN = [s.value for s in MState if s not in FINAL]


class MPosition(StrEnum):
    """Where a staff member stands towards a mediation."""

    HOLDER = "holder"  # a member of the unit that mediates (the branch, or the general branch's committee)
    MEDIATOR = "mediator"  # a mediator assigned to this mediation
    GRID = "grid"  # a member of the case's grid: visits the parties afterwards (回访)


class ConsentWay(StrEnum):
    """How a party's consent or refusal was given (人民调解法 art. 17: mediation is voluntary)."""

    ON_SCREEN = "on_screen"  # signed on the screen
    ORAL = "oral"  # said before a witness
    IN_WRITING = "in_writing"


class Finding(StrEnum):
    """What a follow-up visit found."""

    PERFORMED = "performed"
    PARTLY = "partly"
    BREACHED = "breached"


class Referral(StrEnum):
    """Where the parties are sent after a breach."""

    ARBITRATION = "arbitration"
    COURT = "court"
    DEPARTMENT = "department"


_H, _M, _G = MPosition.HOLDER, MPosition.MEDIATOR, MPosition.GRID
# Who may fire each trigger. Proposing is the case holder's (steps.propose): there is no mediation yet.
RULES: dict[str, frozenset[MPosition]] = {
    "assign": frozenset({_H}),
    "consent": frozenset({_H, _M}),
    # An assigned mediator sees both parties in full: a step of its own, so every reveal is on record.
    "reveal": frozenset({_M}),
    "session": frozenset({_M}),
    "draft": frozenset({_M}),
    "sign": frozenset({_M}),
    "fail": frozenset({_H, _M}),
    "withdraw": frozenset({_H, _M}),
    "visit": frozenset({_G, _M}),
    "mediate_again": frozenset({_H}),
    "refer": frozenset({_H, _M}),
    # The parties applied to a court for judicial confirmation (人民调解法 art. 33): no day-20 reminder then.
    "confirmation": frozenset({_H, _M}),
    # The clock's own step (workflow/mediation/clock.py): no member fires it.
    "deadline_passed": frozenset(),
}
TRIGGERS = frozenset(RULES)
S = MState

TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "assign", "source": [S.PROPOSED.value, S.IN_SESSION.value], "dest": None,
     "conditions": "has_mediators"},
    # One refusal ends it (mediation is voluntary); the last consent opens the sessions.
    {"trigger": "consent", "source": S.PROPOSED.value, "dest": S.FAILED.value,
     "conditions": ["valid_consent", "refuses"]},
    {"trigger": "consent", "source": S.PROPOSED.value, "dest": S.IN_SESSION.value,
     "conditions": ["valid_consent", "last_consent"]},
    {"trigger": "consent", "source": S.PROPOSED.value, "dest": None, "conditions": "valid_consent"},
    {"trigger": "reveal", "source": OPEN, "dest": None},
    {"trigger": "session", "source": S.IN_SESSION.value, "dest": None, "conditions": "has_session"},
    {"trigger": "draft", "source": S.IN_SESSION.value, "dest": None, "conditions": "has_draft"},
    # A correction of an agreement in effect is a new version that everyone signs again.
    {"trigger": "draft", "source": [S.AGREED.value, S.FOLLOWING_UP.value], "dest": S.IN_SESSION.value,
     "conditions": ["has_draft", "has_reason"]},
    {"trigger": "sign", "source": S.IN_SESSION.value, "dest": S.AGREED.value,
     "conditions": ["valid_signature", "last_signature"]},
    {"trigger": "sign", "source": S.IN_SESSION.value, "dest": None, "conditions": "valid_signature"},
    {"trigger": "fail", "source": [S.PROPOSED.value, S.IN_SESSION.value], "dest": S.FAILED.value,
     "conditions": "has_reason"},
    {"trigger": "withdraw", "source": [S.PROPOSED.value, S.IN_SESSION.value], "dest": S.WITHDRAWN.value,
     "conditions": "has_reason"},
    {"trigger": "visit", "source": [S.AGREED.value, S.FOLLOWING_UP.value], "dest": S.BREACHED.value,
     "conditions": ["valid_visit", "found_breach"]},
    {"trigger": "visit", "source": [S.AGREED.value, S.FOLLOWING_UP.value], "dest": S.FULFILLED.value,
     "conditions": ["valid_visit", "found_all_performed"]},
    {"trigger": "visit", "source": [S.AGREED.value, S.FOLLOWING_UP.value], "dest": S.FOLLOWING_UP.value,
     "conditions": "valid_visit"},
    {"trigger": "confirmation", "source": [S.AGREED.value, S.FOLLOWING_UP.value], "dest": None,
     "conditions": "has_note"},
    {"trigger": "mediate_again", "source": S.BREACHED.value, "dest": S.PROPOSED.value, "conditions": "has_reason"},
    {"trigger": "refer", "source": S.BREACHED.value, "dest": S.REFERRED.value, "conditions": "has_referral"},
    # The time for mediating ran out: it goes to the level above, like a case (steps say where).
    {"trigger": "deadline_passed", "source": [S.PROPOSED.value, S.IN_SESSION.value], "dest": None},
]
# The two phases the clock watches: mediating (its deadline) and following up (the visits).
MEDIATING = frozenset({MState.PROPOSED, MState.IN_SESSION})
FOLLOWING = frozenset({MState.AGREED, MState.FOLLOWING_UP})


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


@dataclass
class MStep:
    """The model the machine fires on: a mediation's state and what the actor brought with the trigger."""

    state: str
    params: dict[str, Any] = field(default_factory=dict)
    positions: frozenset[MPosition] = frozenset()
    # Staff only; None for the engine.
    staff: bool = True
    # Parties (case_parties ids) still to answer, and those of the mediation.
    parties: frozenset[int] = frozenset()
    unanswered: frozenset[int] = frozenset()
    # The agreement draft in force: whether there is one, and who has still to sign it
    # ("party:<id>", "mediator").
    has_agreement: bool = False
    unsigned: frozenset[str] = frozenset()
    eligible_mediators: frozenset[str] = frozenset()

    def _need(self, name: str, trigger: str) -> None:
        if not _text(self.params.get(name)):
            raise InvalidInput(N_("'%(trigger)s' needs a non-empty %(field_name)s"), field=name,
                               trigger=trigger, field_name=name)

    def has_reason(self, event: EventData) -> bool:
        """Guard: failing, withdrawing, correcting and mediating again say why."""
        self._need("reason", event.event.name)
        return True

    def has_note(self, event: EventData) -> bool:
        """Guard: recording an application for judicial confirmation says which court and when."""
        self._need("note", event.event.name)
        return True

    def has_mediators(self, event: EventData) -> bool:
        """Guard: mediators are members with the mediator role of the mediating unit or a unit above."""
        names = self.params.get("mediators")
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise InvalidInput(N_("'%(trigger)s' needs mediators, a list of member names"), field="mediators",
                               trigger=event.event.name)
        wrong = sorted(set(names) - self.eligible_mediators)
        if wrong:
            raise InvalidInput(N_("%(names)s is not a mediator of the mediating unit or a unit above it"),
                               field="mediators", names=", ".join(wrong))
        return True

    def valid_consent(self, event: EventData) -> bool:
        """Guard: a consent names a party still to answer, yes or no, how it was given, and why a no."""
        party = self.params.get("party_id")
        if party not in self.parties:
            raise InvalidInput(N_("party_id must be one of the parties of the mediation"), field="party_id")
        if party not in self.unanswered:
            raise InvalidTransition(N_("party %(party)s has already answered"), party=party)
        if self.params.get("answer") not in {"yes", "no"}:
            raise InvalidInput(N_("answer must be yes or no"), field="answer")
        if self.params.get("given_as") not in {w.value for w in ConsentWay}:
            raise InvalidInput(N_("given_as must be one of: %(ways)s"), field="given_as",
                               ways=", ".join(w.value for w in ConsentWay))
        if self.params.get("given_as") == ConsentWay.ORAL and not _text(self.params.get("witness")):
            raise InvalidInput(N_("an oral answer names its witness"), field="witness")
        if self.params.get("answer") == "no":
            self._need("reason", "consent")
        return True

    def refuses(self, event: EventData) -> bool:
        """Branch guard: a party said no."""
        return bool(self.params.get("answer") == "no")

    def last_consent(self, event: EventData) -> bool:
        """Branch guard: this was the last party to agree."""
        return self.unanswered == {self.params.get("party_id")}

    def has_session(self, event: EventData) -> bool:
        """Guard: a session has its date, place, attendees and record (调解笔录)."""
        held = self.params.get("held_on")
        if not isinstance(held, date):
            raise InvalidInput(N_("'session' needs held_on, the date of the session"), field="held_on")
        for name in ("place", "record"):
            self._need(name, "session")
        attendees = self.params.get("attendees")
        if not isinstance(attendees, list) or not attendees:
            raise InvalidInput(N_("'session' needs attendees, who was there"), field="attendees")
        return True

    def has_draft(self, event: EventData) -> bool:
        """Guard: a draft has the facts, the responsibility and at least one term with how and by when."""
        for name in ("facts", "responsibility"):
            self._need(name, "draft")
        terms = self.params.get("terms")
        if not isinstance(terms, list) or not terms:
            raise InvalidInput(N_("'draft' needs at least one term"), field="terms")
        for i, term in enumerate(terms):
            if not (isinstance(term, dict) and _text(term.get("text")) and _text(term.get("how"))
                    and isinstance(term.get("due"), date)):
                raise InvalidInput(N_("term %(number)s needs its text, how it is performed and by when"),
                                   field=f"terms[{i}]", number=i + 1)
            if term.get("party_id") is not None and term.get("party_id") not in self.parties:
                raise InvalidInput(N_("party_id must be one of the parties of the mediation"),
                                   field=f"terms[{i}].party_id")
        return True

    def valid_signature(self, event: EventData) -> bool:
        """Guard: a signature belongs to someone who has still to sign the draft, with its image."""
        if not self.has_agreement:
            raise InvalidTransition(N_("there is no agreement to sign; draft it first"))
        signer = self.params.get("signer")
        if not _text(signer):
            raise InvalidInput(N_("'sign' needs signer: party:<id> or mediator"), field="signer")
        if signer not in self.unsigned:
            raise InvalidTransition(N_("%(signer)s has already signed or is not a signer of this agreement"),
                                    signer=signer)
        if not self.params.get("image"):
            raise InvalidInput(N_("'sign' needs the signature, or a photo of the paper signature"), field="signature")
        return True

    def last_signature(self, event: EventData) -> bool:
        """Branch guard: every party and the mediator have now signed; the agreement takes effect."""
        return self.unsigned == {self.params.get("signer")}

    def valid_visit(self, event: EventData) -> bool:
        """Guard: a visit says what it found, with a note."""
        if self.params.get("finding") not in {f.value for f in Finding}:
            raise InvalidInput(N_("finding must be one of: %(findings)s"), field="finding",
                               findings=", ".join(f.value for f in Finding))
        self._need("note", "visit")
        return True

    def found_breach(self, event: EventData) -> bool:
        """Branch guard: the terms were not performed."""
        return bool(self.params.get("finding") == Finding.BREACHED)

    def found_all_performed(self, event: EventData) -> bool:
        """Branch guard: every term performed and this is the last visit."""
        return bool(self.params.get("finding") == Finding.PERFORMED and self.params.get("final") is True)

    def has_referral(self, event: EventData) -> bool:
        """Guard: a referral says where to and why."""
        if self.params.get("referred_to") not in {r.value for r in Referral}:
            raise InvalidInput(N_("referred_to must be one of: %(places)s"), field="referred_to",
                               places=", ".join(r.value for r in Referral))
        self._need("reason", "refer")
        return True


MACHINE = Machine(
    model=None,
    states=[s.value for s in MState],
    transitions=TRANSITIONS,
    initial=None,
    auto_transitions=False,
    send_event=True,
    model_attribute="state",
)


def check_actor(step: MStep, trigger: str) -> None:
    """Refuse a staff member who stands nowhere the trigger's rule calls for.

    Raises:
        Forbidden: naming who does it.
    """
    if not step.staff:
        return
    allowed = RULES[trigger]
    if step.positions & allowed:
        return
    who = " or ".join(sorted(p.value for p in allowed))
    raise Forbidden(N_("'%(trigger)s' on a mediation is done by the %(who)s"), trigger=trigger, who=who)


def fire(step: MStep, trigger: str) -> bool:
    """Fire ``trigger`` on ``step``; return whether the state changed.

    Raises:
        InvalidTransition: the trigger does not apply in the mediation's state.
        InvalidInput: a guard found a value missing or wrong.
        Forbidden: the actor does not stand where the trigger calls for.
    """
    if trigger not in TRIGGERS:
        raise InvalidTransition(N_("'%(trigger)s' is not a trigger of the mediation machine"), trigger=trigger)
    check_actor(step, trigger)
    before = step.state
    try:
        fired = MACHINE.events[trigger].trigger(step)
    except MachineError as exc:
        raise InvalidTransition(N_("'%(trigger)s' does not apply to a mediation in state '%(state)s'"),
                                trigger=trigger, state=before) from exc
    if not fired:
        raise InvalidTransition(N_("'%(trigger)s' does not apply to a mediation in state '%(state)s'"),
                                trigger=trigger, state=before)
    return step.state != before


def applies(state: str, trigger: str) -> bool:
    """Tell whether ``trigger`` has a transition out of ``state`` (guards aside)."""
    event = MACHINE.events.get(trigger)
    return event is not None and state in event.transitions
