"""Importing an org file whole: its units and members (the org tree), then the subscriptions it declares."""

from __future__ import annotations

from sqlalchemy.orm import Session

from schemas.org import OrgFile, UnitSpec
from workflow.notices.subscriptions import sync
from workflow.org.tree import ImportReport, import_tree, unit_by_code


def import_org(session: Session, org: OrgFile) -> ImportReport:
    """Create or update units, members and subscriptions from ``org``; the same file twice changes nothing.

    A unit whose entry has no ``subscriptions`` key keeps the subscriptions it has; an empty list removes them.
    """
    report = import_tree(session, org)

    def visit(spec: UnitSpec) -> None:
        if spec.subscriptions is not None:
            added, removed, kept = sync(session, unit_by_code(session, spec.code), spec.subscriptions)
            report.created += added
            report.updated += removed
            report.unchanged += kept
        for child in spec.children:
            visit(child)

    for top in org.units:
        visit(top)
    return report
