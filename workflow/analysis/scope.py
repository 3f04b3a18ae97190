"""Whose figures a member may see: their own unit's subtree (the administrator: every unit)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from schemas.vocabulary import Level, Role
from workflow.base.errors import N_, Forbidden, InvalidInput
from workflow.org.models import Unit, User
from workflow.org.tree import is_at_or_above, unit_by_code


def unit_in_scope(session: Session, user: User, code: str | None) -> Unit:
    """Return the unit whose figures are asked for (the member's own if ``code`` is empty).

    Raises:
        NotFound: no unit has that code.
        InvalidInput: the unit is a household (cases belong to grids and above).
        Forbidden: the unit is outside the member's subtree.
    """
    unit = unit_by_code(session, code) if code else session.get(Unit, user.unit_id)
    assert unit is not None  # a member's unit exists (foreign key)
    if unit.level == Level.HOUSEHOLD:
        raise InvalidInput(N_("unit %(unit)s is a household; figures start at the grid"), field="unit", unit=unit.code)
    if user.role != Role.ADMIN and not is_at_or_above(user.unit, unit):
        raise Forbidden(N_("unit %(unit)s is outside unit %(own)s's subtree"), field="unit",
                        unit=unit.code, own=user.unit.code)
    return unit
