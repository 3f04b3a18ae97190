"""The risk register on the clock: an open risk's two deadlines (warn the grid, then the branch) as a machine kind."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.base import wallclock
from workflow.cases.models import OutboxMessage
from workflow.clock.kinds import DueDeadline
from workflow.registry.models import RiskItem
from workflow.registry.risks import SUBJECT, fire


class _RiskKind:
    """Risk items on the clock: tokens from ``registry_risks.clock_token``, the step is ``risks.fire``."""

    name = SUBJECT

    def tokens(self, session: Session, subject_ids: list[int]) -> dict[int, int]:
        """Return the clock token of each open item; a resolved one is left out, so its deadlines go stale."""
        return {item_id: token for item_id, token in session.execute(
            select(RiskItem.id, RiskItem.clock_token).where(RiskItem.id.in_(subject_ids),
                                                            RiskItem.status == "open"))}

    def fire_due(self, session: Session, due: DueDeadline, inbox_id: int) -> list[OutboxMessage]:
        """Lock the item, and warn the grid or the branch if the deadline is still current."""
        item = session.get(RiskItem, due.subject_id, with_for_update=True)
        if item is None:
            return []
        return fire(session, item, due.kind, due.token, wallclock.now())


RISK_KIND = _RiskKind()
