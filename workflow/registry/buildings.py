"""The building register (楼栋台账): which grid looks after which building, from a workbook or a CSV.

Households can only be imported into registered buildings (``importer``), so a community first
lists its buildings: compound, building and the code of the grid unit that looks after it
(headers 小区 / 楼栋 / 网格编码, with the aliases below). The whole file is checked first; nothing is
stored while a row is refused. A building already registered with the same grid is unchanged; one
with another grid moves to it (a step). Importing the same file again changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from schemas.vocabulary import Level
from workflow.base.errors import N_
from workflow.org.models import Unit
from workflow.registry.importer import Problem, _text
from workflow.registry.models import Address, Building, Household
from workflow.registry.register import log_step, subtree_ids

HEADERS: dict[str, tuple[str, ...]] = {
    "compound": ("小区", "小区名称", "所属小区"),
    "building": ("楼栋", "楼号", "楼栋号", "楼宇"),
    "grid": ("网格编码", "网格", "所属网格", "网格代码"),
}
_MARKS = re.compile(r"\s+|\*|（必填）|\(必填\)")
_KEY_OF = {_MARKS.sub("", h): key for key, names in HEADERS.items() for h in names}


@dataclass
class BuildingReport:
    """What a building import did or would do, and every refused row."""

    rows: int = 0
    added: int = 0
    moved: int = 0
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)
    stored: bool = False


def _header(cells: tuple[object, ...]) -> dict[str, int] | None:
    found: dict[str, int] = {}
    for position, cell in enumerate(cells):
        key = _KEY_OF.get(_MARKS.sub("", str(cell))) if cell is not None else None
        if key is not None and key not in found:
            found[key] = position
    return found if len(found) == len(HEADERS) else None


def import_buildings(session: Session, rows: Iterable[tuple[int, tuple[object, ...]]], actor: str, *,
                     unit_ids: set[int], dry_run: bool = False) -> BuildingReport:
    """Check every row, then (unless ``dry_run`` or a row is refused) add or move the buildings.

    ``unit_ids`` are the importer's subtree: a grid outside it is refused like an unknown one.
    """
    report = BuildingReport()
    grids = {u.code: u for u in session.scalars(select(Unit).where(Unit.id.in_(unit_ids),
                                                                 Unit.level == Level.GRID.value))}
    positions: dict[str, int] | None = None
    planned: dict[tuple[str, str], tuple[int, int]] = {}  # (compound, building) -> (row, grid id)
    for number, cells in rows:
        if positions is None:
            positions = _header(cells)
            continue
        values = {key: _text(cells[p]) if p < len(cells) else "" for key, p in positions.items()}
        if not any(values.values()):
            continue
        report.rows += 1
        refused = False
        for key in ("compound", "building", "grid"):
            if not values[key]:
                report.problems.append(Problem(number, HEADERS[key][0], N_("this column is required")))
                refused = True
        if refused:
            continue
        grid = grids.get(values["grid"])
        if grid is None:
            report.problems.append(Problem(number, HEADERS["grid"][0],
                                           N_("no grid with code '%(code)s' in your subtree"),
                                           {"code": values["grid"]}))
            continue
        place = (values["compound"], values["building"])
        if place in planned:
            report.problems.append(Problem(number, HEADERS["building"][0],
                                           N_("the same building is already on row %(row)s"),
                                           {"row": str(planned[place][0])}))
            continue
        planned[place] = (number, grid.id)
    if positions is None:
        report.problems.append(Problem(1, "", N_("no header row with 小区, 楼栋 and 网格编码 was found")))
    known = {(b.compound, b.name): b for b in session.scalars(select(Building))}
    for place, (_row, grid_id) in planned.items():
        building = known.get(place)
        if building is None:
            report.added += 1
        elif building.grid_unit_id == grid_id:
            report.unchanged += 1
        elif building.grid_unit_id not in unit_ids:
            # Someone else's building: the importer may not take it over from outside their subtree.
            report.problems.append(Problem(_row, HEADERS["building"][0],
                                           N_("this building belongs to a grid outside your subtree")))
        else:
            report.moved += 1
    if dry_run or report.problems:
        return report
    for place, (_row, grid_id) in planned.items():
        building = known.get(place)
        if building is None:
            session.add(Building(compound=place[0], name=place[1], grid_unit_id=grid_id))
            log_step(session, actor, "building", {"compound": place[0], "building": place[1], "grid": grid_id})
        elif building.grid_unit_id != grid_id:
            log_step(session, actor, "building", {"compound": place[0], "building": place[1], "grid": grid_id,
                                                  "from_grid": building.grid_unit_id})
            building.grid_unit_id = grid_id
    session.flush()
    report.stored = True
    return report


def buildings_of(session: Session, unit_id: int) -> list[tuple[Building, int]]:
    """Return the buildings of a member's subtree with how many households each has, by compound and name."""
    units = subtree_ids(session, unit_id)
    counts: dict[int, int] = {building_id: count for building_id, count in session.execute(
        select(Address.building_id, func.count(Household.id)).join(Household, Household.address_id == Address.id)
        .group_by(Address.building_id))}
    rows = session.scalars(select(Building).where(Building.grid_unit_id.in_(units))
                           .order_by(Building.compound, Building.name))
    return [(b, int(counts.get(b.id, 0))) for b in rows]
