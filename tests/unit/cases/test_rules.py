"""Who may do what to a case: the machine's rules as a table of (position, role, state, trigger, expected)."""

from __future__ import annotations

import pytest

from schemas.vocabulary import Level, Role
from workflow.base.errors import Forbidden, InvalidTransition
from workflow.cases.machine import Position, Step, fire, level_of_state

G, B, GB, ST = "grid_handling", "branch_handling", "general_branch_handling", "street_handling"
RES, RB, REJ, WD, MG = "resolved", "reported_back", "rejected", "withdrawn", "merged"
HOLDER, ABOVE, BELOW = Position.HOLDER, Position.ABOVE, Position.BELOW
NO = Forbidden  # refused for who is asking, whatever the state
STAFF_TRIGGERS = (
    "accept", "note", "resolve", "escalate", "send_back", "take_over", "urge", "supervise", "emergency",
    "reveal", "request_pause", "approve_pause", "refuse_pause", "resume", "request_extension",
    "approve_extension", "refuse_extension", "reject", "withdraw", "merge",
)

# A case held by the branch; the holder is the branch, above it the street, below it the grid.
# Written by hand from the README's rule: the holder works the case; units above take it over,
# urge, supervise and decide requests; anyone on the path may add a note.
AT_BRANCH: dict[tuple[Position, str], str | type[Exception]] = {
    (HOLDER, "accept"): B, (HOLDER, "note"): B, (HOLDER, "resolve"): RES, (HOLDER, "escalate"): GB,
    (HOLDER, "send_back"): G, (HOLDER, "take_over"): NO, (HOLDER, "urge"): NO, (HOLDER, "supervise"): NO,
    (HOLDER, "emergency"): ST, (HOLDER, "reveal"): B, (HOLDER, "request_pause"): B,
    (HOLDER, "approve_pause"): NO, (HOLDER, "refuse_pause"): NO, (HOLDER, "resume"): B,
    (HOLDER, "request_extension"): B, (HOLDER, "approve_extension"): NO, (HOLDER, "refuse_extension"): NO,
    (HOLDER, "reject"): REJ, (HOLDER, "withdraw"): WD, (HOLDER, "merge"): MG,
    (ABOVE, "note"): B, (ABOVE, "take_over"): ST, (ABOVE, "urge"): B, (ABOVE, "supervise"): B,
    (ABOVE, "approve_pause"): B, (ABOVE, "refuse_pause"): B, (ABOVE, "approve_extension"): B,
    (ABOVE, "refuse_extension"): B,
    (BELOW, "note"): B,
}
ACTOR_LEVEL = {HOLDER: Level.BRANCH, ABOVE: Level.STREET, BELOW: Level.GRID}
PARAMS = {"reason": "why", "summary": "what was done", "message": "m", "merge_into": 7, "extend_by": "P3D"}


def _step(state: str, position: Position, trigger: str, role: str = Role.BRANCH_SECRETARY) -> Step:
    # Each trigger meets the case it applies to: a request waiting for a decision, a paused clock.
    waiting = trigger.split("_", 1)[1] if trigger.startswith(("approve_", "refuse_")) else None
    return Step(state=state, level=level_of_state(state) or Level.GRID, actor_level=ACTOR_LEVEL[position],
                actor_position=position, actor_role=role, params=dict(PARAMS), waiting=waiting,
                requested_by=Level.BRANCH if waiting else None, paused=trigger == "resume")


@pytest.mark.parametrize(("position", "trigger"), [(p, t) for p in Position for t in STAFF_TRIGGERS])
def test_each_position_may_do_what_it_calls_for_and_nothing_else(position: Position, trigger: str) -> None:
    step = _step(B, position, trigger)
    expected = AT_BRANCH.get((position, trigger), NO)
    if isinstance(expected, str):
        fire(step, trigger)
        assert step.state == expected
    else:
        with pytest.raises(expected):
            fire(step, trigger)
        assert step.state == B


@pytest.mark.parametrize(("position", "state", "trigger", "expected"), [
    (HOLDER, RES, "report_back", RB), (ABOVE, RES, "report_back", NO), (BELOW, RES, "report_back", NO),
    (BELOW, RES, "note", RES),
    # Send back goes down one level from the holder, who is the one sending it.
    (HOLDER, ST, "send_back", GB), (HOLDER, GB, "send_back", B), (HOLDER, G, "send_back", InvalidTransition),
    (ABOVE, GB, "send_back", NO),
    # The street signing for a case the general branch holds (the bug seen in use).
    (ABOVE, GB, "accept", NO), (ABOVE, G, "resolve", NO),
])
def test_position_rules_in_other_states(position: Position, state: str, trigger: str,
                                        expected: str | type[Exception]) -> None:
    step = _step(state, position, trigger)
    step.actor_level = {HOLDER: level_of_state(state) or Level.GRID, ABOVE: Level.STREET,
                        BELOW: Level.GRID}[position]
    if isinstance(expected, str):
        fire(step, trigger)
        assert step.state == expected
    else:
        with pytest.raises(expected):
            fire(step, trigger)


@pytest.mark.parametrize("trigger", STAFF_TRIGGERS)
def test_an_administrator_works_no_case_even_from_the_holding_unit(trigger: str) -> None:
    with pytest.raises(Forbidden, match="administrator"):
        fire(_step(B, HOLDER, trigger, role=Role.ADMIN), trigger)


@pytest.mark.parametrize(("asker", "decider", "allowed"), [
    (Level.GRID, Level.BRANCH, True), (Level.GRID, Level.STREET, True), (Level.BRANCH, Level.STREET, True),
    (Level.STREET, Level.STREET, False), (Level.BRANCH, Level.BRANCH, False), (Level.GENERAL_BRANCH, Level.BRANCH, False),
])
@pytest.mark.parametrize("trigger", ["approve_pause", "refuse_pause", "approve_extension", "refuse_extension"])
def test_a_request_is_decided_strictly_above_the_unit_that_asked(asker: Level, decider: Level, allowed: bool,
                                                                 trigger: str) -> None:
    step = Step(state=G, level=Level.GRID, actor_level=decider, actor_position=ABOVE,
                actor_role=Role.STREET_STAFF, params=dict(PARAMS), waiting=trigger.split("_", 1)[1],
                requested_by=asker)
    if allowed:
        fire(step, trigger)
    else:
        with pytest.raises(Forbidden, match="decided by a unit above"):
            fire(step, trigger)
