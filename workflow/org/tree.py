"""The org tree: importing it from a file and walking a case's path up the ladder."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from schemas.org import OrgFile, UnitSpec
from schemas.vocabulary import HANDLING_LADDER, Level
from workflow.base.errors import N_, InvalidInput, NotFound
from workflow.org.models import Unit, User

logger = logging.getLogger(__name__)

DEMO_ORG_FILE = Path(__file__).parent / "demo" / "org.yaml"
_LEVEL_ORDER = [Level.STREET, Level.GENERAL_BRANCH, Level.BRANCH, Level.GRID, Level.HOUSEHOLD]


@dataclass
class ImportReport:
    """What an import changed."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __str__(self) -> str:
        """Summarise the counts on one line."""
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"


def read_org_file(path: Path) -> OrgFile:
    """Parse and validate an org file (YAML or JSON).

    Raises:
        InvalidInput: the file cannot be read or does not follow the format; the
            message names the entry at fault.
    """
    try:
        text = path.read_text(encoding="utf-8")
        raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise InvalidInput(f"{path}: {exc}") from exc
    try:
        org = OrgFile.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc, str(path)) from exc
    _check_levels(org.units, parent=None)
    return org


def _check_levels(units: list[UnitSpec], parent: UnitSpec | None) -> None:
    for unit in units:
        if parent is not None:
            expected = _LEVEL_ORDER[_LEVEL_ORDER.index(parent.level) + 1]
            if unit.level != expected:
                raise InvalidInput(
                    f"unit {unit.code}: a {unit.level.value} cannot sit under the "
                    f"{parent.level.value} {parent.code}; expected a {expected.value}",
                    field=unit.code,
                )
        elif unit.level == Level.HOUSEHOLD:
            raise InvalidInput(f"unit {unit.code}: a household needs a grid above it", field=unit.code)
        if unit.level == Level.HOUSEHOLD and unit.children:
            raise InvalidInput(f"unit {unit.code}: a household has no units below it", field=unit.code)
        _check_levels(unit.children, unit)


def import_tree(session: Session, org: OrgFile) -> ImportReport:
    """Create or update units and members from ``org``; the same file twice changes nothing.

    The subscriptions an org file declares are the notices package's: ``workflow.notices.org_file``
    imports a whole file.
    """
    report = ImportReport()
    seen_codes: set[str] = set()
    seen_users: set[str] = set()

    def visit(spec: UnitSpec, parent: Unit | None) -> None:
        if spec.code in seen_codes:
            raise InvalidInput(f"unit code {spec.code} appears twice", field=spec.code)
        seen_codes.add(spec.code)
        unit = session.scalars(select(Unit).where(Unit.code == spec.code)).one_or_none()
        parent_id = parent.id if parent else None
        area = spec.area.model_dump(mode="json", exclude_none=True) if spec.area else None
        if unit is None:
            unit = Unit(code=spec.code, name=spec.name, level=spec.level.value, parent_id=parent_id, area=area)
            session.add(unit)
            session.flush()
            report.created += 1
        elif (unit.name, unit.level, unit.parent_id, unit.area) != (spec.name, spec.level.value, parent_id, area):
            unit.name, unit.level, unit.parent_id, unit.area = spec.name, spec.level.value, parent_id, area
            report.updated += 1
        else:
            report.unchanged += 1
        for m in spec.members:
            if m.user in seen_users:
                raise InvalidInput(f"user {m.user} is listed twice", field=m.user)
            seen_users.add(m.user)
            user = session.scalars(select(User).where(User.name == m.user)).one_or_none()
            channels: list[str] | None = [str(c) for c in m.channels] if m.channels else None
            wanted = (m.name, unit.id, m.role.value, m.phone, m.language, m.email, channels, m.quiet_hours)
            if user is None:
                session.add(User(name=m.user, display_name=m.name, unit_id=unit.id, role=m.role.value,
                                 phone=m.phone, language=m.language, email=m.email, channels=channels,
                                 quiet_hours=m.quiet_hours))
                report.created += 1
            elif (user.display_name, user.unit_id, user.role, user.phone, user.language, user.email, user.channels,
                  user.quiet_hours) != wanted:
                (user.display_name, user.unit_id, user.role, user.phone, user.language, user.email, user.channels,
                 user.quiet_hours) = wanted
                report.updated += 1
            else:
                report.unchanged += 1
        for child in spec.children:
            visit(child, unit)

    for top in org.units:
        visit(top, None)
    session.flush()
    forget_cached_units()
    logger.info("org import: %s", report)
    return report


def is_empty(session: Session) -> bool:
    """Tell whether no unit exists yet."""
    return session.scalar(select(func.count()).select_from(Unit)) == 0


def unit_by_code(session: Session, code: str) -> Unit:
    """Return the unit with ``code``.

    Raises:
        NotFound: there is none.
    """
    unit = session.scalars(select(Unit).where(Unit.code == code)).one_or_none()
    if unit is None:
        raise NotFound(N_("no unit with code '%(code)s'"), field="code", code=code)
    return unit


def ancestors(unit: Unit) -> list[Unit]:
    """Return ``unit`` and the units above it, nearest first."""
    chain = [unit]
    while chain[-1].parent is not None:
        chain.append(chain[-1].parent)
    return chain


def ladder_of(grid: Unit) -> dict[Level, Unit]:
    """Return the unit at each handling level on a grid's path to the street."""
    by_level = {Level(u.level): u for u in ancestors(grid)}
    missing = [level.value for level in HANDLING_LADDER if level not in by_level]
    if missing:
        raise InvalidInput(f"unit {grid.code} has no {', '.join(missing)} above it", field="grid")
    return {level: by_level[level] for level in HANDLING_LADDER}


@dataclass(frozen=True)
class UnitInfo:
    """What the hot path needs of a unit, detached from any session."""

    id: int
    code: str
    name: str
    level: Level


# Units change only on an org import, so a grid's ladder is read once a minute rather than
# with a ten-way join on every event; an import in this process clears it at once.
LADDER_TTL = 60.0
_ladders: dict[tuple[str, int], tuple[float, dict[Level, UnitInfo]]] = {}
_units: dict[tuple[str, str], tuple[float, UnitInfo]] = {}


def _info(unit: Unit) -> UnitInfo:
    return UnitInfo(unit.id, unit.code, unit.name, Level(unit.level))


def cached_ladder(session: Session, grid_unit_id: int) -> dict[Level, UnitInfo]:
    """Return the handling ladder of a grid, from a short-lived per-process cache."""
    key = (str(session.get_bind().engine.url), grid_unit_id)
    hit = _ladders.get(key)
    if hit is not None and time.monotonic() - hit[0] < LADDER_TTL:
        return hit[1]
    grid = session.get(Unit, grid_unit_id)
    if grid is None:
        raise NotFound(f"no unit with id {grid_unit_id}")
    ladder = {level: _info(unit) for level, unit in ladder_of(grid).items()}
    _ladders[key] = (time.monotonic(), ladder)
    return ladder


def cached_unit(session: Session, code: str) -> UnitInfo | None:
    """Return a unit by code, from a short-lived per-process cache; None if there is none."""
    key = (str(session.get_bind().engine.url), code)
    hit = _units.get(key)
    if hit is not None and time.monotonic() - hit[0] < LADDER_TTL:
        return hit[1]
    unit = session.scalars(select(Unit).where(Unit.code == code)).one_or_none()
    if unit is None:
        return None  # not cached: a unit imported a moment later must be found at once
    info = _info(unit)
    _units[key] = (time.monotonic(), info)
    return info


def forget_cached_units() -> None:
    """Drop the cached ladders and units (after an import)."""
    _ladders.clear()
    _units.clear()


def is_at_or_above(upper: Unit, lower: Unit) -> bool:
    """Tell whether ``upper`` is ``lower`` or one of the units above it."""
    return any(u.id == upper.id for u in ancestors(lower))
