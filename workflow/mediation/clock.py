"""The mediation machine on the clock: ``MEDIATION_KIND``, registered in ``workflow/machines.py``.

The sweep hands it each due deadline a mediation armed (``timers``); it locks the mediation's
case (a mediation's steps are numbered on its case's timeline), re-checks the token and lets
``steps.clock_step`` take the step: the reminder, the deadline passed, or a visit due.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.cases.models import OutboxMessage
from workflow.cases.steps import load_case_for_update
from workflow.clock.kinds import DueDeadline
from workflow.mediation.models import Mediation
from workflow.mediation.steps import clock_step
from workflow.mediation.timers import SUBJECT


class _MediationKind:
    """The mediation machine on the clock: tokens from ``mediations.clock_token``, steps in ``steps``."""

    name = SUBJECT

    def tokens(self, session: Session, subject_ids: list[int]) -> dict[int, int]:
        """Return the clock token of each mediation."""
        return {mid: token for mid, token in
                session.execute(select(Mediation.id, Mediation.clock_token).where(Mediation.id.in_(subject_ids)))}

    def fire_due(self, session: Session, due: DueDeadline, inbox_id: int) -> list[OutboxMessage]:
        """Lock the mediation's case, re-check the token, and take the step the deadline asks."""
        mediation = session.get(Mediation, due.subject_id)
        if mediation is None:
            return []
        case = load_case_for_update(session, mediation.case_id)  # a mediation's steps are numbered by its case
        session.refresh(mediation)
        if mediation.clock_token != due.token:
            return []
        notices: list[OutboxMessage] = clock_step(session, case, mediation, due.kind)
        return notices


MEDIATION_KIND = _MediationKind()
