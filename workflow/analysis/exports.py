"""Case lists out to CSV and XLSX: masked as the member's role requires, and every export on record."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from schemas.vocabulary import Category, Level, PartyRole, State
from workflow.analysis.models import ExportLog
from workflow.audit import log as audit_log
from workflow.base import config, wallclock
from workflow.base.errors import N_, InvalidInput
from workflow.base.labels import LEVEL_LABELS, STATE_LABELS
from workflow.base.privacy import mask_name, mask_phone, scrub
from workflow.cases.categories import CATEGORIES
from workflow.cases.models import Case
from workflow.cases.views import needs_personal_data
from workflow.org.models import User

logger = logging.getLogger(__name__)

FORMATS = ("csv", "xlsx")
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
    rows, unmasked = [], 0
    query = select(Case).where(Case.id.in_(list(case_ids))).options(selectinload(Case.parties)).order_by(Case.id)
    for case in session.scalars(query):
        full = needs_personal_data(user, case)
        unmasked += full
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
    return Table(rows, unmasked)


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


def record(session: Session, user: User, kind: str, params: dict[str, Any], case_ids: Sequence[int],
           file_format: str, unmasked: int) -> ExportLog:
    """Put an export on record: who, which cases, which format, how many shown in full."""
    entry = ExportLog(user_name=user.name, unit_id=user.unit_id, kind=kind, params=params, file_format=file_format,
                      case_count=len(case_ids), case_ids=list(case_ids), unmasked=unmasked, at=wallclock.now())
    session.add(entry)
    audit_log.record(session, user.name, "export.analysis", f"{kind} ({file_format})",
                     {"cases": len(case_ids), "unmasked": unmasked}, actor_unit=user.unit.code)
    logger.info("export: %s took %d cases (%s, %s, %d unmasked)", user.name, len(case_ids), kind, file_format,
                unmasked, extra={"export_kind": kind, "case_count": len(case_ids)})
    return entry
