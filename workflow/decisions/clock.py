"""The decision machine kind on the engine's clock: a publication period's end is a deadline row.

``DECISION_KIND`` satisfies the clock's ``MachineKind`` (``workflow/clock/kinds.py``) and is registered
in ``workflow/machines.py``: ``tokens`` gives each decision's clock token (a row armed under an older
one is stale: the period was paused, resumed or ended since), and ``fire_due`` fires ``period_over``
through the decision's own steps. The committee's ``carry_out`` and ``close`` check the period's end
themselves too, so a late sweep never holds a decision back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.base.errors import DomainError
from workflow.clock.deadlines import arm_subject
from workflow.clock.kinds import DueDeadline
from workflow.decisions.machine import Actor
from workflow.decisions.models import Decision

SUBJECT = "decision"
PERIOD = "publication"


def arm_period(session: Session, decision: Decision, now: datetime) -> None:
    """Arm the end of the decision's publication period under its current clock token."""
    if decision.period_ends_at is None:
        return
    # A decision belongs to no case: case_id stays NULL, the subject names it.
    arm_subject(session, SUBJECT, decision.id, PERIOD, decision.unit.level, decision.period_ends_at,
                decision.clock_token, now)


class DecisionKind:
    """The decision machine as the clock sees it."""

    name = SUBJECT

    def tokens(self, session: Session, subject_ids: list[int]) -> dict[int, int]:
        """Return the current clock token of each decision."""
        rows = session.execute(select(Decision.id, Decision.clock_token).where(Decision.id.in_(subject_ids)))
        return {ident: token for ident, token in rows}

    def fire_due(self, session: Session, due: DueDeadline, inbox_id: int) -> list[Any]:
        """End a publication period: lock the decision, check the token, fire ``period_over``."""
        from workflow.decisions.steps import act, get_decision

        decision = get_decision(session, due.subject_id, lock=True)
        if decision.clock_token != due.token:
            return []  # paused, resumed or ended since it was armed
        try:
            done = act(session, decision.id, "period_over", None, {}, actor=Actor.ENGINE, inbox_id=inbox_id)
        except DomainError:
            return []  # an objection came in first: the answer re-arms the period
        return done.notices


DECISION_KIND = DecisionKind()
