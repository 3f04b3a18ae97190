"""Where a resident says it happened: compounds and buildings, from the register where it exists, else the org tree."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.vocabulary import Level
from workflow.base.errors import N_, InvalidInput
from workflow.org.models import Unit
from workflow.registry.models import Building
from workflow.registry.register import subtree_ids


@dataclass(frozen=True)
class Place:
    """A building a resident can pick: its key in forms and card links, compound, name and grid."""

    key: str  # "b<id>" for a building of the register, "g<code>" for a grid of the org tree
    compound: str
    building: str
    grid_code: str

    @property
    def label(self) -> str:
        """Return the place as a resident reads it: compound and building."""
        return self.building if self.building.startswith(self.compound) else f"{self.compound}{self.building}"


def places(session: Session, within: str | None = None) -> list[Place]:
    """Return the buildings to choose from (of one unit's subtree, if given), by compound.

    The register's buildings where it has them; a grid the register has no building for is offered
    under its own name, in its branch (the compound's party branch) as compound.
    """
    scope: set[int] | None = None
    if within:
        unit = session.scalar(select(Unit).where(Unit.code == within))
        scope = subtree_ids(session, unit.id) if unit is not None else set()
    found: list[Place] = []
    covered: set[int] = set()
    for b in session.scalars(select(Building).order_by(Building.compound, Building.name, Building.id)):
        covered.add(b.grid_unit_id)
        if scope is None or b.grid_unit_id in scope:
            found.append(Place(f"b{b.id}", b.compound, b.name, b.grid.code))
    for grid in session.scalars(select(Unit).where(Unit.level == Level.GRID.value).order_by(Unit.code)):
        if grid.id in covered or (scope is not None and grid.id not in scope):
            continue
        # The units are party organisations (金桂园小区党支部, 金桂园1号楼党小组): residents know the places.
        compound = _plain(grid.parent.name, "党支部") if grid.parent is not None else ""
        found.append(Place(f"g{grid.code}", compound, _plain(grid.name, "党小组"), grid.code))
    return sorted(found, key=lambda p: (p.compound, p.building))


def _plain(name: str, suffix: str) -> str:
    return name.removesuffix(suffix) or name


def compounds(found: list[Place]) -> list[str]:
    """Return the compounds of ``found``, each once, in order."""
    return list(dict.fromkeys(p.compound for p in found))


def place_of(session: Session, key: str, within: str | None = None) -> Place:
    """Return the place with ``key``.

    Raises:
        InvalidInput: no such building (or none in the unit's subtree).
    """
    found = next((p for p in places(session, within) if p.key == key), None)
    if found is None:
        raise InvalidInput(N_("choose the building from the list"), field="building")
    return found
