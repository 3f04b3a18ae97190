"""Matching a free-text address (compound + building [+ entrance + room]) or a household id against the register."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.base.errors import N_, InvalidInput
from workflow.base.vault import blind
from workflow.registry.models import Address, Building, Household, Resident

# What people add or leave out when they write an address: spaces, punctuation, 小区, 栋 for 号楼.
_NOISE = re.compile(r"[\s,，.。、\-—#()（）]+")


_CN_NUMBER = re.compile(r"([一二三四五六七八九十]+)(?=号楼|栋|幢|单元|楼)")
_CN_DIGITS = {ch: n for n, ch in enumerate("零一二三四五六七八九")}


def _arabic(numeral: str) -> str:
    # 一 to 九十九, the range of buildings and entrances: 十二 is 12, 二十 is 20, 二十三 is 23.
    tens, _, units = numeral.rpartition("十")
    if "十" not in numeral:
        return "".join(str(_CN_DIGITS[ch]) for ch in numeral)
    return str((_CN_DIGITS.get(tens, 1) if tens else 1) * 10 + (_CN_DIGITS[units] if units else 0))


def normalise(text: str) -> str:
    """Return an address reduced to what tells places apart (no spaces, 小区 or punctuation; 栋/幢 as 号楼)."""
    text = _NOISE.sub("", text).replace("小区", "")
    text = _CN_NUMBER.sub(lambda m: _arabic(m.group(1)), text)
    text = re.sub(r"(\d+)(?:栋|幢|号楼|楼)", r"\1号楼", text)
    return re.sub(r"(\d+)单元", r"\1单元", text).replace("室", "").replace("号房", "")


@dataclass(frozen=True)
class Match:
    """Where an address points: its building (hence the grid), and the room's address and household if named."""

    building: Building
    address: Address | None
    household_id: int | None

    @property
    def grid_code(self) -> str:
        """Return the code of the grid unit of the building."""
        return self.building.grid.code


def _label(building: Building, address: Address | None = None) -> str:
    parts = [building.compound, building.name]
    if address is not None:
        parts += [f"{address.entrance}" if address.entrance else "", address.room]
    return " ".join(p for p in parts if p)


def _buildings(session: Session, unit_ids: set[int] | None) -> list[Building]:
    query = select(Building)
    if unit_ids is not None:
        query = query.where(Building.grid_unit_id.in_(unit_ids))
    return list(session.scalars(query))


def match(session: Session, text: str, unit_ids: set[int] | None = None, fld: str = "address") -> Match:
    """Return the building (and room, if named) that ``text`` designates.

    Raises:
        InvalidInput: the text names no known building, or several equally well; the message lists the closest.
    """
    wanted = normalise(text)
    buildings = _buildings(session, unit_ids)
    hits = [b for b in buildings if normalise(b.compound) in wanted and normalise(b.name) in wanted]
    if hits:
        # "11号楼" contains "1号楼": the longest building name that occurs is the one meant.
        longest = max(len(normalise(b.name)) + len(normalise(b.compound)) for b in hits)
        hits = [b for b in hits if len(normalise(b.name)) + len(normalise(b.compound)) == longest]
    if len(hits) > 1:
        raise InvalidInput(N_("'%(text)s' matches several buildings: %(candidates)s"), field=fld, text=text,
                           candidates="; ".join(sorted(_label(b) for b in hits)[:5]))
    if not hits:
        labels = {normalise(_label(b)): _label(b) for b in buildings}
        close = difflib.get_close_matches(wanted, list(labels), n=3, cutoff=0.3)
        if not close:  # a compound named alone: offer its buildings
            close = [k for k, v in labels.items() if v.split(" ")[0] and normalise(v.split(" ")[0]) in wanted][:3]
        raise InvalidInput(N_("no building of the register matches '%(text)s'; closest: %(candidates)s"),
                           field=fld, text=text, candidates="; ".join(labels[c] for c in close) or "-")
    building = hits[0]
    rest = wanted.replace(normalise(building.compound), "", 1).replace(normalise(building.name), "", 1)
    if not rest:
        return Match(building, None, None)
    rooms = session.scalars(select(Address).where(Address.building_id == building.id))
    found = [a for a in rooms if normalise(f"{a.entrance}{a.room}") == rest or normalise(a.room) == rest]
    if len(found) != 1:
        # The building is certain; a room that is not in the register (or is ambiguous) does not change the grid.
        return Match(building, None, None)
    address = found[0]
    household_id = session.scalar(select(Household.id).where(Household.address_id == address.id))
    return Match(building, address, household_id)


def by_household(session: Session, household_id: int, fld: str = "household") -> Match:
    """Return where a household lives.

    Raises:
        InvalidInput: no household has that id.
    """
    household = session.get(Household, household_id)
    if household is None:
        raise InvalidInput(N_("no household %(id)s in the register"), field=fld, id=str(household_id))
    return Match(household.address.building, household.address, household.id)


_PHONE_QUERY = re.compile(r"^[+\d\s\-()０-９]{7,20}$")


def search(session: Session, text: str, unit_ids: set[int], limit: int = 20) -> list[tuple[Address, int | None]]:
    """Return the registered rooms of the given units whose address contains ``text`` (with their household).

    A phone number finds the rooms of the households with a resident of that phone, by its blind
    index (the phones themselves are encrypted).
    """
    buildings = {b.id: b for b in _buildings(session, unit_ids)}
    if _PHONE_QUERY.match(text.strip()):
        return [(address, household_id) for address, household_id in session.execute(
            select(Address, Household.id).join(Household, Household.address_id == Address.id)
            .join(Resident, Resident.household_id == Household.id)
            .where(Address.building_id.in_(buildings), Resident.phone_index == blind(text, "phone"))
            .distinct().order_by(Address.building_id, Address.entrance, Address.room).limit(limit))]
    wanted = normalise(text)
    rows = session.execute(
        select(Address, Household.id).outerjoin(Household, Household.address_id == Address.id)
        .where(Address.building_id.in_(buildings)).order_by(Address.building_id, Address.entrance, Address.room))
    found: list[tuple[Address, int | None]] = []
    for address, household_id in rows:
        if wanted in normalise(_label(address.building, address)):
            found.append((address, household_id))
            if len(found) >= limit:
                break
    return found
