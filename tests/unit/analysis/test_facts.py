"""Each figure on hand-built timelines, including the edges of issue 14."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from workflow.analysis.facts import Facts, derive
from workflow.analysis.kpis import compute, in_part
from workflow.analysis.models import CaseFacts
from workflow.analysis.periods import Period, month_of, parse_month, parse_period
from workflow.analysis.settings import Weights
from workflow.base.errors import InvalidInput
from workflow.clock.calendar import deployment_calendar

# Monday 2 November 2026, 09:00 in Shanghai; the calendar has no holiday that week.
T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
CAL = deployment_calendar()
NOVEMBER = month_of(date(2026, 11, 1))
DECEMBER = month_of(date(2026, 12, 1))
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


@dataclass
class S:
    kind: str
    at: datetime
    from_level: str | None
    to_level: str
    to_state: str
    actor: str = "staff"


@dataclass
class D:
    kind: str
    level: str
    due_at: datetime
    created_at: datetime


@dataclass
class A:
    resolved: str
    satisfaction: int
    at: datetime


class Timeline:
    """Builds a case's steps, deadlines and answers the way the engine would write them."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start
        self.level = "grid"
        self.state = "collected"
        self.steps: list[S] = [S("submitted", start, None, "grid", "collected", "/tests")]
        self.deadlines: list[D] = []
        self.answers: list[A] = []

    def at(self, delta: timedelta) -> Timeline:
        self.now += delta
        return self

    def step(self, kind: str, level: str | None = None, state: str | None = None, actor: str = "staff") -> Timeline:
        before = self.level
        self.level = level or self.level
        self.state = state or (f"{self.level}_handling" if level else self.state)
        self.steps.append(S(kind, self.now, before, self.level, self.state, actor))
        return self

    def arm(self, contact: timedelta = 24 * HOUR, resolve: timedelta = 7 * DAY) -> Timeline:
        self.deadlines.append(D("first_contact", self.level, self.now + contact, self.now))
        self.deadlines.append(D("resolve", self.level, self.now + resolve, self.now))
        return self

    def dispatch(self) -> Timeline:
        return self.step("dispatch", "grid", "grid_handling").arm()

    def move(self, kind: str, level: str) -> Timeline:
        return self.step(kind, level).arm()

    def resolve(self) -> Timeline:
        return self.step("resolve", state="resolved")

    def answer(self, resolved: str, satisfaction: int, reopen_to: str = "grid") -> Timeline:
        self.answers.append(A(resolved, satisfaction, self.now))
        if resolved == "no":
            return self.step("reopen", reopen_to, actor="resident").arm()
        return self.step("confirm", state="closed", actor="resident")

    def facts(self) -> Facts:
        return derive(self.steps[0].at, self.steps, self.deadlines, self.answers, CAL)


def row(facts: Facts, case_id: int = 1) -> CaseFacts:
    return CaseFacts(case_id=case_id, grid_unit_id=1, channel="hotline", category="NOI", severity="P2",
                     derived_at=T0, **vars(facts))


def figures(*all_facts: Facts, period: Period = NOVEMBER) -> dict[str, tuple[float | None, float | None]]:
    rows = [row(f, i) for i, f in enumerate(all_facts, 1)]
    return {name: (v.numerator, v.denominator) for name, v in compute(rows, period, Weights()).items()}


def test_a_case_signed_for_within_the_first_contact_deadline_counts_as_responded() -> None:
    quick = Timeline().dispatch().at(2 * HOUR).step("accept").facts()
    slow = Timeline().dispatch().at(30 * HOUR).step("accept").facts()
    never = Timeline().dispatch().at(3 * DAY).facts()
    assert (quick.responded, slow.responded, never.responded) == (True, False, False)
    assert quick.contact_work_s == 2 * 3600
    assert figures(quick, slow, never)["response_rate"] == (1, 3)


def test_a_case_rejected_before_its_first_contact_was_due_is_not_due_for_response() -> None:
    dropped = Timeline().dispatch().at(HOUR).step("reject", state="rejected").facts()
    assert dropped.contact_due_at is None
    assert figures(dropped)["response_rate"] == (0, 0)


def test_a_case_extended_and_resolved_within_the_extension_is_on_time() -> None:
    t = Timeline().dispatch().at(HOUR).step("accept").at(5 * DAY).step("request_extension")
    t.step("approve_extension")
    t.deadlines.append(D("resolve", "grid", T0 + 10 * DAY, t.now))  # the extension re-arms the deadline
    facts = t.at(3 * DAY).resolve().facts()  # day 8: after the first deadline, within the extended one
    assert facts.resolved_at == T0 + 8 * DAY + HOUR
    assert facts.on_time and facts.settled_at == facts.resolved_at
    assert figures(facts)["on_time_rate"] == (1, 1)


def test_a_case_resolved_after_its_deadline_without_an_extension_is_late() -> None:
    facts = Timeline().dispatch().at(8 * DAY).resolve().facts()
    assert not facts.on_time
    assert figures(facts)["on_time_rate"] == (0, 1)


def test_an_overdue_case_is_settled_late_when_its_deadline_passes_even_if_resolved_later() -> None:
    t = Timeline().dispatch().at(7 * DAY).move("deadline_passed", "branch").at(DAY).resolve()
    facts = t.facts()
    assert facts.overdue_at == T0 + 7 * DAY and facts.settled_at == facts.overdue_at and not facts.on_time
    assert figures(facts)["overdue"] == (1, 1)


def test_paused_time_neither_makes_a_case_late_nor_counts_towards_resolution_time() -> None:
    t = Timeline().dispatch().at(DAY).step("request_pause").step("approve_pause")
    t.at(20 * DAY).step("resume")
    t.deadlines.append(D("resolve", "grid", t.now + 6 * DAY, t.now))  # the resume re-arms with what was left
    facts = t.at(2 * DAY).resolve().facts()
    assert facts.on_time
    worked = CAL.working_between(T0, T0 + DAY) + CAL.working_between(T0 + 21 * DAY, T0 + 23 * DAY)
    assert facts.resolution_work_s == worked.total_seconds()


def test_a_case_resolved_while_paused_is_on_time() -> None:
    t = Timeline().dispatch().at(DAY).step("approve_pause").at(30 * DAY).resolve()
    assert t.facts().on_time


def test_a_case_escalated_then_sent_back_and_resolved_by_the_grid_was_not_resolved_in_the_grid() -> None:
    up_and_back = Timeline().dispatch().at(HOUR).move("escalate", "branch").at(HOUR).move("send_back", "grid")
    up_and_back.at(HOUR).resolve()
    in_grid = Timeline().dispatch().at(HOUR).resolve()
    facts = [up_and_back.facts(), in_grid.facts()]
    assert [f.in_grid for f in facts] == [False, True]
    assert figures(*facts)["in_grid_rate"] == (1, 2)


def test_a_case_reopened_twice_counts_once_by_its_last_answer_and_as_a_redo() -> None:
    t = Timeline().dispatch().at(HOUR).resolve().at(HOUR).step("report_back", state="reported_back")
    t.at(HOUR).answer("no", 1)  # the first reopen lands back on the grid
    t.at(HOUR).resolve().at(HOUR).step("report_back", state="reported_back").at(HOUR).answer("no", 2, "branch")
    t.at(HOUR).resolve().at(HOUR).step("report_back", state="reported_back").at(HOUR).answer("yes", 4)
    facts = t.facts()
    assert facts.reopen_count == 2 and facts.closed_by_resident
    assert (facts.answer_resolved, facts.answer_satisfaction) == ("yes", 4)
    got = figures(facts)
    assert got["redo_rate"] == (1, 1)
    assert got["resolution_rate"] == (1, 1) and got["satisfaction_rate"] == (1, 1)
    assert got["participation_rate"] == (1, 1)


def test_without_an_answer_a_case_is_in_no_evaluation_figure_and_lowers_participation() -> None:
    t = Timeline().dispatch().at(HOUR).resolve().at(HOUR).step("report_back", state="reported_back")
    facts = t.at(7 * DAY).step("confirm", state="closed", actor="system").facts()
    assert facts.closed_at is not None and not facts.closed_by_resident and facts.answered_at is None
    got = figures(facts)
    assert got["resolution_rate"] == (0, 0) and got["satisfaction_rate"] == (0, 0)
    assert got["participation_rate"] == (0, 1)


def test_satisfaction_counts_ratings_of_three_to_five() -> None:
    answers = []
    for score in (1, 2, 3, 4, 5):
        t = Timeline().dispatch().at(HOUR).resolve().at(HOUR).step("report_back", state="reported_back")
        answers.append(t.at(HOUR).answer("partly", score).facts())
    got = figures(*answers)
    assert got["satisfaction_rate"] == (3, 5)
    assert got["resolution_rate"] == (0, 5)  # "partly" is not "resolved"


def test_a_case_across_a_month_boundary_counts_where_each_thing_happened() -> None:
    # Received 30 November 20:00 in Shanghai; resolved 1 December 10:00 (02:00 UTC).
    t = Timeline(datetime(2026, 11, 30, 12, 0, tzinfo=UTC)).dispatch().at(HOUR).step("accept")
    facts = t.at(13 * HOUR).resolve().facts()
    november, december = figures(facts, period=NOVEMBER), figures(facts, period=DECEMBER)
    assert november["received"][0] == 1 and december["received"][0] == 0
    assert november["in_grid_rate"] == (0, 0) and december["in_grid_rate"] == (1, 1)
    # Open in both months: the denominator of the counts.
    assert november["overdue"] == (0, 1) and december["overdue"] == (0, 1)


def test_supervision_counts_a_manual_supervise_or_an_overdue_at_the_street() -> None:
    manual = Timeline().dispatch().at(HOUR).step("supervise").facts()
    by_clock = Timeline().dispatch().at(HOUR).move("emergency", "street").at(DAY).step("deadline_passed").facts()
    assert manual.supervised_at == T0 + HOUR and by_clock.supervised_at == T0 + DAY + HOUR
    assert figures(manual, by_clock)["supervised"] == (2, 2)


def test_medians_are_in_working_hours_and_skip_unmeasured_cases() -> None:
    # Friday 6 November 17:00 local, signed for on Monday 09:00: the weekend does not count.
    friday = Timeline(datetime(2026, 11, 6, 9, 0, tzinfo=UTC)).dispatch().at(64 * HOUR).step("accept").facts()
    quick = Timeline().dispatch().at(HOUR).step("accept").facts()
    unsigned = Timeline().dispatch().facts()
    values = compute([row(f, i) for i, f in enumerate([friday, quick, unsigned])], NOVEMBER, Weights())
    assert friday.contact_work_s == 16 * 3600  # 17:00 Friday to midnight and Monday midnight to 09:00
    assert values["median_contact_hours"].denominator == 2
    assert values["median_contact_hours"].value == 8.5


def test_the_composite_weighs_the_three_rates_and_renormalises_without_data() -> None:
    t = Timeline().dispatch().at(HOUR).step("accept").resolve().step("report_back", state="reported_back")
    facts = t.at(HOUR).answer("yes", 2).facts()
    values = compute([row(facts)], NOVEMBER, Weights(response=0.2, resolution=0.4, satisfaction=0.4))
    assert values["composite"].value == pytest.approx(0.2 * 1 + 0.4 * 1 + 0.4 * 0)
    only_response = compute([row(Timeline().dispatch().at(HOUR).step("accept").facts())], NOVEMBER, Weights())
    assert only_response["composite"].value == 1.0 and only_response["composite"].denominator == 0.3


def test_weights_must_add_up_to_one() -> None:
    with pytest.raises(ValueError, match="add up to"):
        Weights(response=0.5, resolution=0.5, satisfaction=0.5)


def test_in_part_lists_the_cases_behind_a_rate() -> None:
    good = row(Timeline().dispatch().at(HOUR).step("accept").facts(), 1)
    late = row(Timeline().dispatch().at(2 * DAY).step("accept").facts(), 2)
    from workflow.analysis.definitions import BY_NAME

    figure = BY_NAME["response_rate"]
    assert [r.case_id for r in (good, late) if in_part(r, figure, NOVEMBER, "numerator")] == [1]
    assert [r.case_id for r in (good, late) if in_part(r, figure, NOVEMBER, "denominator")] == [1, 2]


def test_periods_are_local_days_and_bad_ones_are_named() -> None:
    assert NOVEMBER.start == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    assert parse_month("2026-11") == NOVEMBER and NOVEMBER.previous() == month_of(date(2026, 10, 1))
    assert parse_period("2026-11-02", "2026-11-08").previous() == Period(date(2026, 10, 26), date(2026, 11, 1))
    for first, last, name in (("2026-13-01", "2026-12-01", "from"), ("2026-11-05", "2026-11-01", "to"),
                              ("2025-01-01", "2026-12-01", "to")):
        with pytest.raises(InvalidInput) as err:
            parse_period(first, last)
        assert err.value.field == name
    with pytest.raises(InvalidInput):
        parse_month("2026-1")


def test_the_worst_unit_is_marked_only_when_units_differ() -> None:
    from workflow.analysis.dashboard import worst

    assert worst([0.9, 0.5, None, 0.7], higher_is_better=True) == 1
    assert worst([3, 1, 2], higher_is_better=False) == 0
    assert worst([1.0, 1.0, 1.0], higher_is_better=True) is None
    assert worst([0.4, None], higher_is_better=True) is None


@dataclass
class M:
    state: str


def _mediated(*kinds: str) -> Timeline:
    t = Timeline().dispatch().at(HOUR).step("accept").at(DAY).step("mediation.proposed")
    for kind in kinds:
        t.at(DAY).step(kind)
    return t


def test_a_mediation_succeeds_when_its_agreement_takes_effect_and_counts_when_it_concluded() -> None:
    t = _mediated("mediation.consent", "mediation.sign", "mediation.effective", "mediation.visit")
    agreed = derive(t.steps[0].at, t.steps, t.deadlines, t.answers, CAL, [M("following_up")])
    assert agreed.mediation_agreed and agreed.mediation_ended_at == T0 + 4 * DAY + HOUR
    t = _mediated("mediation.consent")
    refused = derive(t.steps[0].at, t.steps, t.deadlines, t.answers, CAL, [M("failed")])
    assert not refused.mediation_agreed and refused.mediation_ended_at == T0 + 2 * DAY + HOUR
    t = _mediated("mediation.consent", "mediation.session")
    open_still = derive(t.steps[0].at, t.steps, t.deadlines, t.answers, CAL, [M("in_session")])
    assert open_still.mediation_ended_at is None
    # A first mediation withdrawn and a second still going: not concluded yet.
    t = _mediated("mediation.withdraw", "mediation.proposed")
    again = derive(t.steps[0].at, t.steps, t.deadlines, t.answers, CAL, [M("withdrawn"), M("proposed")])
    assert again.mediation_ended_at is None
    never = Timeline().dispatch().facts()
    assert figures(agreed, refused, open_still, again, never)["mediation_success_rate"] == (1, 2)
    # Concluded in December: not November's.
    late = _mediated(*["mediation.session"] * 30, "mediation.effective")
    late_facts = derive(late.steps[0].at, late.steps, late.deadlines, late.answers, CAL, [M("agreed")])
    assert figures(late_facts)["mediation_success_rate"] == (0, 0)
    assert figures(late_facts, period=DECEMBER)["mediation_success_rate"] == (1, 1)


def test_a_histogram_median_is_within_its_stated_accuracy_of_the_exact_one() -> None:
    import random
    import statistics

    from workflow.analysis import digest

    rng = random.Random(14)
    for size in (1, 2, 3, 10, 101, 1000):
        values = [rng.choice([0.0, 0.4]) if rng.random() < 0.05 else rng.lognormvariate(10, 1.5)
                  for _ in range(size)]
        bins: dict[str, int] = {}
        for v in values:
            digest.merge(bins, {digest.key(v): 1})
        exact, sketched = statistics.median(values), digest.median(bins)
        assert sketched is not None
        assert abs(sketched - exact) <= max(digest.RELATIVE_ACCURACY * exact, 1.0), (size, exact, sketched)
    # Taking a value back leaves the histogram it would have been without it.
    bins = {}
    for v in (3600.0, 7200.0, 7200.0):
        digest.merge(bins, {digest.key(v): 1})
    digest.merge(bins, {digest.key(3600.0): -1})
    assert bins == {digest.key(7200.0): 2} and digest.median({}) is None
