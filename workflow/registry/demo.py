"""A small register for the demo tree: each demo building, a few households, their central household."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.base import wallclock
from workflow.org.models import Unit
from workflow.registry import idnumber
from workflow.registry.models import Address, Building, Care, Household, PartyMember, Resident

_GRID_NAME = re.compile(r"^(?P<compound>.+?)(?P<building>\d+号楼)党小组$")
# (entrance, floor, room, residents: name, relation, sex, birth date, tags); names and numbers are invented.
_HOMES: tuple[tuple[str, int, str, list[tuple[str, str, str, str, list[str]]]], ...] = (
    ("1单元", 1, "101", [("周桂芝", "户主", "F", "19440312", ["empty_nest", "alone"])]),
    ("1单元", 2, "202", [("孙立军", "户主", "M", "19780921", []), ("孙小雨", "子女", "F", "20120605", [])]),
    ("2单元", 3, "301", [("马德明", "户主", "M", "19520108", ["veteran_family"]),
                        ("马秀兰", "配偶", "F", "19540417", ["disabled"])]),
)


def load_demo_register(session: Session) -> int:
    """Add the demo register if there is none yet; return the households added."""
    if session.scalars(select(Building)).first() is not None:
        return 0
    now = wallclock.now()
    added = 0
    grids = session.scalars(select(Unit).where(Unit.level == "grid").order_by(Unit.id)).all()
    for g, grid in enumerate(grids):
        named = _GRID_NAME.match(grid.name)
        if named is None:
            continue
        building = Building(compound=named["compound"], name=named["building"], grid_unit_id=grid.id)
        households = []
        for h, (entrance, floor, room, people) in enumerate(_HOMES):
            household = Household(address=Address(building=building, entrance=entrance, floor=floor, room=room),
                                  created_at=now)
            for p, (name, relation, sex, born, tag_codes) in enumerate(people):
                # 150404: 松山区, Chifeng; the last sequence digit odd for men, even for women (GB 11643).
                seq = f"{g:02d}{1 if sex == 'M' else 2}"  # birth dates differ within a building
                number = idnumber.make(f"150404{born}{seq}")
                household.residents.append(Resident(
                    name=name, relation=relation, sex=sex, birth_date=idnumber.birth_date(number),
                    phone=f"139047{g:02d}{h}{p}0", id_number=number, tags=tag_codes))
            session.add(household)
            households.append(household)
            added += 1
        central = session.scalars(select(Unit).where(Unit.parent_id == grid.id, Unit.level == "household")).first()
        if central is not None and grid.parent_id is not None:
            member = PartyMember(name=central.name.removeprefix(grid.name.removesuffix("党小组")).removesuffix(
                "党员中心户") + "党员", branch_unit_id=grid.parent_id, household_unit_id=central.id,
                central_household=True, phone=f"138047{g:02d}990")
            session.add(member)
            session.flush()
            session.add_all(Care(party_member_id=member.id, household_id=h.id) for h in households)
    session.flush()
    return added
