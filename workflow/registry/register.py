"""Reading and changing the registers: who may see which household, masked per role, every change a step."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.vocabulary import Role
from workflow.audit import log as audit_log
from workflow.base import wallclock
from workflow.base.errors import N_, Forbidden, NotFound
from workflow.base.privacy import mask_name, mask_phone
from workflow.org.models import Unit, User
from workflow.registry import tags
from workflow.registry.models import Address, Building, Care, CaseHousehold, Household, PartyMember, RegistryStep

# Who looks after households in person sees their full details (and each reveal is a step);
# the levels above see the register masked. The administrator runs the system, not the register.
FULL_VIEW_ROLES = frozenset({Role.GRID_LEADER, Role.HOUSEHOLD_LEADER, Role.BRANCH_SECRETARY})


def subtree_ids(session: Session, unit_id: int) -> set[int]:
    """Return the ids of a unit and every unit below it."""
    children: dict[int | None, list[int]] = {}
    for uid, parent in session.execute(select(Unit.id, Unit.parent_id)):
        children.setdefault(parent, []).append(uid)
    found, todo = set(), [unit_id]
    while todo:
        current = todo.pop()
        found.add(current)
        todo.extend(children.get(current, []))
    return found


def may_see_full(user: User) -> bool:
    """Tell whether the member's role sees residents' full names, phones and ID numbers (on reveal or export)."""
    return user.role in FULL_VIEW_ROLES


def mask_id_number(value: str | None) -> str | None:
    """Return ``1504**********123X``: the first four and the last four characters of an ID number."""
    if not value:
        return value
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def address_label(address: Address) -> str:
    """Return the address as people write it: 金桂园 1号楼 2单元 301."""
    parts = [address.building.compound, address.building.name, address.entrance, address.room]
    return " ".join(p for p in parts if p)


def get_household(session: Session, household_id: int, user: User) -> Household:
    """Return a household of the member's subtree.

    Raises:
        NotFound: there is no such household, or it is outside the member's subtree (not told apart).
    """
    household = session.get(Household, household_id)
    if household is None or (household.address.building.grid_unit_id not in subtree_ids(session, user.unit_id)
                             and household.id not in cared_for(session, user)):
        raise NotFound(N_("no household %(id)s in your part of the register"), id=str(household_id))
    return household


def cared_for(session: Session, user: User) -> set[int]:
    """Return the households a central household's member looks after (their unit sits below the grid)."""
    # A central household's unit is a household unit of the org tree, below the grid: its subtree holds no
    # building, so what it may see is the list of households it looks after (registry_care).
    return set(session.scalars(select(Care.household_id).join(PartyMember, Care.party_member_id == PartyMember.id)
                               .where(PartyMember.household_unit_id == user.unit_id)))


def log_step(session: Session, actor: str, kind: str, detail: dict[str, Any], *,
             household_id: int | None = None, party_member_id: int | None = None) -> RegistryStep:
    """Record who did what to the register, and when."""
    step = RegistryStep(household_id=household_id, party_member_id=party_member_id, kind=kind, actor=actor,
                        at=wallclock.now(), detail=detail)
    session.add(step)
    return step


def household_view(session: Session, household: Household, user: User, *, reveal: bool = False,
                   language: str = "zh_Hans") -> dict[str, Any]:
    """Return a household with its residents (masked unless revealed) and its steps; a reveal is a step.

    Raises:
        Forbidden: a reveal asked by a role that does not see full details.
    """
    if reveal and not may_see_full(user):
        raise Forbidden(N_("your role sees the register masked"))
    if reveal:
        log_step(session, user.name, "reveal", {}, household_id=household.id)
        audit_log.record(session, user.name, "reveal.household", f"household {household.id}",
                         {"residents": len(household.residents)}, actor_unit=user.unit.code)
        session.flush()
    known = tags.all_tags()
    residents = []
    for r in household.residents:
        residents.append({
            "id": r.id, "name": r.name if reveal else mask_name(r.name), "relation": r.relation, "sex": r.sex,
            "birth_year": r.birth_date.year if isinstance(r.birth_date, date) else None,
            "birth_date": r.birth_date.isoformat() if reveal and r.birth_date else None,
            "phone": r.phone if reveal else mask_phone(r.phone),
            "id_number": r.id_number if reveal else mask_id_number(r.id_number),
            "tags": [{"code": t, "label": known[t].label(language) if t in known else t} for t in r.tags],
            "vulnerable": any(known[t].vulnerable for t in r.tags if t in known),
        })
    steps = session.scalars(select(RegistryStep).where(RegistryStep.household_id == household.id)
                            .order_by(RegistryStep.id))
    return {
        "id": household.id, "address": address_label(household.address),
        "grid": household.address.building.grid.code, "revealed": reveal, "residents": residents,
        "steps": [{"kind": s.kind, "actor": s.actor, "at": s.at.isoformat(), "detail": s.detail} for s in steps],
    }


def households_of(session: Session, user: User, limit: int = 200) -> list[Household]:
    """Return the households of the member's subtree, by address."""
    units = subtree_ids(session, user.unit_id)
    cared = cared_for(session, user)
    return list(session.scalars(
        select(Household).join(Address, Household.address_id == Address.id)
        .join(Building, Address.building_id == Building.id)
        .where(Building.grid_unit_id.in_(units) | Household.id.in_(cared))
        .order_by(Building.compound, Building.name, Address.entrance, Address.room).limit(limit)))


def link_case(session: Session, case_id: int, household_id: int) -> None:
    """Record that a case is about a registered household (idempotent: a case has one household)."""
    if session.get(CaseHousehold, case_id) is None:
        session.add(CaseHousehold(case_id=case_id, household_id=household_id))


def household_of_case(session: Session, case_id: int) -> int | None:
    """Return the id of the household a case is about, if it is linked to one."""
    link = session.get(CaseHousehold, case_id)
    return link.household_id if link else None


def cases_of_household(session: Session, household_id: int) -> list[int]:
    """Return the ids of the cases about a household, newest first."""
    return list(session.scalars(select(CaseHousehold.case_id).where(CaseHousehold.household_id == household_id)
                                .order_by(CaseHousehold.case_id.desc())))
