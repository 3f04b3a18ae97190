"""Exporting the household register to XLSX in the 台账 layout the importer reads, masked per role, logged."""

from __future__ import annotations

import io

from openpyxl import Workbook
from sqlalchemy.orm import Session

from workflow.audit import log as audit_log
from workflow.base.privacy import mask_name, mask_phone
from workflow.org.models import User
from workflow.registry import tags
from workflow.registry.ledger import COLUMNS, SEX_NAMES
from workflow.registry.register import households_of, log_step, mask_id_number, may_see_full

MAX_EXPORT_HOUSEHOLDS = 100_000


def export_workbook(session: Session, user: User) -> tuple[bytes, int]:
    """Return the member's subtree's register as XLSX and its number of rows; the export is a step."""
    full = may_see_full(user)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("台账")
    sheet.append([c.headers[0] for c in COLUMNS])
    rows = 0
    households = households_of(session, user, limit=MAX_EXPORT_HOUSEHOLDS)
    for household in households:
        address = household.address
        for r in household.residents:
            sheet.append([
                address.building.compound, address.building.name, address.entrance, address.floor, address.room,
                r.name if full else mask_name(r.name), r.relation, SEX_NAMES.get(r.sex or "", ""),
                r.birth_date.isoformat() if full and r.birth_date else (str(r.birth_date.year) if r.birth_date else ""),
                r.phone if full else mask_phone(r.phone),
                r.id_number if full else mask_id_number(r.id_number), tags.names(r.tags),
            ])
            rows += 1
    log_step(session, user.name, "export", {"rows": rows, "households": len(households), "masked": not full})
    audit_log.record(session, user.name, "export.registry", f"registry of {user.unit.code}",
                     {"rows": rows, "households": len(households), "masked": not full}, actor_unit=user.unit.code)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue(), rows
