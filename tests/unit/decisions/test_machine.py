"""The decision machine: the quorum and majority guards at their thresholds, publication, who fires what."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from workflow.base.errors import Forbidden, InvalidInput, InvalidTransition
from workflow.decisions.machine import (
    Actor,
    DPosition,
    DStep,
    applies,
    fire,
    more_than_half,
    two_thirds,
)

C, ST = DPosition.COMMITTEE, DPosition.STREET


def names(n: int, prefix: str = "p") -> list[str]:
    return [f"{prefix}{i}" for i in range(1, n + 1)]


def meeting(entitled: int, present: int, votes_for: int | None, against: int = 0, abstaining: int = 0,
            **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"held_on": date(2026, 12, 3), "place": "社区会议室", "minutes": "讨论并表决",
                            "entitled": names(entitled), "present": names(present)}
    if votes_for is not None:
        body |= {"votes_for": votes_for, "votes_against": against, "votes_abstaining": abstaining}
    return body | extra


def step(state: str, params: dict[str, Any] | None = None, positions: frozenset[DPosition] = frozenset({C}),
         **kw: Any) -> DStep:
    return DStep(state=state, params=params or {}, positions=positions, **kw)


def test_thresholds() -> None:
    assert [two_thirds(n) for n in (3, 20, 21, 30)] == [2, 14, 14, 20]
    assert [more_than_half(n) for n in (1, 2, 20, 21)] == [1, 2, 11, 11]


# The party members' meeting: 30 entitled, two thirds is 20 present.
def test_party_meeting_one_short_of_two_thirds_is_refused_with_the_numbers() -> None:
    s = step("discussed", meeting(30, 19, 19))
    with pytest.raises(InvalidInput) as err:
        fire(s, "party_meeting")
    assert err.value.field == "present"
    assert err.value.params == {"entitled": 30, "needed": 20, "present": 19}
    assert "two thirds of the 30 entitled present, 20, and 19 were present" in err.value.message
    assert s.state == "discussed"


def test_party_meeting_at_two_thirds_and_one_over_half_passes() -> None:
    s = step("discussed", meeting(30, 20, 11, against=9))
    fire(s, "party_meeting")
    assert s.state == "reviewed"
    assert s.figures["needed"] == 11


def test_party_meeting_at_exactly_half_of_those_present_does_not_pass() -> None:
    s = step("discussed", meeting(30, 20, 10, against=10))
    with pytest.raises(InvalidInput) as err:
        fire(s, "party_meeting")
    assert err.value.field == "if_not_passed"
    assert "10 for of 20 present, more than half (11) needed" in err.value.message
    assert s.state == "discussed"


def test_a_rejected_vote_returns_the_proposal_for_rework() -> None:
    s = step("discussed", meeting(30, 20, 10, against=10, if_not_passed="rework"))
    fire(s, "party_meeting")
    assert s.state == "proposed"
    assert not s.passed


def test_a_rejected_vote_can_end_the_proposal() -> None:
    s = step("reviewed", meeting(40, 30, 12, against=18, if_not_passed="reject"))
    fire(s, "residents_meeting")
    assert s.state == "rejected"


# The residents' (representatives') meeting: 40 entitled, more than half is 21 present.
def test_residents_meeting_at_exactly_half_present_has_no_quorum() -> None:
    with pytest.raises(InvalidInput) as err:
        fire(step("reviewed", meeting(40, 20, 20)), "residents_meeting")
    assert err.value.params == {"entitled": 40, "needed": 21, "present": 20}
    assert "more than half of the 40 entitled present, 21, and 20 were present" in err.value.message


def test_residents_meeting_one_over_half_present_and_one_over_half_for_passes() -> None:
    s = step("reviewed", meeting(40, 21, 11, against=5, abstaining=5))
    fire(s, "residents_meeting")
    assert s.state == "resolved"


def test_residents_meeting_with_half_of_those_present_for_does_not_pass() -> None:
    with pytest.raises(InvalidInput) as err:
        fire(step("reviewed", meeting(40, 22, 11, against=11)), "residents_meeting")
    assert err.value.params == {"votes_for": 11, "present": 22, "needed": 12}


def test_more_votes_than_people_present_is_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        fire(step("reviewed", meeting(40, 21, 15, against=7)), "residents_meeting")
    assert err.value.field == "votes_for"


def test_someone_present_who_was_not_entitled_is_named() -> None:
    body = meeting(5, 4, 4) | {"present": ["p1", "p2", "p3", "陌生人"]}
    with pytest.raises(InvalidInput) as err:
        fire(step("discussed", body), "party_meeting")
    assert "陌生人" in err.value.message


def test_joint_meeting_is_recorded_without_votes() -> None:
    s = step("proposed", meeting(9, 7, None))
    fire(s, "joint_meeting")
    assert s.state == "discussed"


def test_joint_meeting_needs_its_minutes() -> None:
    body = meeting(9, 7, None) | {"minutes": "  "}
    with pytest.raises(InvalidInput) as err:
        fire(step("proposed", body), "joint_meeting")
    assert err.value.field == "minutes"


def test_a_meeting_out_of_order_does_not_apply() -> None:
    with pytest.raises(InvalidTransition):
        fire(step("proposed", meeting(30, 30, 30)), "party_meeting")


def test_publication_refuses_a_phone_number_in_the_text() -> None:
    with pytest.raises(InvalidInput) as err:
        fire(step("resolved", {"text": "加装电梯,联系人王先生 13812345678"}), "publish")
    assert err.value.field == "text"
    s = step("resolved", {"text": "加装电梯方案经居民代表会议通过"})
    fire(s, "publish")
    assert s.state == "resolution_published"


def test_objection_while_the_period_runs_and_not_after() -> None:
    body = {"name": "赵大妈", "phone": "13912345678", "text": "费用分摊不公"}
    s = step("resolution_published", body, frozenset(), actor=Actor.RESIDENT, in_period=True)
    fire(s, "object")
    assert s.state == "resolution_published"
    with pytest.raises(InvalidTransition):
        fire(step("resolution_published", body, frozenset(), actor=Actor.RESIDENT, in_period=False), "object")


def test_carrying_out_waits_for_the_period_and_for_every_answer() -> None:
    with pytest.raises(InvalidTransition) as err:
        fire(step("resolution_published", period_ends="2026-12-10T09:00+00:00"), "carry_out")
    assert "runs until 2026-12-10" in err.value.message
    with pytest.raises(InvalidTransition) as err:
        fire(step("resolution_published", period_over=True, open_objections=frozenset({3})), "carry_out")
    assert "1 objection" in err.value.message
    s = step("resolution_published", period_over=True)
    fire(s, "carry_out")
    assert s.state == "carrying_out"


def test_the_period_ending_closes_a_published_result() -> None:
    s = step("result_published", positions=frozenset(), actor=Actor.ENGINE, period_over=True)
    fire(s, "period_over")
    assert s.state == "closed"


def test_answer_names_an_open_objection() -> None:
    with pytest.raises(InvalidInput) as err:
        fire(step("resolution_published", {"objection_id": 9, "text": "已解释"}, open_objections=frozenset({1})),
             "answer")
    assert err.value.field == "objection_id"


def test_who_fires_what() -> None:
    with pytest.raises(Forbidden):
        fire(step("proposed", meeting(9, 7, None), positions=frozenset({ST})), "joint_meeting")
    with pytest.raises(Forbidden):
        fire(step("proposed", {"text": "请注意预算"}, positions=frozenset({C})), "comment")
    s = step("proposed", {"text": "请注意预算"}, positions=frozenset({ST}))
    fire(s, "comment")
    with pytest.raises(Forbidden):  # staff do not object for residents
        fire(step("resolution_published", {"name": "a", "phone": "13912345678", "text": "t"}, in_period=True),
             "object")
    with pytest.raises(Forbidden):  # nor end a period by hand
        fire(step("result_published", period_over=True), "period_over")


def test_returns_and_endings() -> None:
    for state, trigger, dest in [("discussed", "rework", "proposed"), ("reviewed", "rework", "proposed"),
                                 ("proposed", "reject", "rejected"), ("resolved", "withdraw", "withdrawn")]:
        s = step(state, {"reason": "预算需重新测算"})
        fire(s, trigger)
        assert s.state == dest
    assert not applies("resolution_published", "withdraw")
    assert not applies("closed", "attach")
