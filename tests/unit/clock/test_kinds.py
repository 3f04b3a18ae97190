"""Machine kinds on the clock: a toy kind's deadline swept, handed to it through the inbox, stale when its token moved."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from schemas.events import SUBJECT_DEADLINE_DUE
from workflow import machines
from workflow.base.db import unit_of_work
from workflow.cases.handling import handle_inbox_event
from workflow.cases.models import InboxEvent
from workflow.cases.overdue import CASE_KIND, sweep
from workflow.clock import kinds
from workflow.clock.deadlines import arm_subject, armed, disarm
from workflow.clock.kinds import DueDeadline
from workflow.clock.models import Deadline

NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)


class Toy:
    """A machine kind whose subjects are numbers with a token each; it records what it was asked to do."""

    name = "toy"

    def __init__(self) -> None:
        self.token: dict[int, int] = {7: 1, 8: 1}
        self.fired: list[tuple[DueDeadline, int]] = []

    def tokens(self, session: Session, subject_ids: list[int]) -> dict[int, int]:
        return {i: self.token[i] for i in subject_ids if i in self.token}

    def fire_due(self, session: Session, due: DueDeadline, inbox_id: int) -> list[Any]:
        self.fired.append((due, inbox_id))
        return []


@pytest.fixture
def toy() -> Iterator[Toy]:
    kind = Toy()
    kinds.register(kind)
    yield kind
    kinds._REGISTRY.pop("toy")  # noqa: SLF001 - the registry is process-wide; leave it as found


def test_every_machine_kind_is_registered_in_one_place() -> None:
    assert CASE_KIND in machines.KINDS
    assert set(kinds.names()) >= {k.name for k in machines.KINDS}


def test_a_current_deadline_of_another_kind_reaches_that_kind_through_the_inbox(engine: Engine, toy: Toy) -> None:
    with unit_of_work(engine) as session:
        arm_subject(session, "toy", 7, "remind", "branch", NOW - timedelta(minutes=1), 1, NOW)
        arm_subject(session, "toy", 8, "remind", "branch", NOW + timedelta(hours=1), 1, NOW)  # not due yet
    with unit_of_work(engine) as session:
        swept = sweep(session, NOW)
    assert (swept.fired, swept.stale) == (1, 0)
    with unit_of_work(engine) as session:
        row = session.get(InboxEvent, swept.inbox_ids[0])
        assert row is not None and row.type == SUBJECT_DEADLINE_DUE and row.case_id is None
        outcome = handle_inbox_event(session, row.id, batch=1)
    assert outcome.status == "done"
    [(due, inbox_id)] = toy.fired
    assert (due.subject, due.subject_id, due.kind, due.token, inbox_id) == ("toy", 7, "remind", 1, swept.inbox_ids[0])
    with unit_of_work(engine) as session:
        assert [d.subject_id for d in armed(session, "toy", 8)] == [8]


def test_a_deadline_armed_under_an_old_token_is_settled_stale_and_never_handed_over(engine: Engine, toy: Toy) -> None:
    with unit_of_work(engine) as session:
        arm_subject(session, "toy", 7, "remind", "branch", NOW - timedelta(minutes=1), 1, NOW)
    toy.token[7] = 2  # the subject moved on after the deadline was armed
    with unit_of_work(engine) as session:
        swept = sweep(session, NOW)
    assert (swept.fired, swept.stale, swept.inbox_ids) == (0, 1, [])
    assert toy.fired == []
    with unit_of_work(engine) as session:
        assert session.scalar(select(Deadline.status).where(Deadline.subject == "toy")) == "stale"


def test_deadlines_of_an_unregistered_kind_stay_armed_and_do_not_block_the_others(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        arm_subject(session, "nokind", 1, "remind", "branch", NOW - timedelta(minutes=1), 1, NOW)
    with unit_of_work(engine) as session:
        swept = sweep(session, NOW)
    assert (swept.fired, swept.stale) == (0, 0)
    with unit_of_work(engine) as session:
        assert session.scalar(select(Deadline.status).where(Deadline.subject == "nokind")) == "armed"
        assert disarm(session, "nokind", 1, NOW) == 1
        assert armed(session, "nokind", 1) == []


def test_an_unknown_kind_is_named_when_asked_for() -> None:
    with pytest.raises(LookupError, match="machine kind 'nokind' is not registered"):
        kinds.get("nokind")
