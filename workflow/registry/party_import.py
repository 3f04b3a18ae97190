"""The party-member register (党员台账) from a workbook or a CSV: central households and in-service members.

Headers (aliases accepted): 姓名; 支部编码 (the branch unit's code); 联系电话; 中心户 (是/否) with
中心户编码 (the code of the central household's unit in the org tree); 在职党员 (是/否); 服务内容 (the
service an in-service member offered). A member is known by branch, name and phone: importing
the same file again changes nothing; a row that changes a known member's flags or service is a
change (a step). The whole file is checked first; nothing is stored while a row is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.vocabulary import Level
from workflow.base.errors import N_
from workflow.org.models import Unit
from workflow.registry.importer import _LANDLINE, _MOBILE, Problem, _text
from workflow.registry.models import PartyMember
from workflow.registry.register import log_step

HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "名字", "党员姓名"),
    "branch": ("支部编码", "所属支部", "支部"),
    "phone": ("联系电话", "手机号", "手机号码", "电话"),
    "central": ("中心户", "是否中心户", "党员中心户"),
    "central_unit": ("中心户编码", "中心户单位编码"),
    "in_service": ("在职党员", "是否在职党员"),
    "service": ("服务内容", "认领服务", "服务项目"),
}
REQUIRED = ("name", "branch")
_MARKS = re.compile(r"\s+|\*|（必填）|\(必填\)")
_KEY_OF = {_MARKS.sub("", h): key for key, names in HEADERS.items() for h in names}
_YES = {"是", "Y", "YES", "1", "TRUE", "√"}
_NO = {"", "否", "N", "NO", "0", "FALSE"}


@dataclass
class PartyReport:
    """What a party-member import did or would do, and every refused row."""

    rows: int = 0
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)
    stored: bool = False


def _header(cells: tuple[object, ...]) -> dict[str, int] | None:
    found: dict[str, int] = {}
    for position, cell in enumerate(cells):
        key = _KEY_OF.get(_MARKS.sub("", str(cell))) if cell is not None else None
        if key is not None and key not in found:
            found[key] = position
    return found if all(k in found for k in REQUIRED) and len(found) >= 3 else None


def import_party_members(session: Session, rows: Iterable[tuple[int, tuple[object, ...]]], actor: str, *,
                         unit_ids: set[int], dry_run: bool = False) -> PartyReport:
    """Check every row, then (unless ``dry_run`` or a row is refused) add or change the party members."""
    report = PartyReport()
    units = {u.code: u for u in session.scalars(select(Unit).where(Unit.id.in_(unit_ids)))}
    positions: dict[str, int] | None = None
    planned: dict[tuple[int, str, str | None], tuple[int, dict[str, object]]] = {}
    for number, cells in rows:
        if positions is None:
            positions = _header(cells)
            continue
        text = {key: (_text(cells[positions[key]]) if key in positions and positions[key] < len(cells) else "")
                for key in HEADERS}
        if not any(text.values()):
            continue
        report.rows += 1
        problems: list[Problem] = []

        def refuse(key: str, problem: str, **params: str) -> None:
            problems.append(Problem(number, HEADERS[key][0], problem, params))  # noqa: B023 - used at once

        for key in REQUIRED:
            if not text[key]:
                refuse(key, N_("this column is required"))
        branch = units.get(text["branch"])
        if text["branch"] and (branch is None or branch.level != Level.BRANCH.value):
            refuse("branch", N_("no branch with code '%(code)s' in your subtree"), code=text["branch"])
        phone: str | None = None
        if text["phone"]:
            digits = re.sub(r"[\s\-()]", "", text["phone"])
            if _MOBILE.match(digits):
                phone = digits[-11:]
            elif _LANDLINE.match(text["phone"].replace(" ", "")):
                phone = text["phone"].replace(" ", "")
            else:
                refuse("phone", N_("'%(value)s' is neither an 11-digit mobile number nor a landline with its area "
                                   "code"), value=text["phone"])
        flags: dict[str, bool] = {}
        for key in ("central", "in_service"):
            value = text[key].upper()
            if value not in _YES | _NO:
                refuse(key, N_("write 是 or 否, not '%(value)s'"), value=text[key])
            flags[key] = value in _YES
        central_unit = units.get(text["central_unit"]) if text["central_unit"] else None
        if flags.get("central"):
            if central_unit is None or central_unit.level != Level.HOUSEHOLD.value or (
                    branch is not None and central_unit.parent is not None
                    and central_unit.parent.parent_id != branch.id):
                refuse("central_unit", N_("a central household needs the code of its unit under a grid of its "
                                          "branch"))
        if problems:
            report.problems += problems
            continue
        assert branch is not None  # refused above otherwise
        key3 = (branch.id, text["name"], phone)
        if key3 in planned:
            report.problems.append(Problem(number, HEADERS["name"][0], N_("the same person is already on row %(row)s"),
                                           {"row": str(planned[key3][0])}))
            continue
        planned[key3] = (number, {"central_household": flags["central"], "in_service": flags["in_service"],
                                  "service": text["service"] or None,
                                  "household_unit_id": central_unit.id if flags["central"] and central_unit else None})
    if positions is None:
        report.problems.append(Problem(1, "", N_("no header row with 姓名 and 支部编码 was found")))
    known = {(m.branch_unit_id, m.name, m.phone): m for m in session.scalars(select(PartyMember))}
    for key3, (_row, values) in planned.items():
        member = known.get(key3)
        if member is None:
            report.added += 1
        elif all(getattr(member, k) == v for k, v in values.items()):
            report.unchanged += 1
        else:
            report.changed += 1
    if dry_run or report.problems:
        return report
    for (branch_id, name, phone), (_row, values) in planned.items():
        member = known.get((branch_id, name, phone))
        if member is None:
            member = PartyMember(branch_unit_id=branch_id, name=name, phone=phone, **values)
            session.add(member)
            session.flush()
            log_step(session, actor, "import", {"party_member": True}, party_member_id=member.id)
        elif not all(getattr(member, k) == v for k, v in values.items()):
            changed = sorted(k for k, v in values.items() if getattr(member, k) != v)
            for k, v in values.items():
                setattr(member, k, v)
            log_step(session, actor, "change", {"fields": changed}, party_member_id=member.id)
    session.flush()
    report.stored = True
    return report
