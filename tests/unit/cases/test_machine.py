"""The state machine as a table: every (state, trigger) pair, allowed or refused."""

from __future__ import annotations

import pytest

from schemas.vocabulary import Level, State
from workflow.base.errors import InvalidInput, InvalidTransition
from workflow.cases.machine import TRIGGERS, Step, fire, level_of_state

C, G, B, GB, ST = "collected", "grid_handling", "branch_handling", "general_branch_handling", "street_handling"
RES, RB, CL, REJ, WD, MG = "resolved", "reported_back", "closed", "rejected", "withdrawn", "merged"

# Written out by hand from DESIGN.md, not derived from the machine, so the two check each other.
# take_over is fired by the street (actor_level=street); reopen on a case resolved at the grid.
ALLOWED: dict[tuple[str, str], str] = {
    (C, "dispatch"): G, (C, "emergency"): ST, (C, "reject"): REJ, (C, "withdraw"): WD,
    (C, "merge"): MG, (C, "note"): C,
    **{(s, "emergency"): ST for s in (G, B, GB)},
    (G, "escalate"): B, (B, "escalate"): GB, (GB, "escalate"): ST,
    (G, "deadline_passed"): B, (B, "deadline_passed"): GB, (GB, "deadline_passed"): ST,
    (ST, "deadline_passed"): ST,
    (G, "take_over"): ST, (B, "take_over"): ST, (GB, "take_over"): ST,
    (B, "send_back"): G, (GB, "send_back"): B, (ST, "send_back"): GB,
    **{(s, t): RES for s in (G, B, GB, ST) for t in ("resolve",)},
    **{(s, t): s for s in (G, B, GB, ST)
       for t in ("accept", "note", "urge", "supervise", "warn", "contact_overdue", "request_pause",
                 "request_extension", "reapply_policy")},
    **{(s, "reject"): REJ for s in (G, B, GB, ST)},
    **{(s, "merge"): MG for s in (G, B, GB, ST)},
    **{(s, "withdraw"): WD for s in (G, B, GB, ST, RES, RB)},
    (RES, "report_back"): RB, (RES, "note"): RES,
    (RB, "confirm"): CL, (RB, "reopen"): G, (RB, "note"): RB,
    **{(s, "reveal"): s for s in (C, G, B, GB, ST, RES, RB)},
    # A breached mediation agreement (issue 13) brings the case back to the level that mediated (params: branch),
    # even from closed.
    **{(s, "reopen_dispute"): B for s in (G, B, GB, ST, RES, RB, CL)},
}

PARAMS = {"reason": "why", "summary": "what was done", "message": "to the resident", "merge_into": 7,
          "extend_by": "P3D", "level": "branch"}


def _step(state: str) -> Step:
    level = level_of_state(state) or Level.GRID
    return Step(state=state, level=level, actor_level=Level.STREET, resolved_level=Level.GRID,
                params=dict(PARAMS))


@pytest.mark.parametrize(("state", "trigger"), [(s.value, t) for s in State for t in sorted(TRIGGERS)])
def test_every_state_and_trigger_pair_does_what_the_design_says(state: str, trigger: str) -> None:
    step = _step(state)
    expected = ALLOWED.get((state, trigger))
    if expected is None:
        with pytest.raises(InvalidTransition):
            fire(step, trigger)
    else:
        fire(step, trigger)
        assert step.state == expected


def test_every_allowed_pair_names_a_real_trigger_and_state() -> None:
    states = {s.value for s in State}
    assert {t for _, t in ALLOWED} <= TRIGGERS
    assert {s for s, _ in ALLOWED} | set(ALLOWED.values()) <= states


@pytest.mark.parametrize(("state", "trigger", "missing"), [
    (G, "escalate", "reason"), (B, "send_back", "reason"), (G, "reject", "reason"),
    (G, "resolve", "summary"), (RES, "report_back", "message"), (G, "urge", "message"),
    (G, "merge", "merge_into"), (CL, "reopen_dispute", "level"),
])
def test_guard_names_the_missing_field(state: str, trigger: str, missing: str) -> None:
    step = _step(state)
    step.params.pop(missing)
    with pytest.raises(InvalidInput) as refused:
        fire(step, trigger)
    assert refused.value.field == missing
    assert step.state == state


def test_blank_reason_counts_as_missing() -> None:
    step = _step(G)
    step.params["reason"] = "   "
    with pytest.raises(InvalidInput):
        fire(step, "escalate")


@pytest.mark.parametrize(("resolved_at", "reopens", "lands"), [
    (Level.GRID, 0, G), (Level.GRID, 1, B), (Level.BRANCH, 0, B), (Level.BRANCH, 2, GB),
    (Level.STREET, 0, ST), (Level.STREET, 1, ST),
])
def test_reopen_returns_to_resolver_then_one_level_up(resolved_at: Level, reopens: int, lands: str) -> None:
    step = Step(state=RB, level=resolved_at, resolved_level=resolved_at, reopen_count=reopens)
    fire(step, "reopen")
    assert step.state == lands


@pytest.mark.parametrize(("actor", "lands"), [(Level.BRANCH, B), (Level.GENERAL_BRANCH, GB), (Level.STREET, ST)])
def test_take_over_lands_on_the_taking_units_level(actor: Level, lands: str) -> None:
    step = Step(state=G, level=Level.GRID, actor_level=actor)
    fire(step, "take_over")
    assert step.state == lands
    assert step.level == level_of_state(lands)


def test_resolve_remembers_the_level_that_resolved() -> None:
    step = Step(state=B, level=Level.BRANCH, params={"summary": "mediated"})
    fire(step, "resolve")
    assert step.resolved_level is Level.BRANCH


def test_deadline_at_the_street_flags_supervision_without_moving() -> None:
    step = Step(state=ST, level=Level.STREET)
    assert fire(step, "deadline_passed") is False
    assert step.state == ST and step.supervised


def test_unknown_trigger_is_refused() -> None:
    with pytest.raises(InvalidTransition, match="not a trigger"):
        fire(_step(G), "teleport")


@pytest.mark.parametrize(("waiting", "paused", "trigger", "allowed"), [
    (None, False, "approve_pause", False), ("pause", False, "approve_pause", True),
    ("extension", False, "approve_pause", False), ("pause", False, "refuse_pause", True),
    ("extension", False, "approve_extension", True), ("pause", False, "approve_extension", False),
    (None, True, "resume", True), (None, False, "resume", False),
    (None, True, "request_pause", False), ("pause", False, "request_extension", False),
])
def test_pauses_and_extensions_are_decided_only_when_asked(waiting: str | None, paused: bool, trigger: str,
                                                           allowed: bool) -> None:
    step = Step(state=G, level=Level.GRID, params=dict(PARAMS), waiting=waiting, paused=paused)
    if allowed:
        assert fire(step, trigger) is False and step.state == G
    else:
        with pytest.raises(InvalidTransition):
            fire(step, trigger)


@pytest.mark.parametrize("extend_by", ["3", "three days", "P0D", "", "PT-5H"])
def test_extension_needs_a_positive_iso_duration(extend_by: str) -> None:
    step = Step(state=G, level=Level.GRID, params={**PARAMS, "extend_by": extend_by})
    with pytest.raises(InvalidInput) as refused:
        fire(step, "request_extension")
    assert refused.value.field == "extend_by"
