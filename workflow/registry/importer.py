"""Importing a household 台账 (XLSX or CSV): every row checked first, then stored only if nothing blocks.

The key of a household is its address (compound, building, entrance, room); the key of a
resident is their ID number, or their name within the household when the 台账 has none. So a
file imported twice changes nothing the second time: every row is found as it is.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, lazyload

from workflow.base import wallclock
from workflow.base.errors import N_, InvalidInput
from workflow.base.vault import blind
from workflow.registry import idnumber, tags
from workflow.registry.ledger import BY_KEY, COLUMNS, SEX_VALUES, header_map
from workflow.registry.models import Address, Building, Household, RegistryStep, Resident

# Mainland mobiles (11 digits from 13 to 19) and landlines with an area code (0476-8123456).
_MOBILE = re.compile(r"^(?:\+?86)?1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
# A household's key in an import: its building's id, entrance and room.
_Key = tuple[int, str, str]
FIELDS = ("relation", "sex", "birth_date", "phone", "id_number", "tags")


@dataclass(frozen=True)
class Problem:
    """A refused row: its number in the sheet (1 = first row), the column's header, what is wrong."""

    row: int
    column: str
    problem: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """Return the problem in English."""
        return self.problem % self.params if self.params else self.problem


@dataclass
class Row:
    """A valid row, ready to store."""

    number: int
    compound: str
    building: str
    entrance: str
    floor: int | None
    room: str
    values: dict[str, Any]


@dataclass
class ImportReport:
    """What an import found and did (or, on a dry run, would do)."""

    rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    households_added: int = 0
    residents_added: int = 0
    residents_changed: int = 0
    residents_unchanged: int = 0
    stored: bool = False

    @property
    def refused_rows(self) -> int:
        """Return how many rows were refused."""
        return len({p.row for p in self.problems})


def read_rows(path: Path, sheet: str | None = None) -> Iterator[tuple[int, tuple[object, ...]]]:
    """Yield (row number, cells) of an XLSX sheet or a CSV file (UTF-8, UTF-8 with BOM or GB18030)."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        book = load_workbook(path, read_only=True, data_only=True)
        try:
            if sheet is not None and sheet not in book.sheetnames:
                raise InvalidInput(N_("the workbook has no sheet '%(sheet)s'"), field="sheet", sheet=sheet)
            ws = book[sheet] if sheet else book.worksheets[0]
            for number, row in enumerate(ws.iter_rows(values_only=True), start=1):
                yield number, tuple(row)
        finally:
            book.close()
        return
    if path.suffix.lower() != ".csv":
        raise InvalidInput(N_("'%(name)s' is neither an .xlsx nor a .csv file"), field="file", name=path.name)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("gb18030")  # Excel on a Chinese Windows saves CSV in GBK
    for number, cells in enumerate(csv.reader(io.StringIO(text)), start=1):
        yield number, tuple(cells)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value).strip()


def _date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value).replace("/", "-").replace(".", "-").replace("年", "-").replace("月", "-").rstrip("日")
    parts = text.split("-")
    try:
        if len(parts) == 3:
            return date(int(parts[0]), int(parts[1]), int(parts[2]))
        if len(parts) == 2:  # 出生年月: the month only
            return date(int(parts[0]), int(parts[1]), 1)
        if len(text) == 8 and text.isdigit():
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None
    return None


def _header(key: str) -> str:
    return BY_KEY[key].headers[0]


def check_row(number: int, cells: dict[str, object], buildings: dict[tuple[str, str], int]) -> tuple[Row | None,
                                                                                                    list[Problem]]:
    """Check one row's cells (by column key); return the row ready to store, or its problems."""
    problems: list[Problem] = []

    def refuse(key: str, problem: str, **params: str) -> None:
        problems.append(Problem(number, _header(key), problem, params))

    text = {key: _text(cells.get(key)) for key in BY_KEY}
    for column in COLUMNS:
        if column.required and not text[column.key]:
            refuse(column.key, N_("is empty"))
    if text["compound"] and text["building"] and (text["compound"], text["building"]) not in buildings:
        refuse("building", N_("no building '%(building)s' in compound '%(compound)s' in the register"),
               building=text["building"], compound=text["compound"])
    values: dict[str, Any] = {"name": text["name"], "relation": text["relation"] or None}
    values["sex"] = None
    if text["sex"]:
        values["sex"] = SEX_VALUES.get(text["sex"])
        if values["sex"] is None:
            refuse("sex", N_("'%(value)s' is not 男 or 女"), value=text["sex"])
    values["birth_date"] = None
    if text["birth_date"]:
        values["birth_date"] = _date(cells.get("birth_date"))
        if values["birth_date"] is None:
            refuse("birth_date", N_("'%(value)s' is not a date such as 1950-03-21"), value=text["birth_date"])
    values["phone"] = None
    if text["phone"]:
        phone = re.sub(r"[\s\-()]", "", text["phone"])
        if _MOBILE.match(phone):
            values["phone"] = phone[-11:]
        elif _LANDLINE.match(text["phone"].replace(" ", "")):
            values["phone"] = text["phone"].replace(" ", "")
        else:
            refuse("phone", N_("'%(value)s' is neither an 11-digit mobile number nor a landline with its area code"),
                   value=text["phone"])
    values["id_number"] = None
    if text["id_number"]:
        raw = cells.get("id_number")
        if isinstance(raw, (int, float)) and not isinstance(raw, bool) and raw > 10**15:
            refuse("id_number", N_("was stored as a number and lost its last digits; format the column as text"))
        else:
            why = idnumber.problem(text["id_number"])
            if why is not None:
                refuse("id_number", why)
            else:
                values["id_number"] = idnumber.normalise(text["id_number"])
    values["tags"] = []
    if text["tags"]:
        codes, unknown = tags.parse(text["tags"])
        values["tags"] = codes
        if unknown:
            refuse("tags", N_("unknown tag '%(value)s' (the list is workflow/registry/data/tags.yaml)"),
                   value="、".join(unknown))
    floor: int | None = None
    if text["floor"]:
        try:
            floor = int(text["floor"].removesuffix("层").removesuffix("楼"))
        except ValueError:
            refuse("floor", N_("'%(value)s' is not a floor number"), value=text["floor"])
    if problems:
        return None, problems
    return Row(number, text["compound"], text["building"], text["entrance"], floor, text["room"], values), []


def import_rows(session: Session, rows: Iterator[tuple[int, tuple[object, ...]]], actor: str, *,
                dry_run: bool = False, good_rows_only: bool = False,
                progress: Callable[[int], None] | None = None, unit_ids: set[int] | None = None) -> ImportReport:
    """Check every row, then store the households and residents if nothing blocks (or only the good rows).

    Nothing is written on a dry run, nor when a row is refused and ``good_rows_only`` is off. With
    ``unit_ids`` (a member's subtree), a building of another grid is as unknown as one not registered.

    Raises:
        InvalidInput: the file has no header row naming the required columns.
    """
    report = ImportReport()
    buildings = {(b.compound, b.name): b.id for b in session.scalars(select(Building))
                 if unit_ids is None or b.grid_unit_id in unit_ids}
    # Where each registered ID number lives, so a person already in another household is refused up front.
    registered = {number: (building_id, entrance, room) for number, building_id, entrance, room in session.execute(
        select(Resident.id_number, Address.building_id, Address.entrance, Address.room)
        .join(Household, Resident.household_id == Household.id).join(Address, Household.address_id == Address.id)
        .where(Resident.id_number.is_not(None)))}
    header: dict[str, int] | None = None
    good: list[Row] = []
    seen_ids: dict[str, int] = {}
    seen_names: dict[tuple[str, str, str, str, str], int] = {}
    for number, cells in rows:
        if progress is not None:
            progress(number)
        if header is None:
            header = header_map(cells)
            if header is not None:
                missing = [c.headers[0] for c in COLUMNS if c.required and c.key not in header]
                if missing:
                    raise InvalidInput(N_("the header row %(row)s lacks the columns %(columns)s"), field="file",
                                       row=str(number), columns="、".join(missing))
            continue
        if all(_text(c) == "" for c in cells):
            continue
        report.rows += 1
        by_key = {key: cells[pos] if pos < len(cells) else None for key, pos in header.items()}
        row, problems = check_row(number, by_key, buildings)
        if row is not None:
            # One person once per file: by ID number, or by name within one household.
            if row.values["id_number"]:
                first = seen_ids.setdefault(row.values["id_number"], number)
                if first != number:
                    problems = [Problem(number, _header("id_number"),
                                        N_("the same person as row %(row)s"), {"row": str(first)})]
                home = registered.get(row.values["id_number"])
                if home is not None and home != (buildings[(row.compound, row.building)], row.entrance, row.room):
                    problems = [Problem(number, _header("id_number"),
                                        N_("this person is already registered at another address"))]
            name_key = (row.compound, row.building, row.entrance, row.room, row.values["name"])
            first = seen_names.setdefault(name_key, number)
            if first != number and not problems:
                problems = [Problem(number, _header("name"), N_("the same person as row %(row)s"),
                                    {"row": str(first)})]
        if problems:
            report.problems.extend(problems)
        elif row is not None:
            good.append(row)
    if header is None:
        raise InvalidInput(N_("no header row found: the 台账 needs at least the columns %(columns)s"),
                           field="file", columns="、".join(c.headers[0] for c in COLUMNS if c.required))
    _plan_and_store(session, good, buildings, actor, report,
                    store=not dry_run and (good_rows_only or not report.problems))
    return report


def _plan_and_store(session: Session, rows: list[Row], buildings: dict[tuple[str, str], int], actor: str,
                    report: ImportReport, *, store: bool) -> None:
    """Find what each good row adds or changes; write it (with one step per household touched) if ``store``.

    New rooms, households and residents are inserted in bulk (INSERT … RETURNING), not object by
    object: 50,000 rows must import in under a minute (bench/registry.py).
    """
    plain = lazyload("*")  # the joined chains of the models (building, grid, its parents) are not needed here
    address_ids = {(a.building_id, a.entrance, a.room): a.id
                   for a in session.scalars(select(Address).options(plain))}
    household_of = {h.address_id: h.id for h in session.scalars(select(Household).options(plain))}
    residents = list(session.scalars(select(Resident).options(plain)))
    by_id_number = {r.id_number: r for r in residents if r.id_number}
    by_name = {(r.household_id, r.name): r for r in residents}
    now = wallclock.now()
    new_addresses: dict[_Key, dict[str, Any]] = {}
    new_households: list[_Key] = []
    new_residents: list[tuple[_Key | int, dict[str, Any]]] = []  # (household key or id, values)
    changes: dict[_Key | int, list[dict[str, Any]]] = {}
    for row in rows:
        key: _Key = (buildings[(row.compound, row.building)], row.entrance, row.room)
        address_id = address_ids.get(key)
        household_id = household_of.get(address_id) if address_id is not None else None
        home: _Key | int = household_id if household_id is not None else key
        if household_id is None and key not in changes:
            report.households_added += 1
            new_households.append(key)
            if address_id is None:
                new_addresses[key] = {"building_id": key[0], "entrance": row.entrance, "floor": row.floor,
                                      "room": row.room}
            changes[key] = []
        values = {"name": row.values["name"], **{f: row.values[f] for f in FIELDS}}
        resident = by_id_number.get(row.values["id_number"]) if row.values["id_number"] else None
        if resident is None and household_id is not None:
            resident = by_name.get((household_id, row.values["name"]))
        if resident is not None and resident.household_id != household_id:
            continue  # refused before planning (registered at another address)
        if resident is None:
            report.residents_added += 1
            changes.setdefault(home, []).append({"added": row.values["name"]})
            new_residents.append((home, values))
            continue
        changed = [f for f in FIELDS if getattr(resident, f) != row.values[f] and row.values[f] not in (None, [])]
        if not changed:
            report.residents_unchanged += 1
            continue
        report.residents_changed += 1
        changes.setdefault(home, []).append({"changed": resident.name, "fields": changed})
        if store:
            for f in changed:
                setattr(resident, f, row.values[f])
    if not store:
        return
    if new_addresses:
        ids = session.scalars(insert(Address).returning(Address.id, sort_by_parameter_order=True),
                              list(new_addresses.values())).all()
        address_ids.update(zip(new_addresses, ids, strict=True))
    household_ids: dict[_Key | int, int] = {}
    if new_households:
        ids = session.scalars(insert(Household).returning(Household.id, sort_by_parameter_order=True),
                              [{"address_id": address_ids[k], "created_at": now} for k in new_households]).all()
        household_ids.update(zip(new_households, ids, strict=True))
    if new_residents:
        # A bulk insert sets no attributes, so the blind indexes are computed here.
        session.execute(insert(Resident), [
            {"household_id": home if isinstance(home, int) else household_ids[home], **values,
             "phone_index": blind(values["phone"], "phone"), "id_number_index": blind(values["id_number"], "id_number")}
            for home, values in new_residents])
    steps = [{"household_id": home if isinstance(home, int) else household_ids[home], "kind": "import",
              "actor": actor, "at": now, "detail": {"rows": rows_changed}}
             for home, rows_changed in changes.items() if rows_changed]
    if steps:
        session.execute(insert(RegistryStep), steps)
    session.flush()
    report.stored = True


def problems_workbook(problems: list[Problem], translate: Callable[[Problem], str] | None = None,
                      headings: tuple[str, str, str] = ("行", "列", "问题")) -> bytes:
    """Return the refused rows as an XLSX: row number, column, problem (translated if asked)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(headings))
    for p in problems:
        sheet.append([p.row, p.column, translate(p) if translate else p.text])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def count_rows(path: Path, sheet: str | None = None) -> int | None:
    """Return how many rows a file has (for a progress bar), or None if the workbook does not say."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        book = load_workbook(path, read_only=True)
        try:
            ws = book[sheet] if sheet and sheet in book.sheetnames else book.worksheets[0]
            return int(ws.max_row) if ws.max_row else None
        finally:
            book.close()
    return path.read_bytes().count(b"\n") or None
