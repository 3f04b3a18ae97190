"""The case state machine, defined once as data, with its guards and callbacks by name."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from transitions import EventData, Machine, MachineError

from schemas.policy import Duration
from schemas.vocabulary import FINAL_STATES, HANDLING_LADDER, HANDLING_STATE, Level, Role, State
from workflow.base.errors import N_, Forbidden, InvalidInput, InvalidTransition
from workflow.clock.policy import current_policy

S = State
HANDLING = [HANDLING_STATE[level].value for level in HANDLING_LADDER]
OPEN_UNRESOLVED = [S.COLLECTED.value, *HANDLING]
NOT_FINAL = [s.value for s in State if s not in FINAL_STATES]


class Actor(StrEnum):
    """Who may fire a trigger."""

    STAFF = "staff"
    SYSTEM = "system"
    RESIDENT = "resident"


class Position(StrEnum):
    """Where a staff member's unit stands on the case's path, relative to the unit holding it."""

    HOLDER = "holder"  # works the case
    ABOVE = "above"  # takes it over, urges, supervises, decides requests
    BELOW = "below"  # logged it or passed it up: may still add notes


@dataclass(frozen=True)
class TriggerRule:
    """Who may fire a trigger, from which position, and whether its step shows on the resident's timeline."""

    actors: frozenset[Actor]
    positions: frozenset[Position] = frozenset({Position.HOLDER})
    public: bool = True


# Every role works cases except the administrator's: administering the org tree is not working
# cases, so an administrator acts on a case only as a member with one of these roles.
CASE_ROLES = frozenset(Role) - {Role.ADMIN}

_STAFF = frozenset({Actor.STAFF})
_ABOVE = frozenset({Position.ABOVE})
_ON_PATH = frozenset(Position)
RULES: dict[str, TriggerRule] = {
    "dispatch": TriggerRule(frozenset({Actor.SYSTEM})),
    "emergency": TriggerRule(frozenset({Actor.SYSTEM, Actor.STAFF})),
    # The holder works the case: signs for it, resolves, escalates, sends down, asks for time.
    "escalate": TriggerRule(_STAFF),
    "deadline_passed": TriggerRule(frozenset({Actor.SYSTEM})),
    "send_back": TriggerRule(_STAFF),
    "resolve": TriggerRule(_STAFF),
    "report_back": TriggerRule(_STAFF),
    "confirm": TriggerRule(frozenset({Actor.RESIDENT, Actor.SYSTEM})),
    "reopen": TriggerRule(frozenset({Actor.RESIDENT})),
    # A follow-up visit found a mediation agreement breached: the engine sends the case back to the
    # level that mediated it (workflow/mediation), whatever state it had reached since.
    "reopen_dispute": TriggerRule(frozenset({Actor.SYSTEM})),
    "reject": TriggerRule(_STAFF),
    "withdraw": TriggerRule(frozenset({Actor.STAFF, Actor.RESIDENT})),
    "merge": TriggerRule(_STAFF),
    "accept": TriggerRule(_STAFF),
    # Anyone on the path may write down what they know, such as the grid that logged an escalated case.
    "note": TriggerRule(_STAFF, _ON_PATH, public=False),
    # Showing a party's full phone or name to a member: a step of its own, so every reveal is on record.
    "reveal": TriggerRule(_STAFF, public=False),
    # Units above take the case over, urge, supervise, and decide what the holder asked.
    "take_over": TriggerRule(_STAFF, _ABOVE),
    "urge": TriggerRule(_STAFF, _ABOVE, public=False),
    "supervise": TriggerRule(_STAFF, _ABOVE, public=False),
    # The clock's own steps, and pauses and extensions: the holder asks, a level above decides.
    "warn": TriggerRule(frozenset({Actor.SYSTEM}), public=False),
    "contact_overdue": TriggerRule(frozenset({Actor.SYSTEM}), public=False),
    "request_pause": TriggerRule(_STAFF, public=False),
    "approve_pause": TriggerRule(_STAFF, _ABOVE),
    "refuse_pause": TriggerRule(_STAFF, _ABOVE, public=False),
    "resume": TriggerRule(_STAFF),
    "request_extension": TriggerRule(_STAFF, public=False),
    "approve_extension": TriggerRule(_STAFF, _ABOVE),
    "refuse_extension": TriggerRule(_STAFF, _ABOVE, public=False),
    "reapply_policy": TriggerRule(frozenset({Actor.SYSTEM}), public=False),
}


def _steps_up() -> list[dict[str, Any]]:
    steps = []
    for lower, upper in zip(HANDLING_LADDER, HANDLING_LADDER[1:], strict=False):
        src, dst = HANDLING_STATE[lower].value, HANDLING_STATE[upper].value
        steps.append({"trigger": "escalate", "source": src, "dest": dst, "conditions": "has_reason"})
        steps.append({"trigger": "deadline_passed", "source": src, "dest": dst})
        steps.append({"trigger": "send_back", "source": dst, "dest": src, "conditions": "has_reason"})
    return steps


# transitions picks the first branch whose conditions hold; the condition names the level
# the case must land on, so one trigger can go to a level chosen at run time.
def _reopen() -> list[dict[str, Any]]:
    return [
        {"trigger": "reopen", "source": S.REPORTED_BACK.value, "dest": dest,
         "conditions": "lands_at_reopen_level"}
        for dest in HANDLING
    ]


def _reopen_dispute() -> list[dict[str, Any]]:
    # From handling, resolved, reported back or closed: an agreement can be breached after the case ended.
    sources = [*HANDLING, S.RESOLVED.value, S.REPORTED_BACK.value, S.CLOSED.value]
    return [
        {"trigger": "reopen_dispute", "source": sources, "dest": dest, "conditions": "lands_at_mediating_level"}
        for dest in HANDLING
    ]


def _take_over() -> list[dict[str, Any]]:
    return [
        {"trigger": "take_over", "source": HANDLING[:i], "dest": dest, "conditions": "lands_at_actor_level"}
        for i, dest in enumerate(HANDLING) if i > 0
    ]


TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "dispatch", "source": S.COLLECTED.value, "dest": S.GRID_HANDLING.value},
    {"trigger": "emergency", "source": OPEN_UNRESOLVED[:-1], "dest": S.STREET_HANDLING.value},
    *_steps_up(),
    # At the top there is nowhere to go: the clock flags the case for supervision instead.
    {"trigger": "deadline_passed", "source": S.STREET_HANDLING.value, "dest": None,
     "after": "flag_supervision"},
    *_take_over(),
    {"trigger": "resolve", "source": HANDLING, "dest": S.RESOLVED.value, "conditions": "has_summary",
     "after": "remember_resolving_level"},
    {"trigger": "report_back", "source": S.RESOLVED.value, "dest": S.REPORTED_BACK.value,
     "conditions": "has_message"},
    {"trigger": "confirm", "source": S.REPORTED_BACK.value, "dest": S.CLOSED.value},
    *_reopen(),
    *_reopen_dispute(),
    {"trigger": "reject", "source": OPEN_UNRESOLVED, "dest": S.REJECTED.value, "conditions": "has_reason"},
    {"trigger": "withdraw", "source": NOT_FINAL, "dest": S.WITHDRAWN.value},
    {"trigger": "merge", "source": OPEN_UNRESOLVED, "dest": S.MERGED.value, "conditions": "has_merge_target"},
    {"trigger": "accept", "source": HANDLING, "dest": None},
    {"trigger": "note", "source": NOT_FINAL, "dest": None, "conditions": "has_message"},
    {"trigger": "reveal", "source": NOT_FINAL, "dest": None, "conditions": "has_reason"},
    {"trigger": "urge", "source": HANDLING, "dest": None, "conditions": "has_message"},
    {"trigger": "supervise", "source": HANDLING, "dest": None, "conditions": "has_message",
     "after": "flag_supervision"},
    {"trigger": "warn", "source": HANDLING, "dest": None},
    {"trigger": "contact_overdue", "source": HANDLING, "dest": None},
    {"trigger": "request_pause", "source": HANDLING, "dest": None,
     "conditions": ["has_reason", "nothing_waiting", "not_paused"]},
    {"trigger": "approve_pause", "source": HANDLING, "dest": None,
     "conditions": ["pause_requested", "decided_above_the_asker"]},
    {"trigger": "refuse_pause", "source": HANDLING, "dest": None,
     "conditions": ["has_reason", "pause_requested", "decided_above_the_asker"]},
    {"trigger": "resume", "source": HANDLING, "dest": None, "conditions": "is_paused"},
    {"trigger": "request_extension", "source": HANDLING, "dest": None,
     "conditions": ["has_reason", "has_extend_by", "nothing_waiting", "not_paused"]},
    {"trigger": "approve_extension", "source": HANDLING, "dest": None,
     "conditions": ["extension_requested", "decided_above_the_asker"]},
    {"trigger": "refuse_extension", "source": HANDLING, "dest": None,
     "conditions": ["has_reason", "extension_requested", "decided_above_the_asker"]},
    {"trigger": "reapply_policy", "source": HANDLING, "dest": None, "conditions": "has_reason"},
]

TRIGGERS = frozenset(RULES)


def level_of_state(state: str) -> Level | None:
    """Return the level that handles a case in ``state``, or None outside the handling states."""
    for level, handling in HANDLING_STATE.items():
        if handling.value == state:
            return level
    return None


def level_above(level: Level) -> Level:
    """Return the next level up the handling ladder (the street stays the street)."""
    index = HANDLING_LADDER.index(level)
    return HANDLING_LADDER[min(index + 1, len(HANDLING_LADDER) - 1)]


def _rank(level: Level) -> int:
    return HANDLING_LADDER.index(level)


def position_of(actor_level: Level, holding: Level) -> Position:
    """Return where a unit of ``actor_level`` stands relative to the level holding the case."""
    if actor_level == holding:
        return Position.HOLDER
    return Position.ABOVE if _rank(actor_level) > _rank(holding) else Position.BELOW


def check_actor(step: Step, trigger: str) -> None:
    """Refuse a staff member whose role or position the trigger's rule does not allow.

    Raises:
        Forbidden: the member has no case role, or stands where the trigger is not theirs.
    """
    if step.actor_position is None:
        return  # the engine and the resident: their rule is checked by actor kind
    if step.actor_role not in CASE_ROLES:
        raise Forbidden(N_("an administrator works cases only as a member of a unit with a case role"))
    rule = RULES[trigger]
    if step.actor_position in rule.positions:
        return
    if rule.positions == {Position.ABOVE}:
        raise Forbidden(N_("'%(trigger)s' is for a unit above the %(level)s holding the case"),
                        trigger=trigger, level=step.level.value)
    if step.actor_position is Position.BELOW:
        raise Forbidden(N_("the case is held by the %(level)s now; a unit below it may add notes only"),
                        level=step.level.value)
    raise Forbidden(N_("'%(trigger)s' is done by the %(level)s holding the case; a unit above takes it over first"),
                    trigger=trigger, level=step.level.value)


def _landing(event: EventData) -> Level | None:
    dest = event.transition.dest if event.transition else None
    return level_of_state(dest) if dest else None


@dataclass
class Step:
    """The model the machine fires on: a case's state and what the actor brought with the trigger."""

    state: str
    level: Level
    actor_level: Level | None = None
    resolved_level: Level | None = None
    reopen_count: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    supervised: bool = False
    paused: bool = False
    waiting: str | None = None  # a request awaiting a decision: "pause" or "extension"
    requested_by: Level | None = None  # the level that asked for it
    # A staff member's place on the case's path and role; None for the engine and the resident.
    actor_position: Position | None = None
    actor_role: str | None = None

    def _require(self, name: str, trigger: str) -> bool:
        value = self.params.get(name)
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(N_("'%(trigger)s' needs a non-empty %(field_name)s"), field=name,
                               trigger=trigger, field_name=name)
        return True

    def has_reason(self, event: EventData) -> bool:
        """Guard: escalations, send-backs and rejections say why."""
        return self._require("reason", event.event.name)

    def has_summary(self, event: EventData) -> bool:
        """Guard: a resolution says what was done."""
        return self._require("summary", event.event.name)

    def has_message(self, event: EventData) -> bool:
        """Guard: report back, notes, urging and supervision carry a message."""
        return self._require("message", event.event.name)

    def has_merge_target(self, event: EventData) -> bool:
        """Guard: a merge names the case it merges into."""
        if not isinstance(self.params.get("merge_into"), int):
            raise InvalidInput(N_("'merge' needs merge_into, the id of the case to merge into"),
                               field="merge_into")
        return True

    def has_extend_by(self, event: EventData) -> bool:
        """Guard: an extension says by how long, as an ISO 8601 duration of days and time (P3D, PT12H)."""
        value = self.params.get("extend_by")
        try:
            asked = Duration.parse(f"{value} calendar")
        except ValueError as exc:
            raise InvalidInput(N_("'request_extension' needs extend_by, an ISO 8601 duration such as P3D"),
                               field="extend_by") from exc
        # Unbounded, P999999999D overflows every later deadline computation of the case.
        longest = current_policy().spec.max_extension
        if asked.span > longest.span:
            raise InvalidInput(N_("extend_by may be at most %(longest)s (the policy's max_extension)"),
                               field="extend_by", longest=longest.text.split()[0])
        return True

    def nothing_waiting(self, event: EventData) -> bool:
        """Guard: one request at a time."""
        if self.waiting:
            raise InvalidTransition(N_("a request ('%(trigger)s') is already waiting for a decision"),
                                    trigger=f"request_{self.waiting}")
        return True

    def not_paused(self, event: EventData) -> bool:
        """Guard: a paused case is resumed first."""
        if self.paused:
            raise InvalidTransition(N_("the case is paused; resume it first"))
        return True

    def is_paused(self, event: EventData) -> bool:
        """Guard: only a paused case resumes."""
        if not self.paused:
            raise InvalidTransition(N_("the case is not paused"))
        return True

    def pause_requested(self, event: EventData) -> bool:
        """Guard: a pause is decided only when one was asked for."""
        if self.waiting != "pause":
            raise InvalidTransition(N_("no pause request is waiting for a decision"))
        return True

    def extension_requested(self, event: EventData) -> bool:
        """Guard: an extension is decided only when one was asked for."""
        if self.waiting != "extension":
            raise InvalidTransition(N_("no extension request is waiting for a decision"))
        return True

    def decided_above_the_asker(self, event: EventData) -> bool:
        """Guard: a unit never decides its own request; the decider stands strictly above the asker."""
        asker = self.requested_by or self.level
        if self.actor_level is not None and _rank(self.actor_level) <= _rank(asker):
            raise Forbidden(N_("a request of the %(level)s is decided by a unit above it"), level=asker.value)
        return True

    def lands_at_actor_level(self, event: EventData) -> bool:
        """Branch guard: take-over lands on the level of the unit that takes it."""
        return _landing(event) == self.actor_level

    def lands_at_reopen_level(self, event: EventData) -> bool:
        """Branch guard: reopen returns to the resolving level, one level higher from the second time."""
        base = self.resolved_level or Level.GRID
        target = base if self.reopen_count == 0 else level_above(base)
        return _landing(event) == target

    def lands_at_mediating_level(self, event: EventData) -> bool:
        """Branch guard: a breached agreement returns the case to the level that mediated it (params' level)."""
        wanted = self.params.get("level")
        if wanted not in {level.value for level in HANDLING_LADDER}:
            raise InvalidInput(N_("'%(trigger)s' needs the level that mediated"), field="level",
                               trigger=event.event.name)
        return _landing(event) == Level(wanted)

    def flag_supervision(self, event: EventData) -> None:
        """Callback: mark the case as under supervision (督办)."""
        self.supervised = True

    def remember_resolving_level(self, event: EventData) -> None:
        """Callback: remember who resolved it, so a reopen knows where to return."""
        self.resolved_level = self.level


# One machine for every case (the transitions FAQ pattern): no model is ever attached,
# so firing costs microseconds and nothing accumulates between events.
MACHINE = Machine(
    model=None,
    states=[s.value for s in State],
    transitions=TRANSITIONS,
    initial=None,
    auto_transitions=False,
    send_event=True,
    model_attribute="state",
)


def fire(step: Step, trigger: str) -> bool:
    """Fire ``trigger`` on ``step``; return whether the state changed.

    Raises:
        InvalidTransition: the trigger does not apply in the step's state.
        InvalidInput: a guard found a required value missing.
    """
    if trigger not in TRIGGERS:
        raise InvalidTransition(N_("'%(trigger)s' is not a trigger of the case machine"), trigger=trigger)
    check_actor(step, trigger)
    before = step.state
    try:
        fired = MACHINE.events[trigger].trigger(step)
    except MachineError as exc:
        raise InvalidTransition(N_("'%(trigger)s' does not apply to a case in state '%(state)s'"),
                                trigger=trigger, state=before) from exc
    if not fired:
        if trigger == "take_over":
            raise Forbidden(N_("only a unit above the one holding the case may take it over"))
        raise InvalidTransition(N_("'%(trigger)s' does not apply to a case in state '%(state)s'"),
                                trigger=trigger, state=before)
    new_level = level_of_state(step.state)
    if new_level is not None:
        step.level = new_level
    return step.state != before


def applies(state: str, trigger: str) -> bool:
    """Tell whether ``trigger`` has a transition out of ``state`` (guards aside)."""
    event = MACHINE.events.get(trigger)
    return event is not None and state in event.transitions
