"""The party-member register: central households (中心户) and the 5 to 20 households each looks after."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from workflow.base.errors import N_, InvalidInput, NotFound
from workflow.base.privacy import mask_name, mask_phone
from workflow.org.models import User
from workflow.registry.models import Care, Household, PartyMember
from workflow.registry.register import address_label, log_step, may_see_full, subtree_ids

# DOMAIN.md: a party-member central household looks after 5 to 20 households.
MIN_CARE, MAX_CARE = 5, 20


def members_of(session: Session, user: User) -> list[PartyMember]:
    """Return the party members of the branches in the member's subtree (or above it, for a grid's own branch)."""
    units = subtree_ids(session, user.unit_id) | {user.unit.parent_id or 0}
    return list(session.scalars(select(PartyMember).where(PartyMember.branch_unit_id.in_(units))
                                .order_by(PartyMember.branch_unit_id, PartyMember.id)))


def member_view(session: Session, member: PartyMember, user: User) -> dict[str, Any]:
    """Return a party member as the member may see them (masked unless their role sees full details)."""
    full = may_see_full(user)
    cared = session.scalars(select(Household).join(Care, Care.household_id == Household.id)
                            .where(Care.party_member_id == member.id).order_by(Household.id)).all()
    return {
        "id": member.id, "name": member.name if full else mask_name(member.name), "branch": member.branch.code,
        "phone": member.phone if full else mask_phone(member.phone), "central_household": member.central_household,
        "in_service": member.in_service, "service": member.service,
        "households": [{"id": h.id, "address": address_label(h.address)} for h in cared],
        "below_target": member.central_household and len(cared) < MIN_CARE,
    }


def look_after(session: Session, member_id: int, household_ids: list[int], actor: str) -> None:
    """Set the households a central household looks after (5 to 20), replacing the former list; logged.

    Raises:
        NotFound: no such party member.
        InvalidInput: not a central household, outside 5 to 20 households, an unknown household.
    """
    member = session.get(PartyMember, member_id)
    if member is None:
        raise NotFound(N_("no party member %(id)s"), id=str(member_id))
    if not member.central_household:
        raise InvalidInput(N_("only a central household looks after households"), field="party_member")
    wanted = sorted(set(household_ids))
    if not MIN_CARE <= len(wanted) <= MAX_CARE:
        raise InvalidInput(N_("a central household looks after %(min)s to %(max)s households, not %(count)s"),
                           field="households", min=str(MIN_CARE), max=str(MAX_CARE), count=str(len(wanted)))
    found = set(session.scalars(select(Household.id).where(Household.id.in_(wanted))))
    if missing := [h for h in wanted if h not in found]:
        raise InvalidInput(N_("no household %(id)s in the register"), field="households", id=str(missing[0]))
    session.execute(delete(Care).where(Care.party_member_id == member_id))
    session.add_all(Care(party_member_id=member_id, household_id=h) for h in wanted)
    log_step(session, actor, "care", {"households": wanted}, party_member_id=member_id)
    session.flush()
