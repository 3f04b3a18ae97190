"""Case lists out to CSV, XLSX and JSON: masked as the member's role requires, and every export on record.

Every export is a row of ``analysis_exports`` (who, when, which cases, which format, how many in
full). A case whose personal data an export shows in full (only the unit handling it now sees
it so) also gets a ``reveal`` step on its own timeline naming the export, as a reveal on the
case page does: the case's history says who took its reporter's name and phone out, and when.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from schemas.vocabulary import Category, Level, PartyRole, Role, State
from workflow.analysis.kpis import Part, case_ids
from workflow.analysis.models import ExportLog
from workflow.analysis.periods import parse_period
from workflow.analysis.scope import unit_in_scope
from workflow.audit import log as audit_log
from workflow.base import config, wallclock
from workflow.base.errors import N_, Forbidden, InvalidInput
from workflow.base.labels import LEVEL_LABELS, STATE_LABELS
from workflow.base.privacy import mask_name, mask_phone, scrub
from workflow.cases import worklists
from workflow.cases.categories import CATEGORIES
from workflow.cases.models import Case
from workflow.cases.steps import apply_trigger, lock_cases, staff_actor
from workflow.cases.views import needs_personal_data
from workflow.org.models import User

logger = logging.getLogger(__name__)

FORMATS = ("csv", "xlsx")
KINDS = ("queue", "inbox", "figure")
# Who may take each list out: the inbox is a party unit's; a figure's cases are the analysis roles'.
INBOX_ROLES = {Role.BRANCH_SECRETARY, Role.GENERAL_BRANCH_SECRETARY, Role.STREET_STAFF, Role.MEDIATOR}
FIGURE_ROLES = {Role.BRANCH_SECRETARY, Role.GENERAL_BRANCH_SECRETARY, Role.STREET_STAFF, Role.ADMIN}
COLUMNS = ("case", "grid", "category", "severity", "channel", "state", "level", "submitted_at", "deadline_at",
           "supervised", "reopened", "reporter", "reporter_phone", "description")
# An export is a list for a meeting, not a copy of the database.
MAX_ROWS = 20_000
_LANG = {"zh_Hans": 0, "zh_Hant": 1}


@dataclass(frozen=True)
class Table:
    """The rows of an export and how many of them show personal data in full."""

    rows: list[list[Any]]
    unmasked: int
    shown_in_full: list[int]


def table(session: Session, user: User, case_ids: Sequence[int], language: str) -> Table:
    """Return the export rows of these cases, in id order, masked unless the member handles the case now.

    Raises:
        InvalidInput: more than ``MAX_ROWS`` cases.
    """
    if len(case_ids) > MAX_ROWS:
        raise InvalidInput(N_("an export holds at most %(most)s cases; this list has %(count)s"),
                           most=MAX_ROWS, count=len(case_ids))
    index = _LANG.get(language, 2)
    zone = ZoneInfo(config.timezone_name())
    rows, full_ids = [], []
    query = select(Case).where(Case.id.in_(list(case_ids))).options(selectinload(Case.parties)).order_by(Case.id)
    for case in session.scalars(query):
        full = needs_personal_data(user, case)
        if full:
            full_ids.append(case.id)
        reporter = next((p for p in case.parties if p.role == PartyRole.REPORTER), None)
        info = CATEGORIES.get(Category(case.category))
        rows.append([
            case.id, case.grid_unit.code,
            (info.zh_hans, info.zh_hant, info.en)[index] if info else case.category,
            case.severity, case.channel, STATE_LABELS[State(case.state)][index], LEVEL_LABELS[Level(case.level)][index],
            case.submitted_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            case.deadline_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if case.deadline_at else "",
            "Y" if case.supervised else "", case.reopen_count or "",
            (reporter.name if full else mask_name(reporter.name)) if reporter else "",
            (reporter.phone if full else mask_phone(reporter.phone)) or "" if reporter else "",
            case.description if full else scrub(case.description),
        ])
    return Table(rows, len(full_ids), full_ids)


def to_csv(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """Return the rows as CSV in UTF-8 with a byte-order mark, so Excel reads the Chinese correctly."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str) -> bytes:
    """Return the rows as an XLSX workbook of one sheet."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def listed(session: Session, user: User, kind: str, args: dict[str, str | None]) -> tuple[list[int], dict[str, str]]:
    """Return the ids of the cases of a list (``queue``, ``inbox`` or ``figure``) and the parameters that chose them.

    Raises:
        Forbidden: the member's role does not take this list out, or the unit is outside their subtree.
        InvalidInput: no such list, or a figure's unit, period, figure or part is wrong.
        NotFound: no unit has that code.
    """
    if kind not in KINDS:
        raise InvalidInput(N_("no list '%(kind)s'; the lists are: %(kinds)s"), field="kind", kind=kind,
                           kinds=", ".join(KINDS))
    if (kind == "inbox" and user.role not in INBOX_ROLES) or (kind == "figure" and user.role not in FIGURE_ROLES):
        raise Forbidden(N_("your role does not take the list '%(kind)s' out"), kind=kind)
    # Checked for every list, so a malformed date is refused even where the list does not read it.
    period = parse_period(args.get("from"), args.get("to"))
    if kind != "figure":
        listing = worklists.queue if kind == "queue" else worklists.inbox
        return [row.id for row in listing(session, user, wallclock.now())], {}
    unit = unit_in_scope(session, user, args.get("unit"))
    part = args.get("part") or "numerator"
    if part not in ("numerator", "denominator"):
        raise InvalidInput(N_("part must be numerator or denominator"), field="part")
    params = {"unit": unit.code, "from": period.first.isoformat(), "to": period.last.isoformat(),
              "kpi": args.get("kpi") or "", "part": part}
    return case_ids(session, unit, period, params["kpi"], cast(Part, part)), params


def record(session: Session, user: User, kind: str, params: dict[str, Any], case_ids: Sequence[int],
           file_format: str, found: Table) -> ExportLog:
    """Put an export on record, and on the timeline of each case it showed in full (a ``reveal`` step)."""
    entry = ExportLog(user_name=user.name, unit_id=user.unit_id, kind=kind, params=params, file_format=file_format,
                      case_count=len(case_ids), case_ids=list(case_ids), unmasked=found.unmasked, at=wallclock.now())
    session.add(entry)
    session.flush()  # the export's id, for the steps that name it
    actor = staff_actor(user)
    for case in lock_cases(session, found.shown_in_full).values():
        apply_trigger(session, case, "reveal", actor, {
            "reason": f"export #{entry.id} ({kind}, {file_format}): the reporter's name and phone and the "
                      "description shown in full"})
    session.flush()
    audit_log.record(session, user.name, "export.analysis", f"{kind} ({file_format})",
                     {"cases": len(case_ids), "unmasked": found.unmasked}, actor_unit=user.unit.code)
    logger.info("export: %s took %d cases (%s, %s, %d unmasked)", user.name, len(case_ids), kind, file_format,
                found.unmasked, extra={"export_kind": kind, "case_count": len(case_ids)})
    return entry
