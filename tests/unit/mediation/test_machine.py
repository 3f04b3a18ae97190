"""The mediation machine: every transition, every guard, and who may fire what."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from workflow.base.errors import Forbidden, InvalidInput, InvalidTransition
from workflow.cases.machine import TRANSITIONS as CASE_TRANSITIONS
from workflow.mediation.machine import RULES, TRANSITIONS, MPosition, MState, MStep, applies, fire

H, M, G = MPosition.HOLDER, MPosition.MEDIATOR, MPosition.GRID
EVERYONE = frozenset(MPosition)
TERM = {"text": "赔偿800元", "how": "转账", "due": date(2026, 12, 20), "party_id": 1}


def step(state: str, positions: frozenset[MPosition] = EVERYONE, **kw: Any) -> MStep:
    params = kw.pop("params", {})
    defaults: dict[str, Any] = {"parties": frozenset({1, 2}), "unanswered": frozenset({1, 2}),
                                "eligible_mediators": frozenset({"xy01.mediator"})}
    return MStep(state=state, params=params, positions=positions, **(defaults | kw))


def signing(unsigned: set[str], **params: Any) -> MStep:
    return step("in_session", has_agreement=True, unsigned=frozenset(unsigned),
                params={"signer": "mediator", "image": b"png"} | params)


# (state, trigger, params, extra model fields, expected state)
MOVES: list[tuple[str, str, dict[str, Any], dict[str, Any], str]] = [
    ("proposed", "assign", {"mediators": ["xy01.mediator"]}, {}, "proposed"),
    ("in_session", "assign", {"mediators": ["xy01.mediator"]}, {}, "in_session"),
    ("proposed", "consent", {"party_id": 1, "answer": "yes", "given_as": "on_screen"}, {}, "proposed"),
    ("proposed", "consent", {"party_id": 2, "answer": "yes", "given_as": "in_writing"},
     {"unanswered": frozenset({2})}, "in_session"),
    ("proposed", "consent", {"party_id": 1, "answer": "no", "given_as": "oral", "witness": "王", "reason": "不愿"},
     {}, "failed"),
    ("proposed", "reveal", {}, {}, "proposed"),
    ("breached", "reveal", {}, {}, "breached"),
    ("in_session", "session", {"held_on": date(2026, 12, 3), "place": "调解室", "attendees": ["张"], "record": "笔录"},
     {}, "in_session"),
    ("in_session", "draft", {"facts": "f", "responsibility": "r", "terms": [TERM]}, {}, "in_session"),
    ("agreed", "draft", {"facts": "f", "responsibility": "r", "terms": [TERM], "reason": "笔误"}, {}, "in_session"),
    ("following_up", "draft", {"facts": "f", "responsibility": "r", "terms": [TERM], "reason": "笔误"}, {},
     "in_session"),
    ("in_session", "sign", {"signer": "party:1", "image": b"p"},
     {"has_agreement": True, "unsigned": frozenset({"party:1", "mediator"})}, "in_session"),
    ("in_session", "sign", {"signer": "mediator", "image": b"p"},
     {"has_agreement": True, "unsigned": frozenset({"mediator"})}, "agreed"),
    ("proposed", "fail", {"reason": "r"}, {}, "failed"),
    ("in_session", "fail", {"reason": "r"}, {}, "failed"),
    ("proposed", "withdraw", {"reason": "r"}, {}, "withdrawn"),
    ("in_session", "withdraw", {"reason": "r"}, {}, "withdrawn"),
    ("agreed", "visit", {"finding": "partly", "note": "n"}, {}, "following_up"),
    ("agreed", "visit", {"finding": "performed", "note": "n"}, {}, "following_up"),
    ("following_up", "visit", {"finding": "performed", "note": "n", "final": True}, {}, "fulfilled"),
    ("following_up", "visit", {"finding": "breached", "note": "n"}, {}, "breached"),
    ("agreed", "visit", {"finding": "breached", "note": "n"}, {}, "breached"),
    ("breached", "mediate_again", {"reason": "r"}, {}, "proposed"),
    ("agreed", "confirmation", {"note": "n"}, {}, "agreed"),
    ("following_up", "confirmation", {"note": "n"}, {}, "following_up"),
    ("breached", "refer", {"referred_to": "court", "reason": "r"}, {}, "referred"),
    # The clock's step: the state stays, the steps move it up a level (tests/unit/mediation/test_clock.py).
    ("proposed", "deadline_passed", {}, {"staff": False}, "proposed"),
    ("in_session", "deadline_passed", {}, {"staff": False}, "in_session"),
]


@pytest.mark.parametrize(("state", "trigger", "params", "extra", "expected"), MOVES)
def test_each_transition(state: str, trigger: str, params: dict[str, Any], extra: dict[str, Any],
                         expected: str) -> None:
    s = step(state, params=params, **extra)
    fire(s, trigger)
    assert s.state == expected


def test_every_transition_of_the_table_is_exercised() -> None:
    covered = {(state, trigger) for state, trigger, *_ in MOVES}
    table = set()
    for t in TRANSITIONS:
        sources = t["source"] if isinstance(t["source"], list) else [t["source"]]
        table |= {(src, t["trigger"]) for src in sources if t["trigger"] != "reveal"}
    assert table <= covered


@pytest.mark.parametrize("trigger", sorted(RULES))
@pytest.mark.parametrize("state", [s.value for s in MState])
def test_a_trigger_out_of_its_states_is_409(state: str, trigger: str) -> None:
    if applies(state, trigger):
        return
    s = step(state, staff=trigger != "deadline_passed")  # the clock's step is the engine's
    with pytest.raises(InvalidTransition):
        fire(s, trigger)
    assert s.state == state


@pytest.mark.parametrize(("trigger", "state"), [
    ("assign", "proposed"), ("consent", "proposed"), ("reveal", "proposed"), ("session", "in_session"),
    ("draft", "in_session"), ("sign", "in_session"), ("fail", "proposed"), ("withdraw", "proposed"),
    ("visit", "agreed"), ("mediate_again", "breached"), ("refer", "breached")])
@pytest.mark.parametrize("position", list(MPosition))
def test_only_the_positions_of_the_rule_may_fire(trigger: str, state: str, position: MPosition) -> None:
    s = step(state, frozenset({position}))
    if position in RULES[trigger]:
        try:  # allowed: it gets past the rule to the guards, which find the params missing
            fire(s, trigger)
        except (InvalidInput, InvalidTransition):
            pass
    else:
        with pytest.raises(Forbidden):
            fire(s, trigger)


def test_no_member_fires_the_clocks_own_step() -> None:
    with pytest.raises(Forbidden):
        fire(step("proposed"), "deadline_passed")


def test_nobody_without_a_position_acts() -> None:
    with pytest.raises(Forbidden):
        fire(step("proposed", frozenset()), "fail")


GUARDS: list[tuple[str, str, dict[str, Any], dict[str, Any], type[Exception], str | None]] = [
    ("proposed", "assign", {}, {}, InvalidInput, "mediators"),
    ("proposed", "assign", {"mediators": ["someone"]}, {}, InvalidInput, "mediators"),
    ("proposed", "consent", {"party_id": 9, "answer": "yes", "given_as": "oral"}, {}, InvalidInput, "party_id"),
    ("proposed", "consent", {"party_id": 1, "answer": "yes", "given_as": "on_screen"},
     {"unanswered": frozenset({2})}, InvalidTransition, None),
    ("proposed", "consent", {"party_id": 1, "answer": "maybe", "given_as": "oral"}, {}, InvalidInput, "answer"),
    ("proposed", "consent", {"party_id": 1, "answer": "yes", "given_as": "email"}, {}, InvalidInput, "given_as"),
    ("proposed", "consent", {"party_id": 1, "answer": "yes", "given_as": "oral"}, {}, InvalidInput, "witness"),
    ("proposed", "consent", {"party_id": 1, "answer": "no", "given_as": "in_writing"}, {}, InvalidInput, "reason"),
    ("in_session", "session", {"place": "p", "attendees": ["a"], "record": "r"}, {}, InvalidInput, "held_on"),
    ("in_session", "session", {"held_on": date(2026, 1, 1), "attendees": ["a"], "record": "r"}, {}, InvalidInput,
     "place"),
    ("in_session", "session", {"held_on": date(2026, 1, 1), "place": "p", "attendees": ["a"], "record": " "}, {},
     InvalidInput, "record"),
    ("in_session", "session", {"held_on": date(2026, 1, 1), "place": "p", "attendees": [], "record": "r"}, {},
     InvalidInput, "attendees"),
    ("in_session", "draft", {"responsibility": "r", "terms": [TERM]}, {}, InvalidInput, "facts"),
    ("in_session", "draft", {"facts": "f", "terms": [TERM]}, {}, InvalidInput, "responsibility"),
    ("in_session", "draft", {"facts": "f", "responsibility": "r", "terms": []}, {}, InvalidInput, "terms"),
    ("in_session", "draft", {"facts": "f", "responsibility": "r", "terms": [{**TERM, "due": None}]}, {},
     InvalidInput, "terms[0]"),
    ("in_session", "draft", {"facts": "f", "responsibility": "r", "terms": [{**TERM, "party_id": 7}]}, {},
     InvalidInput, "terms[0].party_id"),
    ("agreed", "draft", {"facts": "f", "responsibility": "r", "terms": [TERM]}, {}, InvalidInput, "reason"),
    ("in_session", "sign", {"signer": "mediator", "image": b"p"}, {}, InvalidTransition, None),
    ("in_session", "sign", {"image": b"p"}, {"has_agreement": True, "unsigned": frozenset({"mediator"})},
     InvalidInput, "signer"),
    ("in_session", "sign", {"signer": "party:1", "image": b"p"},
     {"has_agreement": True, "unsigned": frozenset({"mediator"})}, InvalidTransition, None),
    ("in_session", "sign", {"signer": "mediator"}, {"has_agreement": True, "unsigned": frozenset({"mediator"})},
     InvalidInput, "signature"),
    ("proposed", "fail", {}, {}, InvalidInput, "reason"),
    ("proposed", "withdraw", {"reason": "  "}, {}, InvalidInput, "reason"),
    ("agreed", "visit", {"finding": "fine", "note": "n"}, {}, InvalidInput, "finding"),
    ("agreed", "visit", {"finding": "partly"}, {}, InvalidInput, "note"),
    ("breached", "mediate_again", {}, {}, InvalidInput, "reason"),
    ("breached", "refer", {"referred_to": "police", "reason": "r"}, {}, InvalidInput, "referred_to"),
    ("breached", "refer", {"referred_to": "court"}, {}, InvalidInput, "reason"),
]


@pytest.mark.parametrize(("state", "trigger", "params", "extra", "error", "field"), GUARDS)
def test_each_guard_refuses_and_changes_nothing(state: str, trigger: str, params: dict[str, Any],
                                               extra: dict[str, Any], error: type[Exception],
                                               field: str | None) -> None:
    s = step(state, params=params, **extra)
    with pytest.raises(error) as caught:
        fire(s, trigger)
    assert s.state == state
    if field:
        assert getattr(caught.value, "field", None) == field


def test_an_unknown_trigger_is_refused() -> None:
    with pytest.raises(InvalidTransition):
        fire(step("proposed"), "escalate")


def test_the_case_machine_has_no_mediation_state() -> None:
    assert not any("mediat" in str(t["dest"]) for t in CASE_TRANSITIONS)
